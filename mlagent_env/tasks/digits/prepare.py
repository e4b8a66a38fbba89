"""digits: scikit-learn's bundled 8x8 handwritten digits (1,797 images), no download needed.
Published through this install's secret disguise (a secret orientation), so that no row
can be looked up in ``load_digits()``; see :mod:`mlagent_env.tasks.disguise`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mlagent_env.tasks.disguise import Disguise

PIXELS = [f"pixel{i}" for i in range(64)]


def download(raw: Path) -> None:
    from sklearn.datasets import load_digits  # noqa: PLC0415

    d = load_digits()
    frame = pd.DataFrame(d.data.astype(int), columns=PIXELS)
    frame["label"] = d.target
    frame.to_csv(raw / "digits.csv", index=False)


def prepare(raw: Path, public: Path, private: Path) -> None:
    frame = pd.read_csv(raw / "digits.csv")
    disguise, record = Disguise.for_raw(raw), {}
    pixels = frame[PIXELS].to_numpy().reshape(-1, 8, 8)
    images = disguise.images(pixels, frame["label"].to_numpy(), record=record)
    frame[PIXELS] = images.reshape(len(frame), 64)
    disguise.publish(frame, public, private, target="label", split_seed=7, stratify=True,
                     sample=lambda train: 0, record=record)
