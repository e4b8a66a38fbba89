"""The reward scale of a task: the size of a metric change that counts as a large step.

The unified reward of a run is ``sigmoid(k / scale * signed_delta)``, so a gain of half the scale
earns ``sigmoid(k / 2)`` on every task, whatever its metric's units. Every registered task has a
finite scale with a stated source, chosen in this order:

1. ``measured``: the gap from the starter's score to ``reference_score``, with the starter measured
   on this prepared data (``mlagent-env baseline TASK``, cached by :mod:`baseline_cache`), or
   measured by the task's author (``baseline_score`` in ``task.yaml``);
2. ``published``: the gap from the published score of ``task.yaml``'s ``published`` block (this
   starter's, or a baseline of other code) to ``reference_score``;
3. ``leaderboard``: the gap from the leaderboard median to the gold threshold (``medals``).

A task with none of these is refused when the registry loads it (:class:`NoRewardScale`), so no
task falls back silently. The scale also says which starter score, if any, an episode's first
run is compared with (``baseline``); without one the first run earns sigmoid(0) = 0.5.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

from mlagent_env.tasks.spec import TaskSpec

ScaleSource = Literal["measured", "published", "leaderboard"]


class NoRewardScale(ValueError):
    """A task's spec gives nothing to derive a reward scale from."""


@dataclass(frozen=True)
class MeasuredStarter:
    """The unmodified starter's scores on one prepared copy of the data."""

    score: float
    """on the held-back rows"""
    reward_score: float
    """on the reward rows: an episode's first run is compared with it"""
    where: str
    """what measured it, for the scale's description (e.g. the cache file)"""


@dataclass(frozen=True)
class RewardScale:
    value: float
    """a metric change of this size is a large step (finite, > 0)"""
    source: ScaleSource
    detail: str
    """the figures and where they come from, in words"""
    baseline: float | None
    """the starter's score on the reward rows (the first run's previous metric), or None if unknown"""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _gap(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or not (math.isfinite(a) and math.isfinite(b)) or a == b:
        return None
    return abs(a - b)


def reward_scale(spec: TaskSpec, measured: MeasuredStarter | None = None) -> RewardScale:
    """The task's reward scale, refined by ``measured`` (the starter run on the prepared data) when
    given. Raises :class:`NoRewardScale` if the spec gives nothing to derive it from."""
    ref = spec.reference_score
    if measured is not None and (gap := _gap(measured.score, ref)) is not None:
        detail = f"starter {measured.score:.6g} ({measured.where}) to reference_score {ref:.6g}"
        return RewardScale(gap, "measured", detail, measured.reward_score)
    static = _static_scale(spec)
    if measured is not None:  # the starter reaches the reference: the scale stays, the first run compares with it
        return RewardScale(static.value, static.source, static.detail, measured.reward_score)
    return static


def _static_scale(spec: TaskSpec) -> RewardScale:
    ref = spec.reference_score
    if (gap := _gap(spec.baseline_score, ref)) is not None:
        baseline = spec.baseline_reward_score if spec.baseline_reward_score is not None else spec.baseline_score
        detail = f"starter {spec.baseline_score:.6g} (task.yaml baseline_score) to reference_score {ref:.6g}"
        return RewardScale(gap, "measured", detail, baseline)
    published = spec.published
    if published is not None and (gap := _gap(published.score, ref)) is not None:
        which = "starter" if published.starter is not None else "baseline"
        detail = f"published {which} {published.score:.6g} to reference_score {ref:.6g} ({published.source})"
        return RewardScale(gap, "published", detail, published.starter)
    median, gold = spec.medals.median, spec.medals.gold
    if (gap := _gap(median, gold)) is not None:
        detail = f"leaderboard median {median:.6g} to gold threshold {gold:.6g} (task.yaml medals)"
        return RewardScale(gap, "leaderboard", detail, None)
    raise NoRewardScale(
        f"task {spec.id!r} has no reward scale: give baseline_score and reference_score (measured), "
        "a 'published' starter or baseline score with reference_score, or medals median and gold"
    )
