"""detecting-insults-in-social-commentary: Kaggle's train set and its released, labelled test set.

Raw layout (the competition zip, extracted): ``train.csv`` (Insult, Date, Comment),
``test_with_solutions.csv`` (Insult, Date, Comment, Usage), plus files that are not used
(``test.csv``, ``impermium_verification_set.csv``, ``impermium_verification_labels.csv``,
``sample_submission_null.csv``). Like MLE-bench, the labelled test set is the test set, so no
split is made. The raw files have no id column; each comment gets a random id. ``Comment`` is
kept byte for byte (a quoted, unicode-escaped string).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mlagent_env.errors import DataUnavailable
from mlagent_env.tasks.acquire import kaggle_competition
from mlagent_env.tasks.splitting import random_ids

COMPETITION = "detecting-insults-in-social-commentary"
ID, TARGET = "id", "Insult"
FEATURES = ["Date", "Comment"]


def download(raw: Path) -> None:
    kaggle_competition(COMPETITION, raw)


def _read(path: Path) -> pd.DataFrame:
    # keep_default_na=False: a comment such as "NA" stays text, and an empty Date stays empty
    frame = pd.read_csv(path, dtype={"Date": str, "Comment": str}, keep_default_na=False)
    missing = [c for c in (TARGET, *FEATURES) if c not in frame.columns]
    if missing:
        raise DataUnavailable(
            f"{path} lacks the column(s) {missing} (it has {list(frame.columns)}); "
            f"download the {COMPETITION} data again"
        )
    frame[TARGET] = frame[TARGET].astype(int)
    return frame[[TARGET, *FEATURES]]


def prepare(raw: Path, public: Path, private: Path) -> None:
    train = _read(raw / "train.csv")
    test = _read(raw / "test_with_solutions.csv")
    ids = random_ids(len(train) + len(test), seed=3947)
    train.insert(0, ID, ids[: len(train)])
    test.insert(0, ID, ids[len(train) :])

    train.to_csv(public / "train.csv", index=False)
    test[[ID, *FEATURES]].to_csv(public / "test.csv", index=False)
    pd.DataFrame({ID: test[ID], TARGET: 0}).to_csv(public / "sample_submission.csv", index=False)
    test[[ID, TARGET]].to_csv(private / "answers.csv", index=False)
