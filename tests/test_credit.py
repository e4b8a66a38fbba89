"""Credit goes to the action that changed the submission, and the reward scale means the same
through the env on a task of each metric direction.

Each test plays a short episode on an offline task and looks only at what a user sees: the
reward, its kind, the metric and the observation of each step.
"""

from __future__ import annotations

import math
from pathlib import Path

import gymnasium as gym
import pandas as pd
import pytest

import mlagent_env  # noqa: F401  (registers the ids)
from mlagent_env import actions as A
from mlagent_env.tasks.data import read_answers, task_paths
from mlagent_env.tasks.registry import get_task

SUB = "submission.csv"


def _make(data_dir: Path, task: str = "digits", **kw: object) -> gym.Env:
    return gym.make(f"mlagent/{task}", sandbox="local", data_dir=data_dir, max_steps=20, **kw)


def _write_submission_script(label: int, then: str = "") -> str:
    """A script that writes a valid constant-label submission, then does ``then``."""
    return (
        "import pandas as pd\n"
        "s = pd.read_csv('data/sample_submission.csv')\n"
        f"s['label'] = {label}\n"
        f"s.to_csv('{SUB}', index=False)\n"
        f"{then}\n"
    )


def _constant_submission(data_dir: Path, label: int) -> str:
    sample = pd.read_csv(task_paths("digits", data_dir).public / "sample_submission.csv")
    sample["label"] = label
    return sample.to_csv(index=False)


def _step(env: gym.Env, action: A.Action) -> tuple[str, float, dict]:
    obs, reward, _, _, info = env.step(action)
    return obs, float(reward), info


# ---------------------------------------------------------------------------- credit


def test_failing_script_that_wrote_a_submission_is_graded_and_a_later_script_earns_nothing_new(data_dir) -> None:
    env = _make(data_dir)
    env.reset(seed=0)
    env.step(A.WriteFile(file_name="crash.py", content=_write_submission_script(3, "raise SystemExit(1)")))
    _, _, info = _step(env, A.ExecuteScript(script_name="crash.py"))
    assert info["exec"]["exit_code"] == 1
    assert info["reward_kind"] == "metric" and info["metric"] is not None
    env.step(A.WriteFile(file_name="other.py", content="print(1)\n"))
    obs, reward, info = _step(env, A.ExecuteScript(script_name="other.py"))
    assert (info["reward_kind"], reward, info["metric"]) == ("non_edit", 0.5, None)
    env.close()


def test_timed_out_script_that_wrote_a_submission_is_graded(data_dir) -> None:
    env = _make(data_dir, exec_timeout_s=3)
    env.reset(seed=0)
    env.step(A.WriteFile(file_name="slow.py", content=_write_submission_script(3, "import time\ntime.sleep(60)")))
    _, _, info = _step(env, A.ExecuteScript(script_name="slow.py"))
    assert info["exec"]["timed_out"] is True
    assert info["reward_kind"] == "metric" and info["metric"] is not None
    env.close()


def test_write_file_copy_file_edit_and_undo_of_the_submission_are_graded(data_dir) -> None:
    env = _make(data_dir)
    env.reset(seed=0)
    _, _, written = _step(env, A.WriteFile(file_name=SUB, content=_constant_submission(data_dir, 1)))
    assert written["reward_kind"] == "metric" and written["metric"] is not None

    right = _reward_rows("digits", data_dir)[0].to_csv(index=False)  # every answer: a perfect submission
    _, reward, info = _step(env, A.WriteFile(file_name="other.csv", content=right))
    assert (info["reward_kind"], reward) == ("non_edit", 0.5)  # not the submission
    _, reward, copied = _step(env, A.CopyFile(source="other.csv", destination=SUB))
    assert (copied["reward_kind"], copied["metric"]) == ("metric", 1.0) and reward > 0.9
    _, reward, info = _step(env, A.CopyFile(source="other.csv", destination=SUB))
    assert (info["reward_kind"], reward, info["metric"]) == ("non_edit", 0.5, None)  # the same file again

    # change the first row's label by a line edit
    first = right.splitlines()[1]
    row = first.rsplit(",", 1)[0] + "," + str((int(first.rsplit(",", 1)[1]) + 1) % 10)
    _, _, edited = _step(env, A.EditScriptSegment(script_name=SUB, start_line_number=2, end_line_number=2, new_content=row))
    assert edited["reward_kind"] == "metric" and edited["metric"] is not None

    _, _, undone = _step(env, A.UndoEditScript(script_name=SUB))
    assert undone["reward_kind"] == "metric" and undone["metric"] == pytest.approx(copied["metric"])
    env.close()


def test_rerun_producing_the_same_invalid_submission_is_an_error_every_time(data_dir) -> None:
    env = _make(data_dir)
    env.reset(seed=0)
    bad = "import pandas as pd\npd.read_csv('data/sample_submission.csv')[['id']].to_csv('submission.csv', index=False)\n"
    env.step(A.WriteFile(file_name="bad.py", content=bad))
    for _ in range(2):
        obs, reward, info = _step(env, A.ExecuteScript(script_name="bad.py"))
        assert (info["reward_kind"], reward, info["metric"]) == ("error", 0.0, None)
        assert "lacks the target column(s) ['label']" in obs  # the grader's message

    # a snapshot carries it: the same re-run from a restored state is an error too
    state = env.unwrapped.snapshot()
    other = _make(data_dir)
    other.reset(options={"state": state})
    obs, reward, info = _step(other, A.ExecuteScript(script_name="bad.py"))
    assert (info["reward_kind"], reward) == ("error", 0.0) and "lacks the target column" in obs
    # a look around is not a run: it does not pay for the invalid file, and is not punished for it
    _, reward, info = _step(other, A.ListFiles())
    assert (info["reward_kind"], reward) == ("non_edit", 0.5)
    other.close()
    env.close()


def test_a_submission_that_is_a_folder_is_an_error_not_an_exception(data_dir) -> None:
    env = _make(data_dir)
    env.reset(seed=0)
    env.step(A.WriteFile(file_name="mk.py", content=f"import os\nos.mkdir('{SUB}')\n"))
    obs, reward, info = _step(env, A.ExecuteScript(script_name="mk.py"))
    assert (info["reward_kind"], reward) == ("error", 0.0) and "cannot read" in obs
    env.close()


# ---------------------------------------------------------------------------- the scale through the env


def _reward_rows(task_id: str, data_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(every test row, the reward rows) of a prepared task, read on the host for crafting submissions."""
    task, paths = get_task(task_id), task_paths(task_id, data_dir)
    return read_answers(paths.answers, task), read_answers(paths.answers_reward, task)


def test_scale_through_the_env_lower_is_better(data_dir) -> None:
    """diabetes (MAE): a submission off by exactly ``c`` on every row has MAE ``c``."""
    env = _make(data_dir, "diabetes")
    _, reset_info = env.reset(seed=0)
    scale = reset_info["reward_scale"]
    assert scale["source"] == "measured" and scale["baseline"] is not None
    every, _ = _reward_rows("diabetes", data_dir)
    spec = get_task("diabetes").spec
    (target,) = spec.target_columns

    def submit(mae: float) -> tuple[float, dict]:
        frame = every.copy()
        frame[target] = frame[target].astype(float) + mae
        _, reward, info = _step(env, A.WriteFile(file_name=SUB, content=frame.to_csv(index=False)))
        assert info["reward_kind"] == "metric" and info["metric"] == pytest.approx(mae)
        return reward, info

    first = scale["baseline"] - scale["value"] / 2  # the first run is compared with the starter
    assert submit(first)[0] >= 0.9
    assert submit(first + scale["value"] / 2)[0] <= 0.1
    assert 0.5 < submit(first + scale["value"] / 2 - scale["value"] / 100)[0] < 0.6
    env.close()


def test_scale_through_the_env_higher_is_better(data_dir) -> None:
    """digits (accuracy): a submission right on exactly ``k`` reward rows has accuracy ``k / n``."""
    env = _make(data_dir, "digits")
    _, reset_info = env.reset(seed=0)
    scale = reset_info["reward_scale"]
    assert scale["baseline"] is not None
    every, reward_rows = _reward_rows("digits", data_dir)
    n = len(reward_rows)
    reward_ids = reward_rows["id"].astype(str).tolist()

    def submit(k: int) -> float:
        frame = every.set_index("id")
        wrong = reward_ids[k:]
        frame.loc[wrong, "label"] = (frame.loc[wrong, "label"].astype(int) + 1) % 10
        _, reward, info = _step(env, A.WriteFile(file_name=SUB, content=frame.reset_index().to_csv(index=False)))
        assert info["reward_kind"] == "metric" and info["metric"] == pytest.approx(k / n)
        return reward

    half, small = scale["value"] / 2 * n, scale["value"] / 100 * n  # in rows
    k1 = math.ceil(scale["baseline"] * n + half)
    k2 = math.floor(k1 - half)
    k3 = k2 + math.ceil(small)  # the smallest gain of at least 1% of the scale
    assert (k3 - k2) / n < scale["value"] / 20, "too few reward rows to resolve a small step"
    assert submit(k1) >= 0.9
    assert submit(k2) <= 0.1
    assert 0.5 < submit(k3) < 0.6
    env.close()
