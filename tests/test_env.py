"""The Gymnasium contract of MLAgentEnv: registration, spaces, check_env, the 5-tuple and its
info keys, termination, truncation by steps and by time, the final score, snapshots."""

from __future__ import annotations

import json

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

import mlagent_env
from mlagent_env import actions as A
from mlagent_env.env import EnvState, MLAgentEnv

STEP_INFO_KEYS = {"action", "valid", "reward_kind", "metric", "best_metric", "exec", "elapsed_s", "prompt", "messages", "step"}


@pytest.fixture
def env(data_dir):
    e = gym.make("mlagent/digits", sandbox="local", data_dir=data_dir, max_steps=10)
    yield e
    e.close()


def test_every_task_is_registered() -> None:
    ids = {s.id for s in mlagent_env.list_tasks()}
    assert {"digits", "diabetes", "breast-cancer"} <= ids
    for task_id in ids:
        assert f"mlagent/{task_id}" in gym.registry
    assert mlagent_env.register_tasks() == [f"mlagent/{t}" for t in sorted(ids)]  # idempotent


def test_make_takes_the_documented_kwargs(data_dir) -> None:
    env = gym.make(
        "mlagent/diabetes", sandbox="local", max_steps=3, time_limit_s=100, exec_timeout_s=7,
        reward_config={"non_edit": 0.4}, data_dir=data_dir, history_window=2, memory_mb=1024,
    )
    inner = env.unwrapped
    assert isinstance(inner, MLAgentEnv)
    assert (inner.max_steps, inner.time_limit_s, inner.exec_timeout_s) == (3, 100, 7)
    assert inner.reward_config.non_edit == 0.4
    env.reset(seed=0)
    _, reward, *_ = env.step(A.ListFiles().to_reply())
    assert reward == 0.4
    env.close()


def test_prompt_style_is_checked_and_reported(data_dir) -> None:
    with pytest.raises(ValueError, match="prompt_style"):
        gym.make("mlagent/diabetes", sandbox="local", data_dir=data_dir, prompt_style="tiny")
    env = gym.make("mlagent/diabetes", sandbox="local", data_dir=data_dir, prompt_style="compact")
    try:
        _, info = env.reset(seed=0)
        assert info["prompt_style"] == "compact" and "Action Input: {\"dir_path\": \".\"}" in info["messages"][0]["content"]
        *_, info = env.step(A.ListFiles().to_reply("compact"))
        assert info["prompt_style"] == "compact" and info["valid"]
        *_, info = env.step(A.WriteFile(file_name="big.txt", content="x" * 300_000).to_reply("compact"))
        assert info["valid"] and len(info["prompt"]) < 20_000  # the payload is cut in the history, not repeated
    finally:
        env.close()


def test_spaces_are_text(env) -> None:
    assert isinstance(env.observation_space, gym.spaces.Text)
    assert isinstance(env.action_space, gym.spaces.Text)
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert env.observation_space.max_length >= 100_000


def test_check_env_passes(env) -> None:
    check_env(env.unwrapped, skip_render_check=False)


def test_reset_observation_is_the_prompt(env) -> None:
    obs, info = env.reset(seed=0)
    assert obs == info["prompt"]
    assert "Research Problem" in obs and "Execute Script" in obs and "train.py" in obs
    assert [m["role"] for m in info["messages"]] == ["system", "user"]
    assert info["fixture_data"] is False
    assert info["reward_scale"]["source"] == "measured" and info["reward_scale"]["value"] > 0


def test_step_returns_the_five_tuple_with_info(env) -> None:
    env.reset(seed=0)
    out = env.step(A.ExecuteScript(script_name="train.py").to_reply())
    assert len(out) == 5
    obs, reward, terminated, truncated, info = out
    assert STEP_INFO_KEYS <= set(info)
    assert info["reward_kind"] == "metric" and info["valid"] is True
    assert 0.0 <= reward <= 1.0 and isinstance(reward, float)
    assert info["metric"] == pytest.approx(env.unwrapped.task.spec.baseline_reward_score, abs=1e-4)
    assert reward == pytest.approx(0.5, abs=1e-3)  # the unmodified starter does not move the metric
    assert info["exec"]["exit_code"] == 0 and info["exec"]["duration_s"] > 0
    assert info["elapsed_s"] == pytest.approx(info["exec"]["duration_s"])
    assert "validation accuracy" in obs
    assert (terminated, truncated) == (False, False)
    assert "final_score" not in info


def test_improvement_earns_more_than_half(env) -> None:
    env.reset(seed=0)
    env.step(A.ExecuteScript(script_name="train.py"))
    env.step(A.EditScriptSegment(script_name="train.py", start_line_number=15, end_line_number=15,
                                 new_content="from sklearn.svm import SVC\nmodel = SVC(C=10, gamma=0.001)"))
    _, reward, _, _, info = env.step(A.ExecuteScript(script_name="train.py"))
    assert info["reward_kind"] == "metric" and info["metric"] > 0.95 and reward > 0.9
    assert info["best_metric"] == info["metric"]
    env.step(A.UndoEditScript(script_name="train.py"))
    _, reward, _, _, info = env.step(A.ExecuteScript(script_name="train.py"))
    assert info["reward_kind"] == "metric" and reward < 0.1  # worse again
    assert info["best_metric"] > info["metric"]


def test_rerun_without_change_is_non_edit(env) -> None:
    env.reset(seed=0)
    env.step(A.ExecuteScript(script_name="train.py"))
    _, reward, _, _, info = env.step(A.ExecuteScript(script_name="train.py"))
    assert (info["reward_kind"], reward, info["metric"]) == ("non_edit", 0.5, None)


def test_final_answer_terminates_with_final_score(env) -> None:
    env.reset(seed=0)
    env.step(A.ExecuteScript(script_name="train.py"))
    _, reward, terminated, truncated, info = env.step(A.FinalAnswer(final_answer="done").to_reply())
    assert (terminated, truncated) == (True, False)
    assert info["final_score"] == pytest.approx(env.unwrapped.task.spec.baseline_score, abs=1e-4)
    assert info["final_error"] is None
    with pytest.raises(gym.error.ResetNeeded):
        env.step(A.ListFiles().to_reply())


def test_final_answer_without_submission_has_no_score(env) -> None:
    env.reset(seed=0)
    _, _, terminated, _, info = env.step(A.FinalAnswer(final_answer="nothing").to_reply())
    assert terminated and info["final_score"] is None and "submission" in info["final_error"]


def test_step_limit_truncates(data_dir) -> None:
    env = gym.make("mlagent/digits", sandbox="local", data_dir=data_dir, max_steps=2)
    env.reset(seed=0)
    assert env.step("nonsense")[3] is False
    obs, _, terminated, truncated, info = env.step(A.ListFiles())
    assert (terminated, truncated) == (False, True)
    assert "final_score" in info and "budget" in obs
    env.close()


def test_time_limit_truncates(data_dir) -> None:
    env = gym.make("mlagent/digits", sandbox="local", data_dir=data_dir, time_limit_s=0.5, exec_timeout_s=10)
    env.reset(seed=0)
    env.step(A.WriteFile(file_name="slow.py", content="import time\ntime.sleep(0.7)\n"))
    _, _, terminated, truncated, info = env.step(A.ExecuteScript(script_name="slow.py"))
    assert (terminated, truncated) == (False, True) and info["elapsed_s"] >= 0.5
    env.close()


def test_history_window_in_prompt(data_dir) -> None:
    env = gym.make("mlagent/digits", sandbox="local", data_dir=data_dir, history_window=2)
    env.reset(seed=0)
    env.step(A.ReadFile(file_name="data/sample_submission.csv"))
    env.step(A.ListFiles(dir_path="data"))
    _, _, _, _, info = env.step("this is not an action")
    prompt = info["prompt"]
    assert "Step 2:" in prompt and "Step 3: (invalid reply)" in prompt and "Step 1:" not in prompt
    assert "Step 4 of 30" in prompt
    env.close()


def test_render_ansi(data_dir) -> None:
    env = gym.make("mlagent/digits", sandbox="local", data_dir=data_dir, render_mode="ansi")
    env.reset(seed=0)
    obs, *_ = env.step(A.ListFiles())
    assert env.render() == obs
    env.close()


def test_unknown_reset_option_is_an_error(env) -> None:
    with pytest.raises(ValueError, match="unknown reset options"):
        env.reset(options={"sate": 1})


def test_ideas_reach_the_prompt(env) -> None:
    obs, _ = env.reset(options={"ideas": ["use an SVM", "standardise pixels"]})
    assert "Ideas you may try:\n- use an SVM\n- standardise pixels" in obs


def test_step_before_reset_is_an_error(data_dir) -> None:
    env = MLAgentEnv("digits", sandbox="local", data_dir=data_dir)
    with pytest.raises(gym.error.ResetNeeded):
        env.step("Action: List Files")


def test_unprepared_kaggle_style_task_needs_prepare(tmp_path) -> None:
    env = MLAgentEnv("digits", sandbox="local", data_dir=tmp_path, auto_prepare=False)
    with pytest.raises(mlagent_env.errors.TaskNotPrepared, match="mlagent-env prepare digits"):
        env.reset()


# ---------------------------------------------------------------------------- snapshots


def test_snapshot_round_trip_after_edits_and_undo(env, data_dir) -> None:
    env.reset(seed=0, options={"ideas": ["an idea"]})
    inner = env.unwrapped
    env.step(A.ExecuteScript(script_name="train.py"))
    env.step(A.WriteFile(file_name="notes/plan.txt", content="try SVM\n"))
    env.step(A.EditScriptSegment(script_name="train.py", start_line_number=1, end_line_number=1, new_content="# edited"))
    env.step(A.EditScriptSegment(script_name="train.py", start_line_number=1, end_line_number=1, new_content="# edited twice"))
    env.step(A.UndoEditScript(script_name="train.py"))
    state = inner.snapshot()
    assert state.step == 5 and state.prev_metric is not None and state.elapsed_s > 0
    assert len(state.history) == 3 and state.backups["train.py"]

    # serialisable, and equal after a JSON round trip
    restored = EnvState.model_validate_json(state.model_dump_json())
    assert restored == state
    json.loads(state.model_dump_json())

    # resume in a fresh env and sandbox: same prompt, same files, same undo stack
    prompt_before = inner.prompt_context()
    other = gym.make("mlagent/digits", sandbox="local", data_dir=data_dir, max_steps=10)
    obs, info = other.reset(options={"state": restored.model_dump_json()})
    assert other.unwrapped._sandbox is not inner._sandbox
    ctx = other.unwrapped.prompt_context()
    assert ctx.history == prompt_before.history and ctx.workspace == prompt_before.workspace
    assert ctx.step == prompt_before.step and ctx.ideas == ["an idea"]
    for path in ("train.py", "notes/plan.txt", "submission.csv"):
        assert other.unwrapped._sandbox.read_file(path) == inner._sandbox.read_file(path)
    assert other.unwrapped._sandbox.read_file("train.py").startswith(b"# edited\n")
    # the undo stack came along: one more undo restores the original starter
    other.step(A.UndoEditScript(script_name="train.py"))
    starter = (inner.task.starter_dir / "train.py").read_bytes()
    assert other.unwrapped._sandbox.read_file("train.py") == starter
    # the submission digest came along: the starter rewrites the same submission, no new metric
    _, reward, _, _, info = other.step(A.ExecuteScript(script_name="train.py"))
    assert (info["reward_kind"], reward) == ("non_edit", 0.5)
    assert other.unwrapped.snapshot().prev_metric == state.prev_metric
    other.close()


def test_state_of_another_task_is_refused(env, data_dir) -> None:
    env.reset(seed=0)
    state = env.unwrapped.snapshot()
    other = gym.make("mlagent/diabetes", sandbox="local", data_dir=data_dir)
    with pytest.raises(ValueError, match="belongs to task 'digits'"):
        other.reset(options={"state": state})
    other.close()
