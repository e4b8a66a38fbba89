"""The unified reward: every row of the table, both metric directions, the first metric of an
episode, non-finite metrics, and the reward scale of every registered task."""

from __future__ import annotations

import math
import shutil

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
from mlagent_env.tasks import TaskSpec, get_task, list_tasks
from mlagent_env.tasks.scale import MeasuredStarter, NoRewardScale, reward_scale

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


# ---------------------------------------------------------------------------- the scale of every task

TASKS = list_tasks()


@pytest.mark.parametrize("spec", TASKS, ids=[s.id for s in TASKS])
def test_every_task_has_a_finite_scale_with_a_stated_source(spec: TaskSpec) -> None:
    scale = reward_scale(spec)
    assert math.isfinite(scale.value) and scale.value > 0
    assert scale.source in ("measured", "published", "leaderboard") and scale.detail


@pytest.mark.parametrize("spec", TASKS, ids=[s.id for s in TASKS])
def test_a_step_means_the_same_on_every_task(spec: TaskSpec) -> None:
    """Half the scale is a large step up or down, 1% of it a small step up, on every task."""
    scale = reward_scale(spec)
    alpha = task_alpha(scale.value, CFG)
    up = 1.0 if spec.metric.higher_is_better else -1.0  # the direction in which the metric gets better
    prev = scale.baseline if scale.baseline is not None else spec.reference_score
    assert prev is not None

    def reward(new: float) -> float:
        kind, r = metric_reward(new, prev, higher_is_better=spec.metric.higher_is_better, alpha=alpha, config=CFG)
        assert kind == "metric"
        return r

    assert reward(prev + up * scale.value / 2) >= 0.9
    assert reward(prev - up * scale.value / 2) <= 0.1
    assert 0.5 < reward(prev + up * scale.value / 100) < 0.6


def test_the_tasks_cover_both_directions() -> None:
    assert {s.metric.higher_is_better for s in TASKS} == {True, False}


def test_a_measured_starter_refines_the_scale_and_anchors_the_first_run() -> None:
    spec = get_task("home-data-for-ml-course").spec  # published scale, no starter score of its own
    before = reward_scale(spec)
    assert (before.source, before.baseline) == ("published", None)
    after = reward_scale(spec, MeasuredStarter(score=20000.0, reward_score=20500.0, where="a test"))
    assert (after.source, after.value, after.baseline) == ("measured", pytest.approx(1560.0), 20500.0)
    assert "a test" in after.detail


def test_a_starter_at_the_reference_keeps_the_scale_but_anchors_the_first_run() -> None:
    spec = get_task("cifar-10").spec
    after = reward_scale(spec, MeasuredStarter(score=spec.reference_score, reward_score=0.8, where="a test"))
    assert (after.value, after.baseline) == (reward_scale(spec).value, 0.8)


def _spec(**fields: object) -> TaskSpec:
    base = get_task("digits").spec.model_dump(exclude={"baseline_score", "baseline_reward_score", "reference_score"})
    return TaskSpec.model_validate({**base, **fields})


def test_a_task_without_a_scale_is_refused_with_what_to_give() -> None:
    with pytest.raises(NoRewardScale, match="baseline_score and reference_score.*published.*medals"):
        reward_scale(_spec(reference_score=0.9))  # a reference alone says nothing about the scale


def test_published_scores_name_one_score_and_a_source() -> None:
    assert reward_scale(_spec(reference_score=0.9, published={"baseline": 0.8, "source": "a paper"})).source == "published"
    with pytest.raises(ValueError, match="exactly one"):
        _spec(reference_score=0.9, published={"starter": 0.7, "baseline": 0.8, "source": "a paper"})
    with pytest.raises(ValueError):
        _spec(reference_score=0.9, published={"starter": 0.7})  # no source


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan, math.inf])
def test_alpha_refuses_a_scale_that_is_not_finite_and_positive(bad: float) -> None:
    with pytest.raises(ValueError, match="reward scale"):
        task_alpha(bad, CFG)


def test_the_registry_refuses_a_task_folder_without_a_scale(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from mlagent_env.tasks import registry

    folder = tmp_path / "digits"
    shutil.copytree(get_task("digits").root, folder)
    text = (folder / "task.yaml").read_text()
    (folder / "task.yaml").write_text(text.replace("baseline_score:", "# baseline_score:"))
    monkeypatch.setattr(registry, "TASKS_ROOT", tmp_path)
    with pytest.raises(ValueError, match="digits.*has no reward scale"):
        registry._discover.__wrapped__()
