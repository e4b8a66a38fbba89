"""``mlagent-train eval``: a local model played in-process (PolicySpec kind python) and a served
model (kind http, against a real local chat-completions server) through the benchmark harness,
with the same table and plots as ``mlagent-env bench``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("transformers")

from chat_server import ChatServer

from mlagent_env import actions as A
from mlagent_env.agents import Policy
from mlagent_env.tasks import list_tasks
from mlagent_train.evaluate import EvalConfig, resolve_tasks, shared_policy
from mlagent_train.tiny import build_tiny_model


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.getbasetemp() / "tiny-qwen2")


def check_bench_folder(out: Path, task: str, runs: int, steps: int) -> dict:
    results = json.loads((out / "results.json").read_text())
    assert [r["task_id"] for r in results] == [task] and results[0]["runs"] == runs
    assert results[0]["mean_steps"] == steps
    assert "| task | metric | runs |" in (out / "results.md").read_text()
    for plot in ("scores.png", "rewards.png"):
        assert (out / "plots" / plot).stat().st_size > 1000
    assert len((out / "trajectories" / task / "run-0.jsonl").read_text().splitlines()) == steps
    return results[0]


def test_eval_plays_the_in_process_model_on_digits(tiny_model: Path, data_dir: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    from mlagent_train.cli import main

    out = tmp_path / "eval"
    args = ["eval", "--model", str(tiny_model), "--tasks", "[digits]", "--runs", "1", "--max_steps", "2",
            "--sandbox", "local", "--allow_readable_answers", "true", "--data_dir", str(data_dir), "--output_dir", str(out), "--max_new_tokens", "16",
            "--device", "cpu", "--quiet"]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "# Benchmark results" in printed and "python:mlagent_train.evaluate:shared_policy" in printed
    result = check_bench_folder(out, "digits", runs=1, steps=2)
    assert result["errors"] == 0 and result["completion_tokens"] > 0
    assert main(args) == 0  # resumable: the finished episode is not played again


def test_eval_plays_a_served_model_through_base_url(data_dir: Path, tmp_path: Path) -> None:
    from mlagent_train.cli import main

    replies = [A.ListFiles(dir_path=".").to_reply(), A.FinalAnswer(final_answer="done").to_reply()]
    out = tmp_path / "served"
    with ChatServer(replies) as server:
        assert main(["eval", "--base-url", server.base_url, "--model", "served-model", "--tasks", "[digits]",
                     "--runs", "1", "--max_steps", "3", "--sandbox", "local", "--allow_readable_answers", "true", "--data_dir", str(data_dir),
                     "--output_dir", str(out), "--quiet"]) == 0
        assert server.requests[0]["body"]["model"] == "served-model"
    result = check_bench_folder(out, "digits", runs=1, steps=2)
    assert result["invalid_action_rate"] == 0.0


def test_task_split_names_and_the_shared_model(tiny_model: Path) -> None:
    held_out = resolve_tasks(["held-out"])
    assert held_out == [s.id for s in list_tasks() if s.split == "held-out"] and held_out
    assert resolve_tasks(["digits", "offline"])[0] == "digits"
    a = shared_policy(str(tiny_model), device="cpu", max_new_tokens=4)
    b = shared_policy(str(tiny_model), device="cpu", max_new_tokens=4)
    assert isinstance(a, Policy) and a is not b and a.policy.model is b.policy.model  # loaded once per process
    with pytest.raises(Exception, match="not a local model folder"):
        from mlagent_train.evaluate import policy_spec

        policy_spec(EvalConfig(model="no/such/folder"))
