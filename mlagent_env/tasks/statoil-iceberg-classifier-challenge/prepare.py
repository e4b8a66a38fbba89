"""statoil-iceberg-classifier-challenge: ship or iceberg, from two 75 x 75 radar bands in JSON.

Kaggle's test labels are not public, so, like MLE-bench, the test set is a seeded, stratified 20%
of Kaggle's labelled ``train.json``. Every record gets a new random 8-character hex id (starting
with a letter, so that no tool reads it as a number). The public files are plain JSON (not 7z):
``train.json`` with ``is_iceberg``, ``test.json`` without it.

Raw layout: ``train.json`` (extracted from the competition's ``train.json.7z``), a JSON list of
records ``{"id": str, "band_1": [5625 floats, dB], "band_2": [...], "inc_angle": float or "na",
"is_iceberg": 0 | 1}``. Kaggle's ``test.json`` is not needed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd

from mlagent_env.errors import DataUnavailable
from mlagent_env.tasks.acquire import kaggle_competition
from mlagent_env.tasks.splitting import seeded_split

COMPETITION = "statoil-iceberg-classifier-challenge"
TEST_FRACTION = 0.2
SPLIT_SEED = 20261221
ID_SEED = 20261222
TARGET = "is_iceberg"


def _extract_7z(archive: Path, dest: Path) -> None:
    try:
        import py7zr  # noqa: PLC0415

        with py7zr.SevenZipFile(archive, "r") as z:
            z.extractall(dest)
        return
    except ImportError:
        pass
    tool = shutil.which("7z") or shutil.which("7za")
    if tool is None:
        raise DataUnavailable(
            f"{archive} is a 7-Zip archive and neither py7zr nor a 7z program is installed: run "
            f"`pip install py7zr` (or install p7zip), or extract it by hand, and put train.json in {dest}"
        )
    subprocess.run([tool, "x", "-y", f"-o{dest}", str(archive)], check=True, capture_output=True)


def download(raw: Path) -> None:
    """The Kaggle route, then train.json.7z extracted to ``raw/train.json``."""
    layout = (
        "extract train.json.7z with 7-Zip (`7z x train.json.7z`; it unpacks to data/processed/train.json) "
        f"and move train.json to {raw / 'train.json'}"
    )
    kaggle_competition(COMPETITION, raw, layout=layout)
    _extract_7z(raw / "train.json.7z", raw)
    nested = raw / "data" / "processed" / "train.json"
    if nested.is_file() and not (raw / "train.json").exists():
        nested.replace(raw / "train.json")


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
