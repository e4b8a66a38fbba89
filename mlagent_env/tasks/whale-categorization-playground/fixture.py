"""A tiny synthetic raw dataset in the layout of the Kaggle download (FIXTURE, not real data).

``train.csv`` (Image, Id) lists 131 JPEG "fluke photos" in ``train/``: 24 whales with 2-6 images,
14 whales seen once and 25 ``new_whale`` images; ``test/`` holds 8 unlabelled Kaggle test photos
and ``sample_submission.csv`` Kaggle's format. Each whale has its own blotchy pattern; its photos
are that pattern with brightness changes, small shifts and noise, some in colour and some grey,
64 x 32 px instead of about 1000 x 500 (the real code handles any size).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from mlagent_env.tasks.data import FIXTURE_MARKER

N_REPEATED = 24
N_SINGLE = 14
N_NEW = 25
N_KAGGLE_TEST = 8
SIZE = (64, 32)

SAMPLE_SUBMISSION_SCORE = 0.13385417
"""MAP@5 of the public sample submission (new_whale, then the 4 most frequent train whales) on the
answers of make_fixture(seed=0)."""


def _pattern(rng: np.random.Generator) -> np.ndarray:
    small = Image.fromarray((rng.random((4, 8)) * 255).astype(np.uint8))
    return np.asarray(small.resize((SIZE[0] + 8, SIZE[1] + 8), Image.BILINEAR), dtype=np.float64)


def _photo(rng: np.random.Generator, pattern: np.ndarray) -> Image.Image:
    dy, dx = rng.integers(0, 9, size=2)
    crop = pattern[dy : dy + SIZE[1], dx : dx + SIZE[0]]
    grey = np.clip(crop * rng.uniform(0.7, 1.2) + rng.uniform(-20, 20) + rng.normal(0, 12, crop.shape), 0, 255)
    if rng.random() < 0.5:
        return Image.fromarray(grey.astype(np.uint8), mode="L")
    tint = rng.uniform(0.8, 1.1, size=3)
    return Image.fromarray(np.clip(grey[:, :, None] * tint, 0, 255).astype(np.uint8), mode="RGB")


def _hex(rng: np.random.Generator, n: int, digits: int) -> list[str]:
    return [f"{x:0{digits}x}" for x in rng.choice(16**digits, size=n, replace=False).tolist()]


def make_fixture(raw: Path, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    raw.mkdir(parents=True, exist_ok=True)
    (raw / "train").mkdir(exist_ok=True)
    (raw / "test").mkdir(exist_ok=True)
    whales = [f"w_{h}" for h in _hex(rng, N_REPEATED + N_SINGLE, 7)]
    counts = list(rng.integers(2, 7, size=N_REPEATED)) + [1] * N_SINGLE
    labels: list[str] = [w for w, c in zip(whales, counts) for _ in range(c)]
    patterns = {w: _pattern(rng) for w in whales}
    n_train = len(labels) + N_NEW
    names = _hex(rng, n_train + N_KAGGLE_TEST, 8)
    rows = []
    for name, whale in zip(names, labels + ["new_whale"] * N_NEW):
        pattern = patterns[whale] if whale != "new_whale" else _pattern(rng)
        _photo(rng, pattern).save(raw / "train" / f"{name}.jpg", quality=90)
        rows.append((f"{name}.jpg", whale))
    order = rng.permutation(len(rows))
    pd.DataFrame([rows[i] for i in order], columns=["Image", "Id"]).to_csv(raw / "train.csv", index=False)
    test_names = [f"{name}.jpg" for name in names[n_train:]]
    for name in test_names:
        _photo(rng, patterns[whales[int(rng.integers(len(whales)))]]).save(raw / "test" / name, quality=90)
    sample = pd.DataFrame({"Image": sorted(test_names), "Id": "new_whale w_1287fbc w_98baff9 w_7554f44 w_1eafe46"})
    sample.to_csv(raw / "sample_submission.csv", index=False)
    (raw / FIXTURE_MARKER).touch()
