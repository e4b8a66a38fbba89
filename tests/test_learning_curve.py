"""``benchmarks/learning_curve.py`` without running a model: every stage it plans is a command the
project's CLIs accept, with the benchmark's budgets in the resolved config; GRPO and episode-wise
PPO get the same budget of executed replies; a folder is not resumed under other settings. The
stages themselves run in ``test_real_model.py`` (slow) and in the benchmark."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def curve():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("learning_curve", ROOT / "benchmarks" / "learning_curve.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["learning_curve"] = module  # dataclasses resolve their annotations through it
    spec.loader.exec_module(module)
    return module


def _resolved(argv: list[str]) -> dict:  # type: ignore[type-arg]
    """The config a stage command resolves to (its CLI's --print-config, in this process)."""
    assert argv[1:2] == ["-m"]
    if argv[2] == "mlagent_train.cli":
        from mlagent_train.cli import main
    else:
        from mlagent_env.cli import main
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main([*argv[3:], "--print-config"]) == 0
    return json.loads(buf.getvalue())


@pytest.mark.parametrize("profile", ["quick", "full"])
def test_every_planned_stage_is_a_command_the_clis_accept(curve, profile: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cfg = curve.CurveConfig(profile=profile, sandbox="local", allow_readable_answers=True)
    b = curve.budget_of(cfg)
    stages = curve.plan(cfg, b, tmp_path, tmp_path / "base")
    names = [s.name for s in stages]
    assert names[:4] == ["expert", "eval-base", "sft", "eval-sft"]
    assert names[4:] == [n for step in b.grpo_steps for n in (f"grpo-{step}", f"eval-grpo-{step}")] + \
        [n for it in b.ppo_iterations for n in (f"ppo-{it}", f"eval-ppo-{it}")]
    for stage in stages:
        resolved = _resolved(stage.argv)
        if stage.name != "sft":  # one prompt in every stage that renders one
            assert (resolved["prompt_style"], resolved["history_window"]) == ("compact", 1)
        if stage.name == "expert":
            assert resolved["expert"] == "expert" and resolved["episodes_per_task"] == b.expert_episodes
            assert resolved["output_dir"] == str(tmp_path / "expert")
        elif stage.kind == "eval":
            assert resolved["runs"] == b.eval_runs and resolved["max_steps"] == b.eval_max_steps
            assert {"digits", "wine", "cars-mpg"} <= set(resolved["tasks"]) and resolved["sandbox"] == "local"
        elif stage.name == "sft":
            assert resolved["max_steps"] == b.sft_max_steps and resolved["model_name_or_path"] == str(tmp_path / "base")
            assert resolved["max_reply_length"] == b.eval_max_new_tokens  # only replies an evaluation can finish
            assert resolved["trajectories"] == [str(tmp_path / "expert" / "expert" / "trajectories")]
        else:
            algo, step = stage.name.split("-")
            assert resolved["algo"] == algo and resolved["max_steps"] == int(step)
            assert resolved["model_name_or_path"] == str(tmp_path / "sft" / "final")
            assert resolved["tasks"] == ["affairs", "breast-cancer", "diabetes", "digits", "penguins"]
            if algo == "ppo":
                assert resolved["mode"] == "episode" and resolved["episode_max_steps"] == b.ppo_episode_steps
    # the same budget of executed replies for both RL runs, evaluated as often
    assert b.grpo_steps[-1] * b.grpo_replies_per_step >= b.rl_replies
    assert b.ppo_iterations[-1] * b.ppo_replies_per_iteration >= b.rl_replies
    assert len(b.grpo_steps) == len(b.ppo_iterations) == b.rl_evals


def test_chunks_end_at_the_budget_and_never_repeat(curve) -> None:  # type: ignore[no-untyped-def]
    assert curve.chunks(48, 4, 2) == [6, 12]
    assert curve.chunks(48, 12, 2) == [2, 4]
    assert curve.chunks(5, 12, 3) == [1]  # one iteration already holds the budget


def test_a_folder_is_not_resumed_under_other_settings(curve, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "state.json").write_text(json.dumps({"identity": {"profile": "full"}, "stages": {}}))
    cfg = curve.CurveConfig(output_dir=str(tmp_path), results_dir=None, sandbox="local", allow_readable_answers=True)
    with pytest.raises(curve.CurveError, match="other settings .*give another output_dir"):
        curve.run_curve(cfg)
    cfg = curve.CurveConfig(output_dir=str(tmp_path / "new"), sandbox="local")
    with pytest.raises(curve.CurveError, match="allow_readable_answers"):
        curve.run_curve(cfg)


def test_an_evaluated_point_becomes_a_row_of_the_table_and_the_plot(curve, tmp_path: Path, data_dir: Path) -> None:  # type: ignore[no-untyped-def]
    from mlagent_env.agents import PolicySpec
    from mlagent_env.bench import BenchConfig, Benchmark

    # a real benchmark folder stands in for the base model's evaluation: the scripted baseline on digits
    Benchmark(BenchConfig(tasks=["digits"], policy=PolicySpec(kind="scripted"), runs=1, max_steps=3, sandbox="local",
                          allow_readable_answers=True, data_dir=str(data_dir)), tmp_path / "eval" / "base").run(progress=False)
    cfg = curve.CurveConfig(held_in=["digits"], held_out=["wine"], trajectories=[str(tmp_path)], sandbox="local",
                            allow_readable_answers=True, output_dir=str(tmp_path), results_dir=str(tmp_path / "results"))
    b = curve.budget_of(cfg)
    stages = curve.plan(cfg, b, tmp_path, tmp_path / "base")
    state = {"stages": {"eval-base": {"done": True, "cpu_s": 90.0, "wall_s": 120.0, "attempts": 1, "command": "x"}},
             "base_model": "scripted", "cpu_source": "cgroup"}
    curve.write_outputs(cfg, b, stages, state, tmp_path, {"held_in": ["digits"], "held_out": ["wine"]})
    table = (tmp_path / "results" / "learning_curve_quick.md").read_text()
    row = next(line for line in table.splitlines() if line.startswith("| base |")).split(" | ")
    # the starter's own score: gain 0 (its sign may show as -0.0%); held-out wine was not evaluated: n/a
    assert row[1:6] == ["base model", "0", "0", "0.000", "100.0%"] and row[6].endswith("0.0%")
    assert row[7:] == ["100.0%", "n/a", "n/a", "n/a", "1.5 |"]
    assert "Not finished: sft, eval-sft" in table and "plain local sandbox" in table
    (point,) = json.loads((tmp_path / "curve.json").read_text())["points"]
    assert point["held_in"]["tasks"]["digits"]["valid_submissions"] == 1
    assert (tmp_path / "results" / "learning_curve_quick.png").stat().st_size > 10_000
