"""Step-wise RL on CPU with a tiny local model: the states pool, the executor that runs every reply
for real from its restored state, the TRL reward function, the episode-wise PPO baseline, and the
configs. Learning on the metric reward (GRPO, PPO, a shuffled control, the KL coefficient) is in
``test_train_rl_learning.py``; the executor's timeouts and failures in ``test_train_executor.py``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("trl")

from mlagent_env import actions as A
from mlagent_env.agents import PolicySpec
from mlagent_env.bench import BenchConfig, Benchmark
from mlagent_train.local_executor import LocalExecutor
from mlagent_train.rollout import EnvReward, RewardLog, summarise_rollouts
from mlagent_train.states import StatesPool, StatesPoolError

ROOT = Path(__file__).resolve().parents[1]
VALID = '{"name": "List Files"}'
INVALID = "Hello there."


@pytest.fixture(scope="module")
def trajectories(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """Scripted (demo) episodes with saved states: 2 runs x 3 steps on digits, 1 run on diabetes."""
    out = tmp_path_factory.mktemp("rl-traj")
    for task, runs in (("digits", 2), ("diabetes", 1)):
        Benchmark(BenchConfig(tasks=[task], policy=PolicySpec(kind="scripted"), runs=runs, max_steps=3, sandbox="local",
                              allow_readable_answers=True, data_dir=str(data_dir), allow_fixture=True),
                  out / task).run(progress=False)
    return out


@pytest.fixture(scope="module")
def tiny_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The untrained tiny model: its replies are mostly unparseable, which is all the baseline test needs."""
    from mlagent_train.tiny import build_tiny_model

    return build_tiny_model(tmp_path_factory.getbasetemp() / "tiny-rl-base-untrained")


# ------------------------------------------------------------------------------- states pool


def test_states_pool_defaults_to_held_in_and_weights_tasks_and_steps(trajectories: Path) -> None:
    with pytest.raises(StatesPoolError, match="offline or held-out tasks explicitly"):
        StatesPool.from_trajectories([trajectories])  # digits/diabetes are offline tasks: not used unless listed
    pool = StatesPool.from_trajectories([trajectories], tasks=["digits", "diabetes"])
    assert len(pool.entries) == 9 and pool.tasks == ["diabetes", "digits"]
    assert all(e.messages and json.loads(e.state)["task_id"] == e.task_id for e in pool.entries)
    assert {json.loads(e.state)["step"] for e in pool.entries} == {0, 1, 2}  # the state before step 1, 2, 3
    by_task: dict[str, float] = {}
    for e, w in zip(pool.entries, pool.weights()):
        by_task[e.task_id] = by_task.get(e.task_id, 0.0) + w
    assert by_task["digits"] == pytest.approx(0.5) and by_task["diabetes"] == pytest.approx(0.5)  # 6 vs 3 states
    late = StatesPool.from_trajectories([trajectories], tasks=["digits"], step_power=2.0)
    w = {e.step: wt for e, wt in zip(late.entries, late.weights())}
    assert w[3] > w[2] > w[1]
    draws = late.sample(300, seed=1)
    assert sum(e.step == 3 for e in draws) > sum(e.step == 1 for e in draws)
    ds = pool.to_dataset(8, seed=0)
    assert set(ds.column_names) == {"prompt", "state_index", "task_id", "state_step"} and len(ds) == 8
    assert all(pool.states()[r["state_index"]] == pool.entries[r["state_index"]].state for r in ds)
    assert ds[0]["prompt"][0]["role"] == "system"
    assert StatesPool.from_trajectories([trajectories], tasks=["digits"]).sample(5, seed=3) == \
        StatesPool.from_trajectories([trajectories], tasks=["digits"]).sample(5, seed=3)


def test_stratified_task_balance_puts_every_task_in_every_round_of_draws(trajectories: Path) -> None:
    pool = StatesPool.from_trajectories([trajectories], tasks=["digits", "diabetes"], task_balance="stratified")
    draws = pool.sample(40, seed=0)
    for r in range(0, 40, 2):  # rounds of one state per task: a batch of 2 (or 4, 6 ...) states holds both tasks
        assert {e.task_id for e in draws[r:r + 2]} == {"digits", "diabetes"}
    assert len({e.state for e in draws if e.task_id == "digits"}) > 1  # within a task, still drawn by weight
    independent = StatesPool.from_trajectories([trajectories], tasks=["digits", "diabetes"]).sample(40, seed=0)
    assert any(len({e.task_id for e in independent[r:r + 2]}) == 1 for r in range(0, 40, 2))  # what it prevents


# ------------------------------------------------------------------------------- executing replies


def test_executor_runs_each_reply_from_its_restored_state(trajectories: Path, data_dir: Path) -> None:
    pool = StatesPool.from_trajectories([trajectories], tasks=["digits"])
    first = next(e for e in pool.entries if e.step == 1)
    run = A.ExecuteScript(script_name="train.py").to_reply()
    with LocalExecutor(sandbox="local", data_dir=str(data_dir), num_sandboxes=2) as ex:
        missing = A.ExecuteScript(script_name="missing.py").to_reply()
        outs = ex.run([first.state] * 4, [VALID, INVALID, run, missing])
        assert [o.reward_kind for o in outs] == ["non_edit", "format_error", "metric", "error"]
        assert outs[0].reward == 0.5 and outs[1].reward == 0.0 and 0.0 < outs[2].reward < 1.0
        assert outs[3].reward == 0.0 and outs[3].valid and not outs[1].valid
        # the same state again: the earlier run did not leak into the restored workspace
        again = ex.run([first.state], [run])[0]
        assert again.reward_kind == "metric" and again.reward == pytest.approx(outs[2].reward)


def test_env_reward_is_a_trl_reward_function(trajectories: Path, data_dir: Path, tmp_path: Path) -> None:
    pool = StatesPool.from_trajectories([trajectories], tasks=["digits"])
    rows = pool.to_rows(2, seed=0)
    logged: dict[str, list[float]] = {}
    with LocalExecutor(sandbox="local", data_dir=str(data_dir), num_sandboxes=2) as ex:
        reward = EnvReward(ex, pool.states(), RewardLog(tmp_path / "rollouts.jsonl"))
        completions = [[{"role": "assistant", "content": VALID}], [{"role": "assistant", "content": INVALID}]]
        values = reward(prompts=[r["prompt"] for r in rows], completions=completions,
                        state_index=[r["state_index"] for r in rows],
                        task_id=[r["task_id"] for r in rows], log_metric=lambda k, v: logged.setdefault(k, []).append(v))
    assert values == [0.5, 0.0]
    assert logged["reward_kind/non_edit"] == [0.5] and logged["reward_kind/format_error"] == [0.5]
    assert logged["valid_fraction"] == [0.5]
    summary = summarise_rollouts(tmp_path / "rollouts.jsonl")
    assert summary["counts"]["non_edit"] == 1 and summary["counts"]["format_error"] == 1


# ------------------------------------------------------------------------------- episode-wise baseline


def test_ppo_episode_wise_baseline_trains_every_step_with_its_episodes_return(tiny_base: Path, trajectories: Path,
                                                                              data_dir: Path, tmp_path: Path) -> None:
    from mlagent_train.rl import PPOStageConfig, run_rl

    ep = run_rl(PPOStageConfig(model_name_or_path=str(tiny_base), trajectories=[str(trajectories / "digits")],
                               tasks=["digits"], sandbox="local", allow_readable_answers=True, data_dir=str(data_dir),
                               num_sandboxes=2, num_generations=2, max_completion_length=12, learning_rate=1e-3,
                               prompts_per_step=1, mini_batch_size=4, ppo_epochs=1, save_steps=0, use_cpu=True,
                               report_to="none", seed=0, mode="episode", episode_max_steps=2, beta=0.0, max_steps=1,
                               output_dir=str(tmp_path / "episode")))
    rows = [json.loads(x) for x in (ep.output_dir / "rollouts.jsonl").read_text().splitlines()]
    assert len(rows) == 2 * 2 and {r["step"] for r in rows} == {1}  # 2 episodes x 2 steps (the budget)
    for a, b in (rows[0:2], rows[2:4]):  # appended episode by episode
        # every step is trained with its episode's return (the mean of its step rewards)
        assert a["trained_reward"] == b["trained_reward"] == pytest.approx((a["reward"] + b["reward"]) / 2)
    assert ep.summary["mode"] == "episode"


def smoke_args(algo: str, model: Path, trajectories: Path, data_dir: Path, out: Path, steps: int) -> list[str]:
    common = ["rl", "--algo", algo, "--model_name_or_path", str(model), "--trajectories", f"[{trajectories / 'digits'}]",
              "--tasks", "[digits]", "--output_dir", str(out), "--sandbox", "local", "--allow_readable_answers", "true",
              "--data_dir", str(data_dir), "--num_sandboxes", "2", "--num_generations", "2",
              "--max_completion_length", "8", "--max_steps", str(steps), "--save_steps", "2", "--use_cpu", "true",
              "--report_to", "none", "--seed", "0"]
    if algo == "grpo":
        return common + ["--per_device_train_batch_size", "2", "--gradient_accumulation_steps", "1"]
    return common + ["--prompts_per_step", "1", "--mini_batch_size", "2", "--ppo_epochs", "1"]


@pytest.mark.parametrize("algo", ["grpo", "ppo"])
def test_rl_cli_trains_writes_cards_and_resumes(algo: str, tiny_base: Path, trajectories: Path, data_dir: Path,
                                               tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mlagent_train.cli import main

    out = tmp_path / algo
    assert main(smoke_args(algo, tiny_base, trajectories, data_dir, out, 2)) == 0
    captured = capsys.readouterr()
    assert "READABLE ANSWERS" in captured.out and "READABLE ANSWERS" in captured.err  # the opt-in is said
    for folder in (out / "final", out / "checkpoint-2"):
        assert "READABLE ANSWERS" in (folder / "training_card.md").read_text()
    history = json.loads((out / "log_history.json").read_text())
    assert any(h.get("answers_readable") for h in history)
    summary = json.loads((out / "reward_kinds.json").read_text())
    assert summary["answers_readable"] and summary["scored_replies"] == 4
    assert main(smoke_args(algo, tiny_base, trajectories, data_dir, out, 3)) == 0  # resumes from checkpoint-2
    rows = [json.loads(x) for x in (out / "rollouts.jsonl").read_text().splitlines()]
    assert sorted({r["step"] for r in rows}) == [1, 2, 3] and len(rows) == 3 * 2
    assert all("metric" in r for r in rows)


def test_example_rl_configs_load_with_overrides() -> None:
    from mlagent_train.config import load_config
    from mlagent_train.rl import GRPOStageConfig, PPOStageConfig

    big = load_config(GRPOStageConfig, ROOT / "examples/configs/rl_grpo.yaml")
    assert big.algo == "grpo" and big.mode == "step" and big.num_generations == 8 and big.sandbox == "docker"
    assert (big.per_device_train_batch_size * 8 * big.gradient_accumulation_steps) % big.num_generations == 0
    assert "7b" in big.model_name_or_path and big.beta > 0 and big.rollout_timeout_s is None
    small = load_config(GRPOStageConfig, ROOT / "examples/configs/rl_small.yaml")
    assert small.algo == "grpo" and small.per_device_train_batch_size == 8
    ppo = load_config(PPOStageConfig, ROOT / "examples/configs/rl_ppo.yaml", ["mode=episode"])
    assert ppo.algo == "ppo" and ppo.mode == "episode" and ppo.prompts_per_step == 4


def test_each_algorithm_takes_only_its_own_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mlagent_train.cli import main
    from mlagent_train.config import ConfigError, load_config
    from mlagent_train.rl import GRPOStageConfig, PPOStageConfig

    with pytest.raises(ConfigError, match="unknown option.*mode"):
        load_config(GRPOStageConfig, None, ["mode=episode"])  # GRPO is step-wise only
    with pytest.raises(ConfigError, match="unknown option.*num_iterations"):
        load_config(PPOStageConfig, None, ["num_iterations=2"])
    assert main(["rl", "--algo", "ppo", "--per_device_train_batch_size", "4", "--print-config"]) == 2
    assert "do not apply to PPOStageConfig" in capsys.readouterr().err
    assert main(["rl", "--config", str(ROOT / "examples/configs/rl_ppo.yaml"), "--print-config"]) == 0
    assert json.loads(capsys.readouterr().out)["ppo_epochs"] == 2  # algo: ppo in the file picks the PPO config
    with pytest.raises(SystemExit):
        main(["rl", "--help"])
    helped = capsys.readouterr().out
    assert "[GRPOStageConfig only]" in helped and "[PPOStageConfig only]" in helped
