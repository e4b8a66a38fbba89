"""dogs-vs-cats-redux-kernels-edition: is the photo a dog (1) or a cat (0)? Graded by log loss.

Raw layout (the Kaggle download with its inner zips extracted)::

    raw/train/cat.<n>.jpg, raw/train/dog.<n>.jpg   25,000 labelled JPEG photos of varying size
    raw/test/<n>.jpg, raw/sample_submission.csv    Kaggle's unlabelled test set: not used

Like MLE-bench, the labelled train images are split (10 % test, here stratified by class with a
fixed seed). Public training images keep the label in their name but are renumbered
(``cat.<k>.jpg`` / ``dog.<k>.jpg``, k in shuffled order); test images are renamed
``<id>.jpg`` with random 6-digit ids, so their names say nothing about the class or the source.
Public: ``train/``, ``test/`` and ``sample_submission.csv`` (id, label=0.5).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from mlagent_env.errors import DataUnavailable
from mlagent_env.tasks.acquire import kaggle_competition
from mlagent_env.tasks.splitting import link_or_copy, random_ids, seeded_split

COMPETITION = "dogs-vs-cats-redux-kernels-edition"
TEST_FRACTION = 0.1
SEED = 20261126
NAME = re.compile(r"^(cat|dog)\.(\d+)\.jpg$")


def download(raw: Path) -> None:
    """The Kaggle download; acquire.unzip_all also extracts the train.zip inside it."""
    kaggle_competition(COMPETITION, raw, layout=f"{raw / 'train/cat.0.jpg'} exists")


def prepare(raw: Path, public: Path, private: Path) -> None:
    images = raw / "train"
    if not images.is_dir():
        raise DataUnavailable(f"{images} is missing: extract train.zip of {COMPETITION} into {raw}")
    rows = []
    for path in images.iterdir():
        match = NAME.match(path.name)
        if match:
            rows.append((path.name, match.group(1), int(match.group(2))))
    if not rows:
        raise DataUnavailable(f"{images} holds no cat.<n>.jpg / dog.<n>.jpg images; extract train.zip of {COMPETITION}")
    frame = pd.DataFrame(rows, columns=["file", "animal", "number"]).sort_values(["animal", "number"])
    frame["label"] = (frame["animal"] == "dog").astype(int)
    train, test = seeded_split(frame.reset_index(drop=True), TEST_FRACTION, seed=SEED, stratify="label")
    print(f"{COMPETITION}: {len(train)} train and {len(test)} test images")

    (public / "train").mkdir()
    counters = {"cat": 0, "dog": 0}
    for file, animal in tqdm(zip(train["file"], train["animal"]), total=len(train), desc="train images", mininterval=5):
        link_or_copy(images / file, public / "train" / f"{animal}.{counters[animal]}.jpg")
        counters[animal] += 1

    test = test.assign(id=random_ids(len(test), SEED + 1))
    (public / "test").mkdir()
    for file, new_id in tqdm(zip(test["file"], test["id"]), total=len(test), desc="test images", mininterval=5):
        link_or_copy(images / file, public / "test" / f"{new_id}.jpg")

    test[["id"]].assign(label=0.5).to_csv(public / "sample_submission.csv", index=False)
    test[["id", "label"]].to_csv(private / "answers.csv", index=False)
