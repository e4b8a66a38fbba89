"""The local RL executor: every reply executed for real from its restored state, with its own
timeout counted from its own start, and one reply's failure scored as that reply's reward."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest

from mlagent_env import actions as A
from mlagent_env.tasks import list_tasks
from mlagent_train.executor import ROLLOUT_TIMEOUT_MARGIN_S, Executor, RolloutTimeoutTooShort
from mlagent_train.local_executor import LocalExecutor
from mlagent_train.rollout import RewardLog

from task_support import start_state

pytestmark = pytest.mark.filterwarnings("ignore:mlagent local sandbox")


def run_script(name: str) -> str:
    return A.ExecuteScript(script_name=name).to_reply()


def test_local_executor_is_an_executor(data_dir: Path) -> None:
    with LocalExecutor(sandbox="local", data_dir=str(data_dir)) as ex:
        assert isinstance(ex, Executor)
        ex.warm_up(["digits"])
        assert ex.answers_readable  # a plain local sandbox: agent code can read every host file


def test_each_reply_timeout_starts_when_its_own_execution_starts(data_dir: Path) -> None:
    """Three 1 s scripts through one sandbox take about 3 s; each has 3 s of its own. One
    deadline per batch (the old executor) scored the third a timeout without it being late."""
    state = start_state(data_dir, {"nap.py": "import time\ntime.sleep(1.0)\nprint('rested')\n"})
    with LocalExecutor(sandbox="local", data_dir=str(data_dir), num_sandboxes=1, timeout_s=3.0,
                       env_kwargs={"exec_timeout_s": 2.5}) as ex:
        t0 = time.monotonic()
        scored = ex.run([state] * 3, [run_script("nap.py")] * 3)
        assert time.monotonic() - t0 > 3.0  # they did queue behind each other
    assert [s.error for s in scored] == [None] * 3
    assert all(s.reward_kind == "non_edit" and "rested" in s.observation for s in scored)


def test_a_reply_past_its_timeout_is_killed_and_scored_corner_case(data_dir: Path, tmp_path: Path) -> None:
    beat = tmp_path / "heartbeat"  # the hung script writes it every 50 ms while it lives
    state = start_state(data_dir, {"hang.py": f"import time\nwhile True:\n    open({str(beat)!r}, 'w').write(repr(time.time()))\n"
                                               "    time.sleep(0.05)\n"})
    with LocalExecutor(sandbox="local", data_dir=str(data_dir), num_sandboxes=2, timeout_s=1.0,
                       env_kwargs={"exec_timeout_s": 1.0}) as ex:
        t0 = time.monotonic()
        hung, quick = ex.run([state, state], [run_script("hang.py"), '{"name": "List Files"}'])
        assert time.monotonic() - t0 < 60
    assert hung.reward_kind == "corner_case" and hung.reward == 0.5 and hung.valid
    assert quick.reward_kind == "non_edit" and quick.error is None
    last = beat.read_text()
    time.sleep(1.0)
    assert beat.read_text() == last, "the timed-out script is still running"


def test_rollout_timeout_below_a_tasks_exec_timeout_is_refused(data_dir: Path) -> None:
    with LocalExecutor(sandbox="local", data_dir=str(data_dir), timeout_s=5.0) as ex:
        with pytest.raises(RolloutTimeoutTooShort, match=r"rollout_timeout_s=5 is below the 120 s that digits"):
            ex.warm_up(["digits"])
    ex = LocalExecutor(sandbox="local")
    for spec in list_tasks():  # the default limit of every task leaves its scripts their whole exec_timeout_s
        assert ex.limit_for(spec.id) == spec.resources.exec_timeout_s + ROLLOUT_TIMEOUT_MARGIN_S
    ex.close()


def test_one_replys_exception_is_an_error_reward_with_its_reason(data_dir: Path, tmp_path: Path) -> None:
    good = start_state(data_dir)
    corrupt = json.loads(good)
    corrupt["workspace"] = base64.b64encode(b"this is not a tar archive").decode()
    states = [good, json.dumps(corrupt), "{not json", good]
    replies = ['{"name": "List Files"}'] * 3 + ["Hello"]
    with LocalExecutor(sandbox="local", data_dir=str(data_dir), num_sandboxes=2) as ex:
        scored = ex.run(states, replies)
        again = ex.run([good], ['{"name": "List Files"}'])[0]  # the executor still works afterwards
    assert [s.reward_kind for s in scored] == ["non_edit", "error", "error", "format_error"]
    assert scored[1].reward == 0.0 and "ReadError" in (scored[1].error or "")
    assert scored[2].error and "JSONDecodeError" in scored[2].error
    assert again.reward_kind == "non_edit"
    RewardLog(tmp_path / "rollouts.jsonl").record(1, scored)
    rows = [json.loads(x) for x in (tmp_path / "rollouts.jsonl").read_text().splitlines()]
    assert [r.get("error") is not None for r in rows] == [False, True, True, False]
    assert "ReadError" in rows[1]["error"]


def test_keep_state_continues_an_episode_from_the_next_state(data_dir: Path) -> None:
    files = {"count.py": "import os\nn = int(open('n').read()) if os.path.exists('n') else 0\n"
                         "open('n', 'w').write(str(n + 1))\nprint('count', n + 1)\n"}
    with LocalExecutor(sandbox="local", data_dir=str(data_dir), env_max_steps=3) as ex:
        (start,) = ex.begin(["digits"], [0])
        state = start_state(data_dir, files)
        first = ex.run([state], [run_script("count.py")], keep_state=True)[0]
        second = ex.run([first.next_state or ""], [run_script("count.py")], keep_state=True)[0]
        third = ex.run([second.next_state or ""], [run_script("count.py")], keep_state=True)[0]
    assert start.task_id == "digits" and start.messages[0]["role"] == "system"
    assert "count 1" in first.observation and "count 2" in second.observation and "count 3" in third.observation
    assert not first.done and not second.done and third.done  # env_max_steps=3
    assert first.next_messages and first.next_messages[-1]["role"] == "user"
