"""home-data-for-ml-course (MLAgentBench "house-price"): Ames house sale prices, MAE on SalePrice.

Kaggle's test labels are not public, so the test split is drawn from Kaggle's labelled
``train.csv`` (1,460 houses) with a seeded shuffle: 80% stay for training, 20% become the test
set. Every ``Id`` is replaced by a seeded permutation of 1..N, so that test rows cannot be joined
back to Kaggle's public ``train.csv`` by id. Cell values are copied as text, byte for byte
(``NA`` stays ``NA``), so the public files read exactly like Kaggle's.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from mlagent_env.tasks.acquire import kaggle_competition
from mlagent_env.tasks.splitting import seeded_split

COMPETITION = "home-data-for-ml-course"
ID = "Id"
TARGET = "SalePrice"
TEST_FRACTION = 0.2
ID_SEED = 20261127
SPLIT_SEED = 31


def download(raw: Path) -> None:
    kaggle_competition(COMPETITION, raw)


def _new_ids(n: int, seed: int) -> np.ndarray:
    """A seeded permutation of 1..n: integer ids that look like Kaggle's but are unrelated to them."""
    return np.random.default_rng(seed).permutation(n) + 1


def prepare(raw: Path, public: Path, private: Path) -> None:
    # every cell as its original text: nothing is re-formatted on the way through
    frame = pd.read_csv(raw / "train.csv", dtype=str, keep_default_na=False)
    for column in (ID, TARGET):
        if column not in frame.columns:
            raise ValueError(f"{raw / 'train.csv'} has no {column!r} column; is it Kaggle's train.csv?")
    frame[ID] = _new_ids(len(frame), ID_SEED)
    train, test = seeded_split(frame, test_fraction=TEST_FRACTION, seed=SPLIT_SEED)
    train = train.sort_values(ID).reset_index(drop=True)
    test = test.sort_values(ID).reset_index(drop=True)

    train.to_csv(public / "train.csv", index=False)
    test.drop(columns=[TARGET]).to_csv(public / "test.csv", index=False)
    description = raw / "data_description.txt"
    if description.is_file():
        shutil.copyfile(description, public / "data_description.txt")

    mean_price = int(round(pd.to_numeric(train[TARGET]).mean()))
    pd.DataFrame({ID: test[ID], TARGET: mean_price}).to_csv(public / "sample_submission.csv", index=False)
    test[[ID, TARGET]].to_csv(private / "answers.csv", index=False)
