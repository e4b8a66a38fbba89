"""affairs: the 1974 Redbook survey of married women bundled with ``statsmodels`` (``fair``, 6,366
answers), no download needed. The target is whether the respondent reported any extramarital
affair. Published through this install's secret disguise (a secret affine map per column), so
that no row can be looked up in the bundled copy; see :mod:`mlagent_env.tasks.disguise`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mlagent_env.errors import DataUnavailable
from mlagent_env.tasks.disguise import Disguise

FEATURES = ["rate_marriage", "age", "yrs_married", "children", "religious", "educ", "occupation", "occupation_husb"]


def download(raw: Path) -> None:
    try:
        from statsmodels.datasets import fair  # noqa: PLC0415
    except ImportError:
        raise DataUnavailable("the affairs task needs the statsmodels package: pip install statsmodels") from None
    data = fair.load_pandas().data
    frame = data[FEATURES].copy()
    frame["affair"] = (data["affairs"] > 0).astype(int)
    frame.to_csv(raw / "fair.csv", index=False)


def prepare(raw: Path, public: Path, private: Path) -> None:
    disguise, record = Disguise.for_raw(raw), {}
    frame = disguise.columns(pd.read_csv(raw / "fair.csv"), FEATURES, "affair", record)
    disguise.publish(frame, public, private, target="affair", split_seed=31, stratify=True,
                     sample=lambda train: 0.5, record=record)
