"""The env on the Docker backend: a whole episode, snapshot/resume across containers, and the
answers out of reach of the agent's commands."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import pytest

from docker_support import ensure_slim_image
from mlagent_env import actions as A
from mlagent_env.agents import ScriptedPolicy
from mlagent_env.runner import run_episode

pytestmark = pytest.mark.docker


@pytest.fixture
def make(data_dir: Path):
    image = ensure_slim_image()
    envs: list[gym.Env] = []

    def build(**kw: object) -> gym.Env:
        env = gym.make("mlagent/digits", sandbox="docker", data_dir=data_dir, sandbox_options={"image": image}, **kw)
        envs.append(env)
        return env

    yield build
    for env in envs:
        env.close()


def test_scripted_episode_in_docker(make) -> None:
    result = run_episode(make(), ScriptedPolicy.for_task("digits"), seed=0)
    assert [s.reward_kind for s in result.steps][4] == "metric"
    assert result.final_score is not None and result.final_score > 0.95


def test_snapshot_resumes_in_a_new_container(make) -> None:
    env = make()
    env.reset(seed=0)
    env.step(A.ExecuteScript(script_name="train.py"))
    env.step(A.WriteFile(file_name="notes.txt", content="hello"))
    state = env.unwrapped.snapshot()
    other = make()
    other.reset(options={"state": state})
    assert other.unwrapped._sandbox.container_id != env.unwrapped._sandbox.container_id
    obs, *_ = other.step(A.ReadFile(file_name="notes.txt"))
    assert obs == "hello"
    assert other.unwrapped.snapshot().prev_metric == state.prev_metric


def test_answers_are_not_reachable(make, data_dir: Path) -> None:
    env = make()
    env.reset(seed=0)
    rows = (data_dir / "prepared" / "digits" / "private" / "answers_final.csv").read_text().splitlines()[1:]
    answers = [r for r in rows if not r.endswith(",0")][:3]
    pattern = "\\|".join(answers)
    code = (
        "import os, subprocess\n"
        f"print(os.path.exists({str(data_dir)!r}))\n"
        f"cmd = 'find / -xdev -name \"answers*\" 2>/dev/null | head; grep -rlx \"{pattern}\" /home /tmp /opt /srv /mnt 2>/dev/null | grep -v probe.py | head'\n"
        "hits = subprocess.run(['sh', '-c', cmd], capture_output=True, text=True).stdout\n"
        "print('HITS', hits.strip() or 'none')\n"
        "print(sorted(os.listdir('data')))\n"
    )
    env.step(A.WriteFile(file_name="probe.py", content=code))
    obs, *_ = env.step(A.ExecuteScript(script_name="probe.py"))
    assert "False" in obs and "HITS none" in obs and "'train.csv'" in obs
    for line in answers:  # no answer row appears anywhere the agent can read
        assert line not in obs


def test_reset_takes_containers_from_a_warm_pool(data_dir: Path) -> None:
    from mlagent_env.sandbox.pool import WarmPool

    image = ensure_slim_image()
    pool = WarmPool(size=1)
    env = gym.make("mlagent/digits", sandbox="docker", data_dir=data_dir,
                   sandbox_options={"image": image, "pool": pool})
    try:
        for _ in range(3):
            env.reset(seed=0)
            obs, *_ = env.step(A.ExecuteScript(script_name="train.py"))
            assert "validation accuracy" in obs
            env.step(A.WriteFile(file_name="scratch.txt", content="from the previous episode"))
        env.reset(seed=0)
        assert not env.unwrapped._sandbox.exists("scratch.txt"), "a reused container starts clean"
        assert pool.hits >= 1
    finally:
        env.close()
        pool.close()
