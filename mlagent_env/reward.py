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
``prev - new`` for lower-is-better). ``prev`` is the episode's previous metric, or the task's
baseline score for the first metric of an episode. ``alpha = k / |reference - baseline|``, so
that closing the whole gap between the starter and the best known score earns ``sigmoid(k)``
on every task.
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
    k: float = Field(5.0, gt=0, description="alpha = k / |reference - baseline|: closing that gap earns sigmoid(k).")
    fallback_alpha: float = Field(
        1.0, gt=0, description="alpha when the task has neither baseline and reference nor a non-zero baseline."
    )


def sigmoid(x: float) -> float:
    """Numerically stable logistic function."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def task_alpha(baseline: float | None, reference: float | None, config: RewardConfig) -> float:
    """Scale of metric deltas for one task: ``k / |reference - baseline|`` when both are known and
    differ; else ``k / |baseline|`` (a relative change) when the baseline is known and non-zero;
    else ``config.fallback_alpha``."""
    if baseline is not None and reference is not None and math.isfinite(baseline) and math.isfinite(reference):
        gap = abs(reference - baseline)
        if gap > 0:
            return config.k / gap
    if baseline is not None and math.isfinite(baseline) and baseline != 0:
        return config.k / abs(baseline)
    return config.fallback_alpha


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
