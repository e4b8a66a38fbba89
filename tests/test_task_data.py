"""Every registered task, on its fixture (or bundled data): preparation is deterministic and
leak-free, the answers score best, the sample submission has a pinned score, broken submissions
raise InvalidSubmission, and the unmodified starter runs in the sandbox and its submission grades."""

from __future__ import annotations

import math
from pathlib import Path

import gymnasium as gym
import pandas as pd
import pytest

import mlagent_env  # noqa: F401
from mlagent_env.agents import ScriptedPolicy, baseline_replies
from mlagent_env.errors import InvalidSubmission
from mlagent_env.runner import run_episode
from mlagent_env.tasks import get_task, list_tasks
from mlagent_env.tasks.data import TaskPaths, read_answers
from mlagent_env.tasks.grading import read_csv_submission
from mlagent_env.tasks.metrics import METRICS
from task_support import fixture_module, make_raw, prepare_from_raw

TASK_IDS = [s.id for s in list_tasks()]
# Sample-submission scores of the tasks that use their real bundled data (fixture tasks pin
# theirs in fixture.py as SAMPLE_SUBMISSION_SCORE).
PINNED_SAMPLE_SCORES = {
    "digits": 0.0983302, "diabetes": 67.911278, "breast-cancer": 0.5, "wine": 0.339623, "penguins": 0.446602,
    "cars-mpg": 7.145378, "affairs": 0.5, "faces": 0.5,
}
HEAVY = {s.id for s in list_tasks() if s.source != "offline"}

_cache: dict[str, tuple[TaskPaths, Path]] = {}


@pytest.fixture(scope="session")
def prepared(tmp_path_factory: pytest.TempPathFactory):
    def get(task_id: str) -> tuple[TaskPaths, Path]:
        if task_id not in _cache:
            base = tmp_path_factory.mktemp(f"data-{task_id}")
            raw = make_raw(task_id, base / "raw-src")
            _cache[task_id] = (prepare_from_raw(task_id, raw, base / "root"), base)
        return _cache[task_id]

    return get


def _answers(task_id: str, paths: TaskPaths) -> pd.DataFrame:
    return read_answers(paths.answers, get_task(task_id))


@pytest.mark.parametrize("task_id", TASK_IDS)
def test_prepare_is_deterministic_and_leak_free(task_id: str, prepared, tmp_path: Path) -> None:
    paths, base = prepared(task_id)
    again = prepare_from_raw(task_id, base / "raw-src", tmp_path / "root2")
    import json

    m1, m2 = (json.loads(p.manifest.read_text()) for p in (paths, again))
    assert m1["public"] == m2["public"] and m1["private"] == m2["private"]
    assert m1["n_reward"] + m1["n_final"] == m1["n_test"] and m1["n_reward"] > 0 and m1["n_final"] > 0
    assert m1["fixture"] == (fixture_module(get_task(task_id)) is not None)
    # no private file is copied into public, and no public table pairs a test id with an answer
    private_bytes = {p.read_bytes() for p in paths.private.iterdir()}
    for p in paths.public.rglob("*"):
        if p.is_file():
            assert p.read_bytes() not in private_bytes, f"{p} duplicates a private file"
    spec = get_task(task_id).spec
    answers = _answers(task_id, paths)
    test_ids = set(answers[spec.id_column])
    for p in paths.public.rglob("*.csv"):
        cols = pd.read_csv(p, nrows=0).columns
        if spec.id_column in cols and p.name != "sample_submission.csv":
            ids = set(pd.read_csv(p, usecols=[spec.id_column], dtype={spec.id_column: str})[spec.id_column])
            if ids & test_ids:
                assert not set(spec.target_columns) & set(cols), f"{p.name} holds test ids with targets"
    reward = read_answers(paths.answers_reward, get_task(task_id))
    final = read_answers(paths.answers_final, get_task(task_id))
    assert set(reward[spec.id_column]).isdisjoint(final[spec.id_column])
    assert set(reward[spec.id_column]) | set(final[spec.id_column]) == test_ids


@pytest.mark.parametrize("task_id", TASK_IDS)
def test_answers_score_best_and_sample_is_pinned(task_id: str, prepared) -> None:
    paths, _ = prepared(task_id)
    task = get_task(task_id)
    answers = _answers(task_id, paths)
    best = METRICS[task.spec.metric.name].best
    assert task.grade(answers, answers) == pytest.approx(best)
    sample = read_csv_submission(paths.public / "sample_submission.csv", task.spec)
    fixture = fixture_module(task)
    pinned = fixture.SAMPLE_SUBMISSION_SCORE if fixture is not None else PINNED_SAMPLE_SCORES[task_id]
    assert task.grade(sample, answers) == pytest.approx(pinned, rel=1e-4, abs=1e-6)


@pytest.mark.parametrize("task_id", TASK_IDS)
def test_broken_submissions_raise(task_id: str, prepared) -> None:
    paths, _ = prepared(task_id)
    task = get_task(task_id)
    spec = task.spec
    answers = _answers(task_id, paths)
    sample = read_csv_submission(paths.public / "sample_submission.csv", spec)
    with pytest.raises(InvalidSubmission, match="missing"):
        task.grade(sample.iloc[1:], answers)
    with pytest.raises(InvalidSubmission, match=spec.target_columns[0]):
        task.grade(sample.drop(columns=[spec.target_columns[0]]), answers)
    dup = pd.concat([sample, sample.iloc[:1]])
    with pytest.raises(InvalidSubmission, match="more than once"):
        task.grade(dup, answers)
    if METRICS[spec.metric.name].values in ("numbers", "non_negative", "probabilities", "integers"):
        bad = sample.copy()
        bad[spec.target_columns[0]] = bad[spec.target_columns[0]].astype(float)
        bad.loc[bad.index[0], spec.target_columns[0]] = math.nan
        with pytest.raises(InvalidSubmission):
            task.grade(bad, answers)


@pytest.mark.parametrize(
    "task_id", [pytest.param(t, marks=pytest.mark.slow) if t in HEAVY else t for t in TASK_IDS]
)
def test_starter_runs_in_sandbox_and_grades(task_id: str, prepared) -> None:
    paths, base = prepared(task_id)
    spec = get_task(task_id).spec
    env = gym.make(f"mlagent/{task_id}", sandbox="local", data_dir=paths.root, max_steps=5, cpus=1)
    try:
        result = run_episode(env, ScriptedPolicy(baseline_replies(spec.starter_script, spec.submission_file)), seed=0)
    finally:
        env.close()
    kinds = [s.reward_kind for s in result.steps]
    assert kinds[2] == "metric", f"the starter run did not produce a graded submission: {kinds}"
    assert result.final_score is not None and math.isfinite(result.final_score), result.final_error
