"""``mlagent-env``: list, prepare, run, grade and measure the baseline of tasks."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any, Callable

import gymnasium as gym

from mlagent_env.errors import MLAgentError


def _policy(name: str, task_id: str) -> Any:
    from mlagent_env.agents import ReplayPolicy, ScriptedPolicy, baseline_replies  # noqa: PLC0415
    from mlagent_env.tasks import get_task  # noqa: PLC0415

    if name == "scripted":
        return ScriptedPolicy.for_task(task_id)
    if name == "baseline":
        spec = get_task(task_id).spec
        return ScriptedPolicy(baseline_replies(spec.starter_script, spec.submission_file))
    if name.startswith("replay:"):
        return ReplayPolicy(name.split(":", 1)[1])
    raise MLAgentError(f"unknown policy {name!r}; use scripted, baseline or replay:PATH")


def _make_env(args: argparse.Namespace, task_id: str, **extra: Any) -> gym.Env[str, str]:
    import mlagent_env  # noqa: F401,PLC0415  (registers the ids)

    kwargs: dict[str, Any] = dict(sandbox=args.sandbox, data_dir=args.data_dir, **extra)
    if getattr(args, "max_steps", None):
        kwargs["max_steps"] = args.max_steps
    return gym.make(f"mlagent/{task_id}", **kwargs)


def cmd_list(args: argparse.Namespace) -> int:
    from mlagent_env.tasks import list_tasks  # noqa: PLC0415
    from mlagent_env.tasks.data import is_prepared  # noqa: PLC0415

    rows = [("id", "split", "data", "metric", "prepared")]
    for s in list_tasks():
        arrow = "↑" if s.metric.higher_is_better else "↓"
        rows.append((s.id, s.split, s.data_type, f"{s.metric.name} {arrow}", "yes" if is_prepared(s.id, args.data_dir) else "no"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    from mlagent_env.tasks import get_task  # noqa: PLC0415
    from mlagent_env.tasks.data import prepare_task  # noqa: PLC0415

    for task_id in args.tasks:
        paths = prepare_task(get_task(task_id), args.data_dir, raw_dir=args.raw_dir, force=args.force)
        print(f"{task_id}: prepared in {paths.prepared}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from mlagent_env.runner import run_episode  # noqa: PLC0415
    from mlagent_env.trajectory import RecordEpisode  # noqa: PLC0415

    env = _make_env(args, args.task)
    if args.out:
        env = RecordEpisode(env, args.out)
    policy = _policy(args.policy, args.task)
    print(f"task {args.task}, policy {args.policy}, sandbox {args.sandbox}")
    print(f"{'step':>4}  {'action':<22} {'reward kind':<12} {'reward':>6}  metric")

    def show(s: Any) -> None:
        metric = "" if s.metric is None else f"{s.metric:.4f}"
        print(f"{s.step:>4}  {s.action or '(invalid reply)':<22} {s.reward_kind:<12} {s.reward:>6.3f}  {metric}", flush=True)

    try:
        result = run_episode(env, policy, seed=args.seed, on_step=show)
    finally:
        env.close()
    if result.final_score is None:
        print(f"final score: none ({result.final_error})")
    else:
        medal = f", medal: {result.medal}" if result.medal else ""
        print(f"final score (held-back rows): {result.final_score:.4f}{medal}")
    print(f"total reward: {result.total_reward:.3f} over {len(result.steps)} steps")
    if args.out:
        print(f"trajectory written to {args.out}")
    return 0


def cmd_grade(args: argparse.Namespace) -> int:
    from mlagent_env.tasks import get_task  # noqa: PLC0415
    from mlagent_env.tasks.data import read_answers, require_prepared  # noqa: PLC0415
    from mlagent_env.tasks.grading import medal, read_csv_submission  # noqa: PLC0415

    task = get_task(args.task)
    paths = require_prepared(task, args.data_dir)
    submission = read_csv_submission(args.submission, task.spec)
    expected = read_answers(paths.answers, task)[task.spec.id_column].astype(str).tolist()
    for label, path in (("reward rows", paths.answers_reward), ("held-back rows", paths.answers_final)):
        score = task.grade(submission, read_answers(path, task), expected)
        m = medal(task.spec, score)
        print(f"{label:<15} {task.spec.metric.name}: {score:.6f}" + (f"  medal: {m}" if m else ""))
    return 0


def cmd_baseline(args: argparse.Namespace) -> int:
    """Run the unmodified starter and print its score on both answer splits (for task.yaml)."""
    from mlagent_env.agents import ScriptedPolicy  # noqa: PLC0415
    from mlagent_env.actions import ExecuteScript, FinalAnswer  # noqa: PLC0415
    from mlagent_env.runner import run_episode  # noqa: PLC0415

    env = _make_env(args, args.task)
    spec = env.unwrapped.task.spec  # type: ignore[attr-defined]
    policy = ScriptedPolicy(
        [ExecuteScript(script_name=spec.starter_script).to_reply(), FinalAnswer(final_answer="baseline").to_reply()]
    )
    try:
        result = run_episode(env, policy, seed=0)
    finally:
        env.close()
    run = result.steps[0]
    if run.metric is None or result.final_score is None:
        print(f"the starter did not produce a valid submission ({run.reward_kind}; {result.final_error})", file=sys.stderr)
        return 1
    print(f"baseline_reward_score: {run.metric:.6g}\nbaseline_score: {result.final_score:.6g}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlagent-env", description="ML engineering tasks as Gymnasium environments.")
    parser.add_argument("--data-dir", default=None, help="data root (default: $MLAGENT_DATA_DIR or ~/.cache/mlagent)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("list", help="list the tasks")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("prepare", help="acquire and prepare the data of tasks")
    p.add_argument("tasks", nargs="+")
    p.add_argument("--raw-dir", default=None, help="use raw data from this folder")
    p.add_argument("--force", action="store_true", help="prepare again even if prepared")
    p.set_defaults(func=cmd_prepare)

    p = sub.add_parser("run", help="play one episode with a policy, printing every step")
    p.add_argument("--task", default="digits")
    p.add_argument("--policy", default="scripted", help="scripted | baseline | replay:PATH (default: scripted)")
    p.add_argument("--sandbox", default="local", choices=["auto", "local", "docker"])
    p.add_argument("--max-steps", type=int, default=None)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="write the trajectory as JSONL")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("grade", help="grade a submission file on both answer splits")
    p.add_argument("task")
    p.add_argument("submission")
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("baseline", help="measure the starter's scores (baseline_score, baseline_reward_score)")
    p.add_argument("task")
    p.add_argument("--sandbox", default="local", choices=["auto", "local", "docker"])
    p.set_defaults(func=cmd_baseline)

    for register in _extensions():
        register(sub)
    return parser


def _extensions() -> list[Callable[[Any], None]]:
    """Sub-commands whose code lives beside its subject (Docker image, reaping)."""
    out: list[Callable[[Any], None]] = []
    try:
        from mlagent_env.sandbox import image, reap  # noqa: PLC0415

        out += [image.add_image_parser, reap.add_reap_parser]
    except ImportError:
        pass
    return out


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in ("run", "baseline"):
        warnings.filterwarnings("ignore", message="mlagent local sandbox")
    try:
        return int(args.func(args))
    except MLAgentError as exc:
        print(f"mlagent-env: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
