"""Learning on the metric reward, tested honestly (CPU, the tiny local model, real TRL and PPO
trainers through ``mlagent-train rl``'s own path; slow).

The states (:mod:`learning_states`): a digits state (accuracy, higher is better) and a diabetes
state (MAE, lower is better), each with two scripts of its own: one submits better predictions
than the state's last run, the other worse ones. The tiny model is first fine-tuned on both
replies of each state equally, so it emits a valid run of one of its state's scripts nearly always
and has no preference (checked below): format is not what RL learns here. Every reply is executed
for real from its state by the local executor and scored by the env's unified reward: the better
script earns a metric reward above 0.5, the worse one below (another valid action, such as List
Files, would earn 0.5: a policy could also gain by leaving the worse script for one, which the
probability of the better script between the two does not count, and the expected reward below
counts as 0). Every batch holds both states
(``task_balance: stratified``), and a reply paired with the other state's workspace would name a
script that is not there (an ``error``), so a mix-up of completions and states cannot pass.

What is asserted, from the policy's exact probabilities of the two replies of each state (from
its log-probabilities, no sampling noise) and from the executed rollouts:
- GRPO and PPO raise the probability of the better script in EVERY state (so the metric the policy
  submits moves the right way on both tasks: accuracy up, MAE down), the policy's expected executed
  reward, and the mean executed reward of the run's own replies from its first to its last window;
- GRPO with the rewards shuffled within each batch (the same executions, broken credit; same
  seed, same everything else) does not rise: its expected reward gains less than a small margin
  and less than half of what the GRPO run gained. (A
  random permutation of a batch of 8 leaves each reply its own reward one time in 8: a control
  keeps an eighth of the credit, and drifts by chance; hence a comparison with the learning run,
  not zero.)
- a large KL coefficient keeps GRPO's policy closer to the reference than the learning run's small
  one after the same steps.

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

from learning_states import (  # noqa: E402
    SCRIPTS, TARGETS, choice_logprobs, choice_rewards, train, warm_choice_model, write_metric_states)

pytestmark = pytest.mark.slow

STEPS = 12
"""Optimizer steps (GRPO) or iterations (PPO) of every run: 2 states x 4 replies each. (At 18, at
this learning rate, the reply format of some runs eroded in the last steps.)"""
WINDOW = 4
"""Steps averaged at each end of a run for the executed reward."""
BETA = 0.5
"""The KL coefficient of the learning runs: an anchor to the reference that keeps the reply format
(with 0, and in some data roots with 0.2, a tiny model at this learning rate loses its format), and
damps the shuffled control's chance drift."""
LEARNING_RATE = {"grpo": 2e-3, "ppo": 1.5e-3}
"""Per algorithm (PPO's KL term is in its reward, not in its loss, so it anchors the reply format
less: at 2e-3 one data root of four lost it, a third of the last window's replies format errors)."""
VF_COEF = 0.1
"""PPO's value-loss coefficient here (the config's default is 0.5): the value head
reads the policy's last hidden state, and at 0.5 its loss through the one-layer trunk eroded the
reply format in one data root of five (half the last window's replies were format errors)."""
LARGE_BETA = 10.0
FORMAT_FLOOR = 0.7
"""The least share of a learned policy's replies that are one of its state's two choices (warm:
0.98; after the runs measured below 0.78 to 0.89: RL erodes the format a little)."""
PROB_MARGIN = 0.1
"""The least rise of the better script's probability in each state for a run that learned."""
REWARD_MARGIN = 0.05
"""The least rise of the policy's exact expected executed reward for a run that learned, and the
most a control may gain (see :func:`expected_reward`; no sampling noise; it counts every reply other
than the two choices as 0, so a run that raises P(good) by breaking the reply format does not pass)."""
CONTROL_SHARE = 0.5
"""The control's expected reward gains less than this share of the GRPO run's gain."""
KL_SHARE = 0.5
"""A run at LARGE_BETA moves the replies' log-probabilities less than this share of the learning run's move."""
# Measured in four data roots (each its own secret disguise, hence its own prompts and warm model;
# the settings above, seed 0, two loaded cores): P(good) digits / diabetes from 0.50 / 0.50 to,
# expected executed reward gain, sampled reward windows first -> last:
#   GRPO    0.78/0.84 +0.19 0.37->0.65 | 0.64/0.80 +0.14 0.38->0.54 | 0.75/0.83 +0.19 0.42->0.53 | 0.79/0.87 +0.17 0.46->0.56
#   PPO     0.75/0.82 +0.19 0.45->0.67 | 0.77/0.74 +0.16 0.29->0.64 | 0.71/0.76 +0.15 0.33->0.57 | 0.74/0.80 +0.14 0.49->0.64
#   control 0.45/0.60 -0.01 0.32->0.42 | 0.53/0.38 -0.06 0.42->0.39 | 0.37/0.55 -0.10 0.39->0.27 | 0.59/0.73 +0.03 0.32->0.30
# Mean |log-prob shift| beta=0.5 vs 10: 0.73 vs 0.12, 0.49 vs 0.13, 0.67 vs 0.14, 0.77 vs 0.11.
# (A control's sampled window can rise by chance, as in the first root: it is not asserted on.)
# With DISGUISE_KEYS (measured after the four above, not chosen): GRPO 0.74/0.80 +0.19 0.45->0.61,
# PPO 0.75/0.85 +0.18 0.49->0.67, control 0.37/0.52 -0.06 0.52->0.27, shift 0.61 vs 0.14; choices
# after GRPO 0.95/0.96, PPO 0.87/0.93; expected accuracy 0.761 -> 0.840 (GRPO) / 0.843 (PPO), MAE
# 55.6 -> 52.3 / 51.7; the module took 3 min 7 s.


@pytest.fixture(scope="module", autouse=True)
def one_thread() -> Iterator[None]:
    """One torch thread for the whole module, set before any other fixture of it runs (they are
    module-scoped for that: a session-scoped one would be built first, on the default threads,
    which on 2 shared cores made the warm start take minutes instead of seconds)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


DISGUISE_KEYS = {"digits": "6c6561726e696e672d6469676974732e", "diabetes": "6c6561726e696e672d6469616265742e"}
"""This module's data root has fixed disguise keys (the hex of "learning-digits." and
"learning-diabet."; drawn once, not chosen among others): the secret disguise shapes the prompts
and so the tokenizer, the warm model and every run, and a fresh key per session made each CI run
a new, unreproducible experiment. Other keys were measured (the figures above)."""


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This module's own data root (overrides the session's), its disguise keys DISGUISE_KEYS: the
    raw data is fetched into a scratch root, copied beside the fixed key, and prepared from there."""
    import shutil

    from mlagent_env.tasks import get_task
    from mlagent_env.tasks.data import prepare_task
    from mlagent_env.tasks.disguise import KEY_FILE

    scratch, root = tmp_path_factory.mktemp("rl-learning-raw"), tmp_path_factory.mktemp("rl-learning-data")
    for task_id, key in DISGUISE_KEYS.items():
        prepare_task(get_task(task_id), scratch)
        raw = root / "raw" / task_id
        shutil.copytree(scratch / "raw" / task_id, raw)
        (raw / KEY_FILE).write_text(key + "\n")
        prepare_task(get_task(task_id), root)
    return root


@pytest.fixture(scope="module")
def metric_states(tmp_path_factory: pytest.TempPathFactory, data_dir: Path) -> tuple[Path, dict[str, dict[str, float]]]:
    out = tmp_path_factory.mktemp("rl-metric-states")
    metrics = write_metric_states(data_dir, out)
    # the premise of every test below: in each state one script beats the last run and the other does not
    assert metrics["digits"]["good"] > metrics["digits"]["mid"] > metrics["digits"]["bad"]  # accuracy
    assert metrics["diabetes"]["good"] < metrics["diabetes"]["mid"] < metrics["diabetes"]["bad"]  # MAE
    return out / "states.jsonl", metrics


@pytest.fixture(scope="module")
def choice_model(tmp_path_factory: pytest.TempPathFactory, metric_states: tuple[Path, Any]) -> Path:
    model = warm_choice_model(metric_states[0], tmp_path_factory.mktemp("tiny-choice") / "model")
    logps = choice_logprobs(model, metric_states[0])
    for task, logp in logps.items():
        assert math.exp(logp["good"]) + math.exp(logp["bad"]) > 0.9, (task, logp)  # nearly every reply runs one of the two
    for task, p in good_probability(logps).items():
        assert 0.35 < p < 0.65, (task, p)  # and neither is preferred yet
    return model


def rl_config(algo: str, model: Path, states: Path, data_dir: Path, out: Path, **overrides: Any) -> Any:
    """The run's config, as ``mlagent-train rl --algo <algo>`` would build it."""
    from mlagent_train.rl import GRPOStageConfig, PPOStageConfig

    common: dict[str, Any] = dict(
        model_name_or_path=str(model), trajectories=[str(states)], tasks=list(TARGETS), task_balance="stratified",
        output_dir=str(out), data_dir=str(data_dir), sandbox="local", allow_readable_answers=True, num_sandboxes=2,
        num_generations=4, max_completion_length=32, learning_rate=LEARNING_RATE[algo], beta=BETA, max_steps=STEPS, save_steps=0,
        use_cpu=True, report_to="none", seed=0, logging_steps=STEPS)
    if algo == "grpo":  # every completion of a step in one batch: 2 states x num_generations
        common.update(per_device_train_batch_size=2 * common["num_generations"], gradient_accumulation_steps=1)
    else:
        common.update(prompts_per_step=2, mini_batch_size=2 * common["num_generations"], ppo_epochs=1,
                      critic_learning_rate=1e-3, vf_coef=VF_COEF)
    common.update(overrides)
    return (GRPOStageConfig if algo == "grpo" else PPOStageConfig)(**common)


def good_probability(logps: dict[str, dict[str, float]]) -> dict[str, float]:
    """Per task, the policy's probability of the better script's reply between its state's two, from
    the replies' log-probabilities (:func:`choice_logprobs`)."""
    return {task: 1.0 / (1.0 + math.exp(logp["bad"] - logp["good"])) for task, logp in logps.items()}


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
    """The GRPO learning run (also the control's yardstick and the KL test's small-beta arm)."""
    out = tmp_path_factory.mktemp("rl-learn") / "grpo"
    return train(rl_config("grpo", choice_model, metric_states[0], data_dir, out))


def expected_reward(logps: dict[str, dict[str, float]], rewards: dict[str, dict[str, float]]) -> float:
    """The policy's exact expected executed reward over the states, a lower bound: each of the two
    replies' probability (from the log-probabilities) times its executed reward, every other reply
    counted as 0 (a format error or a missing script earns 0; another valid action, such as List
    Files, would earn 0.5, and another spelling of a choice its reward: neither is counted). No
    sampling noise, unlike the sampled windows of 16 replies a state."""
    return sum(math.exp(logps[t][c]) * rewards[t][c] for t in TARGETS for c in ("good", "bad")) / len(TARGETS)


@pytest.fixture(scope="module")
def rewards(choice_model: Path, metric_states: tuple[Path, Any], data_dir: Path,
            tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, float]]:
    """The executed reward of each state's two replies (run for real once each)."""
    table = choice_rewards(rl_config("grpo", choice_model, metric_states[0], data_dir,
                                     tmp_path_factory.mktemp("rl-rewards")))
    for task in TARGETS:  # the better script earns more than the state's last run, the worse one less
        assert table[task]["good"] > 0.5 > table[task]["bad"], table
    return table


def outcome(name: str, out: Path, model: Path, states: Path,
            rewards: dict[str, dict[str, float]]) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    """The better script's probability per state before and after a run (``out/final``), the
    policy's expected executed reward before and after (``expected_before``/``expected_after`` in
    the curve) and the run's sampled windows, printed under ``name`` (the figures of the closing note)."""
    start, final = choice_logprobs(model, states), choice_logprobs(out / "final", states, model)
    before, after = good_probability(start), good_probability(final)
    curve = learning_curve(out)
    for task in TARGETS:  # the share of the policy's replies that are one of the two choices
        curve[f"choices_{task}"] = math.exp(final[task]["good"]) + math.exp(final[task]["bad"])
    curve["expected_before"] = expected_reward(start, rewards)
    curve["expected_after"] = expected_reward(final, rewards)
    figures = {"P(good) before": before, "after": after, "windows": curve}
    print(name, json.dumps({k: {n: round(v, 3) for n, v in d.items()} for k, d in figures.items()}))
    return before, after, curve


def expected_metric(p_good: float, metrics: dict[str, float]) -> float:
    """The metric a policy that runs the better script with probability ``p_good`` (and the worse
    one otherwise) submits, in expectation."""
    return p_good * metrics["good"] + (1.0 - p_good) * metrics["bad"]


def assert_learned(name: str, out: Path, model: Path, states: Path, rewards: dict[str, dict[str, float]],
                   metrics: dict[str, dict[str, float]]) -> None:
    before, after, curve = outcome(name, out, model, states, rewards)
    for task in TARGETS:  # in every state: the credit went to the right state's reply
        assert after[task] > before[task] + PROB_MARGIN, (task, before, after)
        assert curve[f"choices_{task}"] > FORMAT_FLOOR, (task, curve)  # and the reply format held
    # so the metric the policy submits moves the right way: accuracy up for digits, MAE down for diabetes
    digits = [expected_metric(p["digits"], metrics["digits"]) for p in (before, after)]
    diabetes = [expected_metric(p["diabetes"], metrics["diabetes"]) for p in (before, after)]
    print(name, f"expected accuracy {digits[0]:.4f} -> {digits[1]:.4f}, MAE {diabetes[0]:.2f} -> {diabetes[1]:.2f}")
    assert digits[1] > digits[0] and diabetes[1] < diabetes[0], (digits, diabetes)
    assert curve["expected_after"] > curve["expected_before"] + REWARD_MARGIN, curve
    # and the rewards the run itself executed rose over its steps (sign only: a window is 16 replies a state)
    assert curve["last_reward"] > curve["first_reward"], curve


def test_grpo_raises_the_executed_reward_and_the_metric_in_every_state(grpo_run: Path, choice_model: Path,
                                                                       metric_states: tuple[Path, Any],
                                                                       rewards: dict[str, dict[str, float]]) -> None:
    assert_learned("GRPO", grpo_run, choice_model, metric_states[0], rewards, metric_states[1])


def test_ppo_raises_the_executed_reward_and_the_metric_in_every_state(choice_model: Path,
                                                                      metric_states: tuple[Path, Any],
                                                                      data_dir: Path, tmp_path: Path,
                                                                      rewards: dict[str, dict[str, float]]) -> None:
    out = train(rl_config("ppo", choice_model, metric_states[0], data_dir, tmp_path / "ppo"))
    assert_learned("PPO", out, choice_model, metric_states[0], rewards, metric_states[1])


def test_grpo_with_rewards_shuffled_within_each_batch_does_not_learn(grpo_run: Path, choice_model: Path,
                                                                     metric_states: tuple[Path, Any],
                                                                     data_dir: Path, tmp_path: Path,
                                                                     rewards: dict[str, dict[str, float]]) -> None:
    states = metric_states[0]
    out = train(rl_config("grpo", choice_model, states, data_dir, tmp_path / "control"), shuffle_rewards=True)
    # a batch's mean reward is the executed one (shuffling keeps it), so the windows are the real ones
    curve = outcome("GRPO control (shuffled rewards)", out, choice_model, states, rewards)[2]
    learned = outcome("GRPO (the control's yardstick)", grpo_run, choice_model, states, rewards)[2]
    gain = curve["expected_after"] - curve["expected_before"]
    learned_gain = learned["expected_after"] - learned["expected_before"]
    # the better scripts' probabilities are printed, not asserted: a control keeps an eighth of the
    # credit and walks by chance (one root: 0.59 / 0.73, while its format eroded), so the measure is
    # the expected reward, which counts both
    assert gain < REWARD_MARGIN and gain < CONTROL_SHARE * learned_gain, (curve, learned)


def choice_shift(model: Path, reference: Path, states: Path) -> float:
    """The mean absolute change of the log-probability of each state's two replies from the reference."""
    new, ref = choice_logprobs(model, states, reference), choice_logprobs(reference, states, reference)
    shifts = [abs(new[t][c] - ref[t][c]) for t in TARGETS for c in SCRIPTS[t]]
    return sum(shifts) / len(shifts)


def test_a_larger_kl_coefficient_keeps_grpo_closer_to_the_reference(grpo_run: Path, choice_model: Path,
                                                                    metric_states: tuple[Path, Any],
                                                                    data_dir: Path, tmp_path: Path) -> None:
    states = metric_states[0]
    out = train(rl_config("grpo", choice_model, states, data_dir, tmp_path / "kl", beta=LARGE_BETA))
    free = choice_shift(grpo_run / "final", choice_model, states)
    held = choice_shift(out / "final", choice_model, states)
    print(f"KL: mean |log-prob shift| beta={BETA:g} {free:.3f}, beta={LARGE_BETA:g} {held:.3f}")
    assert held < KL_SHARE * free, (free, held)
