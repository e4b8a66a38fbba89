"""us-patent-phrase-to-phrase-matching: Kaggle's labelled phrase pairs, split 90/10 like MLE-bench.

Raw layout (the competition zip, extracted): ``train.csv`` (id, anchor, target, context, score),
plus ``test.csv`` and ``sample_submission.csv``, which are not used: Kaggle's test labels are not
public, so the test set is a 10% sample of ``train.csv``, stratified by score. Ids are replaced by
random ones, because the original ids (and their scores) are public on Kaggle.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mlagent_env.errors import DataUnavailable
from mlagent_env.tasks.acquire import kaggle_competition
from mlagent_env.tasks.splitting import random_ids, seeded_split

COMPETITION = "us-patent-phrase-to-phrase-matching"
FEATURES = ["anchor", "target", "context"]


def download(raw: Path) -> None:
    kaggle_competition(COMPETITION, raw)


def _read_train(path: Path) -> pd.DataFrame:
    # keep_default_na=False: a phrase such as "null" or "na" stays text
    frame = pd.read_csv(path, dtype={c: str for c in ("id", *FEATURES)}, keep_default_na=False)
    missing = [c for c in ("id", *FEATURES, "score") if c not in frame.columns]
    if missing:
        raise DataUnavailable(
            f"{path} lacks the column(s) {missing} (it has {list(frame.columns)}); "
            f"download the {COMPETITION} data again"
        )
    frame["score"] = frame["score"].astype(float)
    return frame[["id", *FEATURES, "score"]]


def prepare(raw: Path, public: Path, private: Path) -> None:
    frame = _read_train(raw / "train.csv")
    frame["id"] = random_ids(len(frame), seed=36473)
    train, test = seeded_split(frame, test_fraction=0.1, seed=2022, stratify="score")

    train.to_csv(public / "train.csv", index=False)
    test[["id", *FEATURES]].to_csv(public / "test.csv", index=False)
    pd.DataFrame({"id": test["id"], "score": 0.0}).to_csv(public / "sample_submission.csv", index=False)
    test[["id", "score"]].to_csv(private / "answers.csv", index=False)
