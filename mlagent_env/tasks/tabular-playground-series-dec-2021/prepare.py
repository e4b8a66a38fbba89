"""tabular-playground-series-dec-2021: Kaggle's 4M labelled rows, split 90/10 like MLE-bench.

Raw layout (the competition zip, extracted): ``train.csv`` (Id, 54 integer features, Cover_Type),
plus ``test.csv`` and ``sample_submission.csv``, which are not used: Kaggle's test labels are not
public, so the test set is a 10% sample of ``train.csv``, stratified by class. Ids are replaced by
random ones, because the original ids (and their classes) are public on Kaggle.

The file is large (4 million rows, about 700 MB), so it is not parsed into a table: the labels
are read alone, the split is drawn from them, and then the lines are streamed once into
``train.csv`` and ``test.csv``, with the feature values copied byte for byte and only the id (and,
for test rows, the label) rewritten. Rows keep the order of the source file within each part.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from mlagent_env.errors import DataUnavailable
from mlagent_env.tasks.acquire import kaggle_competition
from mlagent_env.tasks.splitting import random_ids, seeded_split

COMPETITION = "tabular-playground-series-dec-2021"
ID, TARGET = "Id", "Cover_Type"
FEATURES = [
    "Elevation", "Aspect", "Slope", "Horizontal_Distance_To_Hydrology", "Vertical_Distance_To_Hydrology",
    "Horizontal_Distance_To_Roadways", "Hillshade_9am", "Hillshade_Noon", "Hillshade_3pm",
    "Horizontal_Distance_To_Fire_Points",
    *(f"Wilderness_Area{i}" for i in range(1, 5)),
    *(f"Soil_Type{i}" for i in range(1, 41)),
]
SAMPLE_CLASS = 2
"""The sample submission's constant class (the most frequent one, as in MLE-bench)."""
TEST_FRACTION = 0.1


def download(raw: Path) -> None:
    kaggle_competition(COMPETITION, raw)


def _header(path: Path) -> list[str]:
    with open(path, "rb") as f:
        header = f.readline().decode("utf-8-sig").rstrip("\r\n").split(",")
    if header[:1] != [ID] or header[-1:] != [TARGET] or sorted(header[1:-1]) != sorted(FEATURES):
        raise DataUnavailable(
            f"{path} does not have the columns of the competition's train.csv ({ID}, the 54 features, {TARGET}); "
            f"its header is {header[:4]}...; download the {COMPETITION} data again"
        )
    return header


def prepare(raw: Path, public: Path, private: Path) -> None:
    source = raw / "train.csv"
    header = _header(source)
    labels = pd.read_csv(source, usecols=[TARGET], dtype={TARGET: np.int64})[TARGET].to_numpy()
    n = len(labels)
    rows = pd.DataFrame({"row": np.arange(n), TARGET: labels})
    _, test_rows = seeded_split(rows, test_fraction=TEST_FRACTION, seed=2021, stratify=TARGET)
    is_test = np.zeros(n, dtype=bool)
    is_test[test_rows["row"].to_numpy()] = True
    ids = random_ids(n, seed=4_000_000, width=7)

    with (
        open(source, "rb") as f,
        open(public / "train.csv", "wb") as train_out,
        open(public / "test.csv", "wb") as test_out,
    ):
        f.readline()
        train_out.write(",".join(header).encode() + b"\n")
        test_out.write(",".join(header[:-1]).encode() + b"\n")
        i = 0
        progress = tqdm(f, total=n, desc=f"{COMPETITION}: splitting", unit=" rows", mininterval=5, disable=n < 200_000)
        for line in progress:
            line = line.rstrip(b"\r\n")
            if not line:
                continue  # pandas skips blank lines too, so the row numbers agree
            first, last = line.index(b","), line.rindex(b",")
            if i >= n or int(line[last + 1 :]) != labels[i]:
                raise RuntimeError(f"{source}: line {i + 2} does not match the labels read by pandas")
            new_id = ids[i].encode()
            if is_test[i]:
                test_out.write(new_id + line[first:last] + b"\n")
            else:
                train_out.write(new_id + line[first:] + b"\n")
            i += 1
    if i != n:
        raise RuntimeError(f"{source}: streamed {i} rows but pandas read {n}")

    test_ids = np.asarray(ids, dtype=object)[is_test]
    pd.DataFrame({ID: test_ids, TARGET: SAMPLE_CLASS}).to_csv(public / "sample_submission.csv", index=False)
    pd.DataFrame({ID: test_ids, TARGET: labels[is_test]}).to_csv(private / "answers.csv", index=False)
