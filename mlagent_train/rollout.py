"""Executing the policy's replies: the one reward path of step-wise GRPO and PPO.

    executor = StepExecutor(sandbox="local", data_dir=..., num_sandboxes=4, timeout_s=900)
    outcomes = executor.run(states, replies)         # each reply from its restored state
    reward = EnvReward(executor)                      # a TRL reward function over the same path

Every reply is executed for real: an env (one sandbox each) is taken from a per-task pool,
restored to the state with ``env.reset(options={"state": state})`` (a fresh sandbox holding
exactly that workspace), stepped with the reply text, and given back. Up to ``num_sandboxes``
replies run at once in a thread pool; a batch that is not done ``timeout_s`` after it was
submitted scores its unfinished replies ``timeout_reward`` with the kind ``rollout_timeout``
(their threads finish in the background and give their envs back to the pool; the env's own
``exec_timeout_s`` bounds a script run, which is the ``corner_case`` kind). There is no
shortcut: the reward is the env's unified reward of that executed step.

:class:`RewardLog` counts reward kinds over training and appends every scored reply to
``rollouts.jsonl`` (step, task, kind, reward), from which the summary and plots are made.
"""

from __future__ import annotations

import json
import queue
import threading
import time
import warnings
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym

from mlagent_env.reward import REWARD_KINDS

TIMEOUT_KIND = "rollout_timeout"
ALL_KINDS: tuple[str, ...] = (*REWARD_KINDS, TIMEOUT_KIND)


@dataclass
class StepOutcome:
    task_id: str
    reward: float
    reward_kind: str
    valid: bool
    env_s: float
    observation: str = ""


def completion_text(completion: Any) -> str:
    """The reply text of a TRL completion: a string, or a conversational list of messages."""
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list):
        return "".join(str(m.get("content") or "") for m in completion if m.get("role", "assistant") == "assistant")
    if isinstance(completion, dict):
        return str(completion.get("content") or "")
    return str(completion)


def _task_of(state: str) -> str:
    return json.loads(state)["task_id"] if isinstance(state, str) else state["task_id"]


class StepExecutor:
    """A pool of envs (one sandbox each) per task and a thread pool that runs replies on them."""

    def __init__(
        self,
        *,
        sandbox: str = "auto",
        data_dir: str | None = None,
        num_sandboxes: int = 4,
        timeout_s: float = 900.0,
        timeout_reward: float = 0.0,
        env_max_steps: int = 1000,
        env_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.sandbox = sandbox
        self.data_dir = data_dir
        self.num_sandboxes = max(1, num_sandboxes)
        self.timeout_s = timeout_s
        self.timeout_reward = timeout_reward
        self.env_kwargs = dict(env_kwargs or {})
        self.env_max_steps = env_max_steps
        self._idle: dict[str, queue.SimpleQueue[gym.Env[str, str]]] = {}
        self._lock = threading.Lock()
        self._threads = ThreadPoolExecutor(max_workers=self.num_sandboxes, thread_name_prefix="mlagent-rollout")
        self._all: list[gym.Env[str, str]] = []

    def make_env(self, task_id: str) -> gym.Env[str, str]:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="mlagent local sandbox")
            env = gym.make(f"mlagent/{task_id}", sandbox=self.sandbox, data_dir=self.data_dir,
                           max_steps=self.env_max_steps, **self.env_kwargs)
        with self._lock:
            self._all.append(env)
        return env

    def _take(self, task_id: str) -> gym.Env[str, str]:
        with self._lock:
            idle = self._idle.setdefault(task_id, queue.SimpleQueue())
        try:
            return idle.get_nowait()
        except queue.Empty:
            return self.make_env(task_id)

    def _give(self, task_id: str, env: gym.Env[str, str]) -> None:
        self._idle[task_id].put(env)

    def _execute(self, state: str, reply: str) -> StepOutcome:
        task_id = _task_of(state)
        env = self._take(task_id)
        start = time.perf_counter()
        try:
            env.reset(options={"state": state})
            obs, reward, _, _, info = env.step(reply)
        except BaseException:
            env.close()
            raise
        self._give(task_id, env)
        return StepOutcome(task_id=task_id, reward=float(reward), reward_kind=info["reward_kind"],
                           valid=bool(info["valid"]), env_s=time.perf_counter() - start, observation=obs)

    def submit(self, state: str, reply: str) -> Future[StepOutcome]:
        return self._threads.submit(self._execute, state, reply)

    def run(self, states: list[str], replies: list[str]) -> list[StepOutcome]:
        """Execute ``replies[i]`` from ``states[i]`` (EnvState JSON), concurrently; in order."""
        if len(states) != len(replies):
            raise ValueError("one state per reply")
        futures = [self.submit(s, r) for s, r in zip(states, replies)]
        deadline = time.monotonic() + self.timeout_s
        out = []
        for state, fut in zip(states, futures):
            try:
                out.append(fut.result(timeout=max(0.0, deadline - time.monotonic())))
            except FutureTimeout:
                out.append(StepOutcome(task_id=_task_of(state), reward=self.timeout_reward, reward_kind=TIMEOUT_KIND,
                                       valid=False, env_s=self.timeout_s))
        return out

    def close(self) -> None:
        self._threads.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            envs, self._all = self._all, []
            self._idle.clear()
        for env in envs:
            env.close()

    def __enter__(self) -> StepExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RewardLog:
    """Reward kinds over training: per-call fractions and counts, and ``rollouts.jsonl``."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else None
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()

    def record(self, step: int, outcomes: list[StepOutcome], extra: dict[str, Any] | None = None) -> dict[str, float]:
        """Count the outcomes, append them to the file, and return this batch's metrics:
        ``reward_kind/<kind>`` fractions, ``valid_fraction`` and ``env_reward`` (mean)."""
        kinds = Counter(o.reward_kind for o in outcomes)
        with self._lock:
            self.counts.update(kinds)
            if self.path is not None:
                with open(self.path, "a", encoding="utf-8") as f:
                    for i, o in enumerate(outcomes):
                        row = {"step": step, "task_id": o.task_id, "reward_kind": o.reward_kind, "reward": o.reward,
                               "env_s": round(o.env_s, 4), **({k: v[i] for k, v in (extra or {}).items()})}
                        f.write(json.dumps(row) + "\n")
        n = max(len(outcomes), 1)
        metrics = {f"reward_kind/{k}": kinds.get(k, 0) / n for k in ALL_KINDS}
        metrics["valid_fraction"] = sum(o.valid for o in outcomes) / n
        metrics["env_reward"] = sum(o.reward for o in outcomes) / n
        return metrics


class EnvReward:
    """A TRL reward function (``reward_funcs=[EnvReward(executor)]``): the dataset's ``state``
    column is restored, the completion is executed, and the env's unified reward is returned.
    Reward kinds go to TRL's ``log_metric`` hook (``reward_kind/<kind>``) and to a :class:`RewardLog`."""

    __name__ = "unified_reward"

    def __init__(self, executor: StepExecutor, log: RewardLog | None = None) -> None:
        self.executor = executor
        self.log = log or RewardLog()

    def __call__(self, prompts: list[Any], completions: list[Any], state: list[str], log_metric: Any = None,
                 trainer_state: Any = None, **kwargs: Any) -> list[float]:
        replies = [completion_text(c) for c in completions]
        outcomes = self.executor.run(list(state), replies)
        step = int(getattr(trainer_state, "global_step", 0) or 0) + 1
        metrics = self.log.record(step, outcomes)
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


def outcome_dict(o: StepOutcome) -> dict[str, Any]:
    d = asdict(o)
    d.pop("observation", None)
    return d
