"""The env inside TRL's own multi-turn tool-calling loop: GRPOTrainer(environment_factory=...)
with the tiny local model on CPU, and the adapter's tools called as TRL calls them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("trl")

from mlagent_train.tiny import build_tiny_model  # noqa: E402
from mlagent_train.trl_environment import EPISODE_OVER, MLAgentToolEnv, environment_factory  # noqa: E402

TOOLS = {"list_files", "read_file", "inspect_script_lines", "write_file", "copy_file", "edit_script_segment",
         "undo_edit_script", "execute_script", "validate_submission", "final_answer"}


def test_tools_are_typed_documented_env_steps(data_dir: Path) -> None:
    from transformers.utils import get_json_schema

    env = environment_factory("digits", sandbox="local", data_dir=data_dir, max_steps=4)()
    schema = get_json_schema(env.edit_script_segment)["function"]
    assert schema["parameters"]["properties"]["start_line_number"]["type"] == "integer"
    assert "Replace the lines" in schema["description"]
    assert {name for name in dir(MLAgentToolEnv) if not name.startswith("_")} == TOOLS | {"reset", "get_reward"}

    assert "Research Problem" in env.reset(seed=0)
    assert env.get_reward() == 0.0  # no step yet: what an unparseable reply earns
    assert "validation accuracy" in env.execute_script(script_name="train.py")
    assert "greater than or equal to 1" in env.inspect_script_lines(script_name="train.py", start_line_number=0,
                                                                       end_line_number=2)
    env.final_answer(final_answer="done")
    assert env._kinds == ["metric", "format_error", "non_edit"]
    assert env.get_reward() == pytest.approx((0.5 + 0 + 0.5) / 3, abs=1e-3)  # the env's own unified rewards
    assert env.list_files() == EPISODE_OVER
    env.reset(seed=0)
    assert env._kinds == [] and "train.py" in env.list_files(dir_path=".")


def test_grpo_trainer_plays_the_env_through_its_tool_loop(data_dir: Path, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRL_EXPERIMENTAL_SILENCE", "1")  # environment_factory is experimental in TRL
    from datasets import Dataset
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    from mlagent_train.trl_environment import tool_calling_template

    folder = build_tiny_model(tmp_path / "tiny")
    tokenizer = tool_calling_template(AutoTokenizer.from_pretrained(folder))
    model = AutoModelForCausalLM.from_pretrained(folder)
    args = GRPOConfig(output_dir=str(tmp_path / "grpo"), max_steps=1, per_device_train_batch_size=2, num_generations=2,
                      max_completion_length=24, max_tool_calling_iterations=2, use_cpu=True, report_to="none",
                      logging_steps=1, save_strategy="no", seed=0)
    prompts = Dataset.from_list([{"prompt": [{"role": "user", "content": "Solve the task with the tools.\n\n"}],
                                  "seed": k} for k in range(2)])
    trainer = GRPOTrainer(model=model, args=args, processing_class=tokenizer, train_dataset=prompts,
                          environment_factory=environment_factory("digits", sandbox="local", data_dir=data_dir,
                                                                  max_steps=3))
    assert {tool.__name__ for tool in trainer._env_tools[None]} == TOOLS
    trainer.train()
    logged = {k: v for entry in trainer.state.log_history for k, v in entry.items()}
    assert "rewards/MLAgentToolEnv/mean" in logged  # the env's reward is TRL's reward
    assert 0.0 <= logged["rewards/MLAgentToolEnv/mean"] <= 1.0
    json.dumps(trainer.state.log_history)  # the run logged plain numbers
