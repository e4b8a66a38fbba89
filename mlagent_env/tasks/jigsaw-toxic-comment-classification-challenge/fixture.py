"""A synthetic stand-in for the jigsaw-toxic-comment-classification-challenge download (fixture data).

Writes ``train.csv``, ``test.csv``, ``test_labels.csv`` (a third of the rows -1, i.e. not scored)
and ``sample_submission.csv`` as they come out of the competition's zips: template talk-page
comments (with line breaks and wiki headings) to which each active label adds words from a small
lexicon of its own (profanity, insults, threats, slurs against made-up groups); the words are
missing from a fifth of the labelled comments and stray into a few unlabelled ones. Every label has
positives, so that every column's ROC-AUC is defined. Not real comments.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mlagent_env.tasks.data import FIXTURE_MARKER

N_TRAIN = 400
N_TEST = 300
UNSCORED_SHARE = 1 / 3
LABELS = ["toxic", "severe_toxic", "obscene", "threat", "insult", "identity_hate"]

NEUTRAL = [
    "The article on {t} needs more citations.", "I reverted your edit to {t} because it had no source.",
    "Thanks for the help with the {t} page.", "Please discuss major changes to {t} on this talk page first.",
    "== {T} ==\n\nIs there a reliable source for the claim about {t}?", "I have added a reference to {t}.",
    "Could an admin take a look at the {t} dispute?", "The infobox on {t} is out of date.",
]
TOPICS = ["the river", "the election", "the album", "the castle", "the railway", "the football club", "the novel"]
OBSCENE = ["crap", "shit", "fuck", "bullshit", "piss"]
INSULT = ["idiot", "moron", "loser", "jerk", "stupid troll"]
THREAT = ["I will find you and hurt you", "you will regret this, I will kill you", "watch your back"]
HATE = ["all zorbians are scum", "go back to zorbia", "people like the qelts are vermin"]

SAMPLE_SUBMISSION_SCORE = 0.5
"""Mean column ROC-AUC of the public sample submission (0.5 everywhere) on make_fixture(seed=0)."""


def _pick(rng: np.random.Generator, items: list[str]) -> str:
    return items[int(rng.integers(len(items)))]


def _comment(rng: np.random.Generator) -> tuple[str, list[int]]:
    obscene = rng.random() < 0.18
    severe = obscene and rng.random() < 0.4
    insult = rng.random() < (0.45 if obscene else 0.1)
    threat = rng.random() < 0.1
    hate = rng.random() < 0.1
    toxic = obscene or insult or threat or hate or rng.random() < 0.03
    topic = _pick(rng, TOPICS)
    parts = [_pick(rng, NEUTRAL).format(t=topic, T=topic.title())]

    def shows(active: bool) -> bool:  # a label's words are missing sometimes, and sometimes stray in
        return rng.random() < (0.8 if active else 0.04)

    if shows(obscene):
        parts.append(f"This is {_pick(rng, OBSCENE)}.")
    if shows(severe):
        parts.append(" ".join(_pick(rng, OBSCENE).upper() for _ in range(3)) + "!!!")
    if shows(insult):
        parts.append(f"You are a {_pick(rng, INSULT)}.")
    if shows(threat):
        parts.append(_pick(rng, THREAT) + ".")
    if shows(hate):
        parts.append(_pick(rng, HATE) + ".")
    if rng.random() < 0.3:
        parts.append(f"\n\n{int(rng.integers(1, 255))}.{int(rng.integers(1, 255))}.12.7")
    order = rng.permutation(len(parts))
    text = " ".join(parts[i] for i in order)
    return text, [int(x) for x in (toxic, severe, obscene, threat, insult, hate)]


def _frame(rng: np.random.Generator, ids: list[str]) -> pd.DataFrame:
    rows = [_comment(rng) for _ in ids]
    frame = pd.DataFrame({"id": ids, "comment_text": [text for text, _ in rows]})
    frame[LABELS] = np.array([labels for _, labels in rows])
    return frame


def make_fixture(raw: Path, seed: int = 0) -> None:
    """Write the fixture into ``raw`` (the extracted competition zips), with the fixture marker."""
    rng = np.random.default_rng(seed)
    raw.mkdir(parents=True, exist_ok=True)
    ids = [f"{n:016x}" for n in rng.choice(2**62, size=N_TRAIN + N_TEST, replace=False)]
    train = _frame(rng, ids[:N_TRAIN])
    test = _frame(rng, sorted(ids[N_TRAIN:]))
    unscored = rng.random(N_TEST) < UNSCORED_SHARE
    test.loc[unscored, LABELS] = -1
    train.to_csv(raw / "train.csv", index=False)
    test[["id", "comment_text"]].to_csv(raw / "test.csv", index=False)
    test[["id", *LABELS]].to_csv(raw / "test_labels.csv", index=False)
    pd.DataFrame({"id": test["id"], **{label: 0.5 for label in LABELS}}).to_csv(
        raw / "sample_submission.csv", index=False
    )
    (raw / FIXTURE_MARKER).touch()
