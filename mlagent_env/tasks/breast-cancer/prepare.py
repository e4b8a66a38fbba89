"""breast-cancer: scikit-learn's bundled Wisconsin diagnostic data (569 tumours), no download needed."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mlagent_env.tasks.splitting import random_ids, seeded_split


def _column(name: str) -> str:
    return name.replace(" ", "_")


def download(raw: Path) -> None:
    from sklearn.datasets import load_breast_cancer  # noqa: PLC0415

    d = load_breast_cancer()
    frame = pd.DataFrame(d.data, columns=[_column(n) for n in d.feature_names])
    frame["malignant"] = (d.target == 0).astype(int)  # sklearn codes malignant as 0
    frame.to_csv(raw / "breast_cancer.csv", index=False)


def prepare(raw: Path, public: Path, private: Path) -> None:
    frame = pd.read_csv(raw / "breast_cancer.csv")
    frame.insert(0, "id", random_ids(len(frame), seed=5690))
    train, test = seeded_split(frame, test_fraction=0.3, seed=3, stratify="malignant")
    features = [c for c in frame.columns if c not in ("id", "malignant")]
    train.to_csv(public / "train.csv", index=False)
    test[["id", *features]].to_csv(public / "test.csv", index=False)
    sample = pd.DataFrame({"id": test["id"], "malignant": 0.5})
    sample.to_csv(public / "sample_submission.csv", index=False)
    test[["id", "malignant"]].to_csv(private / "answers.csv", index=False)
