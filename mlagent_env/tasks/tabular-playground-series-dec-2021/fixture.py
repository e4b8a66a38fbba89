"""A synthetic stand-in for the tabular-playground-series-dec-2021 download (fixture data).

Writes ``train.csv`` (Id, the 54 integer features under their real names, Cover_Type),
``test.csv`` and ``sample_submission.csv`` in the competition's layout: 700 rows whose class
(unbalanced as in the real data, class 5 once) shifts the elevation, distances and wilderness
area, with noisy one-hot indicator columns. Not the competition's data (which is itself
synthetic, generated from the Forest Cover Type data).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mlagent_env.tasks.data import FIXTURE_MARKER

N_TRAIN = 700
N_TEST = 50
CLASS_SHARES = {1: 0.34, 2: 0.50, 3: 0.08, 4: 0.01, 6: 0.03, 7: 0.04}  # class 5: one row, as in the real data
ELEVATION = {1: 3100, 2: 2900, 3: 2450, 4: 2250, 5: 2700, 6: 2550, 7: 3350}
NUMERIC = [
    "Elevation", "Aspect", "Slope", "Horizontal_Distance_To_Hydrology", "Vertical_Distance_To_Hydrology",
    "Horizontal_Distance_To_Roadways", "Hillshade_9am", "Hillshade_Noon", "Hillshade_3pm",
    "Horizontal_Distance_To_Fire_Points",
]
WILDERNESS = [f"Wilderness_Area{i}" for i in range(1, 5)]
SOIL = [f"Soil_Type{i}" for i in range(1, 41)]

SAMPLE_SUBMISSION_SCORE = 0.5211268
"""Accuracy of the public sample submission (class 2 everywhere) on make_fixture(seed=0)."""


def _features(rng: np.random.Generator, classes: np.ndarray) -> pd.DataFrame:
    n = len(classes)
    elevation = np.array([ELEVATION[int(c)] for c in classes]) + rng.normal(0, 130, n)
    frame = pd.DataFrame(
        {
            "Elevation": elevation,
            "Aspect": rng.uniform(-30, 400, n),
            "Slope": rng.gamma(3, 5, n) + (classes == 3) * 8,
            "Horizontal_Distance_To_Hydrology": rng.gamma(2, 150, n),
            "Vertical_Distance_To_Hydrology": rng.normal(50, 60, n),
            "Horizontal_Distance_To_Roadways": rng.gamma(2, 800, n) + (classes == 1) * 600,
            "Hillshade_9am": rng.normal(210, 30, n),
            "Hillshade_Noon": rng.normal(220, 20, n),
            "Hillshade_3pm": rng.normal(140, 40, n),
            "Horizontal_Distance_To_Fire_Points": rng.gamma(2, 700, n) + (classes == 2) * 400,
        }
    ).round().astype(np.int64)
    area = np.where(classes >= 3, 2, np.where(classes == 7, 1, 0))
    area = np.where(rng.random(n) < 0.3, rng.integers(0, 4, n), area)
    for i, column in enumerate(WILDERNESS):
        frame[column] = ((area == i) | (rng.random(n) < 0.03)).astype(np.int64)
    soil = (classes * 5 + rng.integers(0, 8, n)) % 40
    for i, column in enumerate(SOIL):
        frame[column] = ((soil == i) & (rng.random(n) > 0.05)).astype(np.int64)
    return frame


def make_fixture(raw: Path, seed: int = 0) -> None:
    """Write the fixture into ``raw`` (the extracted competition zip), with the fixture marker."""
    rng = np.random.default_rng(seed)
    raw.mkdir(parents=True, exist_ok=True)
    shares = np.array(list(CLASS_SHARES.values()))
    classes = rng.choice(list(CLASS_SHARES), size=N_TRAIN, p=shares / shares.sum())
    classes[int(rng.integers(N_TRAIN))] = 5
    ids = rng.permutation(N_TRAIN + N_TEST)
    train = _features(rng, classes)
    train.insert(0, "Id", ids[:N_TRAIN])
    train["Cover_Type"] = classes
    test_classes = rng.choice(list(CLASS_SHARES), size=N_TEST, p=shares / shares.sum())
    test = _features(rng, test_classes)
    test.insert(0, "Id", ids[N_TRAIN:])
    train.to_csv(raw / "train.csv", index=False)
    test.to_csv(raw / "test.csv", index=False)
    pd.DataFrame({"Id": test["Id"], "Cover_Type": 2}).to_csv(raw / "sample_submission.csv", index=False)
    (raw / FIXTURE_MARKER).touch()
