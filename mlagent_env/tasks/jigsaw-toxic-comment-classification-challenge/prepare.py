"""jigsaw-toxic-comment-classification-challenge: Kaggle's train set and its released test labels.

Raw layout (the competition zip and the zips inside it, extracted): ``train.csv`` (id,
comment_text, six 0/1 labels), ``test.csv`` (id, comment_text), ``test_labels.csv`` (id, six
labels, -1 on the rows Kaggle did not score) and ``sample_submission.csv`` (unused). Like
MLE-bench, the test set is Kaggle's test set with its released labels; the rows marked -1 are
dropped, as Kaggle's scoring ignored them. Ids are replaced by random ones, because the original
test ids (and their labels) are public on Kaggle.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mlagent_env.errors import DataUnavailable
from mlagent_env.tasks.acquire import kaggle_competition
from mlagent_env.tasks.splitting import random_ids

COMPETITION = "jigsaw-toxic-comment-classification-challenge"
ID, TEXT = "id", "comment_text"
LABELS = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]


def download(raw: Path) -> None:
    kaggle_competition(COMPETITION, raw)


def _read(path: Path, columns: list[str]) -> pd.DataFrame:
    # keep_default_na=False: a comment such as "NA" or "null" stays text
    frame = pd.read_csv(path, dtype={ID: str, TEXT: str}, keep_default_na=False)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataUnavailable(
            f"{path} lacks the column(s) {missing} (it has {list(frame.columns)}); "
            f"download the {COMPETITION} data again"
        )
    return frame[columns]


def prepare(raw: Path, public: Path, private: Path) -> None:
    train = _read(raw / "train.csv", [ID, TEXT, *LABELS])
    test = _read(raw / "test.csv", [ID, TEXT])
    labels = _read(raw / "test_labels.csv", [ID, *LABELS])
    test = test.merge(labels, on=ID, how="inner", validate="one_to_one")
    if len(test) != len(labels):
        raise DataUnavailable(f"{raw}: test.csv and test_labels.csv do not hold the same ids; download them again")
    test = test[(test[LABELS] != -1).all(axis=1)].reset_index(drop=True)

    ids = random_ids(len(train) + len(test), seed=153164)
    train[ID] = ids[: len(train)]
    test[ID] = ids[len(train) :]
    train[LABELS] = train[LABELS].astype(int)
    test[LABELS] = test[LABELS].astype(int)

    train.to_csv(public / "train.csv", index=False)
    test[[ID, TEXT]].to_csv(public / "test.csv", index=False)
    pd.DataFrame({ID: test[ID], **{label: 0.5 for label in LABELS}}).to_csv(
        public / "sample_submission.csv", index=False
    )
    test[[ID, *LABELS]].to_csv(private / "answers.csv", index=False)
