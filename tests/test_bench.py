"""The benchmark harness and the OpenAI-compatible policy, driven through a real local HTTP
server: retries on server errors, timeouts, invalid replies, token accounting, parallel and
resumable runs, the report and its plots, reproducibility, and the fixture guard."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import pytest

from chat_server import ChatServer
from mlagent_env import actions as A
from mlagent_env.agents import ChatPolicy, PolicyError, PolicySpec, ScriptedPolicy
from mlagent_env.bench import BenchConfig, BenchError, Benchmark
from mlagent_env.runner import run_episode
from mlagent_env.tasks import get_task
from mlagent_env.trajectory import read_records

RUN = A.ExecuteScript(script_name="train.py").to_reply()
FINAL = A.FinalAnswer(final_answer="done").to_reply()


def test_chat_policy_over_a_real_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_KEY", "sk-test")
    with ChatServer(["hello"]) as server:
        policy = ChatPolicy(base_url=server.base_url, model="m", api_key_env="MY_KEY", seed=3, backoff_s=0.01)
        policy.reset("digits", seed=None)
        assert policy.act([{"role": "user", "content": "a b c"}], {}) == "hello"
        assert policy.last_usage() == {"prompt_tokens": 3, "completion_tokens": 1, "finish_reason": "stop"}
        req = server.requests[0]
        assert req["auth"] == "Bearer sk-test" and req["body"]["model"] == "m" and req["body"]["seed"] == 30021


def test_chat_policy_retries_server_errors() -> None:
    with ChatServer([("status", 500), ("status", 429), "ok"]) as server:
        policy = ChatPolicy(base_url=server.base_url, model="m", backoff_s=0.01)
        policy.reset("digits")
        assert policy.act([{"role": "user", "content": "x"}], {}) == "ok"
        assert policy.usage.retries == 2 and len(server.requests) == 3


def test_chat_policy_gives_up_with_a_clear_error() -> None:
    with ChatServer([("status", 503)] * 5) as server:
        policy = ChatPolicy(base_url=server.base_url, model="m", max_retries=2, backoff_s=0.01)
        policy.reset("digits")
        with pytest.raises(PolicyError, match="after 3 attempts.*HTTP 503"):
            policy.act([{"role": "user", "content": "x"}], {})
    with ChatServer([("status", 401)]) as server:
        policy = ChatPolicy(base_url=server.base_url, model="m", backoff_s=0.01)
        with pytest.raises(PolicyError, match="refused the request.*HTTP 401"):
            policy.act([{"role": "user", "content": "x"}], {})


def test_a_timed_out_request_is_not_sent_again() -> None:
    with ChatServer([("sleep", 2.0, "late"), "on time"]) as server:
        policy = ChatPolicy(base_url=server.base_url, model="m", timeout_s=0.5, backoff_s=0.01)
        policy.reset("digits")
        with pytest.raises(PolicyError, match="not re-sent.*\n.*timeout_s"):
            policy.act([{"role": "user", "content": "x"}], {})
        assert len(server.requests) == 1 and policy.usage.retries == 0


def test_unreachable_server_ends_the_episode_cleanly(data_dir: Path) -> None:
    policy = ChatPolicy(base_url="http://127.0.0.1:9/v1", model="m", max_retries=1, backoff_s=0.01, timeout_s=2)
    env = gym.make("mlagent/digits", sandbox="local", data_dir=data_dir)
    result = run_episode(env, policy, seed=0)
    env.close()
    assert result.error and "PolicyError" in result.error and result.final_score is None and result.steps == []


def test_episode_with_an_http_policy_and_invalid_replies(data_dir: Path, tmp_path: Path) -> None:
    script = ["I will now think very hard.", RUN, '{"name": "Execute Script", "arguments": {}}', FINAL]
    with ChatServer(script) as server:
        config = BenchConfig(
            tasks=["digits"], policy=PolicySpec(kind="http", base_url=server.base_url, model="test-model"),
            runs=1, max_steps=10, sandbox="local", allow_readable_answers=True, data_dir=str(data_dir),
        )
        results = Benchmark(config, tmp_path / "out").run(progress=False)
    r = results[0]
    assert r.runs == 1 and r.valid_submissions == 1 and r.mean_steps == 4
    assert r.invalid_action_rate == pytest.approx(0.5)
    baseline = get_task("digits").spec.baseline_score
    assert r.avg == pytest.approx(baseline, abs=1e-4) and r.relative_gain == pytest.approx(0.0, abs=1e-3)
    assert r.prompt_tokens > 1000 and r.completion_tokens > 0
    records = read_records(tmp_path / "out" / "trajectories" / "digits" / "run-0.jsonl")
    assert [x.reward_kind for x in records] == ["format_error", "metric", "format_error", "non_edit"]
    assert all(x.tokens and x.tokens["prompt_tokens"] > 0 and x.policy_s is not None for x in records)
    # the model received the env's prompt as chat messages
    assert "Research Problem" in server.requests[0]["body"]["messages"][1]["content"]


def test_parallel_resumable_reproducible_bench(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "bench"
    config = BenchConfig(tasks=["digits", "diabetes"], policy=PolicySpec(kind="scripted"), runs=2, max_steps=10,
                         parallel=2, sandbox="local", allow_readable_answers=True, data_dir=str(data_dir))
    results = Benchmark(config, out).run(progress=False)
    by_task = {r.task_id: r for r in results}
    assert by_task["digits"].relative_gain > 0.25  # the demo swaps the tree for an SVM
    assert by_task["digits"].success_rate == 1.0 and by_task["diabetes"].success_rate == 0.0
    assert by_task["digits"].scores[0] == by_task["digits"].scores[1]  # same seeds, deterministic policy
    report = (out / "results.md").read_text()
    assert "| digits | accuracy ↑ | 2 | 2 |" in report
    for png in ("scores.png", "rewards.png"):
        assert (out / "plots" / png).stat().st_size > 5000
    assert len(list((out / "trajectories").rglob("*.jsonl"))) == 4

    # resume: only the missing episode runs again
    done = out / "episodes" / "digits" / "run-0.json"
    kept = out / "episodes" / "diabetes" / "run-1.json"
    kept_before = kept.read_text()
    done.unlink()
    again = Benchmark(config, out).run(progress=False)
    assert done.exists() and kept.read_text() == kept_before
    assert [r.scores for r in again] == [r.scores for r in results]

    # another configuration in the same folder is refused
    other = BenchConfig(tasks=["digits"], policy=PolicySpec(kind="baseline"), runs=2, sandbox="local",
                        allow_readable_answers=True, data_dir=str(data_dir))
    with pytest.raises(BenchError, match="another configuration"):
        Benchmark(other, out).run(progress=False)


def test_fixture_data_is_refused(tmp_path: Path) -> None:
    from mlagent_env.tasks import get_task
    from mlagent_env.tasks.data import FIXTURE_MARKER, prepare_task

    raw = tmp_path / "raw"
    raw.mkdir()
    get_task("digits").prepare_module().download(raw)
    (raw / FIXTURE_MARKER).touch()
    prepare_task(get_task("digits"), tmp_path / "root", raw_dir=raw)
    config = BenchConfig(tasks=["digits"], policy=PolicySpec(kind="baseline"), runs=1, sandbox="local", allow_readable_answers=True,
                         data_dir=str(tmp_path / "root"))
    with pytest.raises(BenchError, match="synthetic test fixture"):
        Benchmark(config, tmp_path / "out").run(progress=False)
    config.allow_fixture = True
    assert Benchmark(config, tmp_path / "out2").run(progress=False)[0].runs == 1


def test_cli_bench(data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mlagent_env.cli import main

    code = main(["--data-dir", str(data_dir), "bench", "--tasks", "digits", "--policy", "baseline", "--runs", "1",
                 "--sandbox", "local", "--allow-readable-answers", "true", "--output_dir", str(tmp_path / "o"), "--quiet"])
    assert code == 0
    assert "| digits | accuracy ↑ | 1 | 1 |" in capsys.readouterr().out
    assert json.loads((tmp_path / "o" / "results.json").read_text())[0]["task_id"] == "digits"


def test_scripted_policy_runs_out_into_final_answer() -> None:
    p = ScriptedPolicy([RUN])
    p.reset("digits")
    assert p.act([], {}) == RUN
    assert "Final Answer" in p.act([], {})


def test_resume_checks_each_finished_episode_options(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "b"
    opts = {"digits": [{"ideas": ["a"]}]}
    config = BenchConfig(tasks=["digits"], policy=PolicySpec(kind="baseline"), runs=1, sandbox="local", allow_readable_answers=True,
                         data_dir=str(data_dir), reset_options=opts)
    Benchmark(config, out).run(progress=False)
    # more runs with the same first-run options: resumes, plays only the new run
    more = BenchConfig(tasks=["digits"], policy=PolicySpec(kind="baseline"), runs=2, sandbox="local", allow_readable_answers=True,
                       data_dir=str(data_dir), reset_options={"digits": [{"ideas": ["a"]}, {"ideas": ["b"]}]})
    assert Benchmark(more, out).run(progress=False)[0].runs == 2
    changed = BenchConfig(tasks=["digits"], policy=PolicySpec(kind="baseline"), runs=2, sandbox="local", allow_readable_answers=True,
                          data_dir=str(data_dir), reset_options={"digits": [{"ideas": ["other"]}, {"ideas": ["b"]}]})
    with pytest.raises(BenchError, match="other reset options"):
        Benchmark(changed, out).run(progress=False)


def test_python_factory_policy(data_dir: Path, tmp_path: Path) -> None:
    from mlagent_env.agents import build_policy
    from mlagent_env.errors import MLAgentError

    spec = PolicySpec(kind="python", factory="mlagent_env.agents.scripted:ReplayPolicy",
                      kwargs={"path": str(Path(__file__).parent.parent / "mlagent_env/tasks/digits/demo.jsonl")})
    config = BenchConfig(tasks=["digits"], policy=spec, runs=1, sandbox="local", allow_readable_answers=True, data_dir=str(data_dir))
    assert Benchmark(config, tmp_path / "o").run(progress=False)[0].best > 0.95
    with pytest.raises(MLAgentError, match="cannot load"):
        build_policy(PolicySpec(kind="python", factory="no.such.module:X"), "digits")
