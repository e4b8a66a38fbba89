"""plant-pathology-2020-fgvc7: apple leaf photos, healthy / rust / scab / several diseases.

Raw layout (the extracted Kaggle download)::

    raw/train.csv        image_id (Train_<n>), healthy, multiple_diseases, rust, scab (one-hot 0/1)
    raw/images/          Train_<n>.jpg (1,821 labelled photos, 2048x1365) and Test_<n>.jpg
    raw/test.csv, raw/sample_submission.csv, raw/images/Test_<n>.jpg   Kaggle's unlabelled test set: not used

Like MLE-bench, the labelled set is split (10 % test, here stratified by class with a fixed
seed) and the ids are remapped: the new training photos become ``Train_<i>`` and the test photos
``Test_<i>``, both numbered in shuffled order, and every used photo is copied (hard-linked where
possible) under its new name into ``public/images/``. Public: ``train.csv``, ``test.csv``
(image_id), ``sample_submission.csv`` (0.25 everywhere) and ``images/``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from mlagent_env.errors import DataUnavailable
from mlagent_env.tasks.acquire import kaggle_competition
from mlagent_env.tasks.splitting import link_or_copy, seeded_split

COMPETITION = "plant-pathology-2020-fgvc7"
CLASSES = ["healthy", "multiple_diseases", "rust", "scab"]
TEST_FRACTION = 0.1
SEED = 20261126


def download(raw: Path) -> None:
    kaggle_competition(COMPETITION, raw)


def prepare(raw: Path, public: Path, private: Path) -> None:
    images = raw / "images"
    if not images.is_dir():
        raise DataUnavailable(f"{images} is missing: extract the data of {COMPETITION} into {raw}")
    frame = pd.read_csv(raw / "train.csv", dtype={"image_id": str})
    missing = [c for c in ["image_id", *CLASSES] if c not in frame.columns]
    if missing:
        raise DataUnavailable(f"{raw / 'train.csv'} lacks the column(s) {missing}; download it again")
    frame = frame[["image_id", *CLASSES]]
    frame["_number"] = frame["image_id"].str.extract(r"(\d+)$", expand=False).astype(int)
    frame = frame.sort_values("_number", kind="stable").reset_index(drop=True)  # independent of the file's row order
    frame["_class"] = frame[CLASSES].to_numpy().argmax(axis=1)
    train, test = seeded_split(frame, TEST_FRACTION, seed=SEED, stratify="_class")
    print(f"{COMPETITION}: {len(train)} train and {len(test)} test photos")

    renamed = {**{old: f"Train_{i}" for i, old in enumerate(train["image_id"])},
               **{old: f"Test_{i}" for i, old in enumerate(test["image_id"])}}
    (public / "images").mkdir()
    for old, new in tqdm(renamed.items(), total=len(renamed), desc="images", mininterval=5):
        link_or_copy(images / f"{old}.jpg", public / "images" / f"{new}.jpg")

    train = train.assign(image_id=train["image_id"].map(renamed))[["image_id", *CLASSES]]
    test = test.assign(image_id=test["image_id"].map(renamed))[["image_id", *CLASSES]]
    train.to_csv(public / "train.csv", index=False)
    test[["image_id"]].to_csv(public / "test.csv", index=False)
    test[["image_id"]].assign(**{c: 0.25 for c in CLASSES}).to_csv(public / "sample_submission.csv", index=False)
    test.to_csv(private / "answers.csv", index=False)
