"""The reward path of step-wise GRPO and PPO on top of an :class:`~mlagent_train.executor.Executor`.

    reward = EnvReward(executor, pool.states(), RewardLog("runs/rl/rollouts.jsonl"))   # a TRL reward function
    metrics = RewardLog(path).record(step, executor.run(states, replies))  # PPO's way

There is no shortcut: the reward is the env's unified reward of the executed step (see
:mod:`mlagent_train.executor` for how replies are executed, timed out and failed).
:class:`RewardLog` counts reward kinds over training and appends every scored reply to
``rollouts.jsonl`` (step, task, kind, reward, and the reason when the env did not score it), from
which the summary and plots are made.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mlagent_env.reward import REWARD_KINDS
from mlagent_train.executor import Executor, ScoredReply

ALL_KINDS: tuple[str, ...] = REWARD_KINDS


def completion_text(completion: Any) -> str:
    """The reply text of a TRL completion: a string, or a conversational list of messages."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):
        return "".join(str(m.get("content") or "") for m in completion if m.get("role", "assistant") == "assistant")
    if isinstance(completion, dict):
        return str(completion.get("content") or "")
    return str(completion)


class RewardLog:
    """Reward kinds over training: per-call fractions and counts, and ``rollouts.jsonl``."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else None
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def record(self, step: int, outcomes: list[ScoredReply], extra: dict[str, Any] | None = None) -> dict[str, float]:
        """Count the outcomes, append them to the file, and return this batch's metrics:
        ``reward_kind/<kind>`` fractions, ``valid_fraction`` and ``env_reward`` (mean)."""
        kinds = Counter(o.reward_kind for o in outcomes)
        with self._lock:
            self.counts.update(kinds)
            if self.path is not None:
                with open(self.path, "a", encoding="utf-8") as f:
                    for i, o in enumerate(outcomes):
                        row = {"step": step, "task_id": o.task_id, "reward_kind": o.reward_kind, "reward": o.reward,
                               "metric": o.metric, "env_s": round(o.env_s, 4), **({k: v[i] for k, v in (extra or {}).items()})}
                        if o.error is not None:
                            row["error"] = o.error
                        f.write(json.dumps(row) + "\n")
        n = max(len(outcomes), 1)
        metrics = {f"reward_kind/{k}": kinds.get(k, 0) / n for k in ALL_KINDS}
        metrics["valid_fraction"] = sum(o.valid for o in outcomes) / n
        metrics["env_reward"] = sum(o.reward for o in outcomes) / n
        return metrics


class EnvReward:
    """A TRL reward function (``reward_funcs=[EnvReward(executor, pool.states())]``): the state
    that a row's ``state_index`` names is restored, the completion is executed, and the env's
    unified reward is returned. The dataset holds indices, not states, so that a state (a
    workspace tar) is kept once, however often it is drawn. Reward kinds go to TRL's
    ``log_metric`` hook (``reward_kind/<kind>``) and to a :class:`RewardLog`."""

    __name__ = "unified_reward"

    def __init__(self, executor: Executor, states: Sequence[str], log: RewardLog | None = None,
                 marks: dict[str, float] | None = None) -> None:
        self.executor = executor
        self.states = list(states)
        self.log = log or RewardLog()
        self.marks = dict(marks or {})
        """Constant metrics logged with every call (``answers_readable`` on a run that opted in)."""

    def __call__(self, prompts: list[Any], completions: list[Any], state_index: list[int], log_metric: Any = None,
                 trainer_state: Any = None, **kwargs: Any) -> list[float]:
        replies = [completion_text(c) for c in completions]
        outcomes = self.executor.run([self.states[int(i)] for i in state_index], replies)
        step = int(getattr(trainer_state, "global_step", 0) or 0) + 1
        metrics = {**self.log.record(step, outcomes), **self.marks}
        if log_metric is not None:
            for name, value in metrics.items():
                log_metric(name, value)
        return [o.reward for o in outcomes]


def summarise_rollouts(paths: str | Path | list[Path], window: int = 5) -> dict[str, Any]:
    """From ``rollouts.jsonl`` (or several, one per process): counts and fractions of each reward
    kind over training, the mean reward per step, and the means of the first and last ``window``
    steps."""
    files = [Path(p) for p in paths] if isinstance(paths, list) else [Path(paths)]
    rows = [json.loads(line) for f in files if f.exists()
            for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    counts = Counter(r["reward_kind"] for r in rows)
    by_step: dict[int, list[float]] = {}
    kinds_by_step: dict[int, Counter[str]] = {}
    for r in rows:
        by_step.setdefault(r["step"], []).append(r["reward"])
        kinds_by_step.setdefault(r["step"], Counter())[r["reward_kind"]] += 1
    steps = sorted(by_step)
    means = [sum(by_step[s]) / len(by_step[s]) for s in steps]
    w = min(window, max(len(means) // 2, 1)) if means else 0
    total = max(len(rows), 1)
    return {
        "scored_replies": len(rows),
        "steps": len(steps),
        "counts": {k: counts.get(k, 0) for k in ALL_KINDS},
        "fractions": {k: counts.get(k, 0) / total for k in ALL_KINDS},
        "reward_by_step": dict(zip(steps, means)),
        "kinds_by_step": {s: dict(kinds_by_step[s]) for s in steps},
        "first_window_mean": sum(means[:w]) / w if w else None,
        "last_window_mean": sum(means[-w:]) / w if w else None,
        "window": w,
    }


