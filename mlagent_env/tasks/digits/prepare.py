"""digits: scikit-learn's bundled 8x8 handwritten digits (1,797 images), no download needed."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mlagent_env.tasks.splitting import random_ids, seeded_split

PIXELS = [f"pixel{i}" for i in range(64)]


def download(raw: Path) -> None:
    from sklearn.datasets import load_digits  # noqa: PLC0415

    d = load_digits()
    frame = pd.DataFrame(d.data.astype(int), columns=PIXELS)
    frame["label"] = d.target
    frame.to_csv(raw / "digits.csv", index=False)


def prepare(raw: Path, public: Path, private: Path) -> None:
    frame = pd.read_csv(raw / "digits.csv")
    frame.insert(0, "id", random_ids(len(frame), seed=20261126))
    train, test = seeded_split(frame, test_fraction=0.3, seed=7, stratify="label")
    train.to_csv(public / "train.csv", index=False)
    test[["id", *PIXELS]].to_csv(public / "test.csv", index=False)
    sample = pd.DataFrame({"id": test["id"], "label": 0})
    sample.to_csv(public / "sample_submission.csv", index=False)
    test[["id", "label"]].to_csv(private / "answers.csv", index=False)
