"""leaf-classification: 99 plant species from binary leaf images and 3 x 64 precomputed features.

Kaggle's test labels are not public, so, like MLE-bench, the test set is a seeded, stratified 10%
of Kaggle's labelled ``train.csv``. Every leaf gets a new random numeric id, in ``train.csv``,
``test.csv`` and the image file names (``images/<id>.jpg``); only the images of the new train and
test rows are copied. The answers are one-hot over the 99 species columns of the competition's
submission (``task.yaml`` ``target_columns``, in Kaggle's order).

Raw layout (after unzipping the competition archive and its inner zips)::

    train.csv                id, species, margin1..margin64, shape1..shape64, texture1..texture64
    images/<id>.jpg          one binary leaf image per id (train and Kaggle test ids)
    test.csv                 Kaggle's unlabelled test rows (not used)
    sample_submission.csv    Kaggle's sample submission (not used)
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from mlagent_env.errors import DataUnavailable
from mlagent_env.tasks.acquire import kaggle_competition
from mlagent_env.tasks.spec import TaskSpec
from mlagent_env.tasks.splitting import random_ids, seeded_split

COMPETITION = "leaf-classification"
TEST_FRACTION = 0.1
SPLIT_SEED = 20261211
ID_SEED = 20261212
SPECIES = TaskSpec.from_yaml(Path(__file__).with_name("task.yaml")).target_columns
"""The 99 species columns of the submission, in Kaggle's order."""


def download(raw: Path) -> None:
    """The Kaggle route: the competition archive, with its inner zips extracted."""
    kaggle_competition(COMPETITION, raw, layout=f"train.csv and the folder images/ lie directly in {raw}")


def prepare(raw: Path, public: Path, private: Path) -> None:
    frame = pd.read_csv(raw / "train.csv")
    unknown = sorted(set(frame["species"]) - set(SPECIES))
    if unknown:
        raise DataUnavailable(f"{raw / 'train.csv'} has species outside the competition's 99: {unknown[:5]}")
    features = [c for c in frame.columns if c not in ("id", "species")]
    # new ids: random numbers without leading zeros (Kaggle's ids are plain integers too)
    new_ids = pd.DataFrame({"id": [int(i) + 1 for i in random_ids(len(frame), seed=ID_SEED, width=6)]})
    frame = pd.concat([new_ids, frame.rename(columns={"id": "source_id"})], axis=1)
    train, test = seeded_split(frame, test_fraction=TEST_FRACTION, seed=SPLIT_SEED, stratify="species")

    (public / "images").mkdir()
    both = pd.concat([train, test], ignore_index=True)
    for source, new in tqdm(zip(both["source_id"], both["id"]), total=len(both), desc="images"):
        src = raw / "images" / f"{source}.jpg"
        if not src.is_file():
            raise DataUnavailable(f"{src} is missing; unzip images.zip of the competition into {raw}")
        shutil.copyfile(src, public / "images" / f"{new}.jpg")

    train[["id", "species", *features]].to_csv(public / "train.csv", index=False)
    test[["id", *features]].to_csv(public / "test.csv", index=False)
    answers = pd.DataFrame(0, index=range(len(test)), columns=SPECIES)
    for row, species in enumerate(test["species"]):
        answers.loc[row, species] = 1
    answers.insert(0, "id", test["id"].to_numpy())
    answers.to_csv(private / "answers.csv", index=False)
    sample = answers.copy()
    sample[SPECIES] = 1.0 / len(SPECIES)
    sample.to_csv(public / "sample_submission.csv", index=False)
