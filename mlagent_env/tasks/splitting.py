"""Helpers for task ``prepare.py`` scripts: seeded splits, ids that cannot be matched back, and
cheap copies of large raw files."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd


def seeded_split(
    frame: pd.DataFrame, test_fraction: float, seed: int, stratify: str | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Shuffle with ``seed`` and split into (train, test); never the source's order. With
    ``stratify``, each class keeps its share in both parts."""
    if not 0 < test_fraction < 1:
        raise ValueError("test_fraction must be in (0, 1)")
    rng = np.random.default_rng(seed)
    if stratify is None:
        groups = [np.arange(len(frame))]
    else:
        groups = [np.flatnonzero(frame[stratify].to_numpy() == v) for v in sorted(frame[stratify].unique())]
    test_idx: list[int] = []
    for g in groups:
        g = rng.permutation(g)
        test_idx.extend(g[: int(round(len(g) * test_fraction))].tolist())
    test_mask = np.zeros(len(frame), dtype=bool)
    test_mask[test_idx] = True
    order = rng.permutation(len(frame))
    shuffled = frame.iloc[order].reset_index(drop=True)
    mask = test_mask[order]
    return shuffled[~mask].reset_index(drop=True), shuffled[mask].reset_index(drop=True)


def random_ids(n: int, seed: int, width: int = 6) -> list[str]:
    """``n`` distinct random ``width``-digit ids (no leading zero, so they survive being read as
    integers), unrelated to any source order."""
    rng = np.random.default_rng(seed)
    low, high = 10 ** (width - 1), 10**width
    if n > (high - low) // 2:
        raise ValueError("id space too small; increase width")
    ids = rng.choice(high - low, size=n, replace=False) + low
    return [str(i) for i in ids]


def link_or_copy(src: Path, dst: Path) -> None:
    """Hard-link ``src`` to ``dst`` (no copy of the bytes) where the file system allows it, else copy."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)
