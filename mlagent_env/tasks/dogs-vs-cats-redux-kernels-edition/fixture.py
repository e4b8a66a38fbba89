"""A tiny synthetic dogs-vs-cats dataset in the Kaggle layout (fixture data only).

Writes ``train/`` with 80 ``cat.<n>.jpg`` and 80 ``dog.<n>.jpg`` RGB JPEG images of varying
size (48 to 96 pixels a side; the real photos are larger, about 500x375, and the code handles
any size), plus a small unlabelled ``test/`` (``1.jpg`` ...) and ``sample_submission.csv``, as the
Kaggle download holds after its inner zips are extracted. A "dog" is a warm brown ellipse
lying flat, a "cat" a grey upright ellipse with two triangular ears, on noisy backgrounds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

from mlagent_env.tasks.data import FIXTURE_MARKER

N_PER_CLASS = 80
N_TEST = 10
SAMPLE_SUBMISSION_SCORE = 0.6931471805599453
"""Log loss of the sample submission (0.5 everywhere) on the fixture's test answers: ln 2."""


def _image(dog: bool, rng: np.random.Generator) -> Image.Image:
    w, h = (int(v) for v in rng.integers(48, 97, size=2))
    background = rng.uniform(60, 200, size=3)
    pixels = np.clip(background + rng.normal(0, 20, size=(h, w, 3)), 0, 255).astype(np.uint8)
    img = Image.fromarray(pixels, "RGB")
    draw = ImageDraw.Draw(img)
    cx, cy = w * rng.uniform(0.35, 0.65), h * rng.uniform(0.4, 0.6)
    if dog:
        colour = tuple(int(v) for v in rng.uniform([120, 70, 20], [180, 110, 50]))
        rx, ry = w * 0.3, h * 0.18
        draw.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=colour)
    else:
        grey = int(rng.uniform(90, 160))
        colour = (grey, grey, grey + 10)
        rx, ry = w * 0.16, h * 0.28
        draw.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=colour)
        for side in (-1, 1):
            ex = cx + side * rx * 0.6
            draw.polygon([(ex - rx * 0.4, cy - ry * 0.8), (ex + rx * 0.4, cy - ry * 0.8), (ex, cy - ry * 1.4)], fill=colour)
    return img


def make_fixture(raw: Path, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    (raw / "train").mkdir(parents=True, exist_ok=True)
    (raw / "test").mkdir(exist_ok=True)
    for animal in ("cat", "dog"):
        for n in range(N_PER_CLASS):
            _image(animal == "dog", rng).save(raw / "train" / f"{animal}.{n}.jpg", quality=90)
    for n in range(1, N_TEST + 1):
        _image(bool(rng.random() < 0.5), rng).save(raw / "test" / f"{n}.jpg", quality=90)
    pd.DataFrame({"id": range(1, N_TEST + 1), "label": 0.5}).to_csv(raw / "sample_submission.csv", index=False)
    (raw / FIXTURE_MARKER).touch()
