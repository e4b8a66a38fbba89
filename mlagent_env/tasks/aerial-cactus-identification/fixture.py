"""A tiny synthetic aerial-cactus dataset in the Kaggle layout (fixture data only).

Writes ``train.csv`` (id, has_cactus), ``train/`` with 200 JPEG images of 32x32 RGB named
``<32 hex digits>.jpg`` (about 75 % with a cactus, as in the real data), a small unlabelled
``test/`` folder and ``sample_submission.csv``, as the Kaggle download holds after its inner
zips are extracted. A "cactus" is a dark green vertical stroke on a sandy, noisy background;
negatives have a round shrub-like blob or nothing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from mlagent_env.tasks.data import FIXTURE_MARKER

N_TRAIN = 200
N_TEST = 10
SAMPLE_SUBMISSION_SCORE = 0.5
"""ROC-AUC of the sample submission (0.5 everywhere) on the fixture's test answers (seed 0)."""


def _image(has_cactus: bool, rng: np.random.Generator) -> Image.Image:
    sand = rng.uniform(150, 210, size=3) * np.array([1.0, 0.9, 0.7])
    img = sand + rng.normal(0, 18, size=(32, 32, 3))
    yy, xx = np.mgrid[:32, :32]
    if has_cactus:
        x0, width = rng.integers(6, 26), rng.integers(2, 5)
        y0, y1 = sorted(rng.integers(0, 32, size=2))
        y1 = max(y1, y0 + 12)
        mask = (np.abs(xx - x0) <= width // 2 + 1) & (yy >= y0) & (yy <= y1)
        img[mask] = rng.uniform(40, 80, size=3) * np.array([0.8, 1.2, 0.7])
    elif rng.random() < 0.5:
        cx, cy, r = rng.integers(6, 26, size=2).tolist() + [rng.integers(3, 6)]
        img[(xx - cx) ** 2 + (yy - cy) ** 2 <= r * r] = rng.uniform(60, 110, size=3) * np.array([0.9, 1.0, 0.7])
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


def _names(n: int, rng: np.random.Generator) -> list[str]:
    return [rng.bytes(16).hex() + ".jpg" for _ in range(n)]


def make_fixture(raw: Path, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    raw.mkdir(parents=True, exist_ok=True)
    labels = (rng.random(N_TRAIN) < 0.75).astype(int)
    names = _names(N_TRAIN + N_TEST, rng)
    (raw / "train").mkdir(exist_ok=True)
    (raw / "test").mkdir(exist_ok=True)
    for name, label in zip(names[:N_TRAIN], labels):
        _image(bool(label), rng).save(raw / "train" / name, quality=90)
    for name in names[N_TRAIN:]:
        _image(bool(rng.random() < 0.75), rng).save(raw / "test" / name, quality=90)
    pd.DataFrame({"id": names[:N_TRAIN], "has_cactus": labels}).to_csv(raw / "train.csv", index=False)
    pd.DataFrame({"id": names[N_TRAIN:], "has_cactus": 0.5}).to_csv(raw / "sample_submission.csv", index=False)
    (raw / FIXTURE_MARKER).touch()
