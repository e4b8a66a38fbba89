"""A tiny synthetic raw dataset in the layout of the Kaggle download (FIXTURE, not real data).

Clean pages are words drawn with PIL's built-in bitmap font (black on white); noisy pages add a
blotchy grey paper background, dark stains and pixel noise. Pages are 64 px wide and 40 or 48 px
high instead of 540 x 258/420 (the real code handles any size), so the per-pixel submission stays
small: 36 training pairs, 6 unlabelled Kaggle test pages and Kaggle's ``sampleSubmission.csv``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw, ImageFont

from mlagent_env.tasks.data import FIXTURE_MARKER

N_TRAIN = 36
N_TEST = 6
WIDTH = 64
HEIGHTS = (40, 48)
WORDS = ["the", "dirty", "page", "ink", "coffee", "stain", "scan", "noise", "text", "paper", "clean", "kaggle"]

SAMPLE_SUBMISSION_SCORE = 0.41899868
"""RMSE of the public sample submission (every pixel 1.0) on the answers of make_fixture(seed=0)."""


def _font() -> ImageFont.ImageFont:
    # the old bitmap font: identical in every Pillow version, no anti-aliasing
    loader = getattr(ImageFont, "load_default_imagefont", None)
    return loader() if loader is not None else ImageFont.load_default()


def _clean_page(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    img = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(img)
    font = _font()
    y = int(rng.integers(1, 5))
    while y + 10 <= height:
        line = " ".join(rng.choice(WORDS, size=max(4, width // 16)))
        draw.text((int(rng.integers(0, 6)), y), line, fill=int(rng.integers(0, 40)), font=font)
        y += int(rng.integers(11, 14))
    return np.asarray(img, dtype=np.float64) / 255.0


def _smooth_field(rng: np.random.Generator, height: int, width: int, cells: int) -> np.ndarray:
    small = Image.fromarray((rng.random((cells, cells)) * 255).astype(np.uint8))
    return np.asarray(small.resize((width, height), Image.BILINEAR), dtype=np.float64) / 255.0


def _dirty(rng: np.random.Generator, clean: np.ndarray) -> np.ndarray:
    height, width = clean.shape
    paper = 0.62 + 0.3 * _smooth_field(rng, height, width, 4)
    yy, xx = np.indices(clean.shape)
    for _ in range(int(rng.integers(1, 4))):  # stains: soft dark ellipses
        cy, cx = rng.uniform(0, height), rng.uniform(0, width)
        ry, rx = rng.uniform(4, 14), rng.uniform(6, 20)
        d = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2
        paper *= 1.0 - rng.uniform(0.15, 0.35) * np.exp(-d)
    ink = 1.0 - clean
    noisy = paper * (1.0 - ink) + 0.08 * ink + rng.normal(0.0, 0.04, clean.shape)
    return np.clip(noisy, 0.0, 1.0)


def _save(arr: np.ndarray, path: Path) -> None:
    Image.fromarray(np.round(arr * 255).astype(np.uint8), mode="L").save(path)


def make_fixture(
    raw: Path,
    seed: int = 0,
    n_train: int = N_TRAIN,
    n_test: int = N_TEST,
    width: int = WIDTH,
    heights: tuple[int, ...] = HEIGHTS,
) -> None:
    """The fixture; the size arguments scale it (``benchmarks/prepare_speed.py`` builds pages of the
    real size, 540 px wide and 258 or 420 px high)."""
    rng = np.random.default_rng(seed)
    raw.mkdir(parents=True, exist_ok=True)
    for folder in ("train", "train_cleaned", "test"):
        (raw / folder).mkdir(exist_ok=True)
    names = rng.permutation(np.arange(1, n_train + n_test + 1))
    for name in names[:n_train]:
        clean = _clean_page(rng, int(rng.choice(heights)), width)
        _save(clean, raw / "train_cleaned" / f"{name}.png")
        _save(_dirty(rng, clean), raw / "train" / f"{name}.png")
    sample_ids: list[str] = []
    for name in sorted(names[n_train:]):
        height = int(rng.choice(heights))
        _save(_dirty(rng, _clean_page(rng, height, width)), raw / "test" / f"{name}.png")
        sample_ids += [f"{name}_{r}_{c}" for r in range(1, height + 1) for c in range(1, width + 1)]
    pd.DataFrame({"id": sample_ids, "value": 1}).to_csv(raw / "sampleSubmission.csv", index=False)
    (raw / FIXTURE_MARKER).touch()
