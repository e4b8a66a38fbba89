"""GPU check of mlagent_train: SFT, step-wise GRPO and PPO, and the in-process policy, each through
the project's own code, measured on one GPU in one command (issue 14).

    bash benchmarks/gpu_check.sh                        # on the device: offline wheels, then this script
    python benchmarks/gpu_check.py --allow_readable_answers true
    python benchmarks/gpu_check.py --profile tiny --allow_readable_answers true   # the CPU dry run

Stages, in order (each has a wall-clock budget; one that runs out of it stops cleanly and its
figures say ``stopped_by_budget``; a stage that cannot start inside the whole check's budget is
``skipped``, with the reason):

1. ``setup``: the offline held-in tasks are prepared and played by their scripted demos
   (``mlagent-env bench``'s :class:`~mlagent_env.bench.Benchmark`, plain local sandboxes): the
   trajectories with saved states that every later stage reads.
2. ``sft``: ``mlagent-train sft``'s trainer (:func:`mlagent_train.sft.build_trainer`) on those
   trajectories, a Qwen2.5-0.5B-shaped model (its config written below, random weights: no hub),
   bf16, gradient checkpointing, the paper's cut of 15000 tokens, the paper's batch (1 x 8) and
   learning rate, ``sft_steps`` optimizer steps: tokens/s, step time, peak GPU memory.
3. ``fit``: the same code, from the same random weights, at a high learning rate for ``fit_steps``
   (or until the loss is below ``fit_target_loss``), so that the RL stages start from a policy whose replies are partly valid actions (the share
   that parse and the share that run are the RL stages' ``valid_share`` / ``executed_share``).
4. ``grpo``: ``mlagent-train rl --algo grpo``'s trainer (:func:`mlagent_train.grpo.build_grpo_trainer`
   with :class:`~mlagent_train.rollout.EnvReward`), states from the pool of step 1
   (:func:`mlagent_train.rl.build_states_pool`), replies executed by the
   :class:`~mlagent_train.local_executor.LocalExecutor` (:func:`mlagent_train.rl.build_executor`),
   ``num_sandboxes`` at once: states/hour, the generation and execution shares of the wall time,
   peak GPU memory.
5. ``ppo``: ``--algo ppo``'s loop (:func:`mlagent_train.ppo.run_ppo`) on the same pool and executor:
   the same figures, from its logged ``gen_s`` / ``env_s`` / ``train_s``.
6. ``policy``: :class:`mlagent_train.policy.TransformersPolicy` (the fitted model) on one env prompt:
   generated tokens/s.
7. ``lora_7b`` (``lora_7b: true``, when its whole budget is still left): the SFT stage with LoRA on
   a Qwen2.5-7B-shaped model (bf16 weights); otherwise ``skipped`` with the reason.

Every model shares the tiny model's byte-level tokenizer (:mod:`mlagent_train.tiny`, a vocabulary
of 1000: no Qwen tokenizer can be fetched there): 2.3 characters per token on a digits prompt and
2.7 on its demo replies, so a text is more tokens than with Qwen's. The embedding and output layers
keep Qwen's vocabulary size, so the compute per token is Qwen's.

The sandboxes are plain local ones (the device has neither Docker nor bubblewrap), where agent code
can read the private answers: the check refuses to run unless ``allow_readable_answers`` is given,
and its JSON records ``answers_readable``. Rewards measured so mean nothing; the figures are speeds.

Output: a readable summary on stdout and ``<out_dir>/gpu_check-<date>-<device>.json`` with every
figure, the versions and the resolved config. Options: ``--help`` (every field of
:class:`GPUCheckConfig`), ``--config FILE.yaml``, ``--set key=value``.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import gc
import json
import platform
import re
import shutil
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

sys.path.insert(0, str(Path(__file__).resolve().parent))  # gpu_check_clock beside this file

from mlagent_env.config import ConfigError, add_config_arguments, config_from_args, option  # noqa: E402
from mlagent_env.errors import MLAgentError  # noqa: E402
from mlagent_env.readable_answers import READABLE_ANSWERS_NOTE, check_readable_answers  # noqa: E402
from mlagent_env.sandbox import SandboxKind, sandbox_option  # noqa: E402

QWEN25_05B: dict[str, Any] = dict(
    hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14, num_key_value_heads=2,
    vocab_size=151936, tie_word_embeddings=True, max_position_embeddings=32768, rope_theta=1e6, rms_norm_eps=1e-6)
"""Qwen2.5-0.5B's architecture (its published config.json), written here: no hub on the device."""
QWEN25_7B: dict[str, Any] = dict(
    hidden_size=3584, intermediate_size=18944, num_hidden_layers=28, num_attention_heads=28, num_key_value_heads=4,
    vocab_size=152064, tie_word_embeddings=False, max_position_embeddings=131072, rope_theta=1e6, rms_norm_eps=1e-6)
"""Qwen2.5-7B's architecture (the paper's base model)."""


@dataclass
class GPUCheckConfig:
    """Options of ``benchmarks/gpu_check.py`` (defaults: the H200 run of issue 14, under 8 minutes)."""

    profile: Literal["h200", "tiny"] = option("h200", "h200: the sizes above; tiny: the CPU dry run (the tiny local "
                                              "model everywhere, one step per stage; options left at their "
                                              "defaults take the tiny values)")
    allow_readable_answers: bool = option(False, "required with sandbox=local (plain local sandboxes, where agent "
                                          "code can read the answers; recorded in the JSON)")
    out_dir: str = option("benchmarks/results", "where gpu_check-<date>-<device>.json is written")
    work_dir: str | None = option(None, "models, trajectories and runs (default: a temporary folder, removed after)")
    tasks: list[str] = option(["offline-held-in"], "tasks whose scripted demos give the SFT data and the RL states")
    scripted_runs: int = option(1, "scripted episodes per task (the demos are deterministic)")
    scripted_max_steps: int = option(10, "step budget of a scripted episode")
    sandbox: SandboxKind = sandbox_option("local")  # the device has neither Docker nor bubblewrap
    num_sandboxes: int = option(4, "replies executed at once in the RL stages")
    budget_s: float = option(420.0, "the whole check's budget (s): a stage gets what is left of it at most, and one "
                             "that cannot start inside it is skipped")
    sft_steps: int = option(20, "SFT: optimizer steps measured")
    sft_grad_accum: int = option(8, "SFT: micro-batches (of 1 example) per optimizer step (the paper's 8)")
    sft_max_length: int = option(15000, "SFT: longest example in tokens (the paper's cutoff)")
    sft_budget_s: float = option(60.0, "SFT: stage budget (s)")
    fit_steps: int = option(60, "fit: optimizer steps of the policy the RL stages start from")
    fit_grad_accum: int = option(4, "fit: micro-batches per optimizer step")
    fit_learning_rate: float = option(3e-4, "fit: learning rate (random weights must learn the reply format)")
    fit_target_loss: float = option(0.1, "fit: stop early once the logged loss (assistant tokens) is below this")
    fit_budget_s: float = option(80.0, "fit: stage budget (s)")
    num_generations: int = option(4, "RL: replies per state (the GRPO group)")
    max_completion_length: int = option(256, "RL: most tokens of one reply (the longest demo reply is 233 tokens of "
                                        "the tiny tokenizer)")
    grpo_steps: int = option(10, "GRPO: optimizer steps")
    grpo_completions_per_step: int = option(8, "GRPO: completions per step (per_device_train_batch_size)")
    grpo_budget_s: float = option(120.0, "GRPO: stage budget (s)")
    ppo_iterations: int = option(5, "PPO: iterations")
    ppo_prompts_per_step: int = option(2, "PPO: states per iteration")
    ppo_budget_s: float = option(70.0, "PPO: stage budget (s)")
    policy_new_tokens: int = option(256, "policy: most new tokens per reply")
    policy_replies: int = option(3, "policy: timed replies (after one warm-up)")
    policy_budget_s: float = option(15.0, "policy: stage budget (s)")
    lora_7b: bool = option(True, "also SFT with LoRA on a Qwen2.5-7B-shaped model, last, if its whole budget is left")
    lora_steps: int = option(10, "LoRA 7B: optimizer steps")
    lora_grad_accum: int = option(2, "LoRA 7B: micro-batches per optimizer step")
    lora_budget_s: float = option(110.0, "LoRA 7B: stage budget (s), building the 15 GB model folder included")
    seed: int = option(0, "seed of the random weights, sampling and training")


TINY: dict[str, Any] = dict(
    tasks=["digits"], scripted_max_steps=4, num_sandboxes=2, budget_s=1200.0, sft_steps=1, sft_grad_accum=1,
    sft_max_length=8192, sft_budget_s=300.0, fit_steps=1, fit_grad_accum=1, fit_budget_s=300.0, num_generations=2,
    max_completion_length=8, grpo_steps=1, grpo_completions_per_step=2, grpo_budget_s=300.0, ppo_iterations=1,
    ppo_prompts_per_step=1, ppo_budget_s=300.0, policy_new_tokens=8, policy_replies=1, policy_budget_s=300.0,
    lora_steps=1, lora_grad_accum=1, lora_budget_s=300.0)
"""The dry run's sizes: what a profile=tiny check uses for every option left at its default."""


class GPUCheckError(MLAgentError):
    """The check cannot run as configured."""


OPT_IN = "pass --allow_readable_answers true (the speeds stay meaningful; the JSON records the opt-in)"


def resolve(cfg: GPUCheckConfig) -> GPUCheckConfig:
    """The tiny profile's values for every option still at its default."""
    if cfg.profile != "tiny":
        return cfg
    defaults = GPUCheckConfig()
    return dataclasses.replace(cfg, **{k: v for k, v in TINY.items() if getattr(cfg, k) == getattr(defaults, k)})


# ------------------------------------------------------------------------------------- models


def shaped_model(out: Path, shape: dict[str, Any], tokenizer_dir: Path, seed: int) -> Path:
    """A Qwen2 model of ``shape`` with random weights (built on the GPU when there is one, saved in
    bf16) and the tiny model's tokenizer, as a model folder every stage loads like a hub model."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, Qwen2Config

    tok = AutoTokenizer.from_pretrained(tokenizer_dir)
    config = Qwen2Config(**shape, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, bos_token_id=None)
    torch.manual_seed(seed)
    device = "cuda" if torch.cuda.is_available() else "cpu"
    with torch.device(device):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    del model
    free_gpu()
    return out


def free_gpu() -> None:
    import torch

    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


# ------------------------------------------------------------------------------------- stages


@dataclass
class Workspace:
    root: Path
    data_dir: Path
    trajectories: Path
    tiny: Path
    base: Path  # the SFT model: 0.5B-shaped random weights (tiny profile: the tiny model)
    fitted: Path


def setup(cfg: GPUCheckConfig, ws: Workspace) -> dict[str, Any]:
    from mlagent_env.agents import PolicySpec
    from mlagent_env.bench import BenchConfig, Benchmark
    from mlagent_env.tasks import get_task, resolve_tasks
    from mlagent_env.tasks.data import prepare_task
    from mlagent_train.tiny import build_tiny_model

    tasks = resolve_tasks(cfg.tasks)
    for task_id in tasks:
        prepare_task(get_task(task_id), ws.data_dir)
    Benchmark(BenchConfig(tasks=tasks, policy=PolicySpec(kind="scripted"), runs=cfg.scripted_runs,
                          max_steps=cfg.scripted_max_steps, parallel=min(8, len(tasks) * cfg.scripted_runs),
                          sandbox=cfg.sandbox,
                          allow_readable_answers=cfg.allow_readable_answers, data_dir=str(ws.data_dir)),
              ws.trajectories).run(progress=False)
    build_tiny_model(ws.tiny, seed=cfg.seed)
    if cfg.profile == "tiny":
        shutil.copytree(ws.tiny, ws.base)
    else:
        shaped_model(ws.base, QWEN25_05B, ws.tiny, cfg.seed)
    steps = sum(1 for f in (ws.trajectories / "trajectories").rglob("*.jsonl") for line in f.open() if line.strip())
    return {"tasks": tasks, "trajectory_steps": steps, "code_path": "mlagent_env.bench.Benchmark (scripted policy)"}


def sft_figures(cfg: GPUCheckConfig, ws: Workspace, *, model: Path, out: Path, steps: int, accum: int,
                deadline: float, lora: bool = False, learning_rate: float | None = None,
                target_loss: float | None = None, save_to: Path | None = None) -> dict[str, Any]:
    """Train with ``mlagent-train sft``'s trainer and return its figures (and save it to ``save_to``)."""
    import torch

    from gpu_check_clock import StageClock, gpu_peak_gib, reset_gpu_peak
    from mlagent_train.sft import SFTStageConfig, build_trainer, check_inputs

    extra: dict[str, Any] = {} if learning_rate is None else {"learning_rate": learning_rate,
                                                             "lr_scheduler_type": "constant"}
    scfg = SFTStageConfig(
        model_name_or_path=str(model), trajectories=[str(ws.trajectories / "trajectories")], output_dir=str(out),
        max_length=cfg.sft_max_length, max_steps=steps, per_device_train_batch_size=1,
        gradient_accumulation_steps=accum, val_fraction=0.0, bf16="auto", gradient_checkpointing="true",
        use_lora=lora, dtype="bfloat16" if lora else "auto", logging_steps=1, save_steps=10**9, resume="none",
        use_cpu=not torch.cuda.is_available(), report_to="none", seed=cfg.seed, **extra)
    check_inputs(scfg)
    reset_gpu_peak()
    trainer, data = build_trainer(scfg)
    clock = StageClock(deadline, stop_below_loss=target_loss)
    trainer.add_callback(clock)
    t0 = time.perf_counter()
    trainer.train()
    train_s = time.perf_counter() - t0
    tokens_at = {row["step"]: row["num_tokens"] for row in clock.logs if "num_tokens" in row}
    timed = clock.timed_steps()
    first = len(clock.step_s) - len(timed)  # steps before the timed ones
    timed_tokens = tokens_at.get(len(clock.step_s), 0) - tokens_at.get(first, 0)
    lengths = [len(ids) for ids in data["train"]["input_ids"]]
    losses = [row["loss"] for row in clock.logs if "loss" in row]
    figures = {
        **clock.step_figures(), "stopped_by_budget": clock.stopped_by_budget, "train_s": round(train_s, 2),
        "tokens": tokens_at.get(len(clock.step_s)), "tokens_per_s": round(timed_tokens / sum(timed), 1) if timed else None,
        "examples": len(lengths), "example_tokens_mean": round(sum(lengths) / len(lengths), 1),
        "example_tokens_max": max(lengths), "max_length": cfg.sft_max_length,
        "batch": f"1 x {accum} (per-device x accumulation)", "first_loss": round(losses[0], 4) if losses else None,
        "last_loss": round(losses[-1], 4) if losses else None, "peak_gpu_gib": gpu_peak_gib(),
        "parameters": sum(p.numel() for p in trainer.model.parameters()),
        "trainable_parameters": sum(p.numel() for p in trainer.model.parameters() if p.requires_grad),
        "weights_dtype": str(next(trainer.model.parameters()).dtype).removeprefix("torch."),
        "bf16": bool(trainer.args.bf16), "gradient_checkpointing": bool(trainer.args.gradient_checkpointing),
        "lora": lora, "code_path": "mlagent_train.sft.build_trainer (TRL SFTTrainer)",
    }
    if target_loss is not None:
        figures.update(target_loss=target_loss, reached_target_loss=clock.reached_loss)
    if save_to is not None:
        trainer.save_model(str(save_to))
        trainer.processing_class.save_pretrained(save_to)
    del trainer, data
    free_gpu()
    return figures


def rl_config(cfg: GPUCheckConfig, ws: Workspace, algo: str, out: Path) -> Any:
    import torch

    from mlagent_train.rl_config import GRPOStageConfig, PPOStageConfig

    common: dict[str, Any] = dict(
        model_name_or_path=str(ws.fitted), trajectories=[str(ws.trajectories / "trajectories")], tasks=cfg.tasks,
        output_dir=str(out), sandbox=cfg.sandbox, data_dir=str(ws.data_dir), num_sandboxes=cfg.num_sandboxes,
        allow_readable_answers=cfg.allow_readable_answers, num_generations=cfg.num_generations,
        max_completion_length=cfg.max_completion_length, temperature=1.0, gradient_checkpointing="true",
        save_steps=10**9 if algo == "grpo" else 0, resume="none", report_to="none", seed=cfg.seed,
        use_cpu=not torch.cuda.is_available())
    if algo == "grpo":
        return GRPOStageConfig(max_steps=cfg.grpo_steps, per_device_train_batch_size=cfg.grpo_completions_per_step,
                               gradient_accumulation_steps=1, **common)
    return PPOStageConfig(max_steps=cfg.ppo_iterations, prompts_per_step=cfg.ppo_prompts_per_step,
                          mini_batch_size=cfg.ppo_prompts_per_step * cfg.num_generations, ppo_epochs=1, **common)


def rl_figures(cfg: GPUCheckConfig, ws: Workspace, algo: str, deadline: float) -> dict[str, Any]:
    """One RL stage through ``mlagent-train rl``'s pieces, with a timed executor around the real one."""
    from gpu_check_clock import BudgetSpent, StageClock, TimedExecutor, gpu_peak_gib, reset_gpu_peak
    from mlagent_train.rl import build_executor, build_states_pool
    from mlagent_train.rl_outputs import card_text, rollouts_path
    from mlagent_train.rollout import EnvReward, RewardLog

    out = ws.root / algo
    out.mkdir(parents=True, exist_ok=True)
    rcfg = rl_config(cfg, ws, algo, out)
    pool = build_states_pool(rcfg)
    executor = TimedExecutor(build_executor(rcfg), deadline)
    reset_gpu_peak()
    stopped = False
    gen_s: float | None = None
    steps = 0
    try:
        executor.warm_up(pool.tasks)
        readable = check_readable_answers(executor.answers_readable, cfg.allow_readable_answers)
        card = card_text(rcfg, readable)
        t0 = time.perf_counter()
        if algo == "grpo":
            from mlagent_train.grpo import build_grpo_trainer

            n = rcfg.max_steps * max(1, rcfg.per_device_train_batch_size // rcfg.num_generations)
            reward = EnvReward(executor, pool.states(), RewardLog(rollouts_path(out)))
            trainer = build_grpo_trainer(rcfg, reward, pool.to_dataset(n, seed=rcfg.seed), "none", card)
            clock = StageClock(deadline, time_generation=True)
            trainer.add_callback(clock)
            t_train = time.perf_counter()
            try:
                trainer.train()
            except BudgetSpent:
                stopped = True
            wall = time.perf_counter() - t_train
            steps, gen_s, stopped = trainer.state.global_step, clock.gen_s, stopped or clock.stopped_by_budget
            timing = {"load_s": round(t_train - t0, 2), **clock.step_figures()}
            del trainer
        else:
            from mlagent_train.ppo import run_ppo

            try:
                steps, history = run_ppo(rcfg, out, "none", pool, executor, card, readable=bool(readable))
                gen_s = sum(h["gen_s"] for h in history)
                loop = sum(h["gen_s"] + h["env_s"] + h["train_s"] for h in history)
                timing = {"train_s": round(sum(h["train_s"] for h in history), 2),
                          "load_and_save_s": round(time.perf_counter() - t0 - loop, 2)}
                wall = loop
            except BudgetSpent:
                stopped, wall = True, time.perf_counter() - t0
                steps = executor.batches
                timing = {"note": "stopped by the budget: generation time is not known (only run_ppo's log has it)"}
    finally:
        executor.close()
    states = len(executor.outcomes) // rcfg.num_generations
    exec_s = executor.exec_s
    figures: dict[str, Any] = {
        "steps": steps, "stopped_by_budget": stopped, "wall_s": round(wall, 2), "states": states,
        "states_per_hour": round(3600 * states / wall, 1) if wall else None,
        "generation_share": round(gen_s / wall, 3) if gen_s is not None and wall else None,
        "execution_share": round(exec_s / wall, 3) if wall else None,
        "generation_s": round(gen_s, 2) if gen_s is not None else None, "execution_s": round(exec_s, 2),
        **timing, **executor.reply_figures(), "peak_gpu_gib": gpu_peak_gib(),
        "num_generations": rcfg.num_generations, "num_sandboxes": rcfg.num_sandboxes, "sandbox": rcfg.sandbox,
        "answers_readable": executor.answers_readable, "max_completion_length": rcfg.max_completion_length,
        "code_path": ("mlagent_train.grpo.build_grpo_trainer + rollout.EnvReward (TRL GRPOTrainer)" if algo == "grpo"
                      else "mlagent_train.ppo.run_ppo") + " + rl.build_executor (LocalExecutor)",
    }
    free_gpu()
    return figures


def policy_figures(cfg: GPUCheckConfig, ws: Workspace, deadline: float) -> dict[str, Any]:
    import gymnasium as gym
    import torch

    from gpu_check_clock import cuda_sync
    from mlagent_env.tasks import resolve_tasks
    from mlagent_train.policy import TransformersPolicy

    task_id = resolve_tasks(cfg.tasks)[0]
    env = gym.make(f"mlagent/{task_id}", sandbox=cfg.sandbox, data_dir=str(ws.data_dir))
    try:
        _, info = env.reset(seed=cfg.seed)
    finally:
        env.close()
    dtype = "bfloat16" if torch.cuda.is_available() else "float32"
    policy = TransformersPolicy(str(ws.fitted), max_new_tokens=cfg.policy_new_tokens, dtype=dtype)
    policy.reset(task_id, seed=cfg.seed)
    policy.act(info["messages"], info)  # warm-up
    tokens, seconds, replies = 0, 0.0, 0
    for _ in range(cfg.policy_replies):
        if time.monotonic() > deadline:
            break
        cuda_sync()
        t0 = time.perf_counter()
        policy.act(info["messages"], info)
        cuda_sync()
        seconds += time.perf_counter() - t0
        tokens += policy.last_usage()["completion_tokens"]
        replies += 1
    figures = {"task": task_id, "prompt_tokens": policy.last_usage()["prompt_tokens"], "replies": replies,
               "new_tokens": tokens, "seconds": round(seconds, 3),
               "tokens_per_s": round(tokens / seconds, 1) if seconds else None, "dtype": dtype,
               "stopped_by_budget": replies < cfg.policy_replies, "code_path": "mlagent_train.policy.TransformersPolicy"}
    del policy
    free_gpu()
    return figures


def lora_figures(cfg: GPUCheckConfig, ws: Workspace, deadline: float) -> dict[str, Any]:
    model = ws.base
    if cfg.profile != "tiny":
        model = shaped_model(ws.root / "qwen2.5-7b-shaped", QWEN25_7B, ws.tiny, cfg.seed)
    figures = sft_figures(cfg, ws, model=model, out=ws.root / "lora", steps=cfg.lora_steps,
                          accum=cfg.lora_grad_accum, deadline=deadline, lora=True)
    if model != ws.base:
        shutil.rmtree(model, ignore_errors=True)
    return figures


# ------------------------------------------------------------------------------------- running


def device_info() -> dict[str, Any]:
    from importlib import metadata

    import torch

    info: dict[str, Any] = {"python": platform.python_version(),
                            "name": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"}
    if torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        info.update(cuda=torch.version.cuda, gpu_memory_gib=round(props.total_memory / 2**30, 1),
                    bf16=torch.cuda.is_bf16_supported())
    for name in ("torch", "transformers", "trl", "peft", "accelerate", "datasets", "tokenizers", "gymnasium", "pydantic"):
        try:
            info[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            info[name] = None
    return info


def run_check(cfg: GPUCheckConfig) -> tuple[dict[str, Any], Path]:
    """Run every stage; return the report and the path of its JSON."""
    cfg = resolve(cfg)
    if cfg.sandbox == "local" and not cfg.allow_readable_answers:
        raise GPUCheckError(f"the check executes replies in plain local sandboxes, where agent code can read the "
                            f"answers: {OPT_IN}")
    warnings.filterwarnings("ignore", message="mlagent local sandbox")
    start = time.monotonic()
    tmp = None if cfg.work_dir else tempfile.mkdtemp(prefix="mlagent-gpu-check-")
    root = Path(cfg.work_dir or tmp).resolve()  # type: ignore[arg-type]
    root.mkdir(parents=True, exist_ok=True)
    ws = Workspace(root=root, data_dir=root / "data", trajectories=root / "scripted", tiny=root / "tiny",
                   base=root / "base", fitted=root / "fitted")
    report: dict[str, Any] = {"check": "mlagent gpu_check (issue 14)", "date": dt.datetime.now().isoformat(timespec="seconds"),
                              "device": device_info(), "profile": cfg.profile, "sandbox": cfg.sandbox,
                              "allow_readable_answers": cfg.allow_readable_answers,
                              "readable_answers_note": READABLE_ANSWERS_NOTE if cfg.allow_readable_answers else None,
                              "config": asdict(cfg), "stages": {}}
    stages: dict[str, Any] = report["stages"]

    path = Path(cfg.out_dir) / f"gpu_check-{dt.date.today().isoformat()}-{slug(report['device']['name'])}.json"

    def stage(name: str, budget: float, needs: list[str], body: Callable[[float], dict[str, Any]],
              optional: bool = False) -> None:
        missing = [n for n in needs if stages.get(n, {}).get("status") not in ("done", "stopped_by_budget")]
        left = cfg.budget_s - (time.monotonic() - start)
        if missing:
            stages[name] = {"status": "skipped", "reason": f"needs {', '.join(missing)}, which did not run"}
        elif left < (budget if optional else min(budget, 15.0)):
            stages[name] = {"status": "skipped", "reason": f"{left:.0f} s of the check's {cfg.budget_s:g} s budget left"}
        else:
            t0 = time.monotonic()
            print(f"gpu_check: {name} (budget {min(budget, left):.0f} s)", flush=True)
            try:
                figures = body(t0 + min(budget, left))
                status = "stopped_by_budget" if figures.get("stopped_by_budget") else "done"
                stages[name] = {"status": status, "stage_s": round(time.monotonic() - t0, 1), **figures}
            except Exception as exc:  # noqa: BLE001 - one stage's failure is recorded, the others still run
                traceback.print_exc()
                stages[name] = {"status": "failed", "stage_s": round(time.monotonic() - t0, 1),
                                "error": f"{type(exc).__name__}: {exc}"[:2000]}
        print(f"gpu_check: {name}: {stages[name]['status']}", flush=True)
        write_report(report, path, start)  # after every stage: a run cut short still leaves its figures

    try:
        stage("setup", cfg.budget_s, [], lambda deadline: setup(cfg, ws))
        stage("sft", cfg.sft_budget_s, ["setup"], lambda deadline: sft_figures(
            cfg, ws, model=ws.base, out=root / "sft", steps=cfg.sft_steps, accum=cfg.sft_grad_accum, deadline=deadline))
        stage("fit", cfg.fit_budget_s, ["setup"], lambda deadline: sft_figures(
            cfg, ws, model=ws.base, out=root / "fit", steps=cfg.fit_steps, accum=cfg.fit_grad_accum,
            deadline=deadline, learning_rate=cfg.fit_learning_rate, target_loss=cfg.fit_target_loss,
            save_to=ws.fitted))
        stage("grpo", cfg.grpo_budget_s, ["fit"], lambda deadline: rl_figures(cfg, ws, "grpo", deadline))
        stage("ppo", cfg.ppo_budget_s, ["fit"], lambda deadline: rl_figures(cfg, ws, "ppo", deadline))
        stage("policy", cfg.policy_budget_s, ["fit"], lambda deadline: policy_figures(cfg, ws, deadline))
        if cfg.lora_7b:
            stage("lora_7b", cfg.lora_budget_s, ["setup"], lambda deadline: lora_figures(cfg, ws, deadline),
                  optional=True)
        else:
            stages["lora_7b"] = {"status": "skipped", "reason": "lora_7b: false"}
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    write_report(report, path, start)
    return report, path


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def write_report(report: dict[str, Any], path: Path, start: float) -> None:
    report["wall_s"] = round(time.monotonic() - start, 1)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1))


SUMMARY = [
    ("sft", "SFT 0.5B", ["tokens_per_s", "step_s_median", "peak_gpu_gib", "example_tokens_mean", "last_loss"]),
    ("fit", "fit 0.5B", ["steps", "tokens_per_s", "first_loss", "last_loss"]),
    ("grpo", "GRPO", ["states_per_hour", "generation_share", "execution_share", "valid_share", "executed_share",
                      "peak_gpu_gib"]),
    ("ppo", "PPO", ["states_per_hour", "generation_share", "execution_share", "valid_share", "executed_share",
                    "peak_gpu_gib"]),
    ("policy", "policy", ["tokens_per_s", "prompt_tokens", "new_tokens"]),
    ("lora_7b", "LoRA 7B", ["tokens_per_s", "step_s_median", "peak_gpu_gib", "trainable_parameters"]),
]


def summary(report: dict[str, Any]) -> str:
    d = report["device"]
    lines = [f"gpu_check on {d['name']} (torch {d['torch']}, transformers {d['transformers']}, trl {d['trl']}), "
             f"{report['wall_s']} s in all"]
    if report["allow_readable_answers"]:
        lines.append("plain local sandboxes with readable answers (opted in): rewards mean nothing, speeds do")
    for key, title, names in SUMMARY:
        s = report["stages"].get(key, {"status": "absent"})
        figures = ", ".join(f"{n} {s[n]}" for n in names if n in s)
        why = s.get("reason") or s.get("error") or ""
        lines.append(f"  {title:9s} {s['status']:17s} {figures}{why}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks/gpu_check.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_arguments(parser, GPUCheckConfig)
    args = parser.parse_args(argv)
    try:
        report, path = run_check(config_from_args(GPUCheckConfig, args))
    except (ConfigError, GPUCheckError) as exc:
        print(f"gpu_check: {exc}", file=sys.stderr)
        return 2
    print(summary(report))
    print(f"figures: {path}")
    return 1 if any(s["status"] == "failed" for s in report["stages"].values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
