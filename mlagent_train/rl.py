"""Step-wise RL (ML-Agent section 4): GRPO with TRL's ``GRPOTrainer``, PPO with
:mod:`mlagent_train.ppo`, and the episode-wise baseline.

    mlagent-train rl --algo grpo --config examples/configs/rl_grpo.yaml
    mlagent-train rl --algo ppo --config examples/configs/rl_ppo.yaml --set mode=episode

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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mlagent_env.readable_answers import READABLE_ANSWERS_NOTE, check_readable_answers
from mlagent_train.config import ConfigError
from mlagent_train.executor import Executor
from mlagent_train.rl_config import GRPOStageConfig, PPOStageConfig, RLConfig, RLError
from mlagent_train.rl_outputs import card_text, process_rank, rollouts_path
from mlagent_train.states import StatesPool

__all__ = ["GRPOStageConfig", "PPOStageConfig", "RLConfig", "RLError", "RLResult", "run_rl"]


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


def build_states_pool(cfg: RLConfig) -> StatesPool:
    """The states of the trajectories; their prompts must be in ``cfg.prompt_style``, the style of the prompts
    the executor renders after a reply (a policy trained on two reply formats learns neither)."""
    from mlagent_env.prompt import style_of

    pool = StatesPool.from_trajectories(cfg.trajectories, tasks=cfg.tasks or None, allow_held_out=cfg.allow_held_out,
                                        task_balance=cfg.task_balance, step_power=cfg.step_power)
    styles = sorted({style for e in pool.entries if (style := style_of(e.messages)) is not None})
    if styles and styles != [cfg.prompt_style]:
        raise ConfigError(f"the trajectories' prompts are in the {' and '.join(styles)} style but prompt_style="
                          f"{cfg.prompt_style}: set prompt_style to the style the trajectories were recorded with")
    return pool


def build_executor(cfg: RLConfig) -> Executor:
    from mlagent_train.local_executor import LocalExecutor

    episode = isinstance(cfg, PPOStageConfig) and cfg.mode == "episode"
    kwargs: dict[str, Any] = dict(sandbox=cfg.sandbox, data_dir=cfg.data_dir, num_sandboxes=cfg.num_sandboxes,
                                  timeout_s=cfg.rollout_timeout_s, env_max_steps=cfg.episode_max_steps if episode else 1000,
                                  env_kwargs={"history_window": cfg.history_window, "prompt_style": cfg.prompt_style})
    if cfg.executor == "ray":
        from mlagent_train.ray_executor import RayExecutor  # the ray extra

        return RayExecutor(address=cfg.ray_address, resource=cfg.ray_resource, **kwargs)
    if cfg.executor != "local":
        raise ConfigError(f"executor={cfg.executor!r} is not an executor; use local or ray")
    return LocalExecutor(**kwargs)


# ------------------------------------------------------------------------------------- entry


def run_rl(cfg: RLConfig) -> RLResult:
    """Train as configured; write the outputs listed in the module docstring."""
    from mlagent_train.datasets import trajectory_files
    from mlagent_train.rollout import summarise_rollouts

    trajectory_files(cfg.trajectories)  # a missing trajectory path fails before anything is written
    if not isinstance(cfg, (GRPOStageConfig, PPOStageConfig)):
        raise RLError(f"give a GRPOStageConfig or a PPOStageConfig (algo grpo or ppo), not {type(cfg).__name__}")
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
        readable = check_readable_answers(executor.answers_readable, cfg.allow_readable_answers)
        card = card_text(cfg, readable)
        if isinstance(cfg, GRPOStageConfig):
            from mlagent_train.grpo import run_grpo

            step, _, history = run_grpo(cfg, out, report_to, pool, executor, card, readable=bool(readable))
        else:
            from mlagent_train.ppo import run_ppo

            step, history = run_ppo(cfg, out, report_to, pool, executor, card, readable=bool(readable))
    finally:
        executor.close()
    plot = out / "reward_curve.png"
    if not main:  # the other processes' replies are in their own rollouts files; the main one summarises
        return RLResult(output_dir=out, final_dir=out / "final", global_step=step,
                        summary=summarise_rollouts([rollouts_path(out)], cfg.summary_window), reward_plot=plot)
    (out / "log_history.json").write_text(json.dumps(history, indent=1))
    summary = summarise_rollouts(sorted(out.glob("rollouts*.jsonl")), cfg.summary_window)
    summary.update(algo=cfg.algo, mode=cfg.mode, global_step=step, answers_readable=bool(readable))
    (out / "reward_kinds.json").write_text(json.dumps(summary, indent=1))
    plot_reward_curve(summary, plot, title=f"{cfg.algo.upper()} ({cfg.mode}-wise): executed-step rewards")
    return RLResult(output_dir=out, final_dir=out / "final", global_step=step, summary=summary, reward_plot=plot)


def format_summary(summary: dict[str, Any]) -> str:
    lines = [READABLE_ANSWERS_NOTE] if summary.get("answers_readable") else []
    lines += [f"reward kinds over {summary['scored_replies']} executed replies in {summary['steps']} steps:"]
    for kind, count in summary["counts"].items():
        lines.append(f"  {kind:16s} {count:6d}  {100 * summary['fractions'][kind]:5.1f}%")
    if summary["first_window_mean"] is not None:
        lines.append(f"mean reward: first {summary['window']} steps {summary['first_window_mean']:.3f}, "
                     f"last {summary['window']} steps {summary['last_window_mean']:.3f}")
    return "\n".join(lines)


def plot_reward_curve(summary: dict[str, Any], path: Path, title: str = "RL rewards") -> None:
    """Mean executed-step reward per training step (and its running mean) above the share of
    each reward kind per step."""
    from mlagent_env.plots import marker, pyplot, readable_axes

    plt = pyplot()
    steps = [int(s) for s in summary["reward_by_step"]]
    means = list(summary["reward_by_step"].values())
    fig, (ax, kx) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    ax.plot(steps, means, alpha=0.5, marker=marker(len(steps)), label="mean reward")
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
        kx.plot(steps, fr, marker=marker(len(steps)), label=kind)
    kx.set_xlabel("training step")
    kx.set_ylabel("share of replies")
    readable_axes(ax)
    readable_axes(kx)
    kx.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
