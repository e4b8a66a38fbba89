"""A tiny synthetic CIFAR-10 in the layout of the extracted python tarball (fixture data only).

It writes ``cifar-10-batches-py/`` with ``data_batch_1`` ... ``data_batch_5`` (40 images each),
``test_batch`` (60 images) and ``batches.meta``: pickles with the real keys and dtypes (``data``
uint8 N x 3072 as R, G, B planes of 32 x 32; ``labels`` list of int; ``filenames``;
``batch_label``). The real files are Python 2 pickles whose keys load as ``str`` with
``encoding="latin1"``, which is how prepare reads both. The images are scikit-learn's 8x8
handwritten digits (digit d stands for class d) scaled up to 32x32, tinted and noised: a learnable
stand-in, not CIFAR.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from mlagent_env.tasks.data import FIXTURE_MARKER

LABEL_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
PER_TRAIN_BATCH = 40
N_TEST = 60
SAMPLE_SUBMISSION_SCORE = 8 / 60
"""Accuracy of the sample submission (label 0 everywhere) on the fixture's test answers (seed 0)."""


def _images(n: int, rng: np.random.Generator) -> tuple[np.ndarray, list[int]]:
    from sklearn.datasets import load_digits  # noqa: PLC0415

    digits = load_digits()
    pick = rng.choice(len(digits.target), size=n, replace=False)
    grey = digits.images[pick] / 16.0  # (n, 8, 8) in [0, 1]
    big = np.kron(grey, np.ones((4, 4)))  # (n, 32, 32)
    tint = rng.uniform(0.4, 1.0, size=(n, 3, 1, 1))
    background = rng.uniform(0.0, 0.3, size=(n, 3, 1, 1))
    planes = background + big[:, None] * tint + rng.normal(0, 0.05, size=(n, 3, 32, 32))
    data = np.clip(planes * 255, 0, 255).astype(np.uint8).reshape(n, 3072)
    return data, [int(t) for t in digits.target[pick]]


def _write(path: Path, obj: dict) -> None:
    with open(path, "wb") as f:
        pickle.dump(obj, f, protocol=2)


def make_fixture(raw: Path, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    folder = raw / "cifar-10-batches-py"
    folder.mkdir(parents=True, exist_ok=True)
    data, labels = _images(5 * PER_TRAIN_BATCH + N_TEST, rng)
    chunks = [(f"data_batch_{i + 1}", f"training batch {i + 1} of 5", i * PER_TRAIN_BATCH, PER_TRAIN_BATCH) for i in range(5)]
    chunks.append(("test_batch", "testing batch 1 of 1", 5 * PER_TRAIN_BATCH, N_TEST))
    for name, batch_label, start, n in chunks:
        rows = slice(start, start + n)
        _write(
            folder / name,
            {
                "batch_label": batch_label,
                "labels": labels[rows],
                "data": data[rows],
                "filenames": [f"fixture_image_{start + i}.png" for i in range(n)],
            },
        )
    _write(folder / "batches.meta", {"num_cases_per_batch": PER_TRAIN_BATCH, "label_names": LABEL_NAMES, "num_vis": 3072})
    (raw / FIXTURE_MARKER).touch()
