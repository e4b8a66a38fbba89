"""``mlagent-train``: explore, sft, rl and eval stages (being built; see the project issues)."""

from __future__ import annotations

import argparse
import sys

STAGES = {
    "explore": "idea pools, diverse idea selection and expert trajectories",
    "sft": "supervised fine-tuning on expert trajectories (TRL SFTTrainer)",
    "rl": "step-wise GRPO / PPO with env-executed rewards",
    "eval": "evaluate a model on held-out tasks through the benchmark harness",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mlagent-train", description=__doc__)
    sub = parser.add_subparsers(dest="stage", required=True)
    for name, help_text in STAGES.items():
        sub.add_parser(name, help=help_text)
    args = parser.parse_args(argv)
    print(f"mlagent-train {args.stage}: not implemented yet ({STAGES[args.stage]}).", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
