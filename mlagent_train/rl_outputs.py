"""The RL output folder, shared by GRPO and PPO: the checkpoint to resume from, the rollouts
files, and the training card written into every checkpoint and ``final/``."""

from __future__ import annotations

import json
import os
from pathlib import Path

from mlagent_train.config import latest_checkpoint
from mlagent_train.rl_config import RLConfig, RLError

CARD_NAME = "training_card.md"


def resume_checkpoint(cfg: RLConfig) -> Path | None:
    """``resume: auto`` -> the latest ``checkpoint-<n>`` in ``output_dir``; ``none``; or a folder."""
    if cfg.resume == "auto":
        return latest_checkpoint(cfg.output_dir)
    if cfg.resume in ("none", ""):
        return None
    if not Path(cfg.resume).is_dir():
        raise RLError(f"resume checkpoint {cfg.resume} does not exist")
    return Path(cfg.resume)


def process_rank() -> int:
    """This process's rank under ``accelerate launch``/``torchrun`` (0 when run alone)."""
    return int(os.environ.get("RANK", "0") or 0)


def rollouts_path(out: Path) -> Path:
    """``rollouts.jsonl`` on the main process; ``rollouts-rank<r>.jsonl`` on the others (every
    process executes and logs its own replies; the summary reads them all)."""
    rank = process_rank()
    return out / ("rollouts.jsonl" if rank == 0 else f"rollouts-rank{rank}.jsonl")


def truncate_rollouts(path: Path, keep_through_step: int) -> None:
    """On resumption, drop the logged rollouts of steps after the checkpoint (they are redone)."""
    if not path.exists():
        return
    rows = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    kept = [r for r in rows if json.loads(r)["step"] <= keep_through_step]
    path.write_text("".join(r + "\n" for r in kept), encoding="utf-8")


def card_text(cfg: RLConfig, readable_note: str | None) -> str:
    """The training card: what trained the model, and the readable-answers note when it applies."""
    lines = ["# mlagent-train rl", ""]
    if readable_note:
        lines += [f"> **{readable_note}**", ""]
    lines += [f"- algorithm: {cfg.algo} ({cfg.mode}-wise)", f"- started from: `{cfg.model_name_or_path}`",
              f"- tasks: {', '.join(cfg.tasks) or 'every held-in task of the trajectories'}",
              f"- sandbox: {cfg.sandbox}; private answers readable by agent code: {'yes' if readable_note else 'no'}",
              f"- configuration: `rl_config.json` in `{cfg.output_dir}`"]
    return "\n".join(lines) + "\n"


def write_card(folder: Path, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CARD_NAME).write_text(text, encoding="utf-8")
