"""A synthetic stand-in for the learning-agency-lab-automated-essay-scoring-2 download (fixture data).

Writes ``train.csv`` (essay_id, full_text, score), ``test.csv`` and ``sample_submission.csv`` in the
competition's layout: 400 template essays whose length, sentence length, vocabulary and spelling
depend on the score, so that a bag-of-words model learns the score. Not real essays.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mlagent_env.tasks.data import FIXTURE_MARKER

N_TRAIN = 400
N_TEST = 3
SCORE_SHARES = [0.07, 0.27, 0.36, 0.23, 0.06, 0.01]  # about the real distribution of scores 1-6

TOPICS = [
    "the face on mars", "exploring venus", "the electoral college", "driverless cars",
    "phones and driving", "the seagoing cowboys program", "facial action coding", "community service",
]
COMMON = (
    "people should think about the idea because it is important for students and for everyone in "
    "our school the world today many would say that we can see this when they look at what happens "
    "every day some believe others do not"
).split()
BASIC = "good bad thing stuff alot really very becuase thier dont gonna kinda like so cool things".split()
ADVANCED = (
    "consequently furthermore substantial perspective nevertheless evidence demonstrates significant "
    "moreover ultimately analysis compelling inevitably advocate perceive undeniably"
).split()
OPENERS_LOW = ["i think", "so", "and", "also", "well"]
OPENERS_HIGH = ["Furthermore,", "In addition,", "However,", "For instance,", "Consequently,", "Moreover,"]

SAMPLE_SUBMISSION_SCORE = 0.0
"""Quadratic weighted kappa of the public sample submission (a constant score) on make_fixture(seed=0)."""


def _sentence(rng: np.random.Generator, score: int, topic: str) -> str:
    n_words = int(rng.integers(5, 9) + 2 * score)
    p_adv, p_basic = 0.04 * score, 0.05 * (7 - score)
    words = []
    for _ in range(n_words):
        u = rng.random()
        pool = ADVANCED if u < p_adv else BASIC if u < p_adv + p_basic else COMMON
        words.append(str(rng.choice(pool)))
    if rng.random() < 0.3:
        words.insert(int(rng.integers(0, len(words))), topic)
    opener = str(rng.choice(OPENERS_HIGH if rng.random() < score / 7 else OPENERS_LOW))
    text = " ".join([opener, *words])
    return text[0].upper() + text[1:] + "."


def _essay(rng: np.random.Generator, score: int) -> str:
    topic = str(rng.choice(TOPICS))
    paragraphs = []
    for _ in range(1 + score // 2 + int(rng.integers(0, 2))):
        n_sentences = int(rng.integers(2, 4) + score // 2)
        paragraphs.append(" ".join(_sentence(rng, score, topic) for _ in range(n_sentences)))
    return "\n\n".join(paragraphs)


def _essay_ids(rng: np.random.Generator, n: int) -> list[str]:
    return [f"{i:07x}" for i in rng.choice(16**7, size=n, replace=False)]


def make_fixture(raw: Path, seed: int = 0) -> None:
    """Write the fixture into ``raw`` (the extracted competition zip), with the fixture marker."""
    rng = np.random.default_rng(seed)
    raw.mkdir(parents=True, exist_ok=True)
    ids = _essay_ids(rng, N_TRAIN + N_TEST)
    scores = rng.choice(np.arange(1, 7), size=N_TRAIN, p=SCORE_SHARES)
    train = pd.DataFrame(
        {"essay_id": ids[:N_TRAIN], "full_text": [_essay(rng, int(s)) for s in scores], "score": scores}
    )
    test = pd.DataFrame(
        {"essay_id": ids[N_TRAIN:], "full_text": [_essay(rng, int(s)) for s in rng.integers(1, 7, size=N_TEST)]}
    )
    train.to_csv(raw / "train.csv", index=False)
    test.to_csv(raw / "test.csv", index=False)
    pd.DataFrame({"essay_id": test["essay_id"], "score": 3}).to_csv(raw / "sample_submission.csv", index=False)
    (raw / FIXTURE_MARKER).touch()
