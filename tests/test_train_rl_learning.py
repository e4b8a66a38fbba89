"""Learning on the metric reward, tested honestly (CPU, the tiny local model).

The states (:mod:`rl_support`): a digits state and a diabetes state, each with two runnable
ridge-regression scripts that differ only in their regularisation strength; one makes a better
model than the state's last run, the other a worse one, and which is which depends on the task.
The warm model is briefly fine-tuned to run either script at random (half and half). Every reply
is executed for real from its state and scored by the env's unified reward, so the only way to
raise the reward is to submit a better model: GRPO and PPO must raise the mean executed reward and
the metric itself (accuracy up on digits, MAE down on diabetes) from the first to the last window
of steps, while GRPO with the rewards shuffled within each batch (same executions, broken credit)
must not. A larger KL coefficient must keep PPO's policy closer to the reference.

Margins (seeds 0, 1, 2 measured on 2 loaded cores; the assertions leave about half the smallest
observed gain): see ``REWARD_MARGIN`` and the per-test comments.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("trl")

from rl_support import CHOICES, GOOD_SCRIPT, choice_reply, write_metric_states  # noqa: E402

from mlagent_train.rollout import EnvReward  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:mlagent local sandbox")

STEPS = 16
WINDOW = 4
REWARD_MARGIN = 0.05


@pytest.fixture(scope="module")
def metric_states(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> tuple[Path, dict[str, dict[str, float]]]:
    out = tmp_path_factory.mktemp("rl-metric-states")
    metrics = write_metric_states(data_dir, out)
    # the premise of every test below: in each state one choice beats the last run and the other does not
    assert metrics["digits"]["fit_a.py"] > metrics["digits"]["fit_mid.py"] > metrics["digits"]["fit_b.py"]
    assert metrics["diabetes"]["fit_b.py"] < metrics["diabetes"]["fit_mid.py"] < metrics["diabetes"]["fit_a.py"]
    return out, metrics


@pytest.fixture(scope="module")
def choice_model(tmp_path_factory: pytest.TempPathFactory, metric_states: tuple[Path, Any]) -> Path:
    """The tiny model (tokenizer trained on the env's prompts), then 240 SFT steps on the two
    states with either script's run as the reply, half and half."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from mlagent_train.datasets import tokenize_example
    from mlagent_train.states import StatesPool
    from mlagent_train.tiny import build_tiny_model, default_corpus

    out = tmp_path_factory.getbasetemp() / "tiny-rl-choice"
    if (out / "config.json").exists():
        return out
    pool = StatesPool.from_trajectories([metric_states[0]], tasks=["digits", "diabetes"])
    corpus = default_corpus() + [m["content"] for e in pool.entries for m in e.messages]
    corpus += [choice_reply(c) for c in CHOICES] * 20
    base = build_tiny_model(tmp_path_factory.getbasetemp() / "tiny-rl-choice-base", corpus=corpus, vocab_size=4000)
    tok = AutoTokenizer.from_pretrained(base)
    model = AutoModelForCausalLM.from_pretrained(base)
    torch.manual_seed(0)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    rng = random.Random(0)
    for _ in range(240):
        entry = rng.choice(pool.entries)
        row = tokenize_example(tok, entry.messages + [{"role": "assistant", "content": choice_reply(rng.choice(CHOICES))}])
        loss = model(input_ids=torch.tensor([row["input_ids"]]), labels=torch.tensor([row["labels"]])).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def rl_args(algo: str, model: Path, states: Path, data_dir: Path, out: Path, steps: int, seed: int = 0) -> list[str]:
    common = ["rl", "--algo", algo, "--model_name_or_path", str(model), "--trajectories", f"[{states}]",
              "--tasks", "[digits,diabetes]", "--output_dir", str(out), "--sandbox", "local",
              "--allow_readable_answers", "true", "--data_dir", str(data_dir), "--num_sandboxes", "2",
              "--num_generations", "4", "--max_completion_length", "32", "--learning_rate", "2e-3", "--beta", "0.0",
              "--max_steps", str(steps), "--save_steps", str(STEPS // 2), "--use_cpu", "true", "--report_to", "none",
              "--seed", str(seed), "--summary_window", str(WINDOW)]
    if algo == "grpo":  # 2 states x 4 replies per step
        return common + ["--per_device_train_batch_size", "8", "--gradient_accumulation_steps", "1"]
    return common + ["--prompts_per_step", "2", "--mini_batch_size", "8", "--ppo_epochs", "2"]


def learning_curve(rollouts: Path) -> dict[str, float]:
    """First- and last-window means of the executed reward, of digits accuracy and diabetes MAE
    (over the replies that produced a metric), and the share of replies that ran the better script."""
    rows = [json.loads(x) for x in rollouts.read_text().splitlines()]
    steps = sorted({r["step"] for r in rows})
    first, last = set(steps[:WINDOW]), set(steps[-WINDOW:])

    def mean(xs: list[float]) -> float:
        return sum(xs) / len(xs) if xs else math.nan

    out: dict[str, float] = {}
    for name, window in (("first", first), ("last", last)):
        w = [r for r in rows if r["step"] in window]
        out[f"{name}_reward"] = mean([r["reward"] for r in w])
        for task in ("digits", "diabetes"):
            out[f"{name}_{task}"] = mean([r["metric"] for r in w if r["task_id"] == task and r["metric"] is not None])
        out[f"{name}_good_share"] = mean([float(r["metric"] is not None and r["chose_good"]) for r in w])
    return out


def label_choices(rollouts: Path, metrics: dict[str, dict[str, float]]) -> None:
    """Mark each logged reply with whether its metric is the better script's (for the report)."""
    rows = [json.loads(x) for x in rollouts.read_text().splitlines()]
    for r in rows:
        good = metrics[r["task_id"]][GOOD_SCRIPT[r["task_id"]]]
        r["chose_good"] = r["metric"] is not None and abs(r["metric"] - good) < 1e-9
    rollouts.write_text("".join(json.dumps(r) + "\n" for r in rows))


def assert_learned_the_metric(curve: dict[str, float]) -> None:
    assert curve["last_reward"] > curve["first_reward"] + REWARD_MARGIN, curve
    assert curve["last_digits"] > curve["first_digits"], curve  # accuracy: higher is better
    assert curve["last_diabetes"] < curve["first_diabetes"], curve  # MAE: lower is better
    assert curve["last_good_share"] > curve["first_good_share"] + 0.2, curve


def test_grpo_raises_the_executed_reward_and_the_metric(choice_model: Path, metric_states: tuple[Path, Any],
                                                         data_dir: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    from mlagent_train.cli import main

    states, metrics = metric_states
    out = tmp_path / "grpo"
    assert main(rl_args("grpo", choice_model, states, data_dir, out, STEPS)) == 0
    captured = capsys.readouterr()
    assert "READABLE ANSWERS" in captured.out and "READABLE ANSWERS" in captured.err  # the opt-in is said
    label_choices(out / "rollouts.jsonl", metrics)
    curve = learning_curve(out / "rollouts.jsonl")
    print("GRPO", json.dumps({k: round(v, 3) for k, v in curve.items()}))
    assert_learned_the_metric(curve)
    history = json.loads((out / "log_history.json").read_text())
    assert all(h.get("answers_readable") == 1.0 for h in history if "reward_kind/metric" in h)
    for folder in (out / "final", out / f"checkpoint-{STEPS}"):
        assert "READABLE ANSWERS" in (folder / "training_card.md").read_text()

    # resumption: a longer run continues from the last checkpoint
    assert main(rl_args("grpo", choice_model, states, data_dir, out, STEPS + 2)) == 0
    rows = [json.loads(x) for x in (out / "rollouts.jsonl").read_text().splitlines()]
    assert sorted({r["step"] for r in rows}) == list(range(1, STEPS + 3)) and len(rows) == (STEPS + 2) * 8


def test_ppo_raises_the_executed_reward_and_the_metric(choice_model: Path, metric_states: tuple[Path, Any],
                                                        data_dir: Path, tmp_path: Path) -> None:
    from mlagent_train.cli import main

    states, metrics = metric_states
    out = tmp_path / "ppo"
    assert main(rl_args("ppo", choice_model, states, data_dir, out, STEPS)) == 0
    label_choices(out / "rollouts.jsonl", metrics)
    curve = learning_curve(out / "rollouts.jsonl")
    print("PPO", json.dumps({k: round(v, 3) for k, v in curve.items()}))
    assert_learned_the_metric(curve)
    history = json.loads((out / "log_history.json").read_text())
    assert len(history) == STEPS and all(h["answers_readable"] for h in history)
    for key in ("pg_loss", "v_loss", "entropy", "approx_kl", "clipfrac", "reward", "reward_kind/metric", "gen_s", "env_s"):
        assert key in history[-1], key
    assert (out / f"checkpoint-{STEPS}" / "value_head.pt").exists()
    assert "READABLE ANSWERS" in (out / "final" / "training_card.md").read_text()
    assert main(rl_args("ppo", choice_model, states, data_dir, out, STEPS + 1)) == 0  # resumes from the checkpoint
    assert [h["step"] for h in json.loads((out / "log_history.json").read_text())] == list(range(1, STEPS + 2))


class ShuffledReward(EnvReward):
    """The control: the same executions, but each batch's rewards are handed back in a random order
    (the log keeps the true executed rewards)."""

    def __init__(self, *args: Any, seed: int = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.rng = random.Random(seed)

    def __call__(self, *args: Any, **kwargs: Any) -> list[float]:
        rewards = super().__call__(*args, **kwargs)
        self.rng.shuffle(rewards)
        return rewards


def test_grpo_with_rewards_shuffled_within_each_batch_does_not_rise(choice_model: Path,
                                                                    metric_states: tuple[Path, Any],
                                                                    data_dir: Path, tmp_path: Path) -> None:
    from mlagent_train.grpo import build_grpo_trainer
    from mlagent_train.local_executor import LocalExecutor
    from mlagent_train.rl_config import GRPOStageConfig
    from mlagent_train.rl_outputs import card_text
    from mlagent_train.rollout import RewardLog
    from mlagent_train.states import StatesPool

    states, metrics = metric_states
    out = tmp_path / "control"
    cfg = GRPOStageConfig(model_name_or_path=str(choice_model), trajectories=[str(states)], tasks=["digits", "diabetes"],
                          output_dir=str(out), sandbox="local", allow_readable_answers=True, data_dir=str(data_dir),
                          num_generations=4, max_completion_length=32, learning_rate=2e-3, beta=0.0, max_steps=STEPS,
                          per_device_train_batch_size=8, gradient_accumulation_steps=1, save_steps=0, use_cpu=True,
                          report_to="none", seed=0)
    pool = StatesPool.from_trajectories(cfg.trajectories, tasks=cfg.tasks)
    out.mkdir(parents=True)
    with LocalExecutor(sandbox="local", data_dir=str(data_dir), num_sandboxes=2) as ex:
        reward = ShuffledReward(ex, RewardLog(out / "rollouts.jsonl"))
        trainer = build_grpo_trainer(cfg, reward, pool.to_dataset(STEPS * 2, seed=0), "none", card_text(cfg, None))
        trainer.train()
    label_choices(out / "rollouts.jsonl", metrics)
    curve = learning_curve(out / "rollouts.jsonl")
    print("control", json.dumps({k: round(v, 3) for k, v in curve.items()}))
    assert curve["last_reward"] < curve["first_reward"] + REWARD_MARGIN, curve
    assert curve["last_good_share"] < curve["first_good_share"] + 0.2, curve


def choice_probabilities(model_dir: Path, states: Path) -> list[float]:
    """Per state, the probability the model gives the better script's reply, between the two replies."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from mlagent_train.datasets import tokenize_example
    from mlagent_train.states import StatesPool

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    probs = []
    for entry in sorted(StatesPool.from_trajectories([states], tasks=["digits", "diabetes"]).entries,
                        key=lambda e: e.task_id):
        logps = {}
        for script in CHOICES:
            row = tokenize_example(tok, entry.messages + [{"role": "assistant", "content": choice_reply(script)}])
            with torch.no_grad():
                loss = model(input_ids=torch.tensor([row["input_ids"]]), labels=torch.tensor([row["labels"]])).loss
            logps[script] = -float(loss) * sum(1 for x in row["labels"] if x != -100)
        good = logps[GOOD_SCRIPT[entry.task_id]]
        bad = logps[next(c for c in CHOICES if c != GOOD_SCRIPT[entry.task_id])]
        probs.append(1.0 / (1.0 + math.exp(bad - good)))
    return probs


def bernoulli_kl(p: float, q: float) -> float:
    return p * math.log(p / q) + (1 - p) * math.log((1 - p) / (1 - q))


def test_a_larger_kl_coefficient_keeps_ppo_closer_to_the_reference(choice_model: Path,
                                                                   metric_states: tuple[Path, Any],
                                                                   data_dir: Path, tmp_path: Path) -> None:
    """Same seed and steps, beta 0.001 vs 1.0: the policy's choice between the two replies moves
    away from the reference's (KL of the two-way choice, per state) much less with the large beta."""
    from mlagent_train.rl_config import PPOStageConfig
    from mlagent_train.rl import run_rl

    states, _ = metric_states
    ref = choice_probabilities(choice_model, states)
    kls = {}
    for beta in (0.001, 1.0):
        cfg = PPOStageConfig(model_name_or_path=str(choice_model), trajectories=[str(states)],
                             tasks=["digits", "diabetes"], output_dir=str(tmp_path / f"beta-{beta}"), sandbox="local",
                             allow_readable_answers=True, data_dir=str(data_dir), num_sandboxes=2, num_generations=4,
                             max_completion_length=32, learning_rate=2e-3, beta=beta, max_steps=8, prompts_per_step=2,
                             mini_batch_size=8, ppo_epochs=2, save_steps=0, use_cpu=True, report_to="none", seed=0)
        result = run_rl(cfg)
        now = choice_probabilities(result.final_dir, states)
        kls[beta] = sum(bernoulli_kl(p, q) for p, q in zip(now, ref))
    print("KL of the choice to the reference by beta:", kls)
    assert kls[1.0] < 0.5 * kls[0.001], kls
