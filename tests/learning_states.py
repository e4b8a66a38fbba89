"""States for the RL learning tests, in which the only way to raise the reward is to raise the metric.

Two tasks, ``digits`` (accuracy, higher is better) and ``diabetes`` (MAE, lower is better), one
state each. Building a state fits a ridge regression in the sandbox (numpy, on the public
training split) with a good, a middling and a very strong regularisation and keeps the three
prediction files; ``mid.py`` copies the middling one to ``submission.csv`` and is run, so the
state's last metric is the middling one. Each state then has two scripts of its OWN (names that
exist in no other state): one copies the good predictions (a better submission than the last
run: metric reward above 0.5), the other the strongly regularised ones (worse: below 0.5). A run
costs a process start, no fit. A reply naming the other state's script is an ``error`` (the file
is not in that workspace), so completions paired with the wrong state would score wrongly.

The states are recorded with ``history_window=0`` (the env's own option: no past steps in the
prompt), which keeps the prompt the task, the tools and the workspace.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import gymnasium as gym

from mlagent_env import actions as A
from mlagent_env.trajectory import StepRecord

ALPHAS = {"good": 1.0, "mid": 3e3, "bad": 1e6}
TARGETS = {"digits": "label", "diabetes": "progression"}
SCRIPTS = {"digits": {"good": "ridge.py", "bad": "prior.py"}, "diabetes": {"good": "linear.py", "bad": "mean.py"}}
"""Per task, the script that submits the better and the worse predictions (no name is shared)."""

FIT = '''"""Ridge regression on standardised features, one prediction file per strength."""
import csv

import numpy as np

TARGET = {target!r}
CLASSIFY = {classify!r}


def load(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


head, train = load("data/train.csv")
test_head, test = load("data/test.csv")
features = [c for c in test_head if c != "id" and c in head]
X = np.array([[float(r[head.index(c)]) for c in features] for r in train])
Xt = np.array([[float(r[test_head.index(c)]) for c in features] for r in test])
y = np.array([float(r[head.index(TARGET)]) for r in train])
mu, sd = X.mean(0), X.std(0) + 1e-9
X, Xt = (X - mu) / sd, (Xt - mu) / sd
classes = np.unique(y)
Y = (y[:, None] == classes[None, :]).astype(float) if CLASSIFY else y[:, None]
Ym = Y.mean(0)
ids = [r[test_head.index("id")] for r in test]
for name, alpha in {alphas!r}.items():
    W = np.linalg.solve(X.T @ X + alpha * np.eye(X.shape[1]), X.T @ (Y - Ym))
    P = Xt @ W + Ym
    pred = [str(int(classes[i])) for i in P.argmax(1)] if CLASSIFY else [repr(float(v)) for v in P[:, 0]]
    with open("pred_" + name + ".csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", TARGET])
        w.writerows(zip(ids, pred))
'''

COPY = 'import shutil\n\nshutil.copyfile("pred_{name}.csv", "submission.csv")\n'


def choice_reply(script: str) -> str:
    """The JSON tool-call reply that runs one of the scripts."""
    return json.dumps({"name": A.ExecuteScript.name, "arguments": {"script_name": script}})


def write_metric_states(data_dir: Path, out: Path) -> dict[str, dict[str, float]]:
    """One state per task (a trajectory record with its EnvState) in ``out/states.jsonl``; returns
    per task the metric of ``mid.py`` and of the good and the bad script, measured by running them
    from the state in the env."""
    out.mkdir(parents=True, exist_ok=True)
    metrics: dict[str, dict[str, float]] = {}
    lines = []
    for task_id, target in TARGETS.items():
        files = {"fit.py": FIT.format(target=target, classify=task_id == "digits", alphas=ALPHAS),
                 "mid.py": COPY.format(name="mid"),
                 **{script: COPY.format(name=which) for which, script in SCRIPTS[task_id].items()}}
        env = gym.make(f"mlagent/{task_id}", sandbox="local", data_dir=str(data_dir), history_window=0)
        try:
            env.reset(seed=0)
            for name, text in files.items():
                env.step(A.WriteFile(file_name=name, content=text).to_reply())
            env.step(A.ExecuteScript(script_name="fit.py").to_reply())
            _, _, _, _, info = env.step(A.ExecuteScript(script_name="mid.py").to_reply())
            state = env.unwrapped.snapshot()  # type: ignore[attr-defined]
            metrics[task_id] = {"mid": info["metric"]}
            lines.append(StepRecord(episode_id=f"metric-{task_id}", task_id=task_id, step=1, prompt=info["prompt"],
                                    messages=info["messages"], reply="", action=None, valid=True, observation="",
                                    reward=0.0, reward_kind="non_edit", state=state).model_dump_json())
            for which, script in SCRIPTS[task_id].items():
                env.reset(options={"state": state})
                metrics[task_id][which] = env.step(choice_reply(script))[4]["metric"]
        finally:
            env.close()
    (out / "states.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return metrics


def state_rows(tokenizer: Any, states: Path) -> dict[str, dict[str, dict[str, list[int]]]]:
    """Per task and per choice (``good``/``bad``), the tokenised chat of that state's prompt with
    that script's run as the reply (``input_ids`` and ``labels`` on the reply only)."""
    from mlagent_train.datasets import tokenize_example
    from mlagent_train.states import StatesPool

    out: dict[str, dict[str, dict[str, list[int]]]] = {}
    for entry in StatesPool.from_trajectories([states], tasks=list(TARGETS)).entries:
        out[entry.task_id] = {
            which: tokenize_example(tokenizer, entry.messages + [{"role": "assistant", "content": choice_reply(script)}])
            for which, script in SCRIPTS[entry.task_id].items()
        }
    return out


def sequence_logprob(model: Any, row: dict[str, list[int]]) -> Any:
    """The model's log-probability of a row's labelled tokens (a scalar tensor; the labels are the
    reply at the end of the row, so only the logits of its positions are computed)."""
    import torch

    labels = torch.tensor(row["labels"][1:])
    n = len(labels) - int(torch.nonzero(labels != -100)[0])  # the reply and what follows it
    logits = model(input_ids=torch.tensor([row["input_ids"]]), logits_to_keep=n + 1).logits[0, :-1]
    return -torch.nn.functional.cross_entropy(logits.float(), labels[-n:], ignore_index=-100, reduction="sum")


def warm_choice_model(states: Path, out: Path, max_steps: int = 400, lr: float = 2e-2, seed: int = 0,
                      tolerance: float = 1.03) -> Path:
    """The tiny model (its tokenizer trained on the env's texts, these prompts and the four
    replies), then full-batch SFT on both states with each of the state's two scripts as the
    reply, half and half, until the mean log-loss of a reply is below ``tolerance`` times that of
    a 50/50 choice (ln 2; 1.03: about 98% of the policy's mass on the two replies) or ``max_steps``: a
    policy that nearly always emits a valid run of one of its state's scripts and has no preference
    between the two. (At 1.15 the format tokens kept enough entropy for RL at this learning rate to
    erode them: a PPO run's late window was mostly format errors.)"""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from mlagent_train.states import StatesPool
    from mlagent_train.tiny import build_tiny_model, default_corpus

    if (out / "config.json").exists():
        return out
    entries = StatesPool.from_trajectories([states], tasks=list(TARGETS)).entries
    corpus = default_corpus() + [m["content"] for e in entries for m in e.messages]
    corpus += [choice_reply(s) for names in SCRIPTS.values() for s in names.values()] * 20
    base = build_tiny_model(out.with_name(out.name + "-base"), corpus=corpus, vocab_size=2000, hidden_size=32,
                            layers=1, seed=seed, attention_heads=2)
    tok = AutoTokenizer.from_pretrained(base)
    model = AutoModelForCausalLM.from_pretrained(base)
    torch.manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    rows = [row for by_choice in state_rows(tok, states).values() for row in by_choice.values()]
    # the floor of the mean reply log-loss: the two replies of a state differ in the script name
    # only, so the best a policy without preference can do is probability 1/2 each: ln 2
    floor = math.log(2)
    for _ in range(max_steps):
        loss = -sum(sequence_logprob(model, r) for r in rows) / len(rows)
        if loss.item() < tolerance * floor:
            break
        loss.backward()
        opt.step()
        opt.zero_grad()
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


def choice_logprobs(model_dir: Path, states: Path, tokenizer: Path | None = None) -> dict[str, dict[str, float]]:
    """Per task, the model's log-probability of each of the state's two replies (``good``,
    ``bad``), exact (no sampling); the tokenizer from ``tokenizer`` (default: the model's folder)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tokenizer or model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir).eval()
    with torch.no_grad():
        return {task: {which: float(sequence_logprob(model, row)) for which, row in by_choice.items()}
                for task, by_choice in state_rows(tok, states).items()}


class ShuffledRewards:
    """The control's executor: the wrapped executor runs every reply for real, then the batch's
    rewards are handed back in a random order. Each reply keeps its own reward kind and metric, and
    a batch keeps its mean reward, so the windows of ``rollouts.jsonl`` still show what was executed."""

    def __init__(self, executor: Any, seed: int = 0) -> None:
        import random

        self.executor = executor
        self.rng = random.Random(seed)

    @property
    def answers_readable(self) -> bool:
        return bool(self.executor.answers_readable)

    def warm_up(self, task_ids: Any) -> None:
        self.executor.warm_up(task_ids)

    def run(self, states: Any, replies: Any, *, keep_state: bool = False) -> list[Any]:
        from dataclasses import replace

        outcomes = self.executor.run(states, replies, keep_state=keep_state)
        rewards = [o.reward for o in outcomes]
        self.rng.shuffle(rewards)
        return [replace(o, reward=r) for o, r in zip(outcomes, rewards)]

    def begin(self, task_ids: Any, seeds: Any) -> list[Any]:
        return list(self.executor.begin(task_ids, seeds))

    def close(self) -> None:
        self.executor.close()


def choice_rewards(cfg: Any) -> dict[str, dict[str, float]]:
    """Per task, the executed reward of each of its state's two replies, run once each for real by
    ``mlagent-train rl``'s executor from the states of ``cfg``'s pool (rewards here are deterministic:
    the same script from the same state writes the same submission)."""
    from mlagent_train.rl import build_executor, build_states_pool

    pool = build_states_pool(cfg)
    by_task = {e.task_id: state for e, state in zip(pool.entries, pool.states())}
    pairs = [(task, choice) for task in TARGETS for choice in ("good", "bad")]
    executor: Any = build_executor(cfg)
    try:
        executor.warm_up(pool.tasks)
        scored = executor.run([by_task[t] for t, _ in pairs], [choice_reply(SCRIPTS[t][c]) for t, c in pairs])
    finally:
        executor.close()
    rewards: dict[str, dict[str, float]] = {t: {} for t in TARGETS}
    for (task, choice), o in zip(pairs, scored):
        assert o.reward_kind == "metric", (task, choice, o)
        rewards[task][choice] = o.reward
    return rewards


def train(cfg: Any, shuffle_rewards: bool = False) -> Path:
    """``mlagent-train rl`` for a GRPO or PPO config (:func:`mlagent_train.rl.run_rl`), with the
    rewards shuffled within each batch when ``shuffle_rewards`` (its executor wrapped in
    :class:`ShuffledRewards`); returns the output folder."""
    from mlagent_train import rl

    build = rl.build_executor
    if shuffle_rewards:
        rl.build_executor = lambda c: ShuffledRewards(build(c), seed=c.seed)  # type: ignore[assignment]
    try:
        rl.run_rl(cfg)
    finally:
        rl.build_executor = build
    return Path(cfg.output_dir)
