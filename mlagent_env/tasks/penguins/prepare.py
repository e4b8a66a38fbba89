"""penguins: the Palmer penguins bundled with the ``palmerpenguins`` package (344 birds, three
species), no download needed. Published through this install's secret disguise (a secret affine
map per numeric column), so that no row can be looked up in ``load_penguins()``; see
:mod:`mlagent_env.tasks.disguise`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mlagent_env.errors import DataUnavailable
from mlagent_env.tasks.disguise import Disguise

NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g", "year"]


def download(raw: Path) -> None:
    try:
        import palmerpenguins  # noqa: PLC0415
    except ImportError:
        raise DataUnavailable("the penguins task needs the palmerpenguins package: pip install palmerpenguins") from None
    frame = palmerpenguins.load_penguins()
    frame[["island", "sex", *NUMERIC, "species"]].to_csv(raw / "penguins.csv", index=False)


def prepare(raw: Path, public: Path, private: Path) -> None:
    frame = pd.read_csv(raw / "penguins.csv")
    disguise, record = Disguise.for_raw(raw), {}
    frame = disguise.columns(frame, NUMERIC, "species", record)
    disguise.publish(frame, public, private, target="species", split_seed=23, stratify=True,
                     sample=lambda train: "Adelie", record=record)
