"""aerial-cactus-identification: 32x32 aerial photos, does the image contain a columnar cactus?

Raw layout (the Kaggle download with its inner zips extracted)::

    raw/train.csv           id (image file name, e.g. 0004be2cfeaba1c0361d39e2b000257b.jpg), has_cactus (0/1)
    raw/train/<id>          17,500 JPEG images, 32x32 RGB
    raw/test/, raw/sample_submission.csv   Kaggle's unlabelled test set: not used

Like MLE-bench, the labelled train set is split (19 % test, here stratified with a fixed seed).
Every image gets a new random file name (32 hex digits + .jpg, like the originals), so that test
images cannot be looked up in Kaggle's train.csv. Public: ``train.csv`` (id, has_cactus),
``train/`` and ``test/`` (the images, named by id), ``sample_submission.csv`` (id, has_cactus=0.5).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from mlagent_env.errors import DataUnavailable
from mlagent_env.tasks.acquire import kaggle_competition
from mlagent_env.tasks.splitting import link_or_copy, seeded_split

COMPETITION = "aerial-cactus-identification"
TEST_FRACTION = 0.19
SEED = 20261126


def download(raw: Path) -> None:
    """The Kaggle download; acquire.unzip_all also extracts the train.zip inside it."""
    kaggle_competition(COMPETITION, raw, layout=f"{raw} holds train.csv and train/<id>.jpg")


def _hex_names(n: int, seed: int) -> list[str]:
    """``n`` distinct random file names of 32 hex digits + ``.jpg``."""
    rng = np.random.default_rng(seed)
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < n:
        name = rng.bytes(16).hex() + ".jpg"
        if name not in seen:
            seen.add(name)
            names.append(name)
    return names


def prepare(raw: Path, public: Path, private: Path) -> None:
    images = raw / "train"
    if not images.is_dir():
        raise DataUnavailable(f"{images} is missing: extract train.zip of {COMPETITION} into {raw}")
    frame = pd.read_csv(raw / "train.csv", dtype={"id": str})
    frame = frame.sort_values("id", kind="stable").reset_index(drop=True)  # independent of the file's row order
    train, test = seeded_split(frame, TEST_FRACTION, seed=SEED, stratify="has_cactus")
    new_names = _hex_names(len(frame), SEED + 1)
    renamed = dict(zip(list(train["id"]) + list(test["id"]), new_names))

    for part, rows in (("train", train), ("test", test)):
        (public / part).mkdir()
        for old in tqdm(rows["id"], desc=f"{COMPETITION}: {part} images", mininterval=5):
            link_or_copy(images / old, public / part / renamed[old])

    train = train.assign(id=train["id"].map(renamed))
    test = test.assign(id=test["id"].map(renamed))
    train[["id", "has_cactus"]].to_csv(public / "train.csv", index=False)
    test[["id"]].assign(has_cactus=0.5).to_csv(public / "sample_submission.csv", index=False)
    test[["id", "has_cactus"]].to_csv(private / "answers.csv", index=False)
