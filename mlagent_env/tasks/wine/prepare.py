"""wine: scikit-learn's bundled wine recognition data (178 wines of three cultivars), no download
needed. Published through this install's secret disguise (a secret affine map per column), so that
no row can be looked up in ``load_wine()``; see :mod:`mlagent_env.tasks.disguise`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mlagent_env.tasks.disguise import Disguise


def download(raw: Path) -> None:
    from sklearn.datasets import load_wine  # noqa: PLC0415

    d = load_wine()
    columns = [n.replace("od280/od315_of_diluted_wines", "od280_od315") for n in d.feature_names]
    frame = pd.DataFrame(d.data, columns=columns)
    frame["cultivar"] = d.target
    frame.to_csv(raw / "wine.csv", index=False)


def prepare(raw: Path, public: Path, private: Path) -> None:
    frame = pd.read_csv(raw / "wine.csv")
    disguise, record = Disguise.for_raw(raw), {}
    frame = disguise.columns(frame, [c for c in frame.columns if c != "cultivar"], "cultivar", record)
    disguise.publish(frame, public, private, target="cultivar", split_seed=17, stratify=True,
                     sample=lambda train: 0, record=record)
