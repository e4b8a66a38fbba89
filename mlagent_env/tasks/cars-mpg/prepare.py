"""cars-mpg: the cars table bundled with ``vega_datasets`` (398 cars of 1970-1982 with a known
fuel consumption), no download needed. The car names are dropped (a name is a lookup key) and the
numeric columns go through this install's secret disguise (a secret affine map per column); see
:mod:`mlagent_env.tasks.disguise`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mlagent_env.errors import DataUnavailable
from mlagent_env.tasks.disguise import Disguise

NUMERIC = ["cylinders", "displacement", "horsepower", "weight", "acceleration", "model_year"]


def download(raw: Path) -> None:
    try:
        from vega_datasets import local_data  # noqa: PLC0415
    except ImportError:
        raise DataUnavailable("the cars-mpg task needs the vega_datasets package: pip install vega_datasets") from None
    cars = local_data.cars().dropna(subset=["Miles_per_Gallon"])
    frame = pd.DataFrame({
        "cylinders": cars["Cylinders"], "displacement": cars["Displacement"], "horsepower": cars["Horsepower"],
        "weight": cars["Weight_in_lbs"], "acceleration": cars["Acceleration"],
        "model_year": pd.to_datetime(cars["Year"]).dt.year, "origin": cars["Origin"], "mpg": cars["Miles_per_Gallon"],
    })
    frame.to_csv(raw / "cars.csv", index=False)


def prepare(raw: Path, public: Path, private: Path) -> None:
    disguise, record = Disguise.for_raw(raw), {}
    frame = disguise.columns(pd.read_csv(raw / "cars.csv"), NUMERIC, "mpg", record)
    disguise.publish(frame, public, private, target="mpg", split_seed=29, stratify=False,
                     sample=lambda train: round(float(train["mpg"].mean()), 1), record=record)
