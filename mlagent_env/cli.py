"""``mlagent-env``: list, prepare, run, grade and measure the baseline of tasks."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Any, Callable

import gymnasium as gym

from mlagent_env.errors import MLAgentError


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

    from mlagent_env.agents import build_policy  # noqa: PLC0415

    env = _make_env(args, args.task)
    if args.out:
        env = RecordEpisode(env, args.out)
    policy = build_policy(_policy_spec(args), args.task)
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


def _policy_spec(args: argparse.Namespace) -> Any:
    from mlagent_env.agents import PolicySpec  # noqa: PLC0415

    return PolicySpec.parse(
        args.policy, base_url=args.base_url, model=args.model, api_key_env=args.api_key_env,
        temperature=args.temperature, max_tokens=args.max_tokens,
    )


def _add_policy_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--policy", default="scripted", help="scripted | baseline | replay:PATH | http (default: scripted)")
    p.add_argument("--base-url", default=None, help="OpenAI-compatible server, e.g. http://localhost:8000/v1 (--policy http)")
    p.add_argument("--model", default=None, help="model name on that server (--policy http)")
    p.add_argument("--api-key-env", default="OPENAI_API_KEY", help="environment variable holding the API key")
    p.add_argument("--temperature", type=float, default=0.7)
    p.add_argument("--max-tokens", type=int, default=2048)


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


def cmd_bench(args: argparse.Namespace) -> int:
    from mlagent_env.bench import BenchConfig, Benchmark  # noqa: PLC0415
    from mlagent_env.tasks import list_tasks  # noqa: PLC0415

    tasks = _select_tasks(args.tasks, [s for s in list_tasks()])
    config = BenchConfig(
        tasks=tasks, policy=_policy_spec(args), runs=args.runs, max_steps=args.max_steps, parallel=args.parallel,
        seed=args.seed, sandbox=args.sandbox, data_dir=args.data_dir, allow_fixture=args.allow_fixture,
        exec_timeout_s=args.exec_timeout_s, time_limit_s=args.time_limit_s,
        ray_address=args.ray_address, ray_resource=args.ray_resource,
    )
    results = Benchmark(config, args.out).run(progress=not args.quiet)
    print((Path(args.out) / "results.md").read_text())
    return 0 if all(r.runs == args.runs for r in results) else 1


def _select_tasks(names: list[str], specs: list[Any]) -> list[str]:
    """Task ids, or the groups held-in / held-out / offline."""
    out: list[str] = []
    for name in names:
        group = [s.id for s in specs if s.split == name]
        out += group if group else [name]
    return list(dict.fromkeys(out))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlagent-env", description="ML engineering tasks as Gymnasium environments.")
    data_help = "data root (default: $MLAGENT_DATA_DIR or ~/.cache/mlagent)"
    parser.add_argument("--data-dir", default=None, help=data_help)
    # --data-dir is accepted before or after the sub-command
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", default=argparse.SUPPRESS, help=data_help)
    sub = parser.add_subparsers(dest="command", required=True)
    add = sub.add_parser

    def add_parser(name: str, **kw: Any) -> argparse.ArgumentParser:
        return add(name, parents=[common], **kw)

    sub.add_parser = add_parser  # type: ignore[method-assign]

    p = sub.add_parser("list", help="list the tasks")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("prepare", help="acquire and prepare the data of tasks")
    p.add_argument("tasks", nargs="+")
    p.add_argument("--raw-dir", default=None, help="use raw data from this folder")
    p.add_argument("--force", action="store_true", help="prepare again even if prepared")
    p.set_defaults(func=cmd_prepare)

    p = sub.add_parser("run", help="play one episode with a policy, printing every step")
    p.add_argument("--task", default="digits")
    _add_policy_args(p)
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

    p = sub.add_parser("bench", help="run a policy K times on tasks, in parallel, resumable; writes a report")
    p.add_argument("--tasks", nargs="+", required=True, help="task ids, or held-in / held-out / offline")
    _add_policy_args(p)
    p.add_argument("--runs", type=int, default=8, help="episodes per task (K)")
    p.add_argument("--max-steps", type=int, default=30)
    p.add_argument("--parallel", type=int, default=1, help="episodes at a time (P)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--sandbox", default="auto", choices=["auto", "local", "docker"])
    p.add_argument("--exec-timeout-s", type=float, default=None)
    p.add_argument("--time-limit-s", type=float, default=5 * 3600.0)
    p.add_argument("--allow-fixture", action="store_true", help="allow synthetic fixture data (smoke tests only)")
    p.add_argument("--out", required=True, help="output folder; an interrupted run resumes there")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--ray-address", default=None,
                   help="run the envs on this Ray cluster (host:port, or auto); needs the ray extra")
    p.add_argument("--ray-resource", default=None,
                   help="with --ray-address: a custom resource each env actor takes one of (e.g. mlagent_sandbox)")
    p.set_defaults(func=cmd_bench)

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
    if args.command in ("run", "baseline", "bench"):
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
