"""A synthetic stand-in for the detecting-insults-in-social-commentary download (fixture data).

Writes ``train.csv`` (Insult, Date, Comment) and ``test_with_solutions.csv`` (Insult, Date,
Comment, Usage) in the competition's layout: template comments in which insults address "you"
with words from a small insult lexicon, and neutral comments (some with profanity that is not
aimed at anyone). Comments are quoted, unicode-escaped strings (``\\xa0``, ``\\n``) as in the
real files, and about a fifth of the dates are empty. About 3% of the labels are flipped. Not
real comments.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mlagent_env.tasks.data import FIXTURE_MARKER

N_TRAIN = 300
N_TEST = 200
INSULT_SHARE = 0.27

INSULT_WORDS = ["idiot", "moron", "loser", "clown", "troll", "imbecile", "fool", "dumbass", "hypocrite"]
INSULT_TEMPLATES = [
    "you are such a {w}", "@{user} you {w}, nobody cares", "shut up you {w}", "what a {w} you are",
    "go away {w}", "you are a complete {w} and a {w2}", "are you really that stupid? {w}",
]
NEUTRAL_TEMPLATES = [
    "i really don't understand your point about {t}", "{t} is all anyone talks about",
    "@{user} good point, {t} looks better this year", "thanks for sharing the article on {t}",
    "what a {p} game last night", "i think {t} will change a lot next year",
    "that {p} referee ruined the match", "has anyone read the report on {t}?",
]
TOPICS = ["taxes", "the election", "healthcare", "the new stadium", "gas prices", "the budget", "the league"]
PROFANITY = ["damn", "bloody", "fucking", "crappy"]
USERS = ["ian21", "JoeBlow", "sunnyday", "mark_t", "Angie88"]
FILLERS = ["", "", " lol", " seriously.", " just saying.", " Unbelievable."]
ESCAPES = ["\\xa0", "\\n", "\\n\\n", "\\\\n", "\\xc2\\xa0"]

SAMPLE_SUBMISSION_SCORE = 0.73
"""Accuracy of the public sample submission (every Insult 0) on make_fixture(seed=0)."""


def _pick(rng: np.random.Generator, items: list[str]) -> str:
    return items[int(rng.integers(len(items)))]


def _comment(rng: np.random.Generator, insult: bool) -> str:
    if insult:
        text = _pick(rng, INSULT_TEMPLATES).format(
            w=_pick(rng, INSULT_WORDS), w2=_pick(rng, INSULT_WORDS), user=_pick(rng, USERS)
        )
        if rng.random() < 0.4:
            text = f"{_pick(rng, NEUTRAL_TEMPLATES)}. {text}".format(
                t=_pick(rng, TOPICS), p=_pick(rng, PROFANITY), user=_pick(rng, USERS)
            )
    else:
        text = _pick(rng, NEUTRAL_TEMPLATES).format(
            t=_pick(rng, TOPICS), p=_pick(rng, PROFANITY), user=_pick(rng, USERS)
        )
    text += _pick(rng, FILLERS)
    if rng.random() < 0.35:
        cut = text.rfind(" ", 0, len(text) // 2 + 1)
        text = text[:cut] + _pick(rng, ESCAPES) + text[cut + 1 :] if cut > 0 else text
    if rng.random() < 0.3:
        text = text.capitalize()
    return f'"{text}"'


def _date(rng: np.random.Generator) -> str:
    if rng.random() < 0.2:
        return ""
    month, day = int(rng.integers(3, 10)), int(rng.integers(1, 29))
    hour, minute, second = int(rng.integers(0, 24)), int(rng.integers(0, 60)), int(rng.integers(0, 60))
    return f"2012{month:02d}{day:02d}{hour:02d}{minute:02d}{second:02d}Z"


def _rows(rng: np.random.Generator, n: int) -> pd.DataFrame:
    insult = rng.random(n) < INSULT_SHARE
    comments = [_comment(rng, bool(i)) for i in insult]
    label = np.where(rng.random(n) < 0.03, ~insult, insult).astype(int)
    return pd.DataFrame({"Insult": label, "Date": [_date(rng) for _ in range(n)], "Comment": comments})


def make_fixture(raw: Path, seed: int = 0) -> None:
    """Write the fixture into ``raw`` (the extracted competition zip), with the fixture marker."""
    rng = np.random.default_rng(seed)
    raw.mkdir(parents=True, exist_ok=True)
    _rows(rng, N_TRAIN).to_csv(raw / "train.csv", index=False)
    test = _rows(rng, N_TEST)
    test["Usage"] = np.where(rng.random(N_TEST) < 0.5, "PublicTest", "PrivateTest")
    test.to_csv(raw / "test_with_solutions.csv", index=False)
    (raw / FIXTURE_MARKER).touch()
