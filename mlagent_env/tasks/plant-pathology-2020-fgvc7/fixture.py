"""A tiny synthetic plant-pathology dataset in the Kaggle layout (fixture data only).

Writes ``train.csv`` (image_id Train_<n>, one-hot healthy / multiple_diseases / rust / scab),
``test.csv``, ``sample_submission.csv`` and ``images/`` with 200 ``Train_<n>.jpg`` and 10
``Test_<n>.jpg`` RGB JPEG images of 96x64 pixels (the real photos are 2048x1365; the code
handles any size). A leaf is a green ellipse; rust adds orange spots, scab dark brown patches,
multiple_diseases both. The four classes are about equally frequent here (the real data has
only about 5 % multiple_diseases), so that every class occurs in both halves of the small test
set.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

from mlagent_env.tasks.data import FIXTURE_MARKER

CLASSES = ["healthy", "multiple_diseases", "rust", "scab"]
N_TRAIN = 200
N_TEST = 10
SAMPLE_SUBMISSION_SCORE = 0.5
"""Mean column ROC-AUC of the sample submission (0.25 everywhere) on the fixture's answers."""


def _spots(draw: ImageDraw.ImageDraw, rng: np.random.Generator, colour: tuple[int, int, int], size: float) -> None:
    for _ in range(int(rng.integers(3, 7))):
        x, y = rng.uniform(25, 71), rng.uniform(15, 49)
        r = size * rng.uniform(0.7, 1.3)
        draw.ellipse([x - r, y - r, x + r, y + r], fill=colour)


def _image(label: int, rng: np.random.Generator) -> Image.Image:
    background = rng.uniform(40, 120, size=3)
    pixels = np.clip(background + rng.normal(0, 15, size=(64, 96, 3)), 0, 255).astype(np.uint8)
    img = Image.fromarray(pixels, "RGB")
    draw = ImageDraw.Draw(img)
    green = tuple(int(v) for v in rng.uniform([40, 120, 30], [80, 180, 60]))
    draw.ellipse([14, 6, 82, 58], fill=green)
    disease = CLASSES[label]
    if disease in ("rust", "multiple_diseases"):
        _spots(draw, rng, (230, 140, 30), 2.5)
    if disease in ("scab", "multiple_diseases"):
        _spots(draw, rng, (70, 45, 25), 4.0)
    return img


def make_fixture(raw: Path, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    (raw / "images").mkdir(parents=True, exist_ok=True)
    labels = rng.integers(0, len(CLASSES), size=N_TRAIN)
    for n, label in enumerate(labels):
        _image(int(label), rng).save(raw / "images" / f"Train_{n}.jpg", quality=90)
    for n in range(N_TEST):
        _image(int(rng.integers(0, len(CLASSES))), rng).save(raw / "images" / f"Test_{n}.jpg", quality=90)
    train = pd.DataFrame({"image_id": [f"Train_{n}" for n in range(N_TRAIN)]})
    for k, name in enumerate(CLASSES):
        train[name] = (labels == k).astype(int)
    train.to_csv(raw / "train.csv", index=False)
    test_ids = [f"Test_{n}" for n in range(N_TEST)]
    pd.DataFrame({"image_id": test_ids}).to_csv(raw / "test.csv", index=False)
    pd.DataFrame({"image_id": test_ids, **{c: 0.25 for c in CLASSES}}).to_csv(raw / "sample_submission.csv", index=False)
    (raw / FIXTURE_MARKER).touch()
