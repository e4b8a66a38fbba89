"""Training and benchmarking never run where agent code can read the private answers, unless the
user opts in; then the reports say so. The refusal comes before any model is loaded (the models
named here do not exist: reaching them would be a different error)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from mlagent_env.readable_answers import READABLE_ANSWERS_NOTE, env_answers_readable
from mlagent_env.sandbox import SandboxSpec
from mlagent_env.sandbox.local import LocalSandbox

pytestmark = pytest.mark.filterwarnings("ignore:mlagent local sandbox")

REFUSED = "can read the tasks' private answers"
WAYS_OUT = ("--sandbox docker", "--sandbox bwrap", "--allow-readable-answers true")


def refusal_line(err: str, prefix: str) -> str:
    """The refusal's line of ``err``: it starts with the command's own name once, then says why and
    names both contained sandboxes and the opt-in with their exact flags."""
    (line,) = [ln for ln in err.splitlines() if REFUSED in ln]
    assert line.startswith(prefix + ": ") and line.count("mlagent-") == line.count("mlagent-env image build") + 1, line
    assert all(way in line for way in WAYS_OUT), line
    return line


def test_sandboxes_say_whether_agent_code_can_read_the_answers(data_dir: Path) -> None:
    with LocalSandbox(SandboxSpec(task_id="digits")) as plain:
        assert plain.answers_readable
    if shutil.which("bwrap"):  # contained local, as root too (tests/test_containment.py attacks it)
        assert not env_answers_readable("digits", sandbox="bwrap", data_dir=str(data_dir))
    assert env_answers_readable("digits", sandbox="local", data_dir=str(data_dir))


@pytest.mark.docker
def test_docker_hides_the_answers(data_dir: Path, slim_image: str) -> None:
    assert not env_answers_readable("digits", sandbox="docker", data_dir=str(data_dir),
                                    sandbox_options={"image": slim_image})


def test_bench_refuses_readable_answers_and_says_so_with_the_opt_in(data_dir: Path, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from mlagent_env.cli import main

    args = ["--data-dir", str(data_dir), "bench", "--tasks", "digits", "--policy", "baseline", "--runs", "1",
            "--max-steps", "2", "--sandbox", "local", "--quiet"]
    assert main([*args, "--output_dir", str(tmp_path / "refused")]) != 0
    refusal_line(capsys.readouterr().err, "mlagent-env bench: ReadableAnswersRefused")
    assert not (tmp_path / "refused" / "episodes").exists()  # no episode was played
    assert main([*args, "--allow-readable-answers", "true", "--output_dir", str(tmp_path / "allowed")]) == 0
    assert (tmp_path / "allowed" / "results.md").read_text().startswith(f"> {READABLE_ANSWERS_NOTE}")
    assert READABLE_ANSWERS_NOTE in capsys.readouterr().err


def test_bench_auto_does_not_silently_land_on_a_leaky_sandbox(data_dir: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    from mlagent_env.cli import main

    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:9")  # no engine answers: auto falls back to local
    with pytest.warns(UserWarning, match="no Docker engine answers"):
        code = main(["--data-dir", str(data_dir), "bench", "--tasks", "digits", "--policy", "baseline", "--runs", "1",
                     "--sandbox", "auto", "--output_dir", str(tmp_path / "auto"), "--quiet"])
    assert code != 0
    refusal_line(capsys.readouterr().err, "mlagent-env bench: ReadableAnswersRefused")


def test_rl_refuses_readable_answers_before_loading_a_model(data_dir: Path, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    from mlagent_env.agents import PolicySpec
    from mlagent_env.bench import BenchConfig, Benchmark
    from mlagent_train.cli import main

    Benchmark(BenchConfig(tasks=["digits"], policy=PolicySpec(kind="scripted"), runs=1, max_steps=1, sandbox="local",
                          allow_readable_answers=True, data_dir=str(data_dir)), tmp_path / "traj").run(progress=False)
    for algo in ("grpo", "ppo"):
        args = ["rl", "--algo", algo, "--model_name_or_path", str(tmp_path / "no-model"), "--trajectories",
                f"[{tmp_path / 'traj' / 'trajectories'}]", "--tasks", "[digits]", "--sandbox", "local",
                "--data_dir", str(data_dir), "--output_dir", str(tmp_path / f"rl-{algo}"), "--use_cpu", "true"]
        assert main(args) == 1
        err = capsys.readouterr().err
        refusal_line(err, "mlagent-train rl")
        assert "cannot load a tokenizer" not in err
        # with the opt-in it goes on, says so, and reaches the (missing) model
        assert main([*args, "--allow_readable_answers", "true"]) == 1
        err = capsys.readouterr().err
        assert READABLE_ANSWERS_NOTE in err and "cannot load a tokenizer" in err
        assert json.loads((tmp_path / f"rl-{algo}" / "rl_config.json").read_text())["allow_readable_answers"]


def test_explore_and_eval_refuse_readable_answers_before_loading_a_model(data_dir: Path, tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from mlagent_train.cli import main

    assert main(["explore", "--tasks", "[digits]", "--sandbox", "local", "--data_dir", str(data_dir),
                 "--embedder", str(tmp_path / "no-embedder"), "--output_dir", str(tmp_path / "explore"), "--quiet"]) == 1
    refusal_line(capsys.readouterr().err, "mlagent-train explore")
    (tmp_path / "empty-model").mkdir()  # a folder, so eval gets as far as its benchmark; loading it would fail
    assert main(["eval", "--model", str(tmp_path / "empty-model"), "--tasks", "[digits]", "--sandbox", "local",
                 "--data_dir", str(data_dir), "--output_dir", str(tmp_path / "eval"), "--quiet"]) == 1
    refusal_line(capsys.readouterr().err, "mlagent-train eval")


def test_bench_explore_eval_and_rl_take_the_same_sandbox_choice(capsys: pytest.CaptureFixture[str]) -> None:
    from mlagent_env.cli import main as env_main
    from mlagent_env.sandbox import SANDBOX_HELP, SANDBOX_KINDS
    from mlagent_train.cli import main as train_main

    commands = [(env_main, "bench", "mlagent-env bench"), (train_main, "explore", "mlagent-train explore"),
                (train_main, "eval", "mlagent-train eval"), (train_main, "rl", "mlagent-train rl")]
    for main, command, prog in commands:
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert " ".join(SANDBOX_HELP.split()) in " ".join(capsys.readouterr().out.split()), command
        assert main([command, "--sandbox", "bwap"]) == 2, command  # a typo is a usage error, before any work
        err = capsys.readouterr().err
        assert err.startswith(f"{prog}: ") and "sandbox must be one of" in err and "bwap" in err, err
        assert all(repr(kind) in err for kind in SANDBOX_KINDS), err


def test_bench_and_rl_run_in_the_bwrap_sandbox_without_the_opt_in(data_dir: Path, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    if not shutil.which("bwrap"):
        pytest.skip("needs bubblewrap (apt-get install bubblewrap)")
    from mlagent_env.cli import main as env_main
    from mlagent_train.cli import main as train_main

    assert env_main(["--data-dir", str(data_dir), "bench", "--tasks", "digits", "--policy", "scripted", "--runs", "1",
                     "--max-steps", "1", "--sandbox", "bwrap", "--output_dir", str(tmp_path / "b"), "--quiet"]) == 0
    report = (tmp_path / "b" / "results.md").read_text()
    assert "sandbox `bwrap`" in report and READABLE_ANSWERS_NOTE not in report
    capsys.readouterr()
    args = ["rl", "--model_name_or_path", str(tmp_path / "no-model"), "--trajectories", str(tmp_path / "b" / "trajectories"),
            "--tasks", "[digits]", "--sandbox", "bwrap", "--data_dir", str(data_dir), "--output_dir", str(tmp_path / "rl"),
            "--num_sandboxes", "1", "--use_cpu", "true"]
    assert train_main(args) == 1
    err = capsys.readouterr().err
    assert "cannot load a tokenizer" in err and REFUSED not in err and READABLE_ANSWERS_NOTE not in err  # past the check
