"""Answers are checked against the manifest when they are loaded for grading, and the starter's
measured scores are cached beside the prepared data, keyed by its checksum.

Each test works on its own copy of the prepared offline data, never on the session's.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import gymnasium as gym
import pandas as pd
import pytest

import mlagent_env  # noqa: F401  (registers the ids)
from mlagent_env import actions as A
from mlagent_env.cli import main
from mlagent_env.errors import AnswersChanged
from mlagent_env.tasks import baseline_cache, get_task
from mlagent_env.tasks.data import TaskPaths, task_paths


@pytest.fixture
def own_data(data_dir: Path, tmp_path: Path) -> TaskPaths:
    """A private copy of the prepared digits data."""
    src = task_paths("digits", data_dir)
    shutil.copytree(src.prepared, tmp_path / "prepared" / "digits")
    return task_paths("digits", tmp_path)


def _make(paths: TaskPaths) -> gym.Env:
    return gym.make("mlagent/digits", sandbox="local", data_dir=paths.root, auto_prepare=False)


def _flip_first_label(path: Path) -> None:
    frame = pd.read_csv(path, dtype={"id": str})
    frame.loc[0, "label"] = (int(frame.loc[0, "label"]) + 1) % 10
    frame.to_csv(path, index=False)


@pytest.mark.parametrize("name", ["answers.csv", "answers_reward.csv", "answers_final.csv"])
def test_a_changed_answer_file_is_a_clear_error_not_a_reward(own_data: TaskPaths, name: str) -> None:
    _flip_first_label(own_data.private / name)
    env = _make(own_data)
    with pytest.raises(AnswersChanged) as err:
        env.reset(seed=0)
    message = str(err.value)
    assert str(own_data.private / name) in message
    assert f"mlagent-env --data-dir {own_data.root} prepare digits --force" in message
    env.close()


def test_an_answer_file_without_a_checksum_is_refused(own_data: TaskPaths) -> None:
    manifest = json.loads(own_data.manifest.read_text())
    del manifest["private"]["answers_reward.csv"]
    own_data.manifest.write_text(json.dumps(manifest))
    env = _make(own_data)
    with pytest.raises(AnswersChanged, match="records no checksum"):
        env.reset(seed=0)
    env.close()


def test_grade_command_refuses_changed_answers(own_data: TaskPaths, capsys: pytest.CaptureFixture[str]) -> None:
    submission = own_data.root / "submission.csv"
    shutil.copy(own_data.public / "sample_submission.csv", submission)
    assert main(["--data-dir", str(own_data.root), "grade", "digits", str(submission)]) == 0
    _flip_first_label(own_data.answers_final)
    assert main(["--data-dir", str(own_data.root), "grade", "digits", str(submission)]) == 2
    err = capsys.readouterr().err
    assert "AnswersChanged" in err and "answers_final.csv" in err and "--force" in err


def test_answers_changed_after_loading_do_not_change_the_reward(own_data: TaskPaths) -> None:
    """The env grades with the answers it verified: rewriting them to match a submission (as an
    agent that can reach them would) earns nothing."""
    env = _make(own_data)
    env.reset(seed=0)
    zeros = pd.read_csv(own_data.public / "sample_submission.csv", dtype={"id": str}).assign(label=0)
    pd.read_csv(own_data.answers_reward, dtype={"id": str}).assign(label=0).to_csv(own_data.answers_reward, index=False)
    _, _, _, _, info = env.step(A.WriteFile(file_name="submission.csv", content=zeros.to_csv(index=False)))
    assert info["reward_kind"] == "metric" and info["metric"] < 0.5  # not the 1.0 the forged answers would give
    env.close()


# ---------------------------------------------------------------------------- the measured starter


def test_a_cached_measurement_sets_the_scale_and_the_first_comparison(own_data: TaskPaths) -> None:
    task = get_task("digits")
    path = baseline_cache.save(task, own_data, score=0.5, reward_score=0.6, sandbox="local")
    assert path.parent == own_data.prepared
    env = _make(own_data)
    _, info = env.reset(seed=0)
    scale = info["reward_scale"]
    assert scale["source"] == "measured" and scale["baseline"] == 0.6
    assert scale["value"] == pytest.approx(task.spec.reference_score - 0.5) and str(path) in scale["detail"]
    env.close()


def test_a_measurement_of_other_data_or_a_broken_cache_is_ignored(own_data: TaskPaths) -> None:
    task = get_task("digits")
    baseline_cache.save(task, own_data, score=0.5, reward_score=0.6, sandbox="local")
    assert baseline_cache.load(task, own_data) is not None
    manifest = json.loads(own_data.manifest.read_text())
    manifest["seed_note"] = "prepared again"
    own_data.manifest.write_text(json.dumps(manifest))
    assert baseline_cache.load(task, own_data) is None  # keyed by the data's checksum
    baseline_cache.cache_path(own_data).write_text("{not json")
    assert baseline_cache.load(task, own_data) is None


def test_baseline_command_measures_once_and_info_shows_the_source(
    own_data: TaskPaths, capsys: pytest.CaptureFixture[str]
) -> None:
    root = str(own_data.root)
    assert main(["--data-dir", root, "baseline", "digits"]) == 0
    first = capsys.readouterr().out
    assert "measured and cached in" in first
    assert main(["--data-dir", root, "baseline", "digits"]) == 0
    second = capsys.readouterr().out
    assert second.startswith("cached (") and first.splitlines()[1:] == second.splitlines()[1:]
    assert main(["--data-dir", root, "info", "digits"]) == 0
    info = capsys.readouterr().out
    assert "reward scale" in info and "(measured)" in info and str(baseline_cache.cache_path(own_data)) in info
    assert main(["--data-dir", root, "list", "--details"]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert listing[0].split()[-3:] == ["reward", "scale", "source"]
    sources = [line.split()[-1] for line in listing[1:] if line.strip() and not line.startswith("A gain")]
    assert len(sources) == len(mlagent_env.list_tasks())
    assert set(sources) <= {"measured", "published", "leaderboard"}
