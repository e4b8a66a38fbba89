"""spaceship-titanic (MLAgentBench): was each passenger transported to another dimension?

Kaggle's test labels are not public, so the test split is drawn from Kaggle's labelled
``train.csv`` (8,693 passengers) with a seeded shuffle, stratified on ``Transported``: 80% stay
for training, 20% become the test set. ``PassengerId`` is ``gggg_pp`` (travel group, number in
the group); every group number is replaced by a seeded permutation of the groups, the same in
every file, so that the group structure survives but the ids cannot be joined back to Kaggle's
public ``train.csv``. Cell values are copied as text, byte for byte.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mlagent_env.tasks.acquire import kaggle_competition
from mlagent_env.tasks.splitting import seeded_split

COMPETITION = "spaceship-titanic"
ID = "PassengerId"
TARGET = "Transported"
TEST_FRACTION = 0.2
GROUP_SEED = 20261128
SPLIT_SEED = 47


def download(raw: Path) -> None:
    kaggle_competition(COMPETITION, raw)


def renumber_groups(ids: pd.Series, seed: int) -> pd.Series:
    """``gggg_pp`` -> ``hhhh_pp``, where ``hhhh`` is a seeded permutation of the distinct groups
    (numbered from 1, four digits or more), so members of one group stay together."""
    parts = ids.str.split("_", n=1, expand=True)
    if parts.shape[1] != 2 or parts[1].isna().any():
        bad = ids[parts[1].isna()].head(3).tolist() if parts.shape[1] == 2 else ids.head(3).tolist()
        raise ValueError(f"PassengerId values must look like gggg_pp, got e.g. {bad}")
    groups = sorted(parts[0].unique())
    new_numbers = np.random.default_rng(seed).permutation(len(groups)) + 1
    width = max(4, len(str(len(groups))))
    mapping = {g: str(k).zfill(width) for g, k in zip(groups, new_numbers)}
    return parts[0].map(mapping) + "_" + parts[1]


def prepare(raw: Path, public: Path, private: Path) -> None:
    frame = pd.read_csv(raw / "train.csv", dtype=str, keep_default_na=False)
    for column in (ID, TARGET):
        if column not in frame.columns:
            raise ValueError(f"{raw / 'train.csv'} has no {column!r} column; is it Kaggle's train.csv?")
    frame[ID] = renumber_groups(frame[ID], GROUP_SEED)
    train, test = seeded_split(frame, test_fraction=TEST_FRACTION, seed=SPLIT_SEED, stratify=TARGET)
    train = train.sort_values(ID).reset_index(drop=True)
    test = test.sort_values(ID).reset_index(drop=True)

    train.to_csv(public / "train.csv", index=False)
    test.drop(columns=[TARGET]).to_csv(public / "test.csv", index=False)
    pd.DataFrame({ID: test[ID], TARGET: False}).to_csv(public / "sample_submission.csv", index=False)
    test[[ID, TARGET]].to_csv(private / "answers.csv", index=False)
