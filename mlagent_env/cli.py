"""``mlagent-env``: list, describe, prepare, run, grade and measure the baseline of tasks."""

from __future__ import annotations

import argparse
import sys
import warnings
from typing import TYPE_CHECKING, Any, Callable

import gymnasium as gym

from mlagent_env.errors import MLAgentError

if TYPE_CHECKING:
    from mlagent_env.tasks.registry import Task
    from mlagent_env.tasks.scale import RewardScale


def _make_env(task_id: str, sandbox: str, data_dir: str | None, **extra: Any) -> gym.Env[str, str]:
    import mlagent_env  # noqa: F401,PLC0415  (registers the ids)
    from mlagent_env.tasks import get_task  # noqa: PLC0415

    get_task(task_id)  # a clean error (with suggestions) before gymnasium's own
    return gym.make(f"mlagent/{task_id}", sandbox=sandbox, data_dir=data_dir, **extra)


def cmd_list(args: argparse.Namespace) -> int:
    from mlagent_env.tasks import get_task, list_tasks  # noqa: PLC0415
    from mlagent_env.tasks.data import is_prepared  # noqa: PLC0415

    header = ("id", "split", "data", "metric", "prepared") + (("reward scale", "source") if args.details else ())
    rows = [header]
    for s in list_tasks():
        arrow = "↑" if s.metric.higher_is_better else "↓"
        prepared = is_prepared(s.id, args.data_dir)
        row: tuple[str, ...] = (s.id, s.split, s.data_type, f"{s.metric.name} {arrow}", "yes" if prepared else "no")
        if args.details:
            scale = _task_scale(get_task(s.id), args.data_dir)
            row += (f"{scale.value:.4g}", scale.source)
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    if args.details:
        from mlagent_env.reward import RewardConfig, sigmoid  # noqa: PLC0415

        k = RewardConfig().k
        print(f"\nA gain of half the reward scale earns sigmoid(k/2) = {sigmoid(k / 2):.2f} (k={k:g}); "
              "`mlagent-env info TASK` says where a scale comes from.")
    return 0


def _task_scale(task: Task, data_dir: str | None) -> RewardScale:
    """The task's reward scale, refined by the starter measured on its prepared data when cached."""
    from mlagent_env.tasks import baseline_cache  # noqa: PLC0415
    from mlagent_env.tasks.data import is_prepared, task_paths  # noqa: PLC0415
    from mlagent_env.tasks.scale import reward_scale  # noqa: PLC0415

    measured = baseline_cache.load(task, task_paths(task.id, data_dir)) if is_prepared(task.id, data_dir) else None
    return reward_scale(task.spec, measured)


def cmd_info(args: argparse.Namespace) -> int:
    """The facts of one task: metric, reference, medals, reward scale and its source, data status."""
    from mlagent_env.tasks import get_task  # noqa: PLC0415
    from mlagent_env.tasks.data import is_prepared, task_paths  # noqa: PLC0415

    task = get_task(args.task)
    s = task.spec
    scale = _task_scale(task, args.data_dir)
    medals = ", ".join(f"{k} {v:g}" for k, v in s.medals.model_dump().items() if v is not None) or "none"
    baseline = "unknown (the first run earns 0.5; measure it with: mlagent-env baseline " + s.id + ")"
    lines = [
        ("task", f"{s.id}: {s.title}"),
        ("source / split", f"{s.source} / {s.split}"),
        ("metric", f"{s.metric.name} ({'higher' if s.metric.higher_is_better else 'lower'} is better)"),
        ("reference score", "unknown" if s.reference_score is None else f"{s.reference_score:g}"),
        ("medals", medals),
        ("reward scale", f"{scale.value:.6g} ({scale.source}): {scale.detail}"),
        ("first run compared with", baseline if scale.baseline is None else f"{scale.baseline:.6g} (starter, reward rows)"),
        ("prepared", str(task_paths(s.id, args.data_dir).prepared) if is_prepared(s.id, args.data_dir) else "no"),
    ]
    width = max(len(k) for k, _ in lines)
    for key, value in lines:
        print(f"{key:<{width}}  {value}")
    return 0


def cmd_prepare(args: argparse.Namespace) -> int:
    from mlagent_env.tasks import get_task  # noqa: PLC0415
    from mlagent_env.tasks.data import prepare_task  # noqa: PLC0415

    for task_id in args.tasks:
        paths = prepare_task(get_task(task_id), args.data_dir, raw_dir=args.raw_dir, force=args.force)
        print(f"{task_id}: prepared in {paths.prepared}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from mlagent_env.agents import build_policy  # noqa: PLC0415
    from mlagent_env.runner import RunConfig, run_episode  # noqa: PLC0415
    from mlagent_env.trajectory import RecordEpisode  # noqa: PLC0415

    cfg = _config(RunConfig, args)
    kwargs: dict[str, Any] = {"max_steps": cfg.max_steps} if cfg.max_steps else {}
    env = _make_env(cfg.task, cfg.sandbox, cfg.data_dir, **kwargs)
    try:
        policy = build_policy(cfg.policy.check(), cfg.task)
    except BaseException:
        env.close()
        raise
    if cfg.trajectory:
        env = RecordEpisode(env, cfg.trajectory)
    print(f"task {cfg.task}, policy {cfg.policy.label}, sandbox {cfg.sandbox}")
    print(f"{'step':>4}  {'action':<22} {'reward kind':<12} {'reward':>6}  metric")

    def show(s: Any) -> None:
        metric = "" if s.metric is None else f"{s.metric:.4f}"
        cut = "  (reply cut at max_tokens)" if s.truncated_reply else ""
        print(f"{s.step:>4}  {s.action or '(invalid reply)':<22} {s.reward_kind:<12} {s.reward:>6.3f}  {metric}{cut}",
              flush=True)

    try:
        result = run_episode(env, policy, seed=cfg.seed, on_step=show)
    finally:
        env.close()
    if result.final_score is None:
        print(f"final score: none ({result.final_error})")
    else:
        medal = f", medal: {result.medal}" if result.medal else ""
        print(f"final score (held-back rows): {result.final_score:.4f}{medal}")
    print(f"total reward: {result.total_reward:.3f} over {len(result.steps)} steps")
    if result.truncated_replies:
        print(f"{result.truncated_replies} replies were cut at max_tokens (finish_reason: length)")
    if cfg.trajectory:
        print(f"trajectory written to {cfg.trajectory}")
    if result.error:
        print(f"mlagent-env run: the episode stopped after {len(result.steps)} steps: {result.error}", file=sys.stderr)
        return 1
    return 0


def _config(cls: Any, args: argparse.Namespace) -> Any:
    """The command's config from its options; ``--data-dir`` before the sub-command counts too."""
    from mlagent_env.config import config_from_args  # noqa: PLC0415

    cfg = config_from_args(cls, args)
    if getattr(args, "data_dir", None) and not cfg.data_dir:
        cfg.data_dir = args.data_dir
    return cfg


def cmd_grade(args: argparse.Namespace) -> int:
    from mlagent_env.tasks import get_task  # noqa: PLC0415
    from mlagent_env.tasks.data import require_prepared  # noqa: PLC0415
    from mlagent_env.tasks.grading import load_answers, medal, read_csv_submission  # noqa: PLC0415

    task = get_task(args.task)
    answers = load_answers(task, require_prepared(task, args.data_dir))
    submission = read_csv_submission(args.submission, task.spec)
    for label, rows in (("reward rows", answers.reward), ("held-back rows", answers.final)):
        score = task.grade(submission, rows)
        m = medal(task.spec, score)
        print(f"{label:<15} {task.spec.metric.name}: {score:.6f}" + (f"  medal: {m}" if m else ""))
    return 0


def cmd_baseline(args: argparse.Namespace) -> int:
    """Run the unmodified starter once per prepared data and cache its scores beside the data:
    they refine the task's reward scale and are what an episode's first run is compared with."""
    from mlagent_env.agents import ScriptedPolicy  # noqa: PLC0415
    from mlagent_env.actions import ExecuteScript, FinalAnswer  # noqa: PLC0415
    from mlagent_env.runner import run_episode  # noqa: PLC0415
    from mlagent_env.tasks import baseline_cache, get_task  # noqa: PLC0415
    from mlagent_env.tasks.data import is_prepared, task_paths  # noqa: PLC0415

    task = get_task(args.task)
    spec = task.spec
    paths = task_paths(task.id, args.data_dir)
    cached = None if args.force or not is_prepared(task.id, args.data_dir) else baseline_cache.load(task, paths)
    if cached is not None:
        print(f"cached ({cached.where}); run again with --force")
        score, reward_score = cached.score, cached.reward_score
    else:
        env = _make_env(args.task, args.sandbox, args.data_dir)
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
        score, reward_score = result.final_score, run.metric
        path = baseline_cache.save(task, paths, score, reward_score, args.sandbox)
        print(f"measured and cached in {path}")
    print(f"baseline_reward_score: {reward_score:.6g}\nbaseline_score: {score:.6g}")
    scale = _task_scale(task, args.data_dir)
    print(f"reward scale: {scale.value:.6g} ({scale.source}): {scale.detail}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    from mlagent_env.bench import BenchConfig, Benchmark  # noqa: PLC0415
    from mlagent_env.tasks import resolve_tasks  # noqa: PLC0415

    cfg = _config(BenchConfig, args)
    cfg.tasks = resolve_tasks(cfg.tasks)
    cfg.policy.check()
    bench = Benchmark(cfg)
    try:
        results = bench.run(progress=not args.quiet)
    except KeyboardInterrupt:
        print(f"mlagent-env bench: interrupted; finished episodes are kept in {bench.out}. "
              "Run the same command again to resume.", file=sys.stderr)
        return 130
    print((bench.out / "results.md").read_text())
    summary = bench.error_summary()
    if summary:
        print("mlagent-env bench: episodes that ended in an error:\n" + summary, file=sys.stderr)
        print("Fix the cause and run the same command again: errored episodes are played again.", file=sys.stderr)
    failed = [r.task_id for r in results if r.all_failed]
    if failed:
        print(f"mlagent-env bench: every episode of {', '.join(failed)} failed", file=sys.stderr)
        return 1
    return 0 if all(r.runs == cfg.runs for r in results) else 1


def build_parser() -> argparse.ArgumentParser:
    from mlagent_env.bench import BenchConfig  # noqa: PLC0415
    from mlagent_env.config import add_config_arguments  # noqa: PLC0415
    from mlagent_env.runner import RunConfig  # noqa: PLC0415
    from mlagent_env.sandbox import SANDBOX_HELP, SANDBOX_KINDS  # noqa: PLC0415

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
    p.add_argument("--details", action="store_true", help="also show each task's reward scale and its source")
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("info", help="one task's metric, reference, medals, reward scale (and its source) and data")
    p.add_argument("task")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("prepare", help="acquire and prepare the data of tasks")
    p.add_argument("tasks", nargs="+")
    p.add_argument("--raw-dir", default=None, help="use raw data from this folder")
    p.add_argument("--force", action="store_true", help="prepare again even if prepared")
    p.set_defaults(func=cmd_prepare)

    p = add("run", help="play one episode with a policy, printing every step",
            description="Play one episode. Every option is a field of RunConfig; --policy.* are the policy's settings.")
    add_config_arguments(p, RunConfig)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("grade", help="grade a submission file on both answer splits")
    p.add_argument("task")
    p.add_argument("submission")
    p.set_defaults(func=cmd_grade)

    p = sub.add_parser("baseline", help="measure the starter's scores once per prepared data (cached; sets the reward scale)")
    p.add_argument("task")
    p.add_argument("--sandbox", default="local", choices=SANDBOX_KINDS, help=f"{SANDBOX_HELP} (default: local)")
    p.add_argument("--force", action="store_true", help="measure again even if a measurement is cached")
    p.set_defaults(func=cmd_baseline)

    p = add("bench", help="run a policy K times on tasks, in parallel, resumable; writes a report",
            description="Run a policy K times on tasks. Every option is a field of BenchConfig; a YAML file "
                        "(--config) gives them, --set key=value or --key value override it.")
    add_config_arguments(p, BenchConfig)
    p.add_argument("--quiet", action="store_true", help="no progress bar")
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
        print(f"mlagent-env {args.command}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
