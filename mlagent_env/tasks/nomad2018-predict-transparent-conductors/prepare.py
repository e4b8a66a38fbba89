"""nomad2018-predict-transparent-conductors (MLE-bench): formation energy and bandgap of
(Al_x Ga_y In_z)_2N O_3N crystals, mean column-wise RMSLE.

Raw layout after unzipping Kaggle's archives: ``train.csv``, ``test.csv`` and one
``train/<id>/geometry.xyz`` (``test/<id>/geometry.xyz``) per material. Kaggle's test labels are
not public, so, like MLE-bench, the test split is drawn from the 2,400 labelled training
materials (10%, seeded shuffle). Every id is replaced by a seeded permutation of 1..N, one
numbering for train and test together (so a test id never appears in ``train.csv``), and each
geometry file is copied to ``public/train/<new id>/`` or ``public/test/<new id>/``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from mlagent_env.errors import DataUnavailable
from mlagent_env.tasks.acquire import kaggle_competition
from mlagent_env.tasks.splitting import seeded_split

COMPETITION = "nomad2018-predict-transparent-conductors"
ID = "id"
TARGETS = ["formation_energy_ev_natom", "bandgap_energy_ev"]
GEOMETRY = "geometry.xyz"
TEST_FRACTION = 0.1
ID_SEED = 20261129
SPLIT_SEED = 5


def download(raw: Path) -> None:
    kaggle_competition(COMPETITION, raw)


def _train_csv(raw: Path) -> Path:
    path = raw / "train.csv"
    # an archive extracted into a folder of its own name (train.csv/train.csv) is accepted too
    return path / "train.csv" if path.is_dir() else path


def _geometry_root(raw: Path, some_id: str) -> Path:
    """The folder that holds ``<id>/geometry.xyz`` of the training materials: ``train/``, or
    ``train/train/`` when train.zip was extracted into a folder of its own."""
    for root in (raw / "train", raw / "train" / "train"):
        if (root / some_id / GEOMETRY).is_file():
            return root
    raise DataUnavailable(
        f"no {GEOMETRY} for training material {some_id} under {raw / 'train'}; unzip Kaggle's train.zip "
        f"into {raw} so that {raw / 'train' / some_id / GEOMETRY} exists"
    )


def prepare(raw: Path, public: Path, private: Path) -> None:
    frame = pd.read_csv(_train_csv(raw), dtype=str, keep_default_na=False)
    for column in (ID, *TARGETS):
        if column not in frame.columns:
            raise ValueError(f"{_train_csv(raw)} has no {column!r} column; is it Kaggle's train.csv?")
    geometry = _geometry_root(raw, frame[ID].iloc[0])
    old_ids = frame[ID].copy()
    frame[ID] = np.random.default_rng(ID_SEED).permutation(len(frame)) + 1
    new_to_old = dict(zip(frame[ID], old_ids))
    train, test = seeded_split(frame, test_fraction=TEST_FRACTION, seed=SPLIT_SEED)
    train = train.sort_values(ID).reset_index(drop=True)
    test = test.sort_values(ID).reset_index(drop=True)

    train.to_csv(public / "train.csv", index=False)
    test.drop(columns=TARGETS).to_csv(public / "test.csv", index=False)
    for part, rows in (("train", train), ("test", test)):
        print(f"copying {len(rows)} {part} geometry files", flush=True)
        for new_id in rows[ID]:
            source = geometry / new_to_old[new_id] / GEOMETRY
            if not source.is_file():
                raise DataUnavailable(f"missing {source}; the raw folder is incomplete, unzip train.zip again")
            target = public / part / str(new_id)
            target.mkdir(parents=True)
            shutil.copyfile(source, target / GEOMETRY)

    means = {t: round(float(pd.to_numeric(train[t]).mean()), 4) for t in TARGETS}
    pd.DataFrame({ID: test[ID], **means}).to_csv(public / "sample_submission.csv", index=False)
    test[[ID, *TARGETS]].to_csv(private / "answers.csv", index=False)
