"""Learning on the metric reward, tested honestly (CPU, the tiny local model, real TRL and PPO
trainers through ``mlagent-train rl``'s own path; slow).

The states (:mod:`learning_states`): a digits state (accuracy, higher is better) and a diabetes
state (MAE, lower is better), each with two scripts of its own: one submits better predictions
than the state's last run, the other worse ones. The tiny model is first fine-tuned on both
replies of each state equally, so it emits a valid run of one of its state's scripts nearly always
and has no preference (checked below): format is not what RL learns here. Every reply is executed
for real from its state by the local executor and scored by the env's unified reward, so the only
way to raise the reward is to submit a better model. Every batch holds both states
(``task_balance: stratified``), and a reply paired with the other state's workspace would name a
script that is not there (an ``error``), so a mix-up of completions and states cannot pass.

What is asserted, from the policy's exact probabilities of the two replies of each state (from
its log-probabilities, no sampling noise) and from the executed rollouts:
- GRPO and PPO raise the probability of the better script in EVERY state, the mean executed
  reward from the first to the last window of steps, and move the metric the right way on both
  tasks (accuracy up, MAE down);
- GRPO with the rewards shuffled within each batch (the same executions, broken credit; same
  seed, same everything else) does not: the better script does not gain in every state, and the
  executed reward does not rise;
- a large KL coefficient keeps GRPO's policy closer to the reference than ``beta=0`` after the
  same steps.

Torch runs on one thread here (restored afterwards): on 2 shared cores that is several times
faster than the default. The margins and the figures they come from are beside the constants.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("trl")

from learning_states import SCRIPTS, TARGETS, choice_logprobs, train, warm_choice_model, write_metric_states  # noqa: E402

pytestmark = pytest.mark.slow

STEPS = 12
"""Optimizer steps (GRPO) or iterations (PPO) of every run: 2 states x 4 replies each."""
WINDOW = 4
"""Steps averaged at each end of a run for the executed reward and the metrics."""
KL_STEPS = 6
"""Steps after which the KL test compares beta=0 (the GRPO run's checkpoint) with a large beta."""
LARGE_BETA = 10.0
PROB_MARGIN = 0.1
"""The least rise of the better script's probability in each state for a run that learned."""
REWARD_MARGIN = 0.05
"""The least rise of the mean executed reward from the first to the last window."""
# Measured with run seeds 0, 1, 2 (this file's settings, the warm model of seed 0, 2 loaded cores):
# P(good) digits / diabetes from 0.49 / 0.51 to: GRPO 0.81/0.86, 0.86/0.71, 0.81/0.82; PPO 0.84/0.86,
# 0.87/0.87, 0.84/0.88; the shuffled control 0.58/0.26, 0.52/0.72, 0.44/0.43 (its format collapses in
# some states). Reward windows (first -> last): GRPO 0.41 -> 0.56, 0.32 -> 0.67, 0.39 -> 0.47;
# PPO 0.42 -> 0.58, 0.37 -> 0.63, 0.41 -> 0.72; control 0.17 -> 0.00, 0.35 -> 0.33, 0.32 -> 0.09. Mean
# |log-prob shift| of the four replies after 6 steps, beta 0 vs 10: 0.39 vs 0.11, 0.42 vs 0.14,
# 0.33 vs 0.07. The data's secret transform differs per data root, and with it the prompts and the
# warm model: in a pytest data root (seed 0) P(good) went 0.50/0.49 -> GRPO 0.80/0.78, PPO 0.80/0.87,
# control 0.45/0.61; rewards GRPO 0.36 -> 0.57, PPO 0.45 -> 0.65, control 0.31 -> 0.00; shift 0.35
# vs 0.19 (the closest of the five: hence 0.8 below). Another pytest data root: GRPO 0.49/0.50 ->
# 0.73/0.79, PPO 0.84/0.80, control 0.47/0.41; rewards GRPO 0.30 -> 0.41, PPO 0.33 -> 0.61, control
# 0.13 -> 0.00; shift 0.24 vs 0.08.


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def metric_states(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> tuple[Path, dict[str, dict[str, float]]]:
    out = tmp_path_factory.mktemp("rl-metric-states")
    metrics = write_metric_states(data_dir, out)
    # the premise of every test below: in each state one script beats the last run and the other does not
    assert metrics["digits"]["good"] > metrics["digits"]["mid"] > metrics["digits"]["bad"]  # accuracy
    assert metrics["diabetes"]["good"] < metrics["diabetes"]["mid"] < metrics["diabetes"]["bad"]  # MAE
    return out / "states.jsonl", metrics


@pytest.fixture(scope="session")
def choice_model(tmp_path_factory: pytest.TempPathFactory, metric_states: tuple[Path, Any]) -> Path:
    model = warm_choice_model(metric_states[0], tmp_path_factory.mktemp("tiny-choice") / "model")
    for task, logp in choice_logprobs(model, metric_states[0]).items():
        assert math.exp(logp["good"]) + math.exp(logp["bad"]) > 0.7, (task, logp)  # nearly every reply runs one of the two
    for task, p in good_probability(model, metric_states[0], model).items():
        assert 0.35 < p < 0.65, (task, p)  # and neither is preferred yet
    return model


def rl_config(algo: str, model: Path, states: Path, data_dir: Path, out: Path, **overrides: Any) -> Any:
    """The run's config, as ``mlagent-train rl --algo <algo>`` would build it."""
    from mlagent_train.rl import GRPOStageConfig, PPOStageConfig

    common: dict[str, Any] = dict(
        model_name_or_path=str(model), trajectories=[str(states)], tasks=list(TARGETS), task_balance="stratified",
        output_dir=str(out), data_dir=str(data_dir), sandbox="local", allow_readable_answers=True, num_sandboxes=2,
        num_generations=4, max_completion_length=32, learning_rate=2e-3, beta=0.0, max_steps=STEPS, save_steps=0,
        use_cpu=True, report_to="none", seed=0, logging_steps=STEPS)
    common.update(overrides)
    if algo == "grpo":  # 8 completions a step: 2 states x 4
        return GRPOStageConfig(per_device_train_batch_size=8, gradient_accumulation_steps=1, **common)
    return PPOStageConfig(prompts_per_step=2, mini_batch_size=8, ppo_epochs=1, critic_learning_rate=1e-3, **common)


def good_probability(model: Path, states: Path, tokenizer: Path) -> dict[str, float]:
    """Per task, the policy's probability of the better script's reply between its state's two."""
    return {task: 1.0 / (1.0 + math.exp(logp["bad"] - logp["good"]))
            for task, logp in choice_logprobs(model, states, tokenizer).items()}


def learning_curve(out: Path) -> dict[str, float]:
    """From ``rollouts.jsonl``: the first- and last-window means of the executed reward, of digits
    accuracy and of diabetes MAE (over the replies that produced a metric)."""
    rows = [json.loads(x) for x in (out / "rollouts.jsonl").read_text().splitlines()]
    steps = sorted({r["step"] for r in rows})
    assert steps == list(range(1, STEPS + 1))
    for s in steps:  # every batch held both states
        assert {r["task_id"] for r in rows if r["step"] == s} == set(TARGETS), s
    curve: dict[str, float] = {}
    for name, window in (("first", steps[:WINDOW]), ("last", steps[-WINDOW:])):
        w = [r for r in rows if r["step"] in window]
        curve[f"{name}_reward"] = sum(r["reward"] for r in w) / len(w)
        for task in TARGETS:
            metrics = [r["metric"] for r in w if r["task_id"] == task and r["metric"] is not None]
            curve[f"{name}_{task}"] = sum(metrics) / len(metrics) if metrics else math.nan
    return curve


@pytest.fixture(scope="module")
def grpo_run(choice_model: Path, metric_states: tuple[Path, Any], data_dir: Path,
             tmp_path_factory: pytest.TempPathFactory) -> Path:
    """GRPO with beta=0, checkpointed after KL_STEPS steps (the KL test's beta=0 arm)."""
    out = tmp_path_factory.mktemp("rl-learn") / "grpo"
    return train(rl_config("grpo", choice_model, metric_states[0], data_dir, out, save_steps=KL_STEPS))


def outcome(name: str, out: Path, model: Path, states: Path) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    """The better script's probability per state before and after a run (``out/final``) and the
    run's learning curve, printed under ``name`` (the figures of the closing note)."""
    before = good_probability(model, states, model)
    after = good_probability(out / "final", states, model)
    curve = learning_curve(out)
    figures = {"P(good) before": before, "after": after, "windows": curve}
    print(name, json.dumps({k: {n: round(v, 3) for n, v in d.items()} for k, d in figures.items()}))
    return before, after, curve


def assert_learned(name: str, out: Path, model: Path, states: Path) -> None:
    before, after, curve = outcome(name, out, model, states)
    for task in TARGETS:  # in every state: the credit went to the right state's reply
        assert after[task] > before[task] + PROB_MARGIN, (task, before, after)
    assert curve["last_reward"] > curve["first_reward"] + REWARD_MARGIN, curve
    assert curve["last_digits"] > curve["first_digits"], curve  # accuracy: higher is better
    assert curve["last_diabetes"] < curve["first_diabetes"], curve  # MAE: lower is better


def test_grpo_raises_the_executed_reward_and_the_metric_in_every_state(grpo_run: Path, choice_model: Path,
                                                                       metric_states: tuple[Path, Any]) -> None:
    assert_learned("GRPO", grpo_run, choice_model, metric_states[0])


def test_ppo_raises_the_executed_reward_and_the_metric_in_every_state(choice_model: Path,
                                                                      metric_states: tuple[Path, Any],
                                                                      data_dir: Path, tmp_path: Path) -> None:
    out = train(rl_config("ppo", choice_model, metric_states[0], data_dir, tmp_path / "ppo"))
    assert_learned("PPO", out, choice_model, metric_states[0])


def test_grpo_with_rewards_shuffled_within_each_batch_does_not_learn(choice_model: Path,
                                                                     metric_states: tuple[Path, Any],
                                                                     data_dir: Path, tmp_path: Path) -> None:
    out = train(rl_config("grpo", choice_model, metric_states[0], data_dir, tmp_path / "control"), shuffle_rewards=True)
    # a batch's mean reward is the executed one (shuffling keeps it), so the windows are the real ones
    before, after, curve = outcome("GRPO control (shuffled rewards)", out, choice_model, metric_states[0])
    # what the learning runs pass, this one fails: the better script does not gain in every state
    # (one state may drift up by chance: seed 1 moved diabetes 0.51 -> 0.72 and digits 0.49 -> 0.52),
    # and the executed reward does not rise
    assert not all(after[t] > before[t] + PROB_MARGIN for t in TARGETS), (before, after)
    assert curve["last_reward"] < curve["first_reward"] + REWARD_MARGIN, curve


def choice_shift(model: Path, reference: Path, states: Path) -> float:
    """The mean absolute change of the log-probability of each state's two replies from the reference."""
    new, ref = choice_logprobs(model, states, reference), choice_logprobs(reference, states, reference)
    shifts = [abs(new[t][c] - ref[t][c]) for t in TARGETS for c in SCRIPTS[t]]
    return sum(shifts) / len(shifts)


def test_a_larger_kl_coefficient_keeps_grpo_closer_to_the_reference(grpo_run: Path, choice_model: Path,
                                                                    metric_states: tuple[Path, Any],
                                                                    data_dir: Path, tmp_path: Path) -> None:
    states = metric_states[0]
    out = train(rl_config("grpo", choice_model, states, data_dir, tmp_path / "kl", beta=LARGE_BETA, max_steps=KL_STEPS))
    free = choice_shift(grpo_run / f"checkpoint-{KL_STEPS}", choice_model, states)
    held = choice_shift(out / "final", choice_model, states)
    print(f"KL: mean |log-prob shift| beta=0 {free:.3f}, beta={LARGE_BETA:g} {held:.3f}")
    assert held < 0.8 * free, (free, held)
