"""spooky-author-identification: Kaggle's labelled sentences, split 90/10 like MLE-bench.

Raw layout (the competition zip, extracted, ``train.zip`` included): ``train.csv`` (id, text,
author), plus ``test.csv`` and ``sample_submission.csv``, which are not used: Kaggle's test labels
are not public, so the test set is a stratified 10% of ``train.csv``. Ids are replaced by random
ones, because the original ids (and their authors) are public on Kaggle.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mlagent_env.errors import DataUnavailable
from mlagent_env.tasks.acquire import kaggle_competition
from mlagent_env.tasks.splitting import random_ids, seeded_split

COMPETITION = "spooky-author-identification"
AUTHORS = ["EAP", "HPL", "MWS"]
SAMPLE_PROBABILITIES = {"EAP": 0.403493538995863, "HPL": 0.287808366106543, "MWS": 0.308698094897594}
"""The constant probabilities of Kaggle's (and MLE-bench's) sample submission."""


def download(raw: Path) -> None:
    kaggle_competition(COMPETITION, raw)


def _read_train(path: Path) -> pd.DataFrame:
    # keep_default_na=False: a sentence such as "None" stays text
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in ("id", "text", "author") if c not in frame.columns]
    if missing:
        raise DataUnavailable(
            f"{path} lacks the column(s) {missing} (it has {list(frame.columns)}); "
            f"download the {COMPETITION} data again"
        )
    unknown = sorted(set(frame["author"]) - set(AUTHORS))
    if unknown:
        raise DataUnavailable(f"{path} has unknown authors {unknown}; expected {AUTHORS}")
    return frame[["id", "text", "author"]]


def prepare(raw: Path, public: Path, private: Path) -> None:
    frame = _read_train(raw / "train.csv")
    frame["id"] = random_ids(len(frame), seed=19579)
    train, test = seeded_split(frame, test_fraction=0.1, seed=1818, stratify="author")

    train.to_csv(public / "train.csv", index=False)
    test[["id", "text"]].to_csv(public / "test.csv", index=False)
    sample = pd.DataFrame({"id": test["id"], **SAMPLE_PROBABILITIES})
    sample.to_csv(public / "sample_submission.csv", index=False)
    answers = pd.DataFrame({"id": test["id"], **{a: (test["author"] == a).astype(int) for a in AUTHORS}})
    answers.to_csv(private / "answers.csv", index=False)
