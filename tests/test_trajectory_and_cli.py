"""Trajectory logs (write, read back, resume from a recorded state), the CLI, and packaging."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import gymnasium as gym
import pytest

from mlagent_env.agents import ReplayPolicy, ScriptedPolicy
from mlagent_env.cli import main
from mlagent_env.runner import run_episode
from mlagent_env.trajectory import RecordEpisode, read_records

ROOT = Path(__file__).resolve().parent.parent


def test_record_and_read_back(data_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "traj.jsonl"
    env = RecordEpisode(gym.make("mlagent/digits", sandbox="local", data_dir=data_dir), path)
    result = run_episode(env, ScriptedPolicy.for_task("digits"), seed=0)
    env.close()
    records = read_records(path)
    assert len(records) == len(result.steps) == 7
    assert [r.step for r in records] == list(range(1, 8))
    first = records[0]
    assert first.prompt.startswith("You are a helpful research assistant") and first.messages[0]["role"] == "system"
    assert first.state is not None and first.state.step == 0
    assert records[4].reward_kind == "metric" and records[4].metric and records[4].metric > 0.95
    assert records[-1].terminated and records[-1].final_score == pytest.approx(result.final_score)
    assert all(r.policy_s is not None and r.env_s > 0 for r in records)
    assert len({r.episode_id for r in records}) == 1

    # every record's state restores the prompt the policy saw (step-wise RL relies on this)
    replay_env = gym.make("mlagent/digits", sandbox="local", data_dir=data_dir)
    for record in (records[0], records[3], records[5]):
        _, info = replay_env.reset(options={"state": record.state})
        assert info["prompt"].split("Workspace")[0] == record.prompt.split("Workspace")[0]
        assert info["messages"][1]["content"].split("time left")[0] == record.messages[1]["content"].split("time left")[0]
        # the same reply from the same state gives the same reward kind
        _, reward, _, _, step_info = replay_env.step(record.reply)
        assert step_info["reward_kind"] == record.reward_kind
    replay_env.close()

    # the trajectory replays as a policy
    replay = ReplayPolicy(path)
    env2 = gym.make("mlagent/digits", sandbox="local", data_dir=data_dir)
    again = run_episode(env2, replay, seed=0)
    env2.close()
    assert again.final_score == pytest.approx(result.final_score)


def test_read_rejects_garbage(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"not": "a record"}\n')
    with pytest.raises(ValueError, match="bad.jsonl:1"):
        read_records(path)


def test_cli_list_run_grade_baseline(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data-dir", str(data_dir), "list"]) == 0
    out = capsys.readouterr().out
    assert "digits" in out and "accuracy ↑" in out and "mae ↓" in out

    traj = tmp_path / "t.jsonl"
    assert main(["--data-dir", str(data_dir), "run", "--task", "digits", "--trajectory", str(traj)]) == 0
    out = capsys.readouterr().out
    assert "Execute Script         metric" in out and "final score (held-back rows): 0.98" in out
    assert traj.exists()

    sub = tmp_path / "submission.csv"
    sub.write_text((data_dir / "prepared" / "digits" / "public" / "sample_submission.csv").read_text())
    assert main(["--data-dir", str(data_dir), "grade", "digits", str(sub)]) == 0
    out = capsys.readouterr().out
    assert "reward rows" in out and "held-back rows" in out

    assert main(["--data-dir", str(data_dir), "baseline", "diabetes"]) == 0
    out = capsys.readouterr().out
    assert "baseline_score: 53.2511" in out


def test_cli_errors_are_clear(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--data-dir", str(tmp_path), "grade", "no-such-task", "x.csv"]) == 2
    assert "TaskNotFound" in capsys.readouterr().err
    assert main(["--data-dir", str(tmp_path), "grade", "digits", "x.csv"]) == 2
    assert "mlagent-env prepare digits" in capsys.readouterr().err


def test_base_install_pulls_no_torch() -> None:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    base = " ".join(meta["dependencies"]).lower()
    assert "torch" not in base and "transformers" not in base
    assert {"train", "tasks", "dev"} <= set(meta["optional-dependencies"])
    assert set(meta["scripts"]) == {"mlagent-env", "mlagent-train"}
    # importing the env package does not import torch or transformers
    code = "import sys, mlagent_env, mlagent_train; print(sorted(m for m in ('torch', 'transformers', 'docker') if m in sys.modules))"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "[]"


def test_mlagent_train_entry_point() -> None:
    r = subprocess.run([sys.executable, "-m", "mlagent_train.cli", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "explore" in r.stdout and "rl" in r.stdout
