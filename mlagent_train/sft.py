"""Exploration-enriched SFT (ML-Agent section 5) with TRL's ``SFTTrainer``.

    mlagent-train sft --config examples/configs/sft.yaml --set learning_rate=1e-5

Trajectories become a chat dataset (:mod:`mlagent_train.datasets`: one example per step, loss on
the assistant turn only, split by episode), the model is trained in full or with LoRA, and the
output folder gets Trainer checkpoints (``checkpoint-<step>/``, resumed automatically), the final
model and tokenizer (``final/``, loadable by :class:`mlagent_train.policy.TransformersPolicy`),
``loss.png``, ``log_history.json``, ``dataset_stats.json`` and the config (``sft_config.json``).

Defaults are the paper's (LLaMA-Factory ``train_step1.sh``): Qwen2.5-7B base, full fine-tune,
lr 2e-5 cosine, no warmup, no weight decay, 2 epochs, per-device batch 1 x grad-accum 8 x 8
GPUs = 64, cutoff 15000 tokens, bf16, DeepSpeed ZeRO-3.

Multi-GPU: the same command under ``accelerate launch`` (DeepSpeed ZeRO-3 or FSDP)::

    accelerate launch --config_file examples/configs/accelerate_zero3.yaml --num_processes 8 \\
        -m mlagent_train.cli sft --config examples/configs/sft.yaml

    accelerate launch --config_file examples/configs/accelerate_fsdp.yaml --num_processes 8 \\
        -m mlagent_train.cli sft --config examples/configs/sft.yaml

or let the Trainer set DeepSpeed up itself with ``--deepspeed examples/configs/ds_zero3.json``
(under ``torchrun --nproc_per_node 8 -m mlagent_train.cli sft ...``). bf16 and gradient
checkpointing are ``auto``: on when a CUDA GPU is present (bf16 only if it supports it).
"""

from __future__ import annotations

import importlib
import json
import math
import os
import socket
import urllib.parse
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mlagent_env.errors import MLAgentError
from mlagent_train.config import auto_flag, latest_checkpoint, option
from mlagent_train.datasets import BuildStats, build_sft_dataset, tokenize_sft
from mlagent_train.model_setup import load_tokenizer, lora_config


class SFTError(MLAgentError):
    """SFT cannot run as configured."""


@dataclass
class SFTStageConfig:
    """Options of ``mlagent-train sft`` (defaults: the paper's 7B run on 8 GPUs)."""

    model_name_or_path: str = option("Qwen/Qwen2.5-7B", "base model: a hub id or a local folder")
    trajectories: list[str] = option(["runs/explore/expert/trajectories"], "trajectory JSONL files or folders (searched recursively)")
    output_dir: str = option("runs/sft", "checkpoints, final model, loss plot")
    chat_template: str | None = option(None, "a Jinja chat template file to use instead of the tokenizer's (must be prefix-preserving, e.g. ChatML)")
    drop_invalid: bool = option(True, "drop steps whose reply was not a valid action")
    min_reward: float | None = option(None, "drop steps with a reward below this (e.g. 0.5 keeps non-edit and improving steps)")
    dedupe: bool = option(True, "keep identical (prompt, reply) examples once")
    val_fraction: float = option(0.02, "fraction of episodes held out for validation (split by episode)")
    max_length: int = option(15000, "longest example in tokens (longer ones are dropped, not truncated)")
    max_reply_length: int | None = option(None, "longest reply in tokens (longer examples are dropped; None: no limit). "
                                          "Set it to the evaluation's max_new_tokens to teach only replies the policy "
                                          "can finish there: a reply cut at that length is an invalid action")
    use_lora: bool = option(False, "train LoRA adapters (peft) instead of all weights; the paper trains all")
    lora_r: int = option(16, "LoRA rank")
    lora_alpha: int = option(32, "LoRA alpha")
    lora_dropout: float = option(0.05, "LoRA dropout")
    lora_target_modules: list[str] = option(["all-linear"], "modules that get adapters ('all-linear' or names like q_proj)")
    merge_lora: bool = option(True, "merge the adapters into the base weights when saving final/")
    learning_rate: float = option(2e-5, "peak learning rate")
    lr_scheduler_type: str = option("cosine", "learning-rate schedule (transformers names)")
    warmup_ratio: float = option(0.0, "warmup fraction of the steps (< 1)")
    weight_decay: float = option(0.0, "AdamW weight decay")
    num_train_epochs: float = option(2.0, "epochs over the training set")
    max_steps: int = option(-1, "stop after this many optimizer steps (-1: use the epochs)")
    per_device_train_batch_size: int = option(1, "examples per device per micro-batch")
    gradient_accumulation_steps: int = option(8, "micro-batches per optimizer step (global batch = this x per-device x GPUs)")
    per_device_eval_batch_size: int = option(1, "examples per device in evaluation")
    bf16: str = option("auto", "auto (on with a bf16-capable GPU) | true | false")
    gradient_checkpointing: str = option("auto", "auto (on with a GPU) | true | false")
    attn_implementation: str | None = option(None, "e.g. flash_attention_2 or sdpa (None: the model's default)")
    dtype: str = option("auto", "weights dtype when loading: auto (bf16 under DeepSpeed, else fp32 + bf16 autocast) | bfloat16 | float32")
    deepspeed: str | None = option(None, "a DeepSpeed JSON config (e.g. examples/configs/ds_zero3.json); or use accelerate launch")
    fsdp: str = option("", "FSDP options for the Trainer, e.g. 'full_shard auto_wrap' (or use accelerate launch)")
    fsdp_config: str | None = option(None, "an FSDP JSON config file for the Trainer")
    logging_steps: int = option(10, "log the loss every this many steps")
    save_steps: int = option(500, "save a checkpoint every this many steps")
    save_total_limit: int = option(3, "keep at most this many checkpoints")
    eval_steps: int = option(0, "evaluate on the validation episodes every this many steps (0: at the end only)")
    resume: str = option("auto", "auto (the latest checkpoint in output_dir) | none | a checkpoint folder")
    seed: int = option(42, "seed of data shuffling, the split and initialisation")
    use_cpu: bool = option(False, "train on the CPU even when a GPU is there (tests)")
    report_to: str = option("none", "none | tensorboard | wandb ...")
    dataloader_num_workers: int = option(0, "dataloader worker processes")
    trust_remote_code: bool = option(False, "allow models with custom code")


@dataclass
class SFTResult:
    output_dir: Path
    final_dir: Path
    global_step: int
    train_loss: float | None
    eval_loss: float | None
    loss_plot: Path
    stats: BuildStats


def build_trainer(cfg: SFTStageConfig, stats: BuildStats | None = None) -> tuple[Any, Any]:
    """The configured ``SFTTrainer`` and the tokenized dataset (train/validation)."""
    import torch
    from transformers import AutoModelForCausalLM
    from trl import SFTConfig, SFTTrainer

    stats = stats if stats is not None else BuildStats()
    gpu = torch.cuda.is_available() and not cfg.use_cpu
    bf16 = auto_flag(cfg.bf16, "bf16", gpu and torch.cuda.is_bf16_supported())
    checkpointing = auto_flag(cfg.gradient_checkpointing, "gradient_checkpointing", gpu)
    tok = load_tokenizer(cfg.model_name_or_path, chat_template=cfg.chat_template,
                         trust_remote_code=cfg.trust_remote_code)
    data = build_sft_dataset(cfg.trajectories, drop_invalid=cfg.drop_invalid, min_reward=cfg.min_reward,
                             dedupe=cfg.dedupe, val_fraction=cfg.val_fraction, seed=cfg.seed, stats=stats)
    keep = ["input_ids", "labels"]
    train = tokenize_sft(data["train"], tok, cfg.max_length, stats, cfg.max_reply_length)
    train = train.remove_columns([c for c in train.column_names if c not in keep])
    val = None
    if len(data["validation"]):
        val = tokenize_sft(data["validation"], tok, cfg.max_length, stats, cfg.max_reply_length)
        val = val.remove_columns([c for c in val.column_names if c not in keep])
        val = val if len(val) else None
    if len(train) == 0:
        raise SFTError(f"every training example is longer than max_length={cfg.max_length} tokens or has a reply "
                       f"longer than max_reply_length={cfg.max_reply_length}")

    # auto: bf16 weights only under DeepSpeed (which keeps fp32 master weights itself); otherwise
    # fp32 weights with bf16 autocast, so that AdamW does not update bf16 weights directly
    dtype: Any = torch.float32
    if cfg.dtype != "auto":
        dtype = getattr(torch, cfg.dtype)
    elif gpu and bf16 and (cfg.deepspeed or os.environ.get("ACCELERATE_USE_DEEPSPEED", "").lower() == "true"):
        dtype = torch.bfloat16
    model_kwargs: dict[str, Any] = {"dtype": dtype, "trust_remote_code": cfg.trust_remote_code}
    if cfg.attn_implementation:
        model_kwargs["attn_implementation"] = cfg.attn_implementation
    model = AutoModelForCausalLM.from_pretrained(cfg.model_name_or_path, **model_kwargs)
    if checkpointing:
        model.config.use_cache = False

    peft_config = lora_config(cfg.lora_r, cfg.lora_alpha, cfg.lora_target_modules, cfg.lora_dropout) if cfg.use_lora else None

    has_eval = val is not None
    args = SFTConfig(
        output_dir=cfg.output_dir,
        learning_rate=cfg.learning_rate,
        lr_scheduler_type=cfg.lr_scheduler_type,
        warmup_steps=cfg.warmup_ratio,  # transformers 5: a float < 1 is a ratio (warmup_ratio is gone)
        weight_decay=cfg.weight_decay,
        num_train_epochs=cfg.num_train_epochs,
        max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.per_device_train_batch_size,
        per_device_eval_batch_size=cfg.per_device_eval_batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        bf16=bf16,
        activation_checkpointing=checkpointing,  # transformers 5 name of gradient_checkpointing
        max_length=cfg.max_length,
        logging_steps=cfg.logging_steps,
        logging_first_step=True,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=cfg.save_total_limit,
        eval_strategy="steps" if has_eval and cfg.eval_steps > 0 else "no",
        eval_steps=cfg.eval_steps if cfg.eval_steps > 0 else None,
        seed=cfg.seed,
        use_cpu=cfg.use_cpu,
        report_to=cfg.report_to,
        dataloader_num_workers=cfg.dataloader_num_workers,
        deepspeed=cfg.deepspeed,
        fsdp=cfg.fsdp or None,
        fsdp_config=cfg.fsdp_config,
        shuffle_dataset=True,
        packing=False,
    )
    trainer = SFTTrainer(model=model, args=args, train_dataset=train, eval_dataset=val,
                         processing_class=tok, peft_config=peft_config)
    return trainer, {"train": train, "validation": val}


def check_inputs(cfg: SFTStageConfig) -> None:
    """Fail in seconds, before any model is loaded or folder created: the trajectories must exist
    and hold records, the training libraries must be installed, and the model must be a local
    folder, in the hub cache, or reachable (a hub id with no network fails here, not after minutes
    of retries)."""
    from mlagent_train.datasets import trajectory_files  # noqa: PLC0415

    try:
        files = trajectory_files(cfg.trajectories)
    except MLAgentError as exc:
        raise SFTError(f"{exc}; record some first (mlagent-env bench, or mlagent-train explore) and list them "
                       "in trajectories") from None
    if not files:
        raise SFTError(f"no *.jsonl trajectory files under {cfg.trajectories}; record some first (mlagent-env bench "
                       "--output_dir DIR writes DIR/trajectories, mlagent-train explore writes OUT/expert/trajectories)")
    for module in ("torch", "transformers", "trl"):
        try:
            importlib.import_module(module)
        except ImportError:
            raise SFTError(f"{module} is not installed: install the training extra (README, 'Training': one line "
                           "for CPU or CUDA torch, then pip install -e \".[train]\")") from None
    if cfg.chat_template and not Path(cfg.chat_template).is_file():
        raise SFTError(f"chat_template {cfg.chat_template} does not exist")
    check_model_source(cfg.model_name_or_path)


def check_model_source(name: str, probe_s: float = 3.0) -> None:
    """A local folder, a hub id in the local cache, or a hub id with the hub reachable; else SFTError."""
    if Path(name).is_dir():
        if not (Path(name) / "config.json").is_file():
            raise SFTError(f"{name} is a folder without config.json: not a model folder")
        return
    if Path(name).exists() or name.startswith((".", "/")) or name.count("/") > 1:
        raise SFTError(f"no model folder at {name}")
    from huggingface_hub import constants, try_to_load_from_cache  # noqa: PLC0415

    if isinstance(try_to_load_from_cache(name, "config.json"), str):
        return
    host = urllib.parse.urlparse(constants.ENDPOINT).hostname or "huggingface.co"
    offline = constants.HF_HUB_OFFLINE
    if not offline:
        try:
            socket.create_connection((host, 443), timeout=probe_s).close()
            return
        except OSError:
            pass
    raise SFTError(f"{name} is neither a local model folder nor in the hub cache, and the hub ({host}) is "
                   f"{'switched off (HF_HUB_OFFLINE)' if offline else 'unreachable'}: give a local folder "
                   "(e.g. python -m mlagent_train.tiny runs/tiny for a tiny offline model)")


def run_sft(cfg: SFTStageConfig) -> SFTResult:
    check_inputs(cfg)
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    stats = BuildStats()
    trainer, data = build_trainer(cfg, stats)
    if trainer.is_world_process_zero():
        (out / "sft_config.json").write_text(json.dumps(asdict(cfg), indent=1))
        (out / "dataset_stats.json").write_text(json.dumps(asdict(stats), indent=1))

    resume: str | None = None
    if cfg.resume == "auto":
        found = latest_checkpoint(out)
        resume = str(found) if found else None
    elif cfg.resume not in ("none", ""):
        if not Path(cfg.resume).is_dir():
            raise SFTError(f"resume checkpoint {cfg.resume} does not exist")
        resume = cfg.resume
    trainer.train(resume_from_checkpoint=resume)
    eval_loss = None
    if data["validation"] is not None:
        eval_loss = float(trainer.evaluate()["eval_loss"])

    final = out / "final"
    main = trainer.is_world_process_zero()
    if cfg.use_lora and cfg.merge_lora:
        # every rank takes part in saving (ZeRO-3 / FSDP gather the adapter weights); then the main
        # process merges the adapters into a fresh copy of the base model, which works whatever the
        # distribution strategy was
        adapter = out / "final-adapter"
        trainer.save_model(str(adapter))
        if main:
            merge_adapter(cfg, adapter, final)
    else:
        trainer.save_model(str(final))
    plot = out / "loss.png"
    history = trainer.state.log_history
    if main:
        trainer.processing_class.save_pretrained(final)
        (out / "log_history.json").write_text(json.dumps(history, indent=1))
        plot_loss(history, plot)
    train_losses = [h["train_loss"] for h in history if "train_loss" in h]
    return SFTResult(output_dir=out, final_dir=final, global_step=trainer.state.global_step,
                     train_loss=train_losses[-1] if train_losses else None, eval_loss=eval_loss,
                     loss_plot=plot, stats=stats)


def merge_adapter(cfg: SFTStageConfig, adapter_dir: Path, out: Path) -> None:
    """Load the base model on the CPU, apply the saved LoRA adapter, merge it and save to ``out``."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    dtype = torch.float32 if cfg.dtype == "auto" else getattr(torch, cfg.dtype)
    base = AutoModelForCausalLM.from_pretrained(cfg.model_name_or_path, dtype=dtype,
                                                trust_remote_code=cfg.trust_remote_code)
    merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    merged.save_pretrained(out)


def assistant_loss(model: Any, tokenizer: Any, examples: list[list[dict[str, str]]]) -> float:
    """Mean cross-entropy over the assistant-turn tokens of chats (``messages`` lists ending with
    the assistant turn), in one padded batch, without gradients: a fixed-batch probe of training."""
    import torch

    from mlagent_train.datasets import tokenize_example

    rows = [tokenize_example(tokenizer, m) for m in examples]
    width = max(len(r["input_ids"]) for r in rows)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    ids = torch.tensor([r["input_ids"] + [pad] * (width - len(r["input_ids"])) for r in rows])
    labels = torch.tensor([r["labels"] + [-100] * (width - len(r["labels"])) for r in rows])
    mask = torch.tensor([[1] * len(r["input_ids"]) + [0] * (width - len(r["input_ids"])) for r in rows])
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    with torch.no_grad():
        logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits.float()
    model.train(was_training)
    shift_logits, shift_labels = logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1).to(device)
    return float(torch.nn.functional.cross_entropy(shift_logits, shift_labels, ignore_index=-100))


def plot_loss(history: list[dict[str, Any]], path: str | Path) -> None:
    """Training loss per logged step (and validation loss when there is one) as a PNG."""
    from mlagent_env.plots import marker, pyplot, readable_axes

    plt = pyplot()
    train = [(h["step"], h["loss"]) for h in history if "loss" in h and math.isfinite(h["loss"])]
    evals = [(h["step"], h["eval_loss"]) for h in history if "eval_loss" in h]
    fig, ax = plt.subplots(figsize=(7, 4))
    if train:
        ax.plot(*zip(*train), marker=marker(len(train)), label="train loss")
    if evals:
        ax.plot(*zip(*evals), marker="o", label="validation loss")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss (assistant tokens)")
    ax.set_title("SFT loss")
    readable_axes(ax)
    if train or evals:
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
