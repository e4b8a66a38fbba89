"""A small synthetic stand-in for Kaggle's feedback-prize-english-language-learning download,
for tests only.

It writes ``train.csv`` (``text_id``, ``full_text``, the six scores from 1.0 to 5.0 in steps of
0.5), ``test.csv`` (3 essays, like Kaggle's placeholder) and ``sample_submission.csv``, plus the
fixture marker. Essays are assembled from sentence templates: each essay has a latent level per
score, and the text shows it (connectives for cohesion, richer words for vocabulary, subject-verb
agreement slips for grammar, spelling and capitalisation slips for conventions, longer sentences
for syntax, stock phrases for phraseology), so a bag-of-words model can learn something. The
essays are invented and say nothing about real learners' writing.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from mlagent_env.tasks.data import FIXTURE_MARKER

N_TRAIN = 240
N_TEST = 3

SAMPLE_SUBMISSION_SCORE: float = 0.898348
"""MCRMSE of the public sample submission (3.0 everywhere) on all fixture answers, seed 0."""

TARGETS = ["cohesion", "syntax", "vocabulary", "phraseology", "grammar", "conventions"]
TOPICS = [
    "online classes", "a four day school week", "summer jobs for students", "community service",
    "phones in the classroom", "extracurricular activities", "working in groups", "starting school later",
]
PLAIN = ["good", "bad", "nice", "big", "important", "hard", "fun"]
RICH = ["beneficial", "detrimental", "indispensable", "advantageous", "substantial", "demanding", "rewarding"]
REASONS = [
    "students can learn at their own pace", "it gives people more time with their families",
    "young people need to understand responsibility", "teachers can help each student",
    "many students feel tired in the morning", "it helps students make new friends",
]
CONNECTIVES = ["Furthermore,", "In addition,", "However,", "Consequently,", "For example,", "On the other hand,"]
STOCK = ["in my opinion", "all in all", "as a matter of fact", "to sum up", "from my point of view"]
MISSPELL = {"because": "becuase", "their": "thier", "a lot": "alot", "don't": "dont", "believe": "beleive"}


def _sentence(rng: np.random.Generator, topic: str, level: dict[str, float]) -> str:
    def chance(dimension: str) -> bool:
        return bool(rng.random() < (level[dimension] - 1.0) / 4.0)

    adjective = str(rng.choice(RICH if chance("vocabulary") else PLAIN))
    reason = str(rng.choice(REASONS))
    subject, verb = ("students", "are") if chance("grammar") else ("students", "is")
    body = str(
        rng.choice(
            [
                f"I believe {topic} is {adjective} because {reason}",
                f"{subject} {verb} happier when {topic} is part of their week",
                f"a lot of people think {topic} is {adjective}, and I don't disagree",
                f"{topic} can be {adjective} for {subject} who {'work' if chance('grammar') else 'works'} hard",
            ]
        )
    )
    if chance("syntax"):
        body += f", which means that {reason}"
    if chance("phraseology"):
        body = f"{rng.choice(STOCK)}, {body}"
    if chance("cohesion"):
        body = f"{rng.choice(CONNECTIVES)} {body}"
    if not chance("conventions"):
        for word, wrong in MISSPELL.items():
            if rng.random() < 0.5:
                body = body.replace(word, wrong)
        body = body.replace("I ", "i ")
        return body + ("" if rng.random() < 0.5 else ".")
    return body[0].upper() + body[1:] + "."


def _essay(rng: np.random.Generator, level: dict[str, float]) -> str:
    topic = str(rng.choice(TOPICS))
    paragraphs = []
    for _ in range(int(rng.integers(2, 5))):
        paragraphs.append(" ".join(_sentence(rng, topic, level) for _ in range(int(rng.integers(2, 5)))))
    return "\n\n".join(paragraphs)


def make_fixture(raw: Path, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    n = N_TRAIN + N_TEST
    rows = []
    for _ in range(n):
        skill = rng.uniform(1.5, 4.5)
        level = {t: float(np.clip(skill + rng.normal(0, 0.4), 1.0, 5.0)) for t in TARGETS}
        text = _essay(rng, level)
        text_id = "".join(rng.choice(list("0123456789ABCDEF"), 12))
        scores = {t: float(np.clip(np.round(2 * (level[t] + rng.normal(0, 0.25))) / 2, 1.0, 5.0)) for t in TARGETS}
        rows.append({"text_id": text_id, "full_text": text, **scores})
    frame = pd.DataFrame(rows)
    raw.mkdir(parents=True, exist_ok=True)
    frame.iloc[:N_TRAIN].sort_values("text_id").to_csv(raw / "train.csv", index=False)
    test = frame.iloc[N_TRAIN:][["text_id", "full_text"]]
    test.to_csv(raw / "test.csv", index=False)
    pd.DataFrame({"text_id": test["text_id"], **{t: 3.0 for t in TARGETS}}).to_csv(
        raw / "sample_submission.csv", index=False
    )
    (raw / FIXTURE_MARKER).touch()
