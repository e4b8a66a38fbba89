"""The offline CPU walkthrough's configs name options that exist, and ``sft`` checks its inputs
in seconds, before any model is loaded or any folder created."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlagent_train.config import load_config
from mlagent_train.evaluate import EvalConfig
from mlagent_train.rl import GRPOStageConfig
from mlagent_train.sft import SFTError, SFTStageConfig, check_model_source

ROOT = Path(__file__).resolve().parent.parent


def test_walkthrough_configs_load_and_chain() -> None:
    configs = ROOT / "examples" / "configs"
    sft = load_config(SFTStageConfig, configs / "cpu_sft.yaml")
    grpo = load_config(GRPOStageConfig, configs / "cpu_grpo.yaml")
    ev = load_config(EvalConfig, configs / "cpu_eval.yaml")
    assert sft.use_cpu and grpo.use_cpu and ev.device == "cpu" and grpo.sandbox == ev.sandbox == "local"
    assert grpo.model_name_or_path == f"{sft.output_dir}/final" and ev.model == f"{grpo.output_dir}/final"
    assert sft.trajectories == grpo.trajectories
    readme = (ROOT / "README.md").read_text()
    for name in ("cpu_sft.yaml", "cpu_grpo.yaml", "cpu_eval.yaml", "python -m mlagent_train.tiny runs/cpu/tiny"):
        assert name in readme


def test_sft_fails_fast_on_missing_inputs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mlagent_train.cli import main

    out = tmp_path / "sft"
    assert main(["sft", "--trajectories", str(tmp_path / "none"), "--output_dir", str(out)]) == 1
    assert "record some first" in capsys.readouterr().err and not out.exists()

    (tmp_path / "t").mkdir()
    (tmp_path / "t" / "run-0.jsonl").write_text("")
    # a hub id that is not cached, with the hub switched off (the tests run with HF_HUB_OFFLINE=1)
    assert main(["sft", "--trajectories", str(tmp_path / "t"), "--output_dir", str(out),
                 "--model_name_or_path", "nobody/not-a-cached-model"]) == 1
    assert "neither a local model folder nor in the hub cache" in capsys.readouterr().err and not out.exists()
    with pytest.raises(SFTError, match="without config.json"):
        check_model_source(str(tmp_path))
