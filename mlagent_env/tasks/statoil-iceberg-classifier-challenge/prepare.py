"""statoil-iceberg-classifier-challenge: ship or iceberg, from two 75 x 75 radar bands in JSON.

Kaggle's test labels are not public, so, like MLE-bench, the test set is a seeded, stratified 20%
of Kaggle's labelled ``train.json``. Every record gets a new random 8-character hex id (starting
with a letter, so that no tool reads it as a number). The public files are plain JSON (not 7z):
``train.json`` with ``is_iceberg``, ``test.json`` without it.

Raw layout: ``train.json`` (the unpack step extracts it from the competition's ``train.json.7z``,
which needs py7zr: the ``data`` extra), a JSON list of
records ``{"id": str, "band_1": [5625 floats, dB], "band_2": [...], "inc_angle": float or "na",
"is_iceberg": 0 | 1}``. Kaggle's ``test.json`` is not needed.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from mlagent_env.errors import DataUnavailable
from mlagent_env.tasks.acquire import RawLayout, kaggle_competition
from mlagent_env.tasks.splitting import seeded_split

COMPETITION = "statoil-iceberg-classifier-challenge"
TEST_FRACTION = 0.2
SPLIT_SEED = 20261221
ID_SEED = 20261222
TARGET = "is_iceberg"

RAW_LAYOUT = RawLayout(archives=("train.json.7z",), renames={"data/processed/train.json": "train.json"})
"""The competition zip holds train.json.7z (and test.json.7z, sample_submission.csv.7z, not used), which
unpacks to data/processed/train.json."""


def download(raw: Path) -> None:
    """The Kaggle route; the unpack step then extracts train.json.7z to ``raw/train.json``."""
    layout = (
        "extract train.json.7z with 7-Zip (`7z x train.json.7z`; it unpacks to data/processed/train.json) "
        f"and move train.json to {raw / 'train.json'}"
    )
    kaggle_competition(COMPETITION, raw, layout=layout)


def _new_ids(n: int, seed: int) -> list[str]:
    """``n`` distinct random 8-character hex ids whose first character is a letter a-f."""
    rng = np.random.default_rng(seed)
    numbers = rng.choice(6 * 16**7, size=n, replace=False)
    return [f"{'abcdef'[x // 16**7]}{x % 16**7:07x}" for x in numbers.tolist()]


def prepare(raw: Path, public: Path, private: Path) -> None:
    with open(raw / "train.json", encoding="utf-8") as f:
        records = json.load(f)
    fields = list(records[0])
    if not {"id", TARGET} <= set(fields) or any(set(r) != set(fields) for r in records):
        raise DataUnavailable(f"{raw / 'train.json'}: every record must have the same fields, including 'id' and {TARGET!r}")
    test_fields = [k for k in fields if k != TARGET]
    frame = pd.DataFrame({"row": np.arange(len(records)), TARGET: [int(r[TARGET]) for r in records]})
    frame["id"] = _new_ids(len(records), ID_SEED)
    train, test = seeded_split(frame, test_fraction=TEST_FRACTION, seed=SPLIT_SEED, stratify=TARGET)

    def renamed(row: int, new_id: str, keys: list[str]) -> dict[str, object]:
        return {k: (new_id if k == "id" else records[row][k]) for k in keys}

    with open(public / "train.json", "w", encoding="utf-8") as f:
        json.dump([renamed(r, i, fields) for r, i in zip(train["row"], train["id"])], f)
    with open(public / "test.json", "w", encoding="utf-8") as f:
        json.dump([renamed(r, i, test_fields) for r, i in zip(test["row"], test["id"])], f)
    test[["id", TARGET]].to_csv(private / "answers.csv", index=False)
    pd.DataFrame({"id": test["id"], TARGET: 0.5}).to_csv(public / "sample_submission.csv", index=False)
