"""Step-wise RL (ML-Agent section 4): GRPO with TRL's ``GRPOTrainer``, PPO with
:mod:`mlagent_train.ppo`, and the episode-wise baseline.

    mlagent-train rl --algo grpo --config examples/configs/rl_grpo.yaml
    mlagent-train rl --algo ppo --config examples/configs/rl_small.yaml --set mode=episode

``mode: step`` (the paper's step-wise RL): prompts are states drawn from the states pool
(:mod:`mlagent_train.states`: expert trajectories, one entry per saved step); the policy samples
``num_generations`` replies per state; each reply is executed from that restored state in its own
sandbox (an :class:`mlagent_train.executor.Executor`: per-reply timeouts, errors as rewards)
and the env's unified reward of that one step is its reward. GRPO gets it through a TRL reward
function whose ``state`` column is the EnvState; PPO calls the same executor.

``mode: episode`` (the baseline the paper compares with, PPO only): whole episodes are played
from the task's start with the current policy, and every step of an episode is trained with the
episode's return (the mean of its step rewards) by the same PPO update.

The output folder gets checkpoints (``checkpoint-<step>/``, resumed automatically),
``final/`` (model + tokenizer, loadable by :class:`mlagent_train.policy.TransformersPolicy`),
``rollouts.jsonl`` (every scored reply: step, task, reward kind, reward), ``reward_curve.png``,
``reward_kinds.json`` (the summary of reward kinds over training, also printed),
``log_history.json`` and ``rl_config.json``. Logging goes through ``report_to``: ``auto`` is
TensorBoard when it is installed, else ``none`` (with a note).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from mlagent_env.errors import MLAgentError
from mlagent_train.config import ConfigError, auto_flag, latest_checkpoint, option

log = logging.getLogger(__name__)


class RLError(MLAgentError):
    """RL cannot run as configured."""


@dataclass
class RLConfig:
    """Options of ``mlagent-train rl`` (defaults: a 7B SFT checkpoint on 8 GPUs, GRPO)."""

    algo: Literal["grpo", "ppo"] = option("grpo", "grpo (TRL GRPOTrainer) | ppo (mlagent_train.ppo, single-step)")
    mode: Literal["step", "episode"] = option("step", "step: states from trajectories, one executed step each (paper); episode: whole episodes with the current policy (baseline, ppo only)")
    model_name_or_path: str = option("runs/sft/final", "the policy to start from (the SFT checkpoint)")
    trajectories: list[str] = option(["runs/explore/expert/trajectories"], "trajectory files or folders with saved states (the states pool)")
    tasks: list[str] = option([], "tasks whose states are used (empty: every held-in task in the trajectories; offline tasks must be listed)")
    allow_held_out: bool = option(False, "allow held-out tasks when they are listed in tasks (normally kept for evaluation)")
    task_balance: Literal["uniform", "proportional"] = option("uniform", "each task gets the same weight, or a weight proportional to its states")
    step_power: float = option(0.0, "state weight (step / episode length) ** step_power: 0 uniform, > 0 favours late steps")
    num_states: int = option(0, "states drawn for the training dataset (0: enough for max_steps)")
    output_dir: str = option("runs/rl", "checkpoints, final model, reward curves and summaries")
    # environment
    sandbox: str = option("auto", "sandbox of the executed replies: auto | docker | local")
    executor: str = option("local", "where replies run: local (a thread pool here) | ray (env actors on a Ray "
                           "cluster, the ray extra)")
    ray_address: str = option("auto", "executor=ray: the cluster's head (host:port), or auto for this node's cluster")
    ray_resource: str | None = option(None, "executor=ray: a custom resource each env actor takes one of "
                                      "(e.g. mlagent_sandbox)")
    data_dir: str | None = option(None, "data root (default $MLAGENT_DATA_DIR)")
    num_sandboxes: int = option(8, "replies executed at once (one sandbox each)")
    rollout_timeout_s: float | None = option(None, "per-reply limit, counted from the reply's own start; a reply past it is killed and scored corner_case (unset: each task's exec_timeout_s + 60 s; never below exec_timeout_s)")
    episode_max_steps: int = option(10, "mode=episode: step budget of an episode")
    # generation
    num_generations: int = option(8, "replies sampled per state (the GRPO group size; PPO samples as many)")
    max_completion_length: int = option(1024, "most tokens of one reply")
    temperature: float = option(1.0, "sampling temperature of rollouts")
    top_p: float = option(1.0, "nucleus sampling of rollouts")
    # optimisation
    learning_rate: float = option(1e-6, "actor learning rate")
    beta: float = option(0.001, "KL coefficient to the reference model (0: no reference model)")
    max_steps: int = option(200, "optimizer steps (GRPO) or PPO iterations")
    per_device_train_batch_size: int = option(8, "completions per device per micro-batch (GRPO: a multiple of num_generations over the generation batch)")
    gradient_accumulation_steps: int = option(4, "micro-batches per optimizer step")
    prompts_per_step: int = option(4, "PPO: states per iteration (x num_generations replies)")
    num_iterations: int = option(1, "GRPO: optimisation passes over each generation batch (mu)")
    epsilon: float = option(0.2, "clip range of the policy ratio (GRPO and PPO)")
    loss_type: str = option("dapo", "GRPO loss aggregation (TRL: grpo | dapo | dr_grpo | bnpo ...)")
    scale_rewards: str = option("group", "GRPO reward scaling: group | batch | none")
    ppo_epochs: int = option(2, "PPO: passes over each rollout batch")
    mini_batch_size: int = option(8, "PPO: sequences per gradient step")
    vf_coef: float = option(0.5, "PPO: value-loss coefficient")
    cliprange_value: float = option(0.2, "PPO: clip range of the value prediction")
    ent_coef: float = option(0.0, "PPO: entropy bonus coefficient")
    critic_learning_rate: float = option(1e-5, "PPO: value-head learning rate")
    whiten_advantages: bool = option(True, "PPO: normalise advantages over the batch")
    max_grad_norm: float = option(1.0, "gradient clipping")
    lr_scheduler_type: str = option("constant", "learning-rate schedule (GRPO, transformers names)")
    warmup_ratio: float = option(0.0, "warmup fraction of the steps (GRPO)")
    use_lora: bool = option(False, "train LoRA adapters (GRPO via peft); the reference is the adapter-free model")
    lora_r: int = option(16, "LoRA rank")
    lora_alpha: int = option(32, "LoRA alpha")
    lora_target_modules: list[str] = option(["all-linear"], "modules that get adapters")
    bf16: str = option("auto", "auto (on with a bf16-capable GPU) | true | false")
    gradient_checkpointing: str = option("auto", "auto (on with a GPU) | true | false")
    use_vllm: bool = option(False, "GRPO: generate with vLLM (TRL's vllm_mode colocate/server)")
    vllm_mode: str = option("colocate", "GRPO with vLLM: colocate | server")
    # bookkeeping
    logging_steps: int = option(1, "log every this many steps")
    save_steps: int = option(50, "save a checkpoint every this many steps")
    save_total_limit: int = option(3, "keep at most this many checkpoints")
    resume: str = option("auto", "auto (the latest checkpoint in output_dir) | none | a checkpoint folder")
    report_to: str = option("auto", "auto (tensorboard when installed, else none) | none | tensorboard | wandb")
    seed: int = option(42, "seed of state sampling, generation and initialisation")
    use_cpu: bool = option(False, "train on the CPU even when a GPU is there (tests)")
    summary_window: int = option(5, "steps averaged for the first/last reward windows of the summary")


@dataclass
class RLResult:
    output_dir: Path
    final_dir: Path
    global_step: int
    summary: dict[str, Any]
    reward_plot: Path


def resolve_report_to(value: str) -> tuple[str, str | None]:
    """``auto`` -> tensorboard when installed, else none with a note."""
    if value != "auto":
        return value, None
    if importlib.util.find_spec("tensorboard") is not None:
        return "tensorboard", None
    return "none", "report_to=auto: TensorBoard is not installed (pip install tensorboard), so metrics go to log_history.json only"


def resume_checkpoint(cfg: RLConfig) -> Path | None:
    if cfg.resume == "auto":
        return latest_checkpoint(cfg.output_dir)
    if cfg.resume in ("none", ""):
        return None
    if not Path(cfg.resume).is_dir():
        raise RLError(f"resume checkpoint {cfg.resume} does not exist")
    return Path(cfg.resume)


def process_rank() -> int:
    """This process's rank under ``accelerate launch``/``torchrun`` (0 when run alone)."""
    return int(os.environ.get("RANK", "0") or 0)


def rollouts_path(out: Path) -> Path:
    """``rollouts.jsonl`` on the main process; ``rollouts-rank<r>.jsonl`` on the others (every
    process executes and logs its own replies; the summary reads them all)."""
    rank = process_rank()
    return out / ("rollouts.jsonl" if rank == 0 else f"rollouts-rank{rank}.jsonl")


def truncate_rollouts(path: Path, keep_through_step: int) -> None:
    """On resumption, drop the logged rollouts of steps after the checkpoint (they are redone)."""
    if not path.exists():
        return
    rows = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    kept = [r for r in rows if json.loads(r)["step"] <= keep_through_step]
    path.write_text("".join(r + "\n" for r in kept), encoding="utf-8")


def build_states_pool(cfg: RLConfig) -> Any:
    from mlagent_train.states import StatesPool

    return StatesPool.from_trajectories(cfg.trajectories, tasks=cfg.tasks or None, allow_held_out=cfg.allow_held_out,
                                        task_balance=cfg.task_balance, step_power=cfg.step_power)


def build_executor(cfg: RLConfig) -> Any:
    from mlagent_train.local_executor import LocalExecutor

    kwargs: dict[str, Any] = dict(sandbox=cfg.sandbox, data_dir=cfg.data_dir, num_sandboxes=cfg.num_sandboxes,
                                  timeout_s=cfg.rollout_timeout_s,
                                  env_max_steps=cfg.episode_max_steps if cfg.mode == "episode" else 1000)
    if cfg.executor == "ray":
        from mlagent_train.ray_executor import RayExecutor  # the ray extra

        return RayExecutor(address=cfg.ray_address, resource=cfg.ray_resource, **kwargs)
    if cfg.executor != "local":
        raise ConfigError(f"executor={cfg.executor!r} is not an executor; use local or ray")
    return LocalExecutor(**kwargs)


def load_tokenizer(path: str) -> Any:
    from transformers import AutoTokenizer

    try:
        tok = AutoTokenizer.from_pretrained(path)
    except (OSError, ValueError) as exc:
        raise RLError(f"cannot load a tokenizer from {path!r}: give a local model folder (the SFT output) "
                      f"or a hub id with access to the hub: {exc}") from None
    if not getattr(tok, "chat_template", None):
        raise RLError(f"{path} has no chat template; train it with mlagent-train sft first (its final/ has one)")
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    return tok


# ------------------------------------------------------------------------------------- GRPO


def build_grpo_trainer(cfg: RLConfig, reward_func: Any, dataset: Any, report_to: str) -> Any:
    """TRL's GRPOTrainer over sampled states with the env-executing reward function."""
    import torch
    from trl import GRPOConfig, GRPOTrainer

    gpu = torch.cuda.is_available() and not cfg.use_cpu
    bf16 = auto_flag(cfg.bf16, "bf16", gpu and torch.cuda.is_bf16_supported())
    checkpointing = auto_flag(cfg.gradient_checkpointing, "gradient_checkpointing", gpu)
    tok = load_tokenizer(cfg.model_name_or_path)
    peft_config = None
    if cfg.use_lora:
        from peft import LoraConfig

        targets: Any = "all-linear" if cfg.lora_target_modules == ["all-linear"] else cfg.lora_target_modules
        peft_config = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, target_modules=targets, task_type="CAUSAL_LM")
    extra: dict[str, Any] = {}
    if cfg.use_vllm:
        extra.update(use_vllm=True, vllm_mode=cfg.vllm_mode)
    args = GRPOConfig(
        output_dir=cfg.output_dir,
        learning_rate=cfg.learning_rate,
        lr_scheduler_type=cfg.lr_scheduler_type,
        warmup_steps=cfg.warmup_ratio,
        max_steps=cfg.max_steps,
        per_device_train_batch_size=cfg.per_device_train_batch_size,
        gradient_accumulation_steps=cfg.gradient_accumulation_steps,
        num_generations=cfg.num_generations,
        max_completion_length=cfg.max_completion_length,
        temperature=cfg.temperature,
        top_p=cfg.top_p,
        beta=cfg.beta,
        epsilon=cfg.epsilon,
        num_iterations=cfg.num_iterations,
        loss_type=cfg.loss_type,
        scale_rewards=cfg.scale_rewards,
        max_grad_norm=cfg.max_grad_norm,
        bf16=bf16,
        gradient_checkpointing=checkpointing,
        logging_steps=cfg.logging_steps,
        logging_first_step=True,
        save_strategy="steps",
        save_steps=cfg.save_steps,
        save_total_limit=cfg.save_total_limit,
        seed=cfg.seed,
        use_cpu=cfg.use_cpu,
        report_to=report_to,
        log_completions=False,
        **extra,
    )
    model_kwargs = {"dtype": torch.bfloat16 if bf16 else torch.float32}
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(cfg.model_name_or_path, **model_kwargs)
    return GRPOTrainer(model=model, reward_funcs=[reward_func], args=args, train_dataset=dataset,
                       processing_class=tok, peft_config=peft_config)


def run_grpo(cfg: RLConfig, out: Path, report_to: str, pool: Any, executor: Any) -> tuple[int, Any, list[dict[str, Any]]]:
    from mlagent_train.rollout import EnvReward, RewardLog

    prompts_per_step = max(1, cfg.per_device_train_batch_size * cfg.gradient_accumulation_steps // cfg.num_generations)
    n = cfg.num_states or max(len(pool.entries), cfg.max_steps * prompts_per_step)
    dataset = pool.to_dataset(n, seed=cfg.seed)
    resume = resume_checkpoint(cfg)
    rollouts = rollouts_path(out)
    if resume is None:
        rollouts.unlink(missing_ok=True)
    else:
        truncate_rollouts(rollouts, int(resume.name.split("-")[-1]))
    trainer = build_grpo_trainer(cfg, EnvReward(executor, RewardLog(rollouts)), dataset, report_to)
    trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    final = out / "final"
    if cfg.use_lora:  # the adapter beside, the merged model in final/ (what eval and vLLM load)
        trainer.save_model(str(out / "final-adapter"))
        if trainer.is_world_process_zero():
            trainer.model.merge_and_unload().save_pretrained(final)
    else:
        trainer.save_model(str(final))
    if trainer.is_world_process_zero():
        trainer.processing_class.save_pretrained(final)
    return trainer.state.global_step, trainer, trainer.state.log_history


# ------------------------------------------------------------------------------------- entry


def run_rl(cfg: RLConfig) -> RLResult:
    """Train as configured; write the outputs listed in the module docstring."""
    from mlagent_train.datasets import trajectory_files
    from mlagent_train.rollout import summarise_rollouts

    trajectory_files(cfg.trajectories)  # a missing trajectory path fails before anything is written
    if cfg.algo not in ("grpo", "ppo"):
        raise RLError(f"algo must be grpo or ppo, not {cfg.algo!r}")
    if cfg.algo == "grpo" and cfg.mode != "step":
        raise RLError("mode=episode is implemented for algo=ppo (the same update code for both modes); "
                      "use --algo ppo --set mode=episode for the episode-wise baseline")
    out = Path(cfg.output_dir)
    out.mkdir(parents=True, exist_ok=True)
    report_to, note = resolve_report_to(cfg.report_to)
    if note:
        print(f"mlagent-train rl: {note}")
    main = process_rank() == 0
    if main:
        (out / "rl_config.json").write_text(json.dumps(asdict(cfg), indent=1))
    pool = build_states_pool(cfg)
    executor = build_executor(cfg)
    try:
        executor.warm_up(pool.tasks)  # data, limits and sandboxes are checked before any model loads
        if cfg.algo == "grpo":
            step, _, history = run_grpo(cfg, out, report_to, pool, executor)
        else:
            from mlagent_train.ppo import run_ppo

            step, history = run_ppo(cfg, out, report_to, pool, executor)
    finally:
        executor.close()
    plot = out / "reward_curve.png"
    if not main:  # the other processes' replies are in their own rollouts files; the main one summarises
        return RLResult(output_dir=out, final_dir=out / "final", global_step=step,
                        summary=summarise_rollouts([rollouts_path(out)], cfg.summary_window), reward_plot=plot)
    (out / "log_history.json").write_text(json.dumps(history, indent=1))
    summary = summarise_rollouts(sorted(out.glob("rollouts*.jsonl")), cfg.summary_window)
    summary.update(algo=cfg.algo, mode=cfg.mode, global_step=step)
    (out / "reward_kinds.json").write_text(json.dumps(summary, indent=1))
    plot_reward_curve(summary, plot, title=f"{cfg.algo.upper()} ({cfg.mode}-wise): executed-step rewards")
    return RLResult(output_dir=out, final_dir=out / "final", global_step=step, summary=summary, reward_plot=plot)


def format_summary(summary: dict[str, Any]) -> str:
    lines = [f"reward kinds over {summary['scored_replies']} executed replies in {summary['steps']} steps:"]
    for kind, count in summary["counts"].items():
        lines.append(f"  {kind:16s} {count:6d}  {100 * summary['fractions'][kind]:5.1f}%")
    if summary["first_window_mean"] is not None:
        lines.append(f"mean reward: first {summary['window']} steps {summary['first_window_mean']:.3f}, "
                     f"last {summary['window']} steps {summary['last_window_mean']:.3f}")
    return "\n".join(lines)


def plot_reward_curve(summary: dict[str, Any], path: Path, title: str = "RL rewards") -> None:
    """Mean executed-step reward per training step (and its running mean) above the share of
    each reward kind per step."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [int(s) for s in summary["reward_by_step"]]
    means = list(summary["reward_by_step"].values())
    fig, (ax, kx) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    ax.plot(steps, means, alpha=0.5, label="mean reward")
    if means:
        w = max(1, summary.get("window") or 1)
        running = [sum(means[max(0, i - w + 1): i + 1]) / len(means[max(0, i - w + 1): i + 1]) for i in range(len(means))]
        ax.plot(steps, running, linewidth=2, label=f"running mean ({w})")
    ax.axhline(0.5, color="grey", linestyle=":", linewidth=1)
    ax.set_ylabel("unified reward")
    ax.set_title(title)
    ax.legend(fontsize=8)
    kinds = sorted({k for d in summary["kinds_by_step"].values() for k in d})
    for kind in kinds:
        fr = [summary["kinds_by_step"][s].get(kind, 0) / max(sum(summary["kinds_by_step"][s].values()), 1)
              for s in summary["kinds_by_step"]]
        kx.plot(steps, fr, label=kind)
    kx.set_xlabel("training step")
    kx.set_ylabel("share of replies")
    kx.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
