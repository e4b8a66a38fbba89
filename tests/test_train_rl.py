"""Step-wise RL on CPU with a tiny local model: the states pool, the executor that runs every reply
for real from its restored state, GRPO (TRL) and PPO (mlagent_train.ppo) raising the mean executed
reward, the episode-wise baseline, checkpoints and resumption, and the CLI.

A random tiny model only emits garbage (reward 0, no signal), so the module first fine-tunes it
briefly on the real digits prompts with a 1:3 mix of a valid action (``{"name": "List Files"}``,
executed: ``non_edit``, 0.5) and invalid text (``format_error``, 0). Sampling then yields both, and
RL must raise the share of valid actions, with rewards that come only from executing them."""

from __future__ import annotations

import json
import random
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
WINDOW = 8
STEPS = 40
MARGIN = 0.1


@pytest.fixture(scope="module")
def trajectories(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> Path:
    """Scripted (demo) episodes with saved states: 2 runs x 3 steps on digits, 1 run on diabetes."""
    out = tmp_path_factory.mktemp("rl-traj")
    for task, runs in (("digits", 2), ("diabetes", 1)):
        Benchmark(BenchConfig(tasks=[task], policy=PolicySpec(kind="scripted"), runs=runs, max_steps=3, sandbox="local",
                              data_dir=str(data_dir), allow_fixture=True), out / task).run(progress=False)
    return out


@pytest.fixture(scope="module")
def warm_model(tmp_path_factory: pytest.TempPathFactory, trajectories: Path) -> Path:
    """The tiny model (tokenizer trained on the env's prompts, so they stay short), then 150 SFT
    steps on the digits states with the valid/invalid reply mix (about a quarter valid)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from mlagent_train.datasets import tokenize_example
    from mlagent_train.tiny import build_tiny_model, default_corpus

    out = tmp_path_factory.getbasetemp() / "tiny-rl-warm"
    if (out / "config.json").exists():
        return out
    pool = StatesPool.from_trajectories([trajectories], tasks=["digits"])
    corpus = default_corpus() + [m["content"] for e in pool.entries for m in e.messages]
    base = build_tiny_model(tmp_path_factory.getbasetemp() / "tiny-rl-base", corpus=corpus, vocab_size=4000)
    tok = AutoTokenizer.from_pretrained(base)
    model = AutoModelForCausalLM.from_pretrained(base)
    torch.manual_seed(0)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    rng = random.Random(0)
    for _ in range(150):
        entry = rng.choice(pool.entries)
        row = tokenize_example(tok, entry.messages + [{"role": "assistant", "content": rng.choice([VALID, INVALID, INVALID, INVALID])}])
        loss = model(input_ids=torch.tensor([row["input_ids"]]), labels=torch.tensor([row["labels"]])).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def rl_args(algo: str, model: Path, trajectories: Path, data_dir: Path, out: Path, steps: int) -> list[str]:
    return [
        "rl", "--algo", algo, "--model_name_or_path", str(model), "--trajectories", f"[{trajectories / 'digits'}]",
        "--tasks", "[digits]", "--output_dir", str(out), "--sandbox", "local", "--data_dir", str(data_dir),
        "--num_sandboxes", "2", "--num_generations", "4", "--max_completion_length", "16", "--learning_rate", "1e-3",
        "--beta", "0.0", "--max_steps", str(steps), "--per_device_train_batch_size", "4",
        "--gradient_accumulation_steps", "1", "--prompts_per_step", "1", "--mini_batch_size", "4", "--ppo_epochs", "2",
        "--save_steps", "10", "--use_cpu", "true", "--report_to", "auto", "--seed", "0",
    ]


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
    assert set(ds.column_names) == {"prompt", "state", "task_id", "state_step"} and len(ds) == 8
    assert ds[0]["prompt"][0]["role"] == "system"
    assert StatesPool.from_trajectories([trajectories], tasks=["digits"]).sample(5, seed=3) == \
        StatesPool.from_trajectories([trajectories], tasks=["digits"]).sample(5, seed=3)


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
        reward = EnvReward(ex, RewardLog(tmp_path / "rollouts.jsonl"))
        completions = [[{"role": "assistant", "content": VALID}], [{"role": "assistant", "content": INVALID}]]
        values = reward(prompts=[r["prompt"] for r in rows], completions=completions, state=[r["state"] for r in rows],
                        task_id=[r["task_id"] for r in rows], log_metric=lambda k, v: logged.setdefault(k, []).append(v))
    assert values == [0.5, 0.0]
    assert logged["reward_kind/non_edit"] == [0.5] and logged["reward_kind/format_error"] == [0.5]
    assert logged["valid_fraction"] == [0.5]
    summary = summarise_rollouts(tmp_path / "rollouts.jsonl")
    assert summary["counts"]["non_edit"] == 1 and summary["counts"]["format_error"] == 1


# ------------------------------------------------------------------------------- learning


def _windows(out: Path) -> tuple[float, float, dict]:
    summary = json.loads((out / "reward_kinds.json").read_text())
    means = list(summary["reward_by_step"].values())
    return sum(means[:WINDOW]) / WINDOW, sum(means[-WINDOW:]) / WINDOW, summary


def test_grpo_raises_the_executed_reward_and_resumes(warm_model: Path, trajectories: Path, data_dir: Path,
                                                      tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from mlagent_train.cli import main

    out = tmp_path / "grpo"
    assert main(rl_args("grpo", warm_model, trajectories, data_dir, out, STEPS)) == 0
    printed = capsys.readouterr().out
    assert "reward kinds over 160 executed replies in 40 steps" in printed and "TensorBoard is not installed" in printed
    first, last, summary = _windows(out)
    print(f"GRPO mean executed reward: first {WINDOW} steps {first:.3f}, last {WINDOW} steps {last:.3f}")
    assert last > first + MARGIN
    assert summary["counts"]["non_edit"] + summary["counts"]["format_error"] == 160
    history = json.loads((out / "log_history.json").read_text())
    assert any("reward_kind/non_edit" in h for h in history)  # through TRL's log_metric hook
    assert (out / "reward_curve.png").stat().st_size > 1000 and (out / "final" / "config.json").exists()
    assert (out / "checkpoint-40").is_dir()

    # resumption: a longer run continues from checkpoint-40
    assert main(rl_args("grpo", warm_model, trajectories, data_dir, out, 42)) == 0
    rows = [json.loads(x) for x in (out / "rollouts.jsonl").read_text().splitlines()]
    assert sorted({r["step"] for r in rows}) == list(range(1, 43)) and len(rows) == 42 * 4
    assert json.loads((out / "reward_kinds.json").read_text())["global_step"] == 42


def test_ppo_raises_the_executed_reward_and_resumes(warm_model: Path, trajectories: Path, data_dir: Path,
                                                     tmp_path: Path) -> None:
    from mlagent_train.cli import main

    out = tmp_path / "ppo"
    assert main(rl_args("ppo", warm_model, trajectories, data_dir, out, STEPS)) == 0
    first, last, _ = _windows(out)
    print(f"PPO mean executed reward: first {WINDOW} steps {first:.3f}, last {WINDOW} steps {last:.3f}")
    assert last > first + MARGIN
    history = json.loads((out / "log_history.json").read_text())
    assert len(history) == STEPS
    for key in ("pg_loss", "v_loss", "entropy", "approx_kl", "clipfrac", "reward", "reward_kind/non_edit", "gen_s", "env_s"):
        assert key in history[-1], key
    assert (out / "reward_curve.png").stat().st_size > 1000
    assert (out / "checkpoint-40" / "value_head.pt").exists() and (out / "final" / "config.json").exists()
    assert main(rl_args("ppo", warm_model, trajectories, data_dir, out, 41)) == 0  # resumes from checkpoint-40
    history = json.loads((out / "log_history.json").read_text())
    assert [h["step"] for h in history] == list(range(1, 42))


def test_ppo_kl_to_the_reference_and_the_episode_wise_baseline(warm_model: Path, trajectories: Path, data_dir: Path,
                                                               tmp_path: Path) -> None:
    from mlagent_train.rl import RLConfig, RLError, run_rl

    common: dict = {"model_name_or_path": str(warm_model), "trajectories": [str(trajectories / "digits")],
                    "tasks": ["digits"], "sandbox": "local", "data_dir": str(data_dir), "num_sandboxes": 2,
                    "num_generations": 2, "max_completion_length": 12, "learning_rate": 1e-3,
                    "per_device_train_batch_size": 2, "gradient_accumulation_steps": 1, "prompts_per_step": 1,
                    "mini_batch_size": 4, "ppo_epochs": 1, "save_steps": 0, "use_cpu": True, "report_to": "none",
                    "seed": 0}
    kl = run_rl(RLConfig(algo="ppo", beta=0.1, max_steps=2, output_dir=str(tmp_path / "kl"), **common))  # type: ignore[arg-type]
    history = json.loads((kl.output_dir / "log_history.json").read_text())
    assert history[0]["kl_ref"] == pytest.approx(0.0, abs=1e-4) and history[1]["kl_ref"] != 0.0

    ep = run_rl(RLConfig(algo="ppo", mode="episode", episode_max_steps=2, beta=0.0, max_steps=2,  # type: ignore[arg-type]
                         output_dir=str(tmp_path / "episode"), **common))
    rows = [json.loads(x) for x in (ep.output_dir / "rollouts.jsonl").read_text().splitlines()]
    assert len(rows) == 2 * 2 * 2  # 2 iterations x 2 episodes x 2 steps (the budget; no Final Answer is learned)
    for it in (1, 2):
        step_rows = [r for r in rows if r["step"] == it]  # appended episode by episode
        for a, b in (step_rows[0:2], step_rows[2:4]):
            # every step is trained with its episode's return (the mean of its step rewards)
            assert a["trained_reward"] == b["trained_reward"] == pytest.approx((a["reward"] + b["reward"]) / 2)
    assert ep.summary["mode"] == "episode"
    with pytest.raises(RLError, match="algo=ppo"):
        run_rl(RLConfig(algo="grpo", mode="episode", max_steps=1, output_dir=str(tmp_path / "g"), **common))  # type: ignore[arg-type]


def test_example_rl_configs_load_with_overrides() -> None:
    from mlagent_train.config import load_config
    from mlagent_train.rl import RLConfig

    big = load_config(RLConfig, ROOT / "examples/configs/rl_grpo.yaml")
    assert big.algo == "grpo" and big.mode == "step" and big.num_generations == 8 and big.sandbox == "docker"
    assert (big.per_device_train_batch_size * 8 * big.gradient_accumulation_steps) % big.num_generations == 0
    assert "7b" in big.model_name_or_path and big.beta > 0
    small = load_config(RLConfig, ROOT / "examples/configs/rl_small.yaml", ["algo=ppo", "mode=episode"])
    assert small.algo == "ppo" and small.mode == "episode"
