"""What a user of a real model server runs into, driven through the real local HTTP server:
server errors explained in one line, settings that reach the request, truncated replies, a bench
whose episodes fail (loud, non-zero, resumable), ``run`` showing the error, and Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chat_server import ChatServer
from mlagent_env import actions as A
from mlagent_env.agents import ChatPolicy, PolicyError
from mlagent_env.cli import main

RUN = A.ExecuteScript(script_name="train.py").to_reply()
FINAL = A.FinalAnswer(final_answer="done").to_reply()
ROOT = Path(__file__).resolve().parent.parent
CONTEXT_400 = ("status", 400, "This model's maximum context length is 2048 tokens. However, you requested 4326 tokens")


@pytest.mark.parametrize("item, hint", [
    (CONTEXT_400, "larger context"),
    (("status", 401, "invalid api key"), "api_key_env"),
    (("status", 404, "The model `nope` does not exist"), "does not serve a model named 'nope'"),
])
def test_server_errors_get_a_one_line_explanation(item: tuple, hint: str) -> None:
    with ChatServer([item]) as server:
        policy = ChatPolicy(base_url=server.base_url, model="nope", backoff_s=0.01)
        with pytest.raises(PolicyError, match=f"refused the request.*\\n  -> .*{hint}"):
            policy.act([{"role": "user", "content": "x"}], {})
        assert len(server.requests) == 1  # a request the user must fix is not retried


def test_settings_reach_the_server_and_streamed_truncation_is_recorded() -> None:
    with ChatServer([("length", "Action: Execute Script and then"), "fine"]) as server:
        policy = ChatPolicy(base_url=server.base_url, model="m", top_p=0.5, max_tokens=7, stream=True,
                            extra_body={"response_format": {"type": "json_object"}})
        assert policy.act([{"role": "user", "content": "x"}], {}) == "Action: Execute Script and then"
        assert policy.last_usage()["finish_reason"] == "length" and policy.usage.truncated == 1
        assert policy.last_usage()["completion_tokens"] == 5
        body = server.requests[0]["body"]
        assert body["top_p"] == 0.5 and body["max_tokens"] == 7 and body["stream"] is True
        assert body["response_format"] == {"type": "json_object"}
        assert policy.act([{"role": "user", "content": "x"}], {}) == "fine"
        assert policy.last_usage()["finish_reason"] == "stop"


def _bench(data_dir: Path, out: Path, url: str, *more: str) -> list[str]:
    return ["--data-dir", str(data_dir), "bench", "--tasks", "digits", "--policy", "http", "--policy.base-url", url,
            "--policy.model", "m", "--policy.retries", "0", "--runs", "2", "--max_steps", "4", "--sandbox", "local", "--allow_readable_answers", "true",
            "--output_dir", str(out), "--quiet", *more]


def test_a_bench_whose_episodes_fail_is_loud_and_resumes_them(data_dir: Path, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "bench"
    with ChatServer([], default=None) as server:  # every request: HTTP 500 "script exhausted"
        server.script = [CONTEXT_400, CONTEXT_400]
        assert main(_bench(data_dir, out, server.base_url)) == 1
    captured = capsys.readouterr()
    assert "digits: 2 of 2 episodes ended in an error" in captured.err
    assert "2 x PolicyError" in captured.err and "larger context" in captured.err
    assert "every episode of digits failed" in captured.err
    report = (out / "results.md").read_text()
    assert "| digits | accuracy ↑ | 2 | 0 | 2 | n/a |" in report and "ended in an error" in report

    # the server is fixed (and moved): the same command plays the errored episodes again
    script = [("length", "I think"), RUN, FINAL, RUN, FINAL]
    with ChatServer(script) as server:
        assert main(_bench(data_dir, out, server.base_url)) == 0
    captured = capsys.readouterr()
    assert "ended in an error" not in captured.err
    report = (out / "results.md").read_text()
    assert "| digits | accuracy ↑ | 2 | 2 | 0 |" in report
    assert "| 1 | " in report.split("| digits |")[1]  # one truncated reply
    assert "sandbox `local`" in report and "2 runs per task" in report


def test_run_prints_the_error_that_stopped_it(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with ChatServer([RUN, CONTEXT_400]) as server:
        code = main(["--data-dir", str(data_dir), "run", "--task", "digits", "--policy", "http",
                     "--policy.base_url", server.base_url, "--policy.model", "m"])
    assert code == 1
    err = capsys.readouterr().err
    assert "stopped after 1 steps" in err and "maximum context length" in err and "larger context" in err


def test_unknown_task_is_a_clean_error_with_a_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--task", "cifar10"]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'cifar-10'" in err and "Traceback" not in err


def test_ctrl_c_stops_a_bench_within_seconds_and_leaves_it_resumable(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "bench"
    with ChatServer([("sleep", 60.0, RUN)] * 2) as server:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        proc = subprocess.Popen([sys.executable, "-m", "mlagent_env.cli", *_bench(data_dir, out, server.base_url)],
                                env=env, stderr=subprocess.PIPE, text=True)
        try:
            while not server.requests:  # the episode is waiting for the model
                assert proc.poll() is None
                time.sleep(0.1)
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=30)  # far less than the 60 s the model would take
        finally:
            proc.kill()
    assert proc.returncode == 130
    assert "Run the same command again to resume" in err
    assert not list(out.glob("episodes/*/*.json"))  # the stopped episode is not marked done


def test_plots_read_at_a_glance() -> None:
    from mlagent_env.plots import marker, pyplot, readable_axes

    plt = pyplot()
    fig, ax = plt.subplots()
    ax.plot([1, 2], [0.5 + 1e-6, 0.5 + 2e-6], marker=marker(2))
    readable_axes(ax)
    fig.canvas.draw()
    assert ax.yaxis.get_offset_text().get_text() == ""  # no "1e-6+5e-1"
    assert all(float(t).is_integer() for t in ax.get_xticks())  # steps are counted in whole numbers
    assert ax.lines[0].get_marker() == "o" and marker(100) is None
    plt.close(fig)


def test_report_states_its_conventions(data_dir: Path, tmp_path: Path) -> None:
    from mlagent_env.agents import PolicySpec
    from mlagent_env.bench import BenchConfig, Benchmark

    config = BenchConfig(tasks=["digits"], policy=PolicySpec(kind="baseline"), runs=1, max_steps=3, sandbox="local",
                         allow_readable_answers=True,
                         data_dir=str(data_dir))
    Benchmark(config, tmp_path / "b").run(progress=False)
    again = Benchmark(config, tmp_path / "b")
    again.run(progress=False)
    report = (tmp_path / "b" / "results.md").read_text()
    assert "1 run per task" in report and "sandbox `local`" in report
    assert "Resumed: 1 episode was already done in this folder" in report
    assert "avg@K counts a run without a valid submission as the baseline score" in report
    assert "| n/a |" in report  # digits has no medal thresholds: medals n/a, not 0/0/0
    assert "-0.0%" not in report
