"""The benchmark harness: K episodes of a policy on each task, P at a time, resumable, with a
results table (avg@K, best@K, relative gain, success rate, medals, invalid-action rate, steps,
policy vs env time), a Markdown report and plots.

Output folder layout::

    config.json                      what was run (checked on resume)
    trajectories/<task>/run-<k>.jsonl every step, with prompts, replies, timings, tokens, states
    episodes/<task>/run-<k>.json      the summary of a finished episode (its presence = done)
    results.json, results.md          the table
    plots/scores.png, plots/rewards.png

Conventions (as MLAgentBench and the paper): relative gain = (score - baseline) / |baseline|,
sign-flipped for lower-is-better metrics, computed on avg@K; a run succeeds when its own gain is
at least 10%. A run that ends without a valid submission scores the baseline (gain 0) in avg@K
and counts as a failure; ``valid_submissions`` says how many runs submitted.
"""

from __future__ import annotations

import json
import math
import statistics
import threading
import warnings
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
from tqdm import tqdm

from mlagent_env.agents.factory import PolicySpec, build_policy
from mlagent_env.errors import MLAgentError
from mlagent_env.runner import EpisodeResult, run_episode
from mlagent_env.tasks import get_task
from mlagent_env.tasks.data import is_fixture, is_prepared, prepare_task
from mlagent_env.tasks.grading import medal as medal_of
from mlagent_env.tasks.grading import relative_gain
from mlagent_env.trajectory import RecordEpisode

SUCCESS_GAIN = 0.10


class BenchError(MLAgentError):
    """The benchmark cannot run as asked (fixture data, a changed config on resume, ...)."""


@dataclass
class BenchConfig:
    tasks: list[str]
    policy: PolicySpec
    runs: int = 8
    max_steps: int = 30
    parallel: int = 1
    seed: int = 0
    sandbox: str = "auto"
    data_dir: str | None = None
    time_limit_s: float = 5 * 3600.0
    exec_timeout_s: float | None = None
    allow_fixture: bool = False
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    reset_options: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Per task, per run: options for ``env.reset`` (e.g. ``{"ideas": [...]}`` for exploration)."""
    ray_address: str | None = None
    """Run the envs on this Ray cluster (``auto``: the one this node belongs to); None: in this process."""
    ray_resource: str | None = None
    """With ``ray_address``: a custom resource (e.g. ``mlagent_sandbox``) each env actor takes one of."""

    def identity(self) -> dict[str, Any]:
        """What must not change between a run and its resumption. Where the policy is served
        (URL, key, timeout) may change; the tasks, run count and parallelism may too; each finished
        episode's reset options are checked on their own (:meth:`Benchmark.run`)."""
        d = asdict(self)
        d["policy"] = {k: v for k, v in self.policy.to_dict().items() if k not in ("base_url", "api_key_env", "timeout_s")}
        for key in ("parallel", "tasks", "runs", "reset_options", "ray_address", "ray_resource"):
            d.pop(key)
        return d

    def options_for(self, task_id: str, run: int) -> dict[str, Any] | None:
        per_run = self.reset_options.get(task_id, [])
        return per_run[run] if run < len(per_run) else None


@dataclass
class TaskResult:
    task_id: str
    metric: str
    higher_is_better: bool
    runs: int
    valid_submissions: int
    scores: list[float | None]
    avg: float | None
    best: float | None
    baseline: float | None
    relative_gain: float | None
    success_rate: float | None
    medals: dict[str, int]
    invalid_action_rate: float
    mean_steps: float
    policy_s: float
    env_s: float
    prompt_tokens: int
    completion_tokens: int
    errors: int


def episode_seed(config: BenchConfig, task_index: int, run: int) -> int:
    return config.seed * 1_000_003 + task_index * 1009 + run


class Benchmark:
    """Runs (or resumes) a benchmark into ``out``."""

    def __init__(self, config: BenchConfig, out: str | Path) -> None:
        self.config = config
        self.out = Path(out)
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ running
    def run(self, progress: bool = True) -> list[TaskResult]:
        self._check_config()
        for task_id in self.config.tasks:
            self._ensure_data(task_id)
        todo = [
            (ti, task_id, k)
            for ti, task_id in enumerate(self.config.tasks)
            for k in range(self.config.runs)
            if not self._episode_path(task_id, k).exists()
        ]
        total = len(self.config.tasks) * self.config.runs
        bar = tqdm(total=total, initial=total - len(todo), desc="episodes", unit="ep", disable=not progress)
        errors: list[BaseException] = []
        with ThreadPoolExecutor(max_workers=max(1, self.config.parallel)) as pool:
            futures = {pool.submit(self._episode, ti, task_id, k): (task_id, k) for ti, task_id, k in todo}
            try:
                for fut in as_completed(futures):
                    exc = fut.exception()
                    if exc is not None:
                        errors.append(exc)
                    bar.update(1)
            except KeyboardInterrupt:
                for f in futures:
                    f.cancel()
                raise
        bar.close()
        if errors:
            raise errors[0]
        results = self.collect()
        self.write_report(results)
        return results

    def _episode(self, task_index: int, task_id: str, run: int) -> None:
        seed = episode_seed(self.config, task_index, run)
        traj = self.out / "trajectories" / task_id / f"run-{run}.jsonl"
        traj.parent.mkdir(parents=True, exist_ok=True)
        traj.unlink(missing_ok=True)  # an interrupted episode starts over
        kwargs: dict[str, Any] = dict(
            sandbox=self.config.sandbox,
            data_dir=self.config.data_dir,
            max_steps=self.config.max_steps,
            time_limit_s=self.config.time_limit_s,
            **self.config.env_kwargs,
        )
        if self.config.exec_timeout_s:
            kwargs["exec_timeout_s"] = self.config.exec_timeout_s
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="mlagent local sandbox")
            env = RecordEpisode(self._make_env(task_id, run, kwargs), traj)
        options = self.config.options_for(task_id, run)
        try:
            result = run_episode(env, build_policy(self.config.policy, task_id), seed=seed, options=options)
        finally:
            env.close()
        path = self._episode_path(task_id, run)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({**result.to_dict(), "reset_options": options}, indent=1))
        tmp.replace(path)

    def _make_env(self, task_id: str, run: int, kwargs: dict[str, Any]) -> gym.Env[str, str]:
        """The env of one episode: here, or on a Ray env actor (``ray_address``, the ``[ray]`` extra)."""
        if self.config.ray_address:
            from mlagent_env.remote.bench import remote_env  # noqa: PLC0415

            return remote_env(self, task_id, run, kwargs)
        return gym.make(f"mlagent/{task_id}", **kwargs)

    def _episode_path(self, task_id: str, run: int) -> Path:
        return self.out / "episodes" / task_id / f"run-{run}.json"

    def _check_config(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        path = self.out / "config.json"
        ident = self.config.identity()
        if path.exists():
            old = json.loads(path.read_text())
            if old.get("identity") != json.loads(json.dumps(ident)):
                raise BenchError(
                    f"{self.out} holds a benchmark with another configuration; use a new --out or the same settings"
                )
        for task_id in self.config.tasks:
            for run in range(self.config.runs):
                done = self._episode_path(task_id, run)
                if done.exists():
                    stored = json.loads(done.read_text()).get("reset_options")
                    if stored != json.loads(json.dumps(self.config.options_for(task_id, run))):
                        raise BenchError(
                            f"{done} was played with other reset options than this configuration gives run {run}; "
                            "use a new --out"
                        )
        path.write_text(json.dumps({"identity": ident, "tasks": self.config.tasks, "runs": self.config.runs}, indent=1))

    def _ensure_data(self, task_id: str) -> None:
        task = get_task(task_id)
        if not is_prepared(task_id, self.config.data_dir):
            prepare_task(task, self.config.data_dir)
        if is_fixture(task_id, self.config.data_dir) and not self.config.allow_fixture:
            raise BenchError(
                f"the prepared data of {task_id} is a synthetic test fixture, not the real data; prepare the real "
                f"data (mlagent-env prepare {task_id} --force) or pass --allow-fixture for a smoke test"
            )

    # ------------------------------------------------------------------ results
    def episodes(self, task_id: str) -> list[EpisodeResult]:
        out = []
        for k in range(self.config.runs):
            path = self._episode_path(task_id, k)
            if path.exists():
                data = json.loads(path.read_text())
                data.pop("reset_options", None)
                out.append(EpisodeResult.from_dict(data))
        return out

    def collect(self) -> list[TaskResult]:
        return [summarise(task_id, self.episodes(task_id)) for task_id in self.config.tasks]

    def write_report(self, results: list[TaskResult]) -> None:
        (self.out / "results.json").write_text(json.dumps([asdict(r) for r in results], indent=1))
        (self.out / "results.md").write_text(render_markdown(results, self.config))
        plot_dir = self.out / "plots"
        plot_dir.mkdir(exist_ok=True)
        plot_scores(results, plot_dir / "scores.png")
        plot_rewards({t: self.episodes(t) for t in self.config.tasks}, plot_dir / "rewards.png")


def summarise(task_id: str, episodes: list[EpisodeResult]) -> TaskResult:
    spec = get_task(task_id).spec
    baseline = spec.baseline_score
    scores = [e.final_score if e.final_score is not None and math.isfinite(e.final_score) else None for e in episodes]
    valid = [s for s in scores if s is not None]
    filled = [s if s is not None else baseline for s in scores] if baseline is not None else valid
    avg = statistics.fmean(filled) if filled else None
    best = (max(valid) if spec.metric.higher_is_better else min(valid)) if valid else None
    gain = success = None
    if baseline is not None and baseline != 0 and avg is not None:
        gain = relative_gain(spec, avg, baseline)
        success = sum(1 for s in scores if s is not None and relative_gain(spec, s, baseline) >= SUCCESS_GAIN) / len(scores)
    medals = {"gold": 0, "silver": 0, "bronze": 0}
    for s in valid:
        m = medal_of(spec, s)
        if m:
            medals[m] += 1
    steps = sum(len(e.steps) for e in episodes)
    return TaskResult(
        task_id=task_id,
        metric=spec.metric.name,
        higher_is_better=spec.metric.higher_is_better,
        runs=len(episodes),
        valid_submissions=len(valid),
        scores=scores,
        avg=avg,
        best=best,
        baseline=baseline,
        relative_gain=gain,
        success_rate=success,
        medals=medals,
        invalid_action_rate=(sum(e.invalid_steps for e in episodes) / steps) if steps else 0.0,
        mean_steps=steps / len(episodes) if episodes else 0.0,
        policy_s=sum(e.policy_s for e in episodes),
        env_s=sum(e.env_s for e in episodes),
        prompt_tokens=sum(s.prompt_tokens for e in episodes for s in e.steps),
        completion_tokens=sum(s.completion_tokens for e in episodes for s in e.steps),
        errors=sum(1 for e in episodes if e.error),
    )


def _fmt(x: float | None, pct: bool = False) -> str:
    if x is None:
        return "n/a"
    return f"{100 * x + 0.0:+.1f}%".replace("-0.0%", "+0.0%") if pct else f"{x:.4g}"


def render_markdown(results: list[TaskResult], config: BenchConfig) -> str:
    lines = [
        "# Benchmark results",
        "",
        f"Policy `{config.policy.label}`, {config.runs} runs per task, at most {config.max_steps} steps, sandbox `{config.sandbox}`.",
        "",
        "| task | metric | runs | valid | avg@K | best@K | baseline | rel. gain | success | medals (g/s/b) | invalid actions | mean steps | policy s | env s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        arrow = "↑" if r.higher_is_better else "↓"
        lines.append(
            f"| {r.task_id} | {r.metric} {arrow} | {r.runs} | {r.valid_submissions} | {_fmt(r.avg)} | {_fmt(r.best)} | "
            f"{_fmt(r.baseline)} | {_fmt(r.relative_gain, pct=True)} | "
            f"{'n/a' if r.success_rate is None else f'{100 * r.success_rate:.0f}%'} | "
            f"{r.medals['gold']}/{r.medals['silver']}/{r.medals['bronze']} | {100 * r.invalid_action_rate:.1f}% | "
            f"{r.mean_steps:.1f} | {r.policy_s:.1f} | {r.env_s:.1f} |"
        )
    gains = [r.relative_gain for r in results if r.relative_gain is not None]
    if gains:
        lines += ["", f"Mean relative gain over tasks with a known baseline: {100 * statistics.fmean(gains):+.1f}%."]
    lines += ["", "Plots: `plots/scores.png` (every run against the baseline and medal lines), `plots/rewards.png` (mean step reward)."]
    return "\n".join(lines) + "\n"


def _pyplot() -> Any:
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    return plt


def plot_scores(results: list[TaskResult], path: Path) -> None:
    """Per task: the final score of every run, the baseline and the medal thresholds."""
    plt = _pyplot()
    n = max(len(results), 1)
    cols = min(n, 3)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.5 * cols, 3.5 * rows), squeeze=False)
    for ax, r in zip(axes.flat, results):
        spec = get_task(r.task_id).spec
        xs = [k for k, s in enumerate(r.scores) if s is not None]
        ax.scatter(xs, [r.scores[k] for k in xs], color="tab:blue", label="run", zorder=3)
        failed = [k for k, s in enumerate(r.scores) if s is None]
        if failed and r.baseline is not None:
            ax.scatter(failed, [r.baseline] * len(failed), marker="x", color="tab:red", label="no valid submission", zorder=3)
        if r.baseline is not None:
            ax.axhline(r.baseline, color="black", linestyle="--", label="baseline")
        for name, color in (("gold", "gold"), ("silver", "silver"), ("bronze", "peru")):
            value = getattr(spec.medals, name)
            if value is not None:
                ax.axhline(value, color=color, linestyle=":", label=name)
        ax.set_title(f"{r.task_id} ({r.metric} {'↑' if r.higher_is_better else '↓'})", fontsize=9)
        ax.set_xlabel("run")
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(results):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_rewards(episodes: dict[str, list[EpisodeResult]], path: Path) -> None:
    """Per task: the reward of every step of every run (thin) and the mean by step (thick)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for task_id, eps in episodes.items():
        if not eps:
            continue
        longest = max(len(e.steps) for e in eps)
        line = None
        for e in eps:
            (line,) = ax.plot([s.step for s in e.steps], [s.reward for s in e.steps], alpha=0.2,
                              color=line.get_color() if line else None)
        means = [statistics.fmean([e.steps[i].reward for e in eps if len(e.steps) > i]) for i in range(longest)]
        ax.plot(range(1, longest + 1), means, linewidth=2, color=line.get_color() if line else None, label=task_id)
    ax.axhline(0.5, color="grey", linestyle=":", linewidth=1)
    ax.set_xlabel("step")
    ax.set_ylabel("unified reward")
    ax.set_title("Step rewards (thin: runs, thick: mean)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
