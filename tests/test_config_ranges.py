"""A config field may declare its range (``option(..., minimum=1)``): a nonsensical number from the
command line or a YAML file is a clear error naming the option, exit 2, before any work starts."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from mlagent_env.config import ConfigError, build_config, load_config


def _config_classes() -> list[type]:
    from mlagent_env.agents.factory import PolicySpec
    from mlagent_env.bench import BenchConfig
    from mlagent_env.runner import RunConfig
    from mlagent_train.evaluate import EvalConfig
    from mlagent_train.explore import ExploreConfig
    from mlagent_train.rl_config import RL_CONFIGS
    from mlagent_train.sft import SFTStageConfig

    return [PolicySpec, BenchConfig, RunConfig, EvalConfig, ExploreConfig, SFTStageConfig, *RL_CONFIGS.values()]


@pytest.mark.parametrize("argv", [
    ["--runs", "-1"], ["--runs", "0"], ["--parallel", "0"], ["--max_steps", "0"], ["--seed", "-3"],
    ["--exec-timeout-s", "-5"], ["--time_limit_s", "0"], ["--exec_timeout_s", "nan"], ["--policy.timeout_s", "0"],
    ["--policy.retries", "-1"], ["--policy.top_p", "1.5"], ["--set", "runs=-2"],
])
def test_bench_refuses_nonsensical_numbers_with_exit_2(argv: list[str], tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from mlagent_env.cli import main

    assert main(["bench", *argv, "--output_dir", str(tmp_path / "b"), "--quiet"]) == 2
    err = capsys.readouterr().err
    name = argv[-1].split("=")[0] if argv[0] == "--set" else argv[0].lstrip("-").split(".")[-1].replace("-", "_")
    assert err.startswith("mlagent-env bench: ConfigError:") and f"{name} must be " in err, err
    assert not (tmp_path / "b").exists()  # refused before anything was written


def test_a_yaml_config_with_zero_episodes_is_refused(tmp_path: Path) -> None:
    from mlagent_env.bench import BenchConfig

    cfg = tmp_path / "bench.yaml"
    cfg.write_text("runs: 0\n")
    with pytest.raises(ConfigError, match=r"bench.yaml: runs must be at least 1, not 0"):
        load_config(BenchConfig, cfg)


def test_training_commands_refuse_nonsensical_numbers_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    from mlagent_train.cli import main

    for argv, name in ((["explore", "--episodes_per_task", "0"], "episodes_per_task"),
                       (["eval", "--parallel", "-4"], "parallel"), (["eval", "--temperature", "-1"], "temperature")):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith(f"mlagent-train {argv[0]}: ") and f"{name} must be " in err, err


def test_every_default_is_in_its_declared_range_and_help_shows_the_range(capsys: pytest.CaptureFixture[str]) -> None:
    for cls in _config_classes():
        defaults = cls()
        build_config(cls, {f.name: getattr(defaults, f.name) for f in dataclasses.fields(cls)})  # no ConfigError
    from mlagent_env.cli import main

    with pytest.raises(SystemExit):
        main(["bench", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "episodes per task (K) (default: 8; at least 1)" in out and "(default: None; above 0)" in out
