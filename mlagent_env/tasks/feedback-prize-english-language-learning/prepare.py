"""feedback-prize-english-language-learning (MLAgentBench "feedback"): six analytic scores of
essays by English language learners, MCRMSE.

Kaggle's test set is a 3-essay placeholder without public labels, so the test split is drawn
from the 3,911 scored essays of ``train.csv`` with a seeded shuffle (10% for testing; MLAgentBench
used 2%, which leaves too few essays to grade half of them per step and half at the end).
Every ``text_id`` is replaced by a new random 12-character hexadecimal id, so that test essays
cannot be joined back to Kaggle's public ``train.csv`` by id. Each new id has at least two
letters, so that no CSV reader mistakes it for a number. Cells are copied as text.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mlagent_env.tasks.acquire import kaggle_competition
from mlagent_env.tasks.splitting import seeded_split

COMPETITION = "feedback-prize-english-language-learning"
ID = "text_id"
TEXT = "full_text"
TARGETS = ["cohesion", "syntax", "vocabulary", "phraseology", "grammar", "conventions"]
TEST_FRACTION = 0.1
ID_SEED = 20261130
SPLIT_SEED = 13
HEX = np.array(list("0123456789ABCDEF"))


def download(raw: Path) -> None:
    kaggle_competition(COMPETITION, raw)


def hex_ids(n: int, seed: int, length: int = 12) -> list[str]:
    """``n`` distinct random uppercase hexadecimal ids like Kaggle's (``0016926B079C``), each
    with at least two letters A-F."""
    rng = np.random.default_rng(seed)
    ids: list[str] = []
    seen: set[str] = set()
    while len(ids) < n:
        candidate = "".join(HEX[rng.integers(0, 16, length)])
        if sum(c.isalpha() for c in candidate) >= 2 and candidate not in seen:
            seen.add(candidate)
            ids.append(candidate)
    return ids


def prepare(raw: Path, public: Path, private: Path) -> None:
    frame = pd.read_csv(raw / "train.csv", dtype=str, keep_default_na=False)
    for column in (ID, TEXT, *TARGETS):
        if column not in frame.columns:
            raise ValueError(f"{raw / 'train.csv'} has no {column!r} column; is it Kaggle's train.csv?")
    frame[ID] = hex_ids(len(frame), ID_SEED)
    train, test = seeded_split(frame, test_fraction=TEST_FRACTION, seed=SPLIT_SEED)
    train = train.sort_values(ID).reset_index(drop=True)
    test = test.sort_values(ID).reset_index(drop=True)

    train[[ID, TEXT, *TARGETS]].to_csv(public / "train.csv", index=False)
    test[[ID, TEXT]].to_csv(public / "test.csv", index=False)
    pd.DataFrame({ID: test[ID], **{t: 3.0 for t in TARGETS}}).to_csv(public / "sample_submission.csv", index=False)
    test[[ID, *TARGETS]].to_csv(private / "answers.csv", index=False)
