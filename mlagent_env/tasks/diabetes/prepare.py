"""diabetes: scikit-learn's bundled diabetes progression data (442 patients), no download needed."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mlagent_env.tasks.splitting import random_ids, seeded_split

FEATURES = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]


def download(raw: Path) -> None:
    from sklearn.datasets import load_diabetes  # noqa: PLC0415

    d = load_diabetes(scaled=False)
    frame = pd.DataFrame(d.data, columns=FEATURES)
    frame["progression"] = d.target
    frame.to_csv(raw / "diabetes.csv", index=False)


def prepare(raw: Path, public: Path, private: Path) -> None:
    frame = pd.read_csv(raw / "diabetes.csv")
    frame.insert(0, "id", random_ids(len(frame), seed=4421))
    train, test = seeded_split(frame, test_fraction=0.3, seed=11)
    train.to_csv(public / "train.csv", index=False)
    test[["id", *FEATURES]].to_csv(public / "test.csv", index=False)
    sample = pd.DataFrame({"id": test["id"], "progression": round(float(train["progression"].mean()), 1)})
    sample.to_csv(public / "sample_submission.csv", index=False)
    test[["id", "progression"]].to_csv(private / "answers.csv", index=False)
