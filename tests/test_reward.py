"""The unified reward: every row of the table, both metric directions, the first metric of an
episode, non-finite metrics, and the per-task alpha."""

from __future__ import annotations

import math

import pytest

from mlagent_env.reward import (
    REWARD_KINDS,
    RewardConfig,
    flat_reward,
    metric_reward,
    sigmoid,
    signed_delta,
    task_alpha,
)

CFG = RewardConfig()


@pytest.mark.parametrize(
    "kind, expected", [("format_error", 0.0), ("error", 0.0), ("non_edit", 0.5), ("corner_case", 0.5)]
)
def test_flat_rows(kind: str, expected: float) -> None:
    assert flat_reward(kind, CFG) == expected  # type: ignore[arg-type]


def test_flat_reward_refuses_metric_kind() -> None:
    with pytest.raises(ValueError):
        flat_reward("metric", CFG)


def test_constants_come_from_the_config() -> None:
    cfg = RewardConfig(format_error=-1.0, error=-0.5, non_edit=0.1, corner_case=0.2)
    assert [flat_reward(k, cfg) for k in REWARD_KINDS if k != "metric"] == [-1.0, -0.5, 0.1, 0.2]
    with pytest.raises(ValueError):
        RewardConfig(k=0)
    with pytest.raises(ValueError):
        RewardConfig(unknown=1)  # type: ignore[call-arg]


def test_sigmoid_is_stable() -> None:
    assert sigmoid(0.0) == 0.5
    assert sigmoid(1000.0) == 1.0
    assert sigmoid(-1000.0) == 0.0
    assert sigmoid(2.0) == pytest.approx(1 / (1 + math.exp(-2)))


@pytest.mark.parametrize("higher, new, prev, better", [(True, 0.9, 0.8, True), (True, 0.7, 0.8, False),
                                                        (False, 10.0, 12.0, True), (False, 14.0, 12.0, False)])
def test_metric_direction(higher: bool, new: float, prev: float, better: bool) -> None:
    kind, r = metric_reward(new, prev, higher_is_better=higher, alpha=3.0, config=CFG)
    assert kind == "metric"
    assert (r > 0.5) == better
    assert r == pytest.approx(sigmoid(3.0 * signed_delta(new, prev, higher)))


def test_no_change_is_neutral() -> None:
    assert metric_reward(0.8, 0.8, higher_is_better=True, alpha=10, config=CFG) == ("metric", 0.5)


def test_first_metric_without_previous_is_neutral() -> None:
    assert metric_reward(0.8, None, higher_is_better=True, alpha=10, config=CFG) == ("metric", 0.5)
    assert metric_reward(0.8, math.nan, higher_is_better=False, alpha=10, config=CFG) == ("metric", 0.5)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_metric_is_an_error(bad: float) -> None:
    assert metric_reward(bad, 0.5, higher_is_better=True, alpha=1, config=CFG) == ("error", 0.0)


def test_alpha_normalises_the_gap_between_baseline_and_reference() -> None:
    # closing the whole starter -> reference gap earns sigmoid(k) on every task, whatever the scale
    for higher, baseline, reference in [(True, 0.5, 0.9), (False, 21459.0, 18000.0), (False, 0.69, 0.45)]:
        alpha = task_alpha(baseline, reference, CFG)
        _, r = metric_reward(reference, baseline, higher_is_better=higher, alpha=alpha, config=CFG)
        assert r == pytest.approx(sigmoid(CFG.k))


def test_alpha_fallbacks() -> None:
    assert task_alpha(2.0, None, CFG) == pytest.approx(CFG.k / 2.0)  # relative change
    assert task_alpha(2.0, 2.0, CFG) == pytest.approx(CFG.k / 2.0)  # no gap: relative change
    assert task_alpha(0.0, None, CFG) == CFG.fallback_alpha
    assert task_alpha(None, None, CFG) == CFG.fallback_alpha
    assert task_alpha(math.nan, 1.0, CFG) == CFG.fallback_alpha
