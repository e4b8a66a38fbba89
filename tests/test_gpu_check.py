"""The GPU check's CPU dry run (``benchmarks/gpu_check.py --profile tiny``): every stage runs one
step through the project's own trainers and executor, and the JSON holds every figure that the
device run reports, so that the script cannot rot between device sessions."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

pytest.importorskip("trl")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import gpu_check  # noqa: E402

FIGURES = {
    "sft": ["tokens_per_s", "step_s_median", "tokens", "example_tokens_mean", "example_tokens_max", "last_loss"],
    "fit": ["tokens_per_s", "step_s_median", "last_loss"],
    "grpo": ["states_per_hour", "generation_share", "execution_share", "valid_share", "executed_share", "replies"],
    "ppo": ["states_per_hour", "generation_share", "execution_share", "valid_share", "executed_share", "replies"],
    "policy": ["tokens_per_s", "new_tokens", "prompt_tokens"],
    "lora_7b": ["tokens_per_s", "step_s_median", "trainable_parameters"],
}


@pytest.mark.slow  # ~40 s of CPU: seven stages, each loading the tiny model into a real trainer
def test_dry_run_runs_every_stage_through_the_real_code_and_reports_every_figure(tmp_path: Path) -> None:
    work, results = tmp_path / "work", tmp_path / "results"
    # sft gets 2 steps and no budget: it must stop cleanly after its first step and say so; fit gets
    # 3 steps and a target loss that its first step already reaches, so it stops there
    rc = gpu_check.main(["--profile", "tiny", "--allow_readable_answers", "true", "--out_dir", str(results),
                         "--work_dir", str(work), "--sft_steps", "2", "--sft_budget_s", "0", "--fit_steps", "3",
                         "--fit_target_loss", "100"])
    assert rc == 0
    [path] = results.glob("gpu_check-*-cpu.json")
    report = json.loads(path.read_text())
    stages = report["stages"]
    assert {k: s["status"] for k, s in stages.items()} == {
        "setup": "done", "sft": "stopped_by_budget", "fit": "done", "grpo": "done", "ppo": "done", "policy": "done",
        "lora_7b": "done"}
    for stage, names in FIGURES.items():
        missing = [n for n in names if stages[stage].get(n) is None]
        assert not missing, f"{stage} lacks {missing}"
        assert "peak_gpu_gib" in stages[stage] or stage == "policy"  # None on the CPU, a number on a GPU
    assert stages["sft"]["steps"] == 1 and stages["sft"]["gradient_checkpointing"] is True
    assert 0 < stages["sft"]["example_tokens_max"] <= stages["sft"]["max_length"]
    assert stages["fit"]["steps"] == 1 and stages["fit"]["reached_target_loss"] is True
    assert (work / "fitted" / "config.json").is_file()
    for algo in ("grpo", "ppo"):
        s = stages[algo]
        assert s["steps"] == 1 and s["replies"] == 2 and s["states"] == 1 and s["answers_readable"] is True
        assert s["generation_s"] > 0 and s["execution_s"] > 0 and sum(s["reward_kinds"].values()) == 2
        assert 0 < s["generation_share"] + s["execution_share"] <= 1
    rows = [json.loads(line) for line in (work / "grpo" / "rollouts.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and {r["step"] for r in rows} == {1}  # written by the env reward's own log
    assert stages["lora_7b"]["lora"] and stages["lora_7b"]["trainable_parameters"] < stages["lora_7b"]["parameters"]
    assert report["allow_readable_answers"] and "READABLE ANSWERS" in report["readable_answers_note"]
    assert report["device"]["name"] == "cpu" and report["config"]["profile"] == "tiny"
    assert report["config"]["sft_steps"] == 2 and report["config"]["grpo_steps"] == 1  # tiny values, overrides kept


def test_refuses_readable_answers_without_the_opt_in_and_skips_what_the_budget_cannot_hold(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert gpu_check.main(["--profile", "tiny", "--out_dir", str(tmp_path)]) == 2
    assert "--allow_readable_answers true" in capsys.readouterr().err
    assert gpu_check.main(["--profile", "tiny", "--allow_readable_answers", "true", "--budget_s", "0",
                           "--out_dir", str(tmp_path), "--work_dir", str(tmp_path / "work")]) == 0
    stages = json.loads(next(tmp_path.glob("gpu_check-*.json")).read_text())["stages"]
    assert stages["setup"]["status"] == "skipped" and "budget" in stages["setup"]["reason"]
    assert all(s["status"] == "skipped" for s in stages.values())
    assert "needs setup" in stages["sft"]["reason"]


def test_timed_executor_times_real_replies_and_refuses_a_batch_past_its_deadline(data_dir: Path) -> None:
    """How PPO's loop, which has no callback, is stopped at its budget: the next batch is refused."""
    import time

    from gpu_check_clock import BudgetSpent, TimedExecutor
    from mlagent_env import actions as A
    from mlagent_train.local_executor import LocalExecutor
    from task_support import start_state

    state = start_state(data_dir)
    with LocalExecutor(sandbox="local", data_dir=str(data_dir), num_sandboxes=2) as inner:
        ex = TimedExecutor(inner, deadline=time.monotonic() + 3600)
        ex.run([state] * 2, [A.ListFiles(dir_path=".").to_reply(), "not an action"])
        assert ex.batches == 1 and ex.exec_s > 0
        assert ex.reply_figures()["valid_share"] == 0.5 and ex.reply_figures()["reward_kinds"] == {
            "non_edit": 1, "format_error": 1}
        ex.deadline = time.monotonic() - 1
        with pytest.raises(BudgetSpent):
            ex.run([state], [A.ListFiles(dir_path=".").to_reply()])
        assert ex.batches == 1 and len(ex.outcomes) == 2  # nothing of the refused batch ran
