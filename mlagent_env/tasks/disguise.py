"""A per-install secret disguise of the offline tasks' data: the first of two layers that keep
an agent script from looking the answers up in the copy of the dataset that a package ships.

The offline tasks are built from data bundled with packages (``sklearn.datasets.load_digits``,
``palmerpenguins``, ...). Published unchanged, every test row is a row of that bundled copy and
an agent could join on it: a script that indexes ``load_digits()`` by pixel rows labels all test
rows. What stops what:

* **this disguise** (every sandbox, costs nothing): the real rows, published in a coordinate
  system that only this install knows, with fresh random ids. The bundled copy's values are then
  not comparable with the published ones: an exact join finds nothing and a nearest-neighbour
  match (raw or standardised) lands on unrelated rows, so the labels it copies score below the
  task's starter (tests/test_offline_tasks.py), and nothing memorised about the public data
  carries over. It does **not** stop a script that undoes it first: any map that keeps the labels
  can be learnt from the labelled train split by aligning it with the bundled copy (the red team
  tried the eight orientations on ``digits`` and z-scored columns with signs from sorted
  quantiles on ``diabetes``, and recovered every answer);
* **hiding the bundled copies from agent code** (:mod:`mlagent_env.sandbox.bundled_data`) stops
  that, in the sandboxes that contain (Docker, local with bwrap). Plain local contains nothing:
  agent code there can read the bundled copy, and the private answers too.

Data generated from a hidden seed was weighed too: nothing to look up, but no longer the real data.

The disguise preserves what a model can learn:

  - tabular columns are mapped by a secret affine map ``x -> sign * scale * x / sd + offset`` per
    column (half of the columns negated, in the least recognisable of several secret patterns;
    scale in [0.5, 5]; offset within +-10), so the order of values in a column is kept up to
    direction. Trees, and linear models behind a standard scaler, learn exactly what they
    learned on the original columns, so a starter scores the same on every install;
  - images get one secret orientation (one of the seven non-identity flips and rotations of the
    square, avoiding those under which the images look like themselves), shared by every image,
    so they stay images with the same grey levels; a model that does not care where a pixel sits
    (naive Bayes, summaries of the grey levels) scores the same on every install, and one that
    does (a tree, a CNN) about the same.

The key is 128 random bits from :mod:`secrets`, written beside the raw data
(``raw/<task>/disguise.key``) when the task is first prepared on this machine and reused when it is
prepared again (re-preparation is deterministic); the parameters it implies are recorded in
``private/disguise.json``. Both folders are hidden from the agent's commands in every sandbox
that contains (Docker, local with bwrap).
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from mlagent_env.tasks.splitting import random_ids, seeded_split

CANDIDATES = 8
"""Secret sign patterns drawn per install, of which the least recognisable is kept."""
KEY_FILE = "disguise.key"
RECORD_FILE = "disguise.json"
_DIHEDRAL = ("rot90", "rot180", "rot270", "flip_lr", "flip_ud", "transpose", "anti_transpose")


@dataclass(frozen=True)
class Disguise:
    """The secret of one install of one task; every draw is derived from ``key`` and a purpose."""

    key: str

    @classmethod
    def for_raw(cls, raw: Path) -> "Disguise":
        """The disguise stored beside the raw data, created (128 random bits) on first use."""
        path = raw / KEY_FILE
        if not path.is_file():
            path.write_text(secrets.token_hex(16) + "\n")
        key = path.read_text().strip()
        if len(key) != 32 or any(c not in "0123456789abcdef" for c in key):
            raise ValueError(f"{path} is not a disguise key (32 hex digits); delete it to draw a new one")
        return cls(key)

    def rng(self, purpose: str) -> np.random.Generator:
        digest = hashlib.sha256(f"{self.key}:{purpose}".encode()).digest()
        return np.random.default_rng(int.from_bytes(digest[:16], "little"))

    def seed(self, purpose: str) -> int:
        return int(self.rng(purpose).integers(0, 2**63 - 1))

    def ids(self, n: int) -> list[str]:
        """``n`` distinct random ids that say nothing about the source order."""
        return random_ids(n, seed=self.seed("ids"), width=max(6, len(str(n)) + 2))

    def columns(self, frame: pd.DataFrame, columns: list[str], target: str, record: dict[str, object]) -> pd.DataFrame:
        """``frame`` with each numeric column in ``columns`` under its own secret affine map
        (missing values stay missing). Of ``CANDIDATES`` secret sign patterns (half of the columns
        negated), the one under which the original rows are least recognisable is kept (see
        :func:`recognisability`); the maps are added to ``record``."""
        base = {}
        for name in columns:
            rng = self.rng(f"column:{name}")
            sd = float(frame[name].astype(float).std()) or 1.0
            base[name] = {"scale": float(np.exp(rng.uniform(np.log(0.5), np.log(5.0)))), "sd": sd,
                          "offset": float(rng.uniform(-10.0, 10.0))}
        original = frame[columns].to_numpy(float)
        best: tuple[float, pd.DataFrame, dict[str, dict[str, float]]] | None = None
        for attempt in range(CANDIDATES):
            order = self.rng(f"signs:{attempt}").permutation(len(columns))
            negated = {columns[i] for i in order[: (len(columns) + 1) // 2]}
            out, maps = frame.copy(), {}
            for name in columns:
                m = {"sign": -1.0 if name in negated else 1.0, **base[name]}
                out[name] = (m["sign"] * m["scale"] * frame[name].astype(float) / m["sd"] + m["offset"]).round(6)
                maps[name] = m
            score = recognisability(original, out[columns].to_numpy(float), frame[target].to_numpy())
            if best is None or score < best[0]:
                best = (score, out, maps)
        assert best is not None
        record["columns"], record["lookup_agreement"] = best[2], best[0]
        return best[1]

    def images(self, images: np.ndarray, labels: np.ndarray, record: dict[str, object]) -> np.ndarray:
        """``images`` (n, h, w), all turned to one secret orientation: of three orientations drawn
        from the key, the one under which the originals are least recognisable (symmetric images
        such as faces look alike mirrored); the choice is added to ``record``."""
        flat = images.reshape(len(images), -1).astype(float)
        options = [_DIHEDRAL[i] for i in self.rng("images").permutation(len(_DIHEDRAL))[:3]]
        scored = [(recognisability(flat, _orient(images, op).reshape(len(images), -1).astype(float), labels), op)
                  for op in options]
        score, op = min(scored)
        record["images"], record["lookup_agreement"] = {"orientation": op}, score
        return _orient(images, op)

    def write_record(self, private: Path, record: dict[str, object]) -> None:
        (private / RECORD_FILE).write_text(json.dumps(record, indent=1, sort_keys=True))

    def publish(
        self,
        frame: pd.DataFrame,
        public: Path,
        private: Path,
        *,
        target: str,
        split_seed: int,
        stratify: bool,
        sample: Callable[[pd.DataFrame], object],
        record: dict[str, object],
        test_fraction: float = 0.3,
    ) -> None:
        """Write an already disguised table as a task: secret ids, a seeded split into
        ``public/train.csv`` and ``public/test.csv`` (without ``target``), a sample submission whose
        ``target`` is ``sample(train)``, ``private/answers.csv`` and the disguise record."""
        frame = frame.copy()
        frame.insert(0, "id", self.ids(len(frame)))
        train, test = seeded_split(frame, test_fraction=test_fraction, seed=split_seed, stratify=target if stratify else None)
        features = [c for c in frame.columns if c not in ("id", target)]
        train.to_csv(public / "train.csv", index=False)
        test[["id", *features]].to_csv(public / "test.csv", index=False)
        pd.DataFrame({"id": test["id"], target: sample(train)}).to_csv(public / "sample_submission.csv", index=False)
        test[["id", target]].to_csv(private / "answers.csv", index=False)
        self.write_record(private, record)


def recognisability(original: np.ndarray, disguised: np.ndarray, target: np.ndarray, max_rows: int = 1500) -> float:
    """How much a nearest-neighbour lookup of the disguised rows among the original ones recovers
    the target (on at most ``max_rows`` rows): the larger of the raw and the standardised lookup's
    agreement, i.e. the share of equal labels, or for a numeric target of many values the
    correlation of the found and the true targets."""
    idx = np.random.default_rng(0).permutation(len(target))[:max_rows]
    a, b, y = original[idx], disguised[idx], target[idx]
    continuous = y.dtype.kind in "fiu" and len(np.unique(y)) > 20

    def standardised(m: np.ndarray) -> np.ndarray:
        m = np.where(np.isnan(m), np.nanmean(m, axis=0), m)
        return (m - m.mean(axis=0)) / (m.std(axis=0) + 1e-12)

    def agreement(ref: np.ndarray, query: np.ndarray) -> float:
        d = (query * query).sum(1)[:, None] - 2 * query @ ref.T + (ref * ref).sum(1)[None, :]
        found = y[d.argmin(axis=1)]
        return float(np.corrcoef(y.astype(float), found.astype(float))[0, 1]) if continuous else float(np.mean(y == found))

    return max(agreement(np.nan_to_num(a), np.nan_to_num(b)), agreement(standardised(a), standardised(b)))


def _orient(images: np.ndarray, op: str) -> np.ndarray:
    return {
        "rot90": lambda a: np.rot90(a, 1, axes=(1, 2)),
        "rot180": lambda a: np.rot90(a, 2, axes=(1, 2)),
        "rot270": lambda a: np.rot90(a, 3, axes=(1, 2)),
        "flip_lr": lambda a: a[:, :, ::-1],
        "flip_ud": lambda a: a[:, ::-1, :],
        "transpose": lambda a: a.transpose(0, 2, 1),
        "anti_transpose": lambda a: np.rot90(a, 2, axes=(1, 2)).transpose(0, 2, 1),
    }[op](images)
