"""A tiny synthetic raw dataset in the layout of the Kaggle download (FIXTURE, not real data).

8 of the 99 species, 16 leaves each (128 train rows), plus 24 unlabelled Kaggle test rows. The
margin and texture features are histograms (non-negative, summing to 1) and the shape features
small positive numbers, all drawn around a per-species prototype; every id has a small binary
leaf silhouette ``images/<id>.jpg`` (a species-specific lobed outline, white on black, 40-64 px
instead of several hundred; the real code handles any size).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

from mlagent_env.tasks.data import FIXTURE_MARKER
from mlagent_env.tasks.spec import TaskSpec

ALL_SPECIES = TaskSpec.from_yaml(Path(__file__).with_name("task.yaml")).target_columns
SPECIES = ALL_SPECIES[::12][:8]
PER_SPECIES = 16
N_KAGGLE_TEST = 24
FEATURES = [f"{group}{i}" for group in ("margin", "shape", "texture") for i in range(1, 65)]

SAMPLE_SUBMISSION_SCORE = math.log(99)
"""Multiclass log loss of the uniform 1/99 sample submission: ln(99) whatever the answers."""


def _features(rng: np.random.Generator, proto: dict[str, np.ndarray]) -> list[float]:
    margin = rng.dirichlet(proto["margin"] * 8)
    texture = rng.dirichlet(proto["texture"] * 8)
    shape = np.abs(proto["shape"] * (1 + rng.normal(0, 0.5, 64)))
    return np.round(np.concatenate([margin, shape, texture]), 6).tolist()


def _leaf(rng: np.random.Generator, lobes: int, depth: float, aspect: float) -> Image.Image:
    w, h = int(rng.integers(40, 65)), int(rng.integers(40, 65))
    img = Image.new("L", (w, h), 0)
    cx, cy, scale = w / 2, h / 2, 0.42 * min(w, h)
    turn = rng.uniform(0, 2 * math.pi)
    points = []
    for t in np.linspace(0, 2 * math.pi, 72, endpoint=False):
        r = scale * (1 - depth + depth * abs(math.cos(lobes * t / 2))) * rng.uniform(0.95, 1.05)
        x, y = r * math.cos(t), r * math.sin(t) * aspect
        points.append((cx + x * math.cos(turn) - y * math.sin(turn), cy + x * math.sin(turn) + y * math.cos(turn)))
    ImageDraw.Draw(img).polygon(points, fill=255)
    return img


def make_fixture(raw: Path, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    raw.mkdir(parents=True, exist_ok=True)
    (raw / "images").mkdir(exist_ok=True)
    protos = {
        s: {
            "margin": rng.dirichlet(np.ones(64)),
            "texture": rng.dirichlet(np.ones(64) * 0.5),
            "shape": rng.uniform(2e-4, 1e-3, 64),
            "leaf": (int(rng.integers(0, 8)), float(rng.uniform(0.1, 0.5)), float(rng.uniform(0.4, 1.0))),
        }
        for s in SPECIES
    }
    n_train = len(SPECIES) * PER_SPECIES
    ids = rng.permutation(np.arange(1, n_train + N_KAGGLE_TEST + 1))
    labels = list(rng.permutation(np.repeat(SPECIES, PER_SPECIES))) + list(rng.choice(SPECIES, N_KAGGLE_TEST))
    rows = []
    for leaf_id, species in zip(ids, labels):
        rows.append([int(leaf_id), species, *_features(rng, protos[species])])
        _leaf(rng, *protos[species]["leaf"]).save(raw / "images" / f"{leaf_id}.jpg", quality=90)
    frame = pd.DataFrame(rows, columns=["id", "species", *FEATURES])
    train, test = frame.iloc[:n_train], frame.iloc[n_train:]
    train.sort_values("id").to_csv(raw / "train.csv", index=False)
    test.drop(columns=["species"]).sort_values("id").to_csv(raw / "test.csv", index=False)
    sample = pd.DataFrame({"id": sorted(test["id"])})
    for s in ALL_SPECIES:
        sample[s] = 1.0 / len(ALL_SPECIES)
    sample.to_csv(raw / "sample_submission.csv", index=False)
    (raw / FIXTURE_MARKER).touch()
