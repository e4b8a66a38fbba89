"""breast-cancer: scikit-learn's bundled Wisconsin diagnostic data (569 tumours), no download needed.
Published through this install's secret disguise (a secret affine map per column), so that no row
can be looked up in ``load_breast_cancer()``; see :mod:`mlagent_env.tasks.disguise`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mlagent_env.tasks.disguise import Disguise


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
    disguise, record = Disguise.for_raw(raw), {}
    frame = disguise.columns(frame, [c for c in frame.columns if c != "malignant"], "malignant", record)
    disguise.publish(frame, public, private, target="malignant", split_seed=3, stratify=True,
                     sample=lambda train: 0.5, record=record)
