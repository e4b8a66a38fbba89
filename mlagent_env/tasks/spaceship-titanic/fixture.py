"""A small synthetic stand-in for Kaggle's spaceship-titanic download, for tests only.

It writes ``train.csv``, ``test.csv`` and ``sample_submission.csv`` with Kaggle's columns and
text format (``PassengerId`` ``gggg_pp`` grouped by travel group, ``Cabin`` ``deck/num/side``,
``True``/``False`` flags, ages and spending as ``39.0``, missing values as empty cells), plus
the fixture marker. ``Transported`` depends on cryo-sleep, spending, home planet, deck and side,
so models can learn something. The passengers and their names are invented.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mlagent_env.tasks.data import FIXTURE_MARKER

N_GROUPS = 300
KAGGLE_TEST_SHARE = 0.15

SAMPLE_SUBMISSION_SCORE: float = 0.5
"""Accuracy of the public sample submission (all False) on all fixture answers, seed 0."""

COLUMNS = [
    "PassengerId", "HomePlanet", "CryoSleep", "Cabin", "Destination", "Age", "VIP",
    "RoomService", "FoodCourt", "ShoppingMall", "Spa", "VRDeck", "Name", "Transported",
]
SPENDING = ["RoomService", "FoodCourt", "ShoppingMall", "Spa", "VRDeck"]
PLANETS = ["Earth", "Europa", "Mars"]
DESTINATIONS = ["TRAPPIST-1e", "55 Cancri e", "PSO J318.5-22"]
DECKS = ["A", "B", "C", "D", "E", "F", "G", "T"]
FIRST = ["Ava", "Bron", "Cass", "Dex", "Elin", "Faro", "Gish", "Hale", "Iria", "Jomo", "Kell", "Lune", "Miro", "Nash"]
LAST = ["Ofrand", "Pelley", "Quorin", "Rastan", "Sheller", "Tumbly", "Ustin", "Vessman", "Wyler", "Yarrow"]


def _text(values: np.ndarray, missing: np.ndarray) -> np.ndarray:
    out = values.astype(object)
    out[missing] = ""
    return out


def make_fixture(raw: Path, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    sizes = rng.choice([1, 2, 3, 4], size=N_GROUPS, p=[0.55, 0.25, 0.12, 0.08])
    group = np.repeat(np.arange(1, N_GROUPS + 1), sizes)
    member = np.concatenate([np.arange(1, s + 1) for s in sizes])
    n = len(group)

    # a group travels together: one home planet, destination, surname and (mostly) cabin
    planet = rng.choice(PLANETS, size=N_GROUPS, p=[0.54, 0.25, 0.21])[group - 1]
    destination = rng.choice(DESTINATIONS, size=N_GROUPS, p=[0.7, 0.21, 0.09])[group - 1]
    surname = rng.choice(LAST, size=N_GROUPS)[group - 1]
    deck = rng.choice(DECKS, size=N_GROUPS, p=[0.03, 0.09, 0.09, 0.06, 0.1, 0.33, 0.29, 0.01])[group - 1]
    cabin_num = rng.integers(0, 1800, size=N_GROUPS)[group - 1]
    side = rng.choice(["P", "S"], size=N_GROUPS)[group - 1]

    cryo = rng.random(n) < 0.35
    age = np.clip(np.round(rng.normal(29, 14, n)), 0, 79)
    vip = rng.random(n) < 0.03
    spend = np.where(
        cryo[:, None] | (age[:, None] < 13),
        0.0,
        np.where(rng.random((n, 5)) < 0.4, 0.0, np.round(rng.lognormal(5.5, 1.2, (n, 5)))),
    )
    logit = (
        -0.9 + 2.2 * cryo - 0.0006 * spend.sum(axis=1) + 0.8 * (planet == "Europa") - 0.2 * (planet == "Mars")
        + 0.6 * np.isin(deck, ["B", "C"]) + 0.4 * (side == "S") - 0.5 * (deck == "E") + rng.normal(0, 0.4, n)
    )
    transported = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))

    def missing() -> np.ndarray:
        return rng.random(n) < 0.02

    frame = pd.DataFrame(
        {
            "PassengerId": [f"{g:04d}_{m:02d}" for g, m in zip(group, member)],
            "HomePlanet": _text(planet, missing()),
            "CryoSleep": _text(np.where(cryo, "True", "False"), missing()),
            "Cabin": _text(np.array([f"{d}/{c}/{s}" for d, c, s in zip(deck, cabin_num, side)]), missing()),
            "Destination": _text(destination, missing()),
            "Age": _text(np.array([f"{a:.1f}" for a in age]), missing()),
            "VIP": _text(np.where(vip, "True", "False"), missing()),
            **{c: _text(np.array([f"{v:.1f}" for v in spend[:, i]]), missing()) for i, c in enumerate(SPENDING)},
            "Name": _text(np.array([f"{rng.choice(FIRST)} {s}" for s in surname]), missing()),
            "Transported": np.where(transported, "True", "False"),
        }
    )[COLUMNS]

    # Kaggle's own test set holds whole groups (its labels are not public, prepare ignores it)
    kaggle_test = np.isin(group, np.flatnonzero(rng.random(N_GROUPS) < KAGGLE_TEST_SHARE) + 1)
    raw.mkdir(parents=True, exist_ok=True)
    frame[~kaggle_test].to_csv(raw / "train.csv", index=False)
    test = frame[kaggle_test].drop(columns=["Transported"])
    test.to_csv(raw / "test.csv", index=False)
    pd.DataFrame({"PassengerId": test["PassengerId"], "Transported": False}).to_csv(
        raw / "sample_submission.csv", index=False
    )
    (raw / FIXTURE_MARKER).touch()
