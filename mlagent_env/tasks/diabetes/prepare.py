"""diabetes: scikit-learn's bundled diabetes progression data (442 patients), no download needed.
Published through this install's secret disguise (a secret affine map per column), so that no row
can be looked up in ``load_diabetes()``; see :mod:`mlagent_env.tasks.disguise`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mlagent_env.tasks.disguise import Disguise

FEATURES = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]


def download(raw: Path) -> None:
    from sklearn.datasets import load_diabetes  # noqa: PLC0415

    d = load_diabetes(scaled=False)
    frame = pd.DataFrame(d.data, columns=FEATURES)
    frame["progression"] = d.target
    frame.to_csv(raw / "diabetes.csv", index=False)


def prepare(raw: Path, public: Path, private: Path) -> None:
    disguise, record = Disguise.for_raw(raw), {}
    frame = disguise.columns(pd.read_csv(raw / "diabetes.csv"), FEATURES, "progression", record)
    disguise.publish(frame, public, private, target="progression", split_seed=11, stratify=False,
                     sample=lambda train: round(float(train["progression"].mean()), 1), record=record)
