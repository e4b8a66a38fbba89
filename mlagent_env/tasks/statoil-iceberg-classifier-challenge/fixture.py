"""A tiny synthetic raw dataset in the layout of the extracted Kaggle download (FIXTURE, not real data).

``train.json`` holds 80 records in the competition's schema (``id``, ``band_1``, ``band_2``: 75 x 75
= 5625 floats in dB, row by row, ``inc_angle``: a float or ``"na"``, ``is_iceberg``), and
``test.json`` 10 unlabelled records. Each image is sea clutter plus one bright target: ships are
brighter, elongated blobs with a strong cross-polarised (``band_2``) return, icebergs dimmer,
rounder blobs; as in the real data, a few ships have no incidence angle (``"na"``). The 7z archives
of the real download are not reproduced: the fixture is what ``7z x train.json.7z`` gives, moved
to the raw folder.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from mlagent_env.tasks.data import FIXTURE_MARKER

N_TRAIN = 80
N_TEST = 10
SIDE = 75

SAMPLE_SUBMISSION_SCORE = math.log(2)
"""Binary log loss of the constant 0.5 sample submission: ln(2) whatever the answers."""


def _record(rng: np.random.Generator, iceberg: int, labelled: bool) -> dict[str, object]:
    yy, xx = np.indices((SIDE, SIDE), dtype=np.float64)
    cy, cx = rng.uniform(28, 47, size=2)
    turn = rng.uniform(0, math.pi)
    u = (xx - cx) * math.cos(turn) + (yy - cy) * math.sin(turn)
    v = -(xx - cx) * math.sin(turn) + (yy - cy) * math.cos(turn)
    if iceberg:
        su, sv, peak1, peak2 = rng.uniform(2.0, 3.5), rng.uniform(2.0, 3.5), rng.uniform(8, 13), rng.uniform(3, 7)
    else:
        su, sv, peak1, peak2 = rng.uniform(3.5, 6.0), rng.uniform(1.0, 2.0), rng.uniform(12, 20), rng.uniform(8, 14)
    blob = np.exp(-0.5 * ((u / su) ** 2 + (v / sv) ** 2))
    band_1 = rng.normal(-24.0, 2.5, (SIDE, SIDE)) + peak1 * blob
    band_2 = rng.normal(-27.0, 2.5, (SIDE, SIDE)) + peak2 * blob
    angle: object = round(float(rng.uniform(30, 46)), 4)
    if not iceberg and rng.random() < 0.1:
        angle = "na"
    record: dict[str, object] = {
        "id": f"{int(rng.integers(16**8)):08x}",
        "band_1": np.round(band_1.ravel(), 4).tolist(),
        "band_2": np.round(band_2.ravel(), 4).tolist(),
        "inc_angle": angle,
    }
    if labelled:
        record["is_iceberg"] = iceberg
    return record


def make_fixture(raw: Path, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    raw.mkdir(parents=True, exist_ok=True)
    labels = rng.permutation([0] * (N_TRAIN // 2 + 4) + [1] * (N_TRAIN - N_TRAIN // 2 - 4))
    train = [_record(rng, int(y), labelled=True) for y in labels]
    test = [_record(rng, int(rng.integers(2)), labelled=False) for _ in range(N_TEST)]
    for name, records in (("train.json", train), ("test.json", test)):
        with open(raw / name, "w", encoding="utf-8") as f:
            json.dump(records, f)
    (raw / FIXTURE_MARKER).touch()
