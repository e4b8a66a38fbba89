"""whale-categorization-playground: identify individual humpback whales from photos of their flukes.

Kaggle's test labels are not public, so the test set comes from Kaggle's labelled ``train.csv``
with MLE-bench's rule, here with a seeded generator: every whale id with two or more images
(``new_whale`` included) puts one random image in train and another in test; a whale with a
single image goes to test with probability 0.1; 10% of the remaining images, drawn at random,
go to test. A test whale that has no image in the new train set is relabelled ``new_whale``.
Every image is renamed to a random 8-character hex name (``<name>.jpg``), consistently in
``train.csv``, ``train/`` and ``test/``.

Raw layout (after unzipping the competition archive and its inner zips)::

    train.csv                Image (file name), Id (whale id such as w_1287fbc, or new_whale)
    train/<Image>            the training photos (JPEG, various sizes, colour or grey)
    test/, sample_submission.csv   Kaggle's unlabelled test set (not used)
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from mlagent_env.errors import DataUnavailable
from mlagent_env.tasks.acquire import kaggle_competition

COMPETITION = "whale-categorization-playground"
NEW_WHALE = "new_whale"
TEST_FRACTION = 0.1
SPLIT_SEED = 20261231
NAME_SEED = 20261232


def download(raw: Path) -> None:
    """The Kaggle route: the competition archive, with its inner zips extracted."""
    try:
        kaggle_competition(COMPETITION, raw)
    except DataUnavailable as exc:
        raise DataUnavailable(
            f"{exc}. The inner train.zip must be extracted too, so that train.csv and the folder train/ "
            f"lie directly in {raw}."
        ) from None


def split_images(frame: pd.DataFrame, seed: int) -> np.ndarray:
    """Whether each row goes to the test set (MLE-bench's per-whale rule, seeded)."""
    rng = np.random.default_rng(seed)
    side = np.full(len(frame), "", dtype=object)
    groups = frame.groupby("Id", sort=True).indices
    for whale in sorted(groups):
        rows = np.sort(groups[whale])
        if len(rows) >= 2:
            to_train, to_test = rng.choice(rows, size=2, replace=False)
            side[to_train], side[to_test] = "train", "test"
        else:
            side[rows[0]] = "test" if rng.random() < TEST_FRACTION else "train"
    rest = rng.permutation(np.flatnonzero(side == ""))
    n_test = int(round(len(rest) * TEST_FRACTION))
    side[rest[:n_test]] = "test"
    side[rest[n_test:]] = "train"
    return side == "test"


def new_names(n: int, seed: int) -> list[str]:
    """``n`` distinct random file names ``<8 hex digits>.jpg``."""
    numbers = np.random.default_rng(seed).choice(16**8, size=n, replace=False)
    return [f"{x:08x}.jpg" for x in numbers.tolist()]


def prepare(raw: Path, public: Path, private: Path) -> None:
    frame = pd.read_csv(raw / "train.csv", dtype=str, keep_default_na=False)
    if list(frame.columns) != ["Image", "Id"] or frame["Image"].duplicated().any():
        raise DataUnavailable(f"{raw / 'train.csv'} must have the columns Image,Id with one row per image")
    # a fixed row order (by file name), so that the split does not depend on the file's order
    frame = frame.sort_values("Image", ignore_index=True)
    is_test = split_images(frame, SPLIT_SEED)
    frame["source"] = frame["Image"]
    frame["Image"] = new_names(len(frame), NAME_SEED)
    train = frame[~is_test].sort_values("Image", ignore_index=True)
    test = frame[is_test].sort_values("Image", ignore_index=True)
    test.loc[~test["Id"].isin(set(train["Id"])), "Id"] = NEW_WHALE

    for part, table in (("train", train), ("test", test)):
        (public / part).mkdir()
        for src, dst in tqdm(zip(table["source"], table["Image"]), total=len(table), desc=f"{part} images"):
            path = raw / "train" / src
            if not path.is_file():
                raise DataUnavailable(f"{path} is missing; unzip train.zip of the competition into {raw}")
            shutil.copyfile(path, public / part / dst)

    train[["Image", "Id"]].to_csv(public / "train.csv", index=False)
    test[["Image", "Id"]].to_csv(private / "answers.csv", index=False)
    counts = train.loc[train["Id"] != NEW_WHALE, "Id"].value_counts()
    frequent = sorted(counts.index, key=lambda w: (-counts[w], w))[:4]
    sample = pd.DataFrame({"Image": test["Image"], "Id": " ".join([NEW_WHALE, *frequent])})
    sample.to_csv(public / "sample_submission.csv", index=False)
