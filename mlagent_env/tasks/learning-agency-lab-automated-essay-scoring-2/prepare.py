"""learning-agency-lab-automated-essay-scoring-2: Kaggle's labelled essays, split 90/10 like MLE-bench.

Raw layout (the competition zip, extracted): ``train.csv`` (essay_id, full_text, score 1-6),
``test.csv`` (3 example essays, unused) and ``sample_submission.csv`` (unused). Kaggle's hidden
test labels are not public, so the test set is a stratified 10% of ``train.csv``; the essay ids
are replaced by random ones, because the original ids (and their scores) are public on Kaggle.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mlagent_env.errors import DataUnavailable
from mlagent_env.tasks.acquire import kaggle_competition
from mlagent_env.tasks.splitting import random_ids, seeded_split

COMPETITION = "learning-agency-lab-automated-essay-scoring-2"
ID, TEXT, TARGET = "essay_id", "full_text", "score"
SAMPLE_SCORE = 3
"""The sample submission's constant score (a constant scores a kappa of 0)."""


def download(raw: Path) -> None:
    kaggle_competition(COMPETITION, raw)


def _read_train(path: Path) -> pd.DataFrame:
    # keep_default_na=False: an essay reading "NA" or "null" stays text
    frame = pd.read_csv(path, dtype={ID: str, TEXT: str}, keep_default_na=False)
    missing = [c for c in (ID, TEXT, TARGET) if c not in frame.columns]
    if missing:
        raise DataUnavailable(
            f"{path} lacks the column(s) {missing} (it has {list(frame.columns)}); "
            f"download the {COMPETITION} data again"
        )
    frame[TARGET] = frame[TARGET].astype(int)
    return frame[[ID, TEXT, TARGET]]


def prepare(raw: Path, public: Path, private: Path) -> None:
    frame = _read_train(raw / "train.csv")
    frame[ID] = random_ids(len(frame), seed=17307, width=7)
    train, test = seeded_split(frame, test_fraction=0.1, seed=2024, stratify=TARGET)

    train.to_csv(public / "train.csv", index=False)
    test[[ID, TEXT]].to_csv(public / "test.csv", index=False)
    pd.DataFrame({ID: test[ID], TARGET: SAMPLE_SCORE}).to_csv(public / "sample_submission.csv", index=False)
    test[[ID, TARGET]].to_csv(private / "answers.csv", index=False)
