"""cifar-10: the CIFAR-10 python batches (50,000 train / 10,000 test images, 32x32 RGB, 10 classes).

Raw layout (``cifar-10-python.tar.gz``, extracted by the unpack step, or as torchvision leaves it)::

    raw/cifar-10-batches-py/data_batch_1 ... data_batch_5, test_batch   pickles: {"data": uint8 (N, 3072),
                                                                        "labels": [int], "filenames": [str],
                                                                        "batch_label": str}
    raw/cifar-10-batches-py/batches.meta                                pickle: {"label_names": [10 str], ...}

The official test batch is the test set, as in MLAgentBench. Both sets are shuffled with a
fixed seed and get random ids, so that rows cannot be matched back to the official order.
Public files: ``train_images.npy`` / ``test_images.npy`` (uint8, N x 32 x 32 x 3, row i is the
image of row i of ``train.csv`` / ``test.csv``), ``train.csv`` (id, label), ``test.csv`` (id),
``classes.csv`` (label, name) and ``sample_submission.csv`` (id, label).
"""

from __future__ import annotations

import hashlib
import pickle
import shutil
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlagent_env.errors import DataUnavailable
from mlagent_env.tasks.acquire import RawLayout
from mlagent_env.tasks.splitting import random_ids

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
TARBALL = "cifar-10-python.tar.gz"
TARBALL_MD5 = "c58f30108f718f92721af3b95e74349a"
FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]
TEST_BATCH = "test_batch"
SEED = 20261126
RAW_LAYOUT = RawLayout(archives=(TARBALL,))
"""The tarball unpacks to cifar-10-batches-py/."""


def _instructions(raw: Path) -> str:
    return (
        f"download {URL} (md5 {TARBALL_MD5}) by hand into {raw} and run `mlagent-env prepare cifar-10` again "
        f"(the tarball is extracted for you); or install torchvision and prepare again"
    )


def download(raw: Path) -> None:
    """Fetch the CIFAR-10 python tarball (through torchvision if importable, else urllib); the unpack
    step extracts it."""
    raw.mkdir(parents=True, exist_ok=True)
    try:
        import torchvision  # noqa: PLC0415
    except ImportError:
        torchvision = None
    try:
        if torchvision is not None:
            for train in (True, False):
                torchvision.datasets.CIFAR10(root=str(raw), train=train, download=True)
            return
        tarball = raw / TARBALL
        with urllib.request.urlopen(URL, timeout=60) as response, open(tarball, "wb") as out:
            shutil.copyfileobj(response, out)
        md5 = hashlib.md5(tarball.read_bytes()).hexdigest()
        if md5 != TARBALL_MD5:
            raise DataUnavailable(f"{URL} arrived with md5 {md5}, expected {TARBALL_MD5}; " + _instructions(raw))
    except DataUnavailable:
        raise
    except Exception as exc:  # no network, a proxy, a broken download
        raise DataUnavailable(f"could not download CIFAR-10 ({type(exc).__name__}: {exc}); " + _instructions(raw)) from None


def _load(path: Path) -> dict[str, Any]:
    """One CIFAR pickle (written by Python 2) with its keys as ``str``."""
    with open(path, "rb") as f:
        batch = pickle.load(f, encoding="latin1")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}


def _images_and_labels(folder: Path, names: list[str]) -> tuple[np.ndarray, np.ndarray]:
    images, labels = [], []
    for name in names:
        batch = _load(folder / name)
        data = np.asarray(batch["data"], dtype=np.uint8)
        images.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))  # channel planes -> HWC
        labels.append(np.asarray(batch["labels"], dtype=np.int64))
    return np.ascontiguousarray(np.concatenate(images)), np.concatenate(labels)


def prepare(raw: Path, public: Path, private: Path) -> None:
    folder = raw / FOLDER
    if not folder.is_dir():
        raise DataUnavailable(f"{folder} is missing; " + _instructions(raw))
    names = list(_load(folder / "batches.meta")["label_names"])
    train_x, train_y = _images_and_labels(folder, TRAIN_BATCHES)
    test_x, test_y = _images_and_labels(folder, [TEST_BATCH])
    print(f"cifar-10: {len(train_y)} train and {len(test_y)} test images")

    rng = np.random.default_rng(SEED)
    train_order = rng.permutation(len(train_y))
    test_order = rng.permutation(len(test_y))
    ids = random_ids(len(train_y) + len(test_y), SEED + 1)
    train_ids, test_ids = ids[: len(train_y)], ids[len(train_y) :]

    np.save(public / "train_images.npy", train_x[train_order])
    np.save(public / "test_images.npy", test_x[test_order])
    pd.DataFrame({"id": train_ids, "label": train_y[train_order]}).to_csv(public / "train.csv", index=False)
    pd.DataFrame({"id": test_ids}).to_csv(public / "test.csv", index=False)
    pd.DataFrame({"label": range(len(names)), "name": names}).to_csv(public / "classes.csv", index=False)
    pd.DataFrame({"id": test_ids, "label": 0}).to_csv(public / "sample_submission.csv", index=False)
    pd.DataFrame({"id": test_ids, "label": test_y[test_order]}).to_csv(private / "answers.csv", index=False)
