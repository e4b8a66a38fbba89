"""faces: the LFW subset bundled with scikit-image (``skimage.data.lfw_subset``: 100 face crops and
100 background crops, 25x25 grey), no download needed. Published through this install's secret
disguise (a secret orientation), so that no image can be looked up in the bundled copy;
see :mod:`mlagent_env.tasks.disguise`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mlagent_env.errors import DataUnavailable
from mlagent_env.tasks.disguise import Disguise

SIDE = 25
PIXELS = [f"pixel{i}" for i in range(SIDE * SIDE)]


def download(raw: Path) -> None:
    try:
        from skimage.data import lfw_subset  # noqa: PLC0415
    except ImportError:
        raise DataUnavailable("the faces task needs the scikit-image package: pip install scikit-image") from None
    images = np.asarray(lfw_subset(), dtype=float)
    if images.max() > 1.0:  # older releases return uint8
        images = images / 255.0
    frame = pd.DataFrame(images.reshape(len(images), -1).round(4), columns=PIXELS)
    frame["face"] = (np.arange(len(images)) < 100).astype(int)  # the first 100 are faces
    frame.to_csv(raw / "faces.csv", index=False)


def prepare(raw: Path, public: Path, private: Path) -> None:
    frame = pd.read_csv(raw / "faces.csv")
    disguise, record = Disguise.for_raw(raw), {}
    pixels = frame[PIXELS].to_numpy(float).reshape(-1, SIDE, SIDE)
    images = disguise.images(pixels, frame["face"].to_numpy(), record=record)
    frame[PIXELS] = images.reshape(len(frame), -1)
    disguise.publish(frame, public, private, target="face", split_seed=37, stratify=True,
                     sample=lambda train: 0.5, record=record)
