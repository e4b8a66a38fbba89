"""States for RL tests in which the only way to raise the reward is to raise the metric.

Two tasks, ``digits`` (accuracy, higher is better) and ``diabetes`` (MAE, lower is better). In
each state the workspace holds the same ridge-regression script three times with a different
regularisation strength ``ALPHA`` (a real fit on the public training data, numpy only, so that a
run costs a process start rather than a scikit-learn import): ``fit_mid.py`` was already run (so
the state's previous metric is the middle one), and ``fit_a.py`` / ``fit_b.py`` give a better or
a worse model. Which one is better depends on the task: in digits ``fit_a.py`` has the good
``ALPHA``, in diabetes ``fit_b.py`` has it. A policy can only learn that from executed rewards of
the right state, so a mix-up of completions and states fails.
"""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym

from mlagent_env import actions as A
from mlagent_env.trajectory import StepRecord

GOOD_ALPHA, MID_ALPHA, BAD_ALPHA = 1.0, 3e3, 1e6
TARGETS = {"digits": "label", "diabetes": "progression"}
GOOD_SCRIPT = {"digits": "fit_a.py", "diabetes": "fit_b.py"}
CHOICES = ("fit_a.py", "fit_b.py")

RIDGE = '''"""Ridge regression on standardised features; ALPHA is the regularisation strength."""
import csv

import numpy as np

ALPHA = {alpha!r}
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
if CLASSIFY:
    classes = np.unique(y)
    Y = (y[:, None] == classes[None, :]).astype(float)
else:
    Y = y[:, None]
Ym = Y.mean(0)
W = np.linalg.solve(X.T @ X + ALPHA * np.eye(X.shape[1]), X.T @ (Y - Ym))
P = Xt @ W + Ym
pred = [str(int(classes[i])) for i in P.argmax(1)] if CLASSIFY else [repr(float(v)) for v in P[:, 0]]
ids = [r[test_head.index("id")] for r in test]
with open("submission.csv", "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["id", TARGET])
    w.writerows(zip(ids, pred))
print("wrote submission.csv with ALPHA", ALPHA)
'''


def ridge_script(task_id: str, alpha: float) -> str:
    return RIDGE.format(alpha=alpha, target=TARGETS[task_id], classify=task_id == "digits")


def choice_reply(script: str) -> str:
    """The JSON tool-call reply that runs one of the scripts."""
    return json.dumps({"name": A.ExecuteScript.name, "arguments": {"script_name": script}})


def write_metric_states(data_dir: Path, out: Path) -> dict[str, dict[str, float]]:
    """One state per task (a trajectory record with its EnvState) in ``out/states.jsonl``; returns
    the metric of each script per task, measured by running it in the env."""
    out.mkdir(parents=True, exist_ok=True)
    metrics: dict[str, dict[str, float]] = {}
    lines = []
    for task_id in TARGETS:
        alphas = {"fit_mid.py": MID_ALPHA, GOOD_SCRIPT[task_id]: GOOD_ALPHA}
        alphas[next(c for c in CHOICES if c != GOOD_SCRIPT[task_id])] = BAD_ALPHA
        env = gym.make(f"mlagent/{task_id}", sandbox="local", data_dir=str(data_dir))
        try:
            env.reset(seed=0)
            for name, alpha in alphas.items():
                env.unwrapped._sandbox.write_file(name, ridge_script(task_id, alpha).encode())  # type: ignore[attr-defined]
            _, _, _, _, info = env.step(A.ExecuteScript(script_name="fit_mid.py").to_reply())
            state = env.unwrapped.snapshot()  # type: ignore[attr-defined]
            metrics[task_id] = {"fit_mid.py": info["metric"]}
            lines.append(StepRecord(episode_id=f"metric-{task_id}", task_id=task_id, step=2, prompt=info["prompt"],
                                    messages=info["messages"], reply="", action=None, valid=True, observation="",
                                    reward=0.0, reward_kind="non_edit", state=state).model_dump_json())
            for script in CHOICES:
                env.reset(options={"state": state})
                metrics[task_id][script] = env.step(choice_reply(script))[4]["metric"]
        finally:
            env.close()
    (out / "states.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return metrics
