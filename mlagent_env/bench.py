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
and counts as a failure; ``valid_submissions`` says how many runs submitted, the report says how
many runs were filled in, and with no valid run at all avg@K is n/a (never the bare baseline).

Failures are loud: an episode whose policy failed for good (server down, context too small,
bad key) is recorded with its ``error``; :meth:`Benchmark.error_summary` groups them with the
first message, ``results.md`` has an errors column, and a resumed run plays errored episodes
again (``rerun_errors``). Ctrl-C stops the running episodes within seconds; they are played
again on resume.
"""

from __future__ import annotations

import json
import math
import re
import statistics
import threading
import time
import warnings
from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
from tqdm import tqdm

from mlagent_env.agents.factory import PolicySpec, build_policy
from mlagent_env.config import option
from mlagent_env.errors import MLAgentError
from mlagent_env.plots import marker, pyplot, readable_axes
from mlagent_env.readable_answers import OPT_IN_HELP, check_readable_answers, env_answers_readable
from mlagent_env.runner import EpisodeResult, Interrupted, run_episode
from mlagent_env.tasks import get_task
from mlagent_env.tasks.data import is_fixture, is_prepared, prepare_task
from mlagent_env.tasks.grading import medal as medal_of
from mlagent_env.tasks.grading import relative_gain
from mlagent_env.trajectory import RecordEpisode

SUCCESS_GAIN = 0.10
STOP_GRACE_S = 5.0


class BenchError(MLAgentError):
    """The benchmark cannot run as asked (fixture data, a changed config on resume, ...)."""


@dataclass
class BenchConfig:
    """What ``mlagent-env bench`` runs; every field is a command-line option and a YAML key."""

    tasks: list[str] = option(["digits"], "task ids and groups: held-in, held-out, offline-held-in, offline-held-out, offline")
    policy: PolicySpec = option(PolicySpec(), "scripted | baseline | expert | replay:PATH | http | python; "
                                "its settings are the --policy.* options")
    runs: int = option(8, "episodes per task (K)")
    max_steps: int = option(30, "most steps of one episode")
    parallel: int = option(1, "episodes at a time (P)")
    seed: int = option(0, "base seed of the episodes")
    sandbox: str = option("auto", "auto | local | docker (auto: Docker when an engine answers)")
    data_dir: str | None = option(None, "data root (default: $MLAGENT_DATA_DIR or ~/.cache/mlagent)")
    output_dir: str = option("runs/bench", "output folder; running the same command again resumes there")
    time_limit_s: float = option(5 * 3600.0, "wall-clock budget of one episode")
    exec_timeout_s: float | None = option(None, "timeout of one script run (default: the task's)")
    allow_fixture: bool = option(False, "allow synthetic fixture data (smoke tests only)")
    allow_readable_answers: bool = option(False, OPT_IN_HELP)
    rerun_errors: bool = option(True, "on resume, play again the episodes that ended in an error")
    env_kwargs: dict[str, Any] = option({}, "extra keyword arguments of gym.make")
    reset_options: dict[str, list[dict[str, Any]]] = option(
        {}, "per task, per run: options for env.reset (e.g. {ideas: [...]} for exploration)")
    ray_address: str | None = option(None, "run the envs on this Ray cluster (auto: the one this node belongs to; "
                                     "the ray extra); unset: in this process")
    ray_resource: str | None = option(None, "with ray_address: a custom resource (e.g. mlagent_sandbox) each env "
                                      "actor takes one of")

    def identity(self) -> dict[str, Any]:
        """What must not change between a run and its resumption. Where the policy is served
        (URL, key, timeout) may change; the tasks, run count and parallelism may too; each finished
        episode's reset options are checked on their own (:meth:`Benchmark.run`)."""
        d = asdict(self)
        served = ("base_url", "api_key_env", "timeout_s", "retries", "stream")
        d["policy"] = {k: v for k, v in self.policy.to_dict().items() if k not in served}
        for key in ("parallel", "tasks", "runs", "reset_options", "output_dir", "rerun_errors", "ray_address", "ray_resource"):
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
    truncated_replies: int = 0
    has_medals: bool = True

    @property
    def all_failed(self) -> bool:
        """Every episode of the task ended in an error."""
        return self.runs > 0 and self.errors == self.runs


def episode_seed(config: BenchConfig, task_index: int, run: int) -> int:
    return config.seed * 1_000_003 + task_index * 1009 + run


class Benchmark:
    """Runs (or resumes) a benchmark into ``out`` (default: the config's ``output_dir``)."""

    def __init__(self, config: BenchConfig, out: str | Path | None = None) -> None:
        self.config = config
        self.out = Path(out if out is not None else config.output_dir)
        self.resumed = 0
        """Episodes already done in ``out`` when :meth:`run` started."""
        self._stop = threading.Event()
        self._active: dict[tuple[str, int], gym.Env[str, str]] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ running
    def run(self, progress: bool = True) -> list[TaskResult]:
        """Play every episode not yet done and write the report. Ctrl-C stops within
        :data:`STOP_GRACE_S` seconds (``KeyboardInterrupt``); the folder stays resumable."""
        self._check_config()
        for task_id in self.config.tasks:
            self._ensure_data(task_id)
        readable = env_answers_readable(self.config.tasks[0], sandbox=self.config.sandbox, data_dir=self.config.data_dir,
                                        **self.config.env_kwargs) if self.config.tasks else False
        note = check_readable_answers(readable, self.config.allow_readable_answers, "mlagent-env bench")
        todo = [
            (ti, task_id, k)
            for ti, task_id in enumerate(self.config.tasks)
            for k in range(self.config.runs)
            if not self._is_done(task_id, k)
        ]
        total = len(self.config.tasks) * self.config.runs
        self.resumed = total - len(todo)
        bar = tqdm(total=total, initial=self.resumed, desc="episodes", unit="ep", disable=not progress)
        try:
            crashes = self._play(todo, bar)
        finally:
            bar.close()
        if crashes:
            raise crashes[0]
        results = self.collect()
        self.write_report(results)
        if note:  # the report says so, first
            (self.out / "results.md").write_text(f"> {note}\n\n" + (self.out / "results.md").read_text())
        return results

    def _play(self, todo: list[tuple[int, str, int]], bar: Any) -> list[BaseException]:
        """Play ``todo`` on ``parallel`` daemon threads; on Ctrl-C close their envs and give them
        a few seconds (a thread stuck in a request is left behind: it is a daemon)."""
        queue = list(todo)
        crashes: list[BaseException] = []

        def worker() -> None:
            while not self._stop.is_set():
                with self._lock:
                    if not queue:
                        return
                    item = queue.pop(0)
                try:
                    self._episode(*item)
                except Interrupted:
                    return
                except BaseException as exc:  # noqa: BLE001  (re-raised in the main thread)
                    if not self._stop.is_set():
                        crashes.append(exc)
                    return
                bar.update(1)

        threads = [threading.Thread(target=worker, daemon=True, name=f"bench-{n}")
                   for n in range(max(1, min(self.config.parallel, len(todo))))]
        for t in threads:
            t.start()
        try:
            while any(t.is_alive() for t in threads):
                for t in threads:
                    t.join(timeout=0.2)
        except KeyboardInterrupt:
            self._stop.set()
            with self._lock:
                active = list(self._active.values())
            for env in active:
                threading.Thread(target=_quiet_close, args=(env,), daemon=True).start()
            deadline = time.monotonic() + STOP_GRACE_S
            for t in threads:
                t.join(timeout=max(0.0, deadline - time.monotonic()))
            raise
        return crashes

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
        with self._lock:
            self._active[(task_id, run)] = env
        try:
            result = run_episode(env, build_policy(self.config.policy, task_id), seed=seed, options=options,
                                 stop=self._stop)
        finally:
            with self._lock:
                self._active.pop((task_id, run), None)
            env.close()
        if self._stop.is_set():
            raise Interrupted(f"{task_id} run {run}")
        path = self._episode_path(task_id, run)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({**result.to_dict(), "reset_options": options}, indent=1))
        tmp.replace(path)

    def _is_done(self, task_id: str, run: int) -> bool:
        path = self._episode_path(task_id, run)
        if not path.exists():
            return False
        return not (self.config.rerun_errors and json.loads(path.read_text()).get("error"))

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
                    f"{self.out} holds a benchmark with another configuration; use a new --output_dir or the same settings"
                )
        for task_id in self.config.tasks:
            for run in range(self.config.runs):
                done = self._episode_path(task_id, run)
                if done.exists():
                    stored = json.loads(done.read_text()).get("reset_options")
                    if stored != json.loads(json.dumps(self.config.options_for(task_id, run))):
                        raise BenchError(
                            f"{done} was played with other reset options than this configuration gives run {run}; "
                            "use a new --output_dir"
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

    def sandboxes(self) -> list[str]:
        """The sandboxes the finished episodes actually ran in."""
        used = {e.sandbox for t in self.config.tasks for e in self.episodes(t) if e.sandbox}
        return sorted(used)

    def error_summary(self) -> str:
        """The episodes that ended in an error, grouped by cause, each group with its first
        message (empty when there were none)."""
        lines: list[str] = []
        for task_id in self.config.tasks:
            episodes = self.episodes(task_id)
            groups: dict[str, list[str]] = defaultdict(list)
            for e in episodes:
                if e.error:
                    groups[_error_key(e.error)].append(e.error)
            if not groups:
                continue
            failed = sum(len(g) for g in groups.values())
            lines.append(f"{task_id}: {failed} of {len(episodes)} episodes ended in an error")
            for messages in sorted(groups.values(), key=len, reverse=True):
                first, *more = messages[0].splitlines()
                lines.append(f"  {len(messages)} x {first}")
                lines += [f"      {m.strip()}" for m in more]
        return "\n".join(lines)

    def collect(self) -> list[TaskResult]:
        return [summarise(task_id, self.episodes(task_id)) for task_id in self.config.tasks]

    def write_report(self, results: list[TaskResult]) -> None:
        (self.out / "results.json").write_text(json.dumps([asdict(r) for r in results], indent=1))
        (self.out / "results.md").write_text(render_markdown(results, self.config, self.sandboxes(), self.resumed))
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
    if not valid:
        avg = None  # no valid run: the bare baseline is not a result
    gain = success = None
    if baseline is not None and baseline != 0 and scores:
        gain = relative_gain(spec, avg, baseline) if avg is not None else None
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
        truncated_replies=sum(e.truncated_replies for e in episodes),
        has_medals=any(getattr(spec.medals, m) is not None for m in ("gold", "silver", "bronze")),
    )


def _error_key(error: str) -> str:
    """Errors that differ only in numbers (token counts, ports, attempts) are one group."""
    return re.sub(r"\d+", "#", error.splitlines()[0])[:160]


def _quiet_close(env: gym.Env[str, str]) -> None:
    try:
        env.close()
    except Exception:  # noqa: BLE001  (closing while stopping: the env may be half-torn already)
        pass


def _fmt(x: float | None, pct: bool = False) -> str:
    if x is None:
        return "n/a"
    if pct:
        text = f"{100 * x:+.1f}%"
        return "+0.0%" if text == "-0.0%" else text
    return f"{x:.4g}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def render_markdown(results: list[TaskResult], config: BenchConfig, sandboxes: list[str] | None = None,
                    resumed: int = 0) -> str:
    used = ", ".join(f"`{s}`" for s in sandboxes) if sandboxes else f"`{config.sandbox}` (no episode ran)"
    lines = [
        "# Benchmark results",
        "",
        f"Policy `{config.policy.label}`, {_plural(config.runs, 'run')} per task, at most "
        f"{_plural(config.max_steps, 'step')}, sandbox {used}.",
    ]
    if resumed:
        verb = "was" if resumed == 1 else "were"
        lines.append(f"Resumed: {_plural(resumed, 'episode')} {verb} already done in this folder and not played again.")
    lines += [
        "",
        "| task | metric | runs | valid | errors | avg@K | best@K | baseline | rel. gain | success | medals (g/s/b) "
        "| invalid actions | truncated replies | mean steps | policy s | env s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    filled = 0
    for r in results:
        arrow = "↑" if r.higher_is_better else "↓"
        missing = r.runs - r.valid_submissions
        avg = _fmt(r.avg)
        if r.avg is not None and missing and r.baseline is not None:
            avg += "*"
            filled += missing
        medals = f"{r.medals['gold']}/{r.medals['silver']}/{r.medals['bronze']}" if r.has_medals else "n/a"
        lines.append(
            f"| {r.task_id} | {r.metric} {arrow} | {r.runs} | {r.valid_submissions} | {r.errors} | {avg} | "
            f"{_fmt(r.best)} | {_fmt(r.baseline)} | {_fmt(r.relative_gain, pct=True)} | "
            f"{'n/a' if r.success_rate is None else f'{100 * r.success_rate:.0f}%'} | {medals} | "
            f"{100 * r.invalid_action_rate:.1f}% | {r.truncated_replies} | "
            f"{r.mean_steps:.1f} | {r.policy_s:.1f} | {r.env_s:.1f} |"
        )
    lines += [
        "",
        "avg@K counts a run without a valid submission as the baseline score (gain 0); a value marked * has "
        f"such runs ({_plural(filled, 'run')} in all). With no valid run avg@K is n/a. "
        "Truncated replies were cut at max_tokens (finish_reason: length).",
    ]
    gains = [r.relative_gain for r in results if r.relative_gain is not None]
    if gains:
        lines += ["", f"Mean relative gain over tasks with a known baseline: {_fmt(statistics.fmean(gains), pct=True)}."]
    errors = sum(r.errors for r in results)
    if errors:
        lines += ["", f"**{_plural(errors, 'episode')} ended in an error** (the policy failed): see the command's "
                  "error summary or `episodes/<task>/run-<k>.json`; running the same command again plays them again."]
    lines += ["", "Plots: `plots/scores.png` (every run against the baseline and medal lines), `plots/rewards.png` (mean step reward)."]
    return "\n".join(lines) + "\n"


def plot_scores(results: list[TaskResult], path: Path) -> None:
    """Per task: the final score of every run, the baseline and the medal thresholds."""
    plt = pyplot()
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
        ax.set_ylabel(f"final score ({r.metric})")
        if r.runs:
            ax.set_xlim(-0.5, r.runs - 0.5)
        readable_axes(ax)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(results):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_rewards(episodes: dict[str, list[EpisodeResult]], path: Path) -> None:
    """Per task: the reward of every step of every run (thin) and the mean by step (thick)."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for task_id, eps in episodes.items():
        if not eps:
            continue
        longest = max(len(e.steps) for e in eps)
        if longest == 0:
            continue
        dots = marker(longest)
        line = None
        for e in eps:
            (line,) = ax.plot([s.step for s in e.steps], [s.reward for s in e.steps], alpha=0.2,
                              color=line.get_color() if line else None, marker=dots, markersize=3)
        means = [statistics.fmean([e.steps[i].reward for e in eps if len(e.steps) > i]) for i in range(longest)]
        ax.plot(range(1, longest + 1), means, linewidth=2, color=line.get_color() if line else None, label=task_id,
                marker=dots)
    ax.axhline(0.5, color="grey", linestyle=":", linewidth=1)
    ax.set_ylim(-0.05, 1.05)
    readable_axes(ax)
    ax.set_xlabel("step")
    ax.set_ylabel("unified reward")
    ax.set_title("Step rewards (thin: runs, thick: mean)")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
