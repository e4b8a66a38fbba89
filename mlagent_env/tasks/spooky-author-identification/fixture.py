"""A synthetic stand-in for the spooky-author-identification download (fixture data).

Writes ``train.csv`` (id, text, author), ``test.csv`` and ``sample_submission.csv`` as they come
out of the competition's zips: 400 template sentences in which each author (EAP, HPL, MWS) draws
part of the words from a vocabulary of their own, and a few from the others'. Not the authors'
writing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mlagent_env.tasks.data import FIXTURE_MARKER

N_TRAIN = 400
N_TEST = 20
AUTHORS = ["EAP", "HPL", "MWS"]
AUTHOR_SHARES = [0.40, 0.29, 0.31]  # about the real shares
KAGGLE_SAMPLE = {"EAP": 0.403493538995863, "HPL": 0.287808366106543, "MWS": 0.308698094897594}
VOCABULARY = {
    "EAP": "raven chamber bosom sepulchre singular phantasm ere lattice velvet ebony perverse analytical "
    "tarn vault premature cask amontillado mesmerism",
    "HPL": "eldritch cyclopean gibbous nameless antediluvian ichor fungoid squamous blasphemous cosmic "
    "abyss arkham innsmouth cult shoggoth non-euclidean",
    "MWS": "wretched misery creature adrian raymond perdita affection despair countenance beloved lament "
    "tears windsor plague sympathy benevolent",
}
COMMON = (
    "the of and i it was a in that my had night dark upon which with his her this but all "
    "were at not from we there when so could now one more by"
).split()

SAMPLE_SUBMISSION_SCORE = 1.0892935
"""Log loss of the public sample submission (constant probabilities) on make_fixture(seed=0)."""


def _sentence(rng: np.random.Generator, author: str) -> str:
    own = VOCABULARY[author].split()
    others = [w for a in AUTHORS if a != author for w in VOCABULARY[a].split()]
    words = []
    for _ in range(int(rng.integers(8, 26))):
        u = rng.random()
        pool = own if u < 0.18 else others if u < 0.22 else COMMON
        words.append(str(pool[int(rng.integers(len(pool)))]))
    if rng.random() < 0.5:
        words[int(rng.integers(1, len(words) - 1))] += rng.choice([",", ";"])
    text = " ".join(words)
    if rng.random() < 0.1:
        text = f'"{text}," said he'
    return text[0].upper() + text[1:] + "."


def make_fixture(raw: Path, seed: int = 0) -> None:
    """Write the fixture into ``raw`` (the extracted competition zips), with the fixture marker."""
    rng = np.random.default_rng(seed)
    raw.mkdir(parents=True, exist_ok=True)
    numbers = rng.choice(28000, size=N_TRAIN + N_TEST, replace=False)
    ids = [f"id{n:05d}" for n in numbers]
    authors = rng.choice(AUTHORS, size=N_TRAIN, p=AUTHOR_SHARES)
    train = pd.DataFrame({"id": ids[:N_TRAIN], "text": [_sentence(rng, a) for a in authors], "author": authors})
    test_authors = rng.choice(AUTHORS, size=N_TEST, p=AUTHOR_SHARES)
    test = pd.DataFrame({"id": ids[N_TRAIN:], "text": [_sentence(rng, a) for a in test_authors]})
    train.to_csv(raw / "train.csv", index=False)
    test.to_csv(raw / "test.csv", index=False)
    sample = pd.DataFrame({"id": test["id"], **KAGGLE_SAMPLE})
    sample.to_csv(raw / "sample_submission.csv", index=False)
    (raw / FIXTURE_MARKER).touch()
