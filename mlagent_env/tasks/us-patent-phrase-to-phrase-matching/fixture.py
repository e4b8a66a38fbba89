"""A synthetic stand-in for the us-patent-phrase-to-phrase-matching download (fixture data).

Writes ``train.csv`` (id, anchor, target, context, score), ``test.csv`` and
``sample_submission.csv`` in the competition's layout: 400 pairs of made-up technical phrases
from 60 anchors, where the score follows how the target was built from the anchor (the same
words: 1; all but one: 0.75; one shared word: 0.5; the same CPC section's words: 0.25; another
section's words: 0), with a sixth of the scores moved by 0.25. Not real patent phrases.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mlagent_env.tasks.data import FIXTURE_MARKER

N_TRAIN = 400
N_TEST = 20
N_ANCHORS = 60
SCORES = [0.0, 0.25, 0.5, 0.75, 1.0]
SCORE_SHARES = [0.2, 0.32, 0.34, 0.11, 0.03]  # about the real shares
SECTIONS = {
    "A": (["A47", "A61", "A01"], "food container medical device chair table seed liquid heating cooking"),
    "B": (["B60", "B65", "B23"], "vehicle wheel conveyor cutting tool brake belt package welding frame"),
    "C": (["C08", "C07", "C12"], "polymer compound acid resin ester catalyst enzyme solvent fiber coating"),
    "G": (["G01", "G06", "G02"], "signal sensor optical lens data memory image processor measuring light"),
    "H": (["H04", "H01", "H02"], "circuit voltage antenna battery electrode transmitter switch current coil wireless"),
}

SAMPLE_SUBMISSION_SCORE = 0.0
"""Pearson r of the public sample submission (a constant 0) on make_fixture(seed=0)."""


def _words(rng: np.random.Generator, section: str, n: int) -> list[str]:
    vocabulary = SECTIONS[section][1].split()
    return [str(w) for w in rng.choice(vocabulary, size=n, replace=False)]


def _target(rng: np.random.Generator, anchor: list[str], section: str, score: float) -> str:
    if score == 1.0:
        words = [w + "s" if i == len(anchor) - 1 else w for i, w in enumerate(anchor)]
    elif score == 0.75:
        fresh = [w for w in _words(rng, section, 4) if w not in anchor]
        words = [*anchor[:-1], fresh[0]] if len(anchor) > 1 else [anchor[0], fresh[0]]
    elif score == 0.5:
        fresh = [w for w in _words(rng, section, 4) if w not in anchor]
        words = [str(rng.choice(anchor)), fresh[0]]
    elif score == 0.25:
        words = [w for w in _words(rng, section, 5) if w not in anchor][: int(rng.integers(1, 3))]
    else:
        other = str(rng.choice([s for s in SECTIONS if s != section]))
        words = _words(rng, other, int(rng.integers(1, 3)))
    return " ".join(words)


def _pairs(rng: np.random.Generator, anchors: list[tuple[list[str], str, str]], n: int) -> pd.DataFrame:
    rows = []
    for _ in range(n):
        words, section, context = anchors[int(rng.integers(len(anchors)))]
        score = float(rng.choice(SCORES, p=SCORE_SHARES))
        target = _target(rng, words, section, score)
        if rng.random() < 1 / 6:
            score = float(np.clip(score + rng.choice([-0.25, 0.25]), 0.0, 1.0))
        rows.append((" ".join(words), target, context, score))
    return pd.DataFrame(rows, columns=["anchor", "target", "context", "score"])


def make_fixture(raw: Path, seed: int = 0) -> None:
    """Write the fixture into ``raw`` (the extracted competition zip), with the fixture marker."""
    rng = np.random.default_rng(seed)
    raw.mkdir(parents=True, exist_ok=True)
    anchors = []
    for _ in range(N_ANCHORS):
        section = str(rng.choice(list(SECTIONS)))
        anchors.append((_words(rng, section, int(rng.integers(1, 4))), section, str(rng.choice(SECTIONS[section][0]))))
    ids = [f"{n:016x}" for n in rng.choice(2**62, size=N_TRAIN + N_TEST, replace=False)]
    train = _pairs(rng, anchors, N_TRAIN)
    train.insert(0, "id", ids[:N_TRAIN])
    test = _pairs(rng, anchors, N_TEST).drop(columns=["score"])
    test.insert(0, "id", ids[N_TRAIN:])
    train.to_csv(raw / "train.csv", index=False)
    test.to_csv(raw / "test.csv", index=False)
    pd.DataFrame({"id": test["id"], "score": 0}).to_csv(raw / "sample_submission.csv", index=False)
    (raw / FIXTURE_MARKER).touch()
