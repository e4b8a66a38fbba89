"""The unified reward (ML-Agent, made precise). Pure functions; every constant lives in RewardConfig.

| reward kind   | when                                                            | reward                         |
|---------------|-----------------------------------------------------------------|--------------------------------|
| format_error  | unparseable reply, unknown action, bad arguments                | ``format_error`` (0)           |
| error         | a valid action that failed (file missing, script raised,        | ``error`` (0)                  |
|               | invalid submission, non-finite metric)                          |                                |
| non_edit      | a valid action that does not change the metric                  | ``non_edit`` (0.5)             |
| corner_case   | resource corner cases: timeout, out of memory                   | ``corner_case`` (0.5)          |
| metric        | a run that produced a new metric                                | ``sigmoid(alpha * delta)``     |

``delta`` is signed so that > 0 means better (``new - prev`` for higher-is-better metrics,
``prev - new`` for lower-is-better). ``prev`` is the episode's previous metric, or the starter's
score on the reward rows for the first metric of an episode (0.5 when no starter score is known).
``alpha = k / scale`` with the task's reward scale (:mod:`mlagent_env.tasks.scale`: every task has
one, with its source), so that a gain of half the scale earns ``sigmoid(k / 2)`` on every task.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

RewardKind = Literal["format_error", "error", "non_edit", "corner_case", "metric"]
REWARD_KINDS: tuple[RewardKind, ...] = ("format_error", "error", "non_edit", "corner_case", "metric")


class RewardConfig(BaseModel):
    """Every constant of the unified reward."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format_error: float = Field(0.0, description="Reward of a reply that is not one valid action.")
    error: float = Field(0.0, description="Reward of a valid action that failed.")
    non_edit: float = Field(0.5, description="Reward of a valid action that does not change the metric.")
    corner_case: float = Field(0.5, description="Reward of a timeout or an out-of-memory kill.")
    k: float = Field(
        5.0, gt=0, description="alpha = k / the task's reward scale: a gain of half the scale earns sigmoid(k / 2)."
    )


def sigmoid(x: float) -> float:
    """Numerically stable logistic function."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def task_alpha(scale: float, config: RewardConfig) -> float:
    """The factor of metric deltas for a task with reward scale ``scale`` (finite, > 0)."""
    if not (math.isfinite(scale) and scale > 0):
        raise ValueError(f"a reward scale must be a finite number > 0, got {scale}")
    return config.k / scale


def signed_delta(new: float, prev: float, higher_is_better: bool) -> float:
    """How much better ``new`` is than ``prev`` (> 0 better, < 0 worse)."""
    return new - prev if higher_is_better else prev - new


def metric_reward(
    new: float,
    prev: float | None,
    *,
    higher_is_better: bool,
    alpha: float,
    config: RewardConfig,
) -> tuple[RewardKind, float]:
    """Reward of a run that produced metric ``new``. A non-finite ``new`` is an ``error``; with no
    finite ``prev`` to compare against, the delta is 0 (reward sigmoid(0) = 0.5)."""
    if not math.isfinite(new):
        return "error", config.error
    if prev is None or not math.isfinite(prev):
        return "metric", sigmoid(0.0)
    return "metric", sigmoid(alpha * signed_delta(new, prev, higher_is_better))


def flat_reward(kind: RewardKind, config: RewardConfig) -> float:
    """Reward of every kind except ``metric``."""
    if kind == "metric":
        raise ValueError("use metric_reward for the 'metric' kind")
    return float(getattr(config, kind))
