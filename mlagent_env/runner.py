"""Plays one episode of a policy in an env: the loop that the CLI, the benchmark and training share."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import gymnasium as gym

from mlagent_env.agents.base import Policy
from mlagent_env.trajectory import RecordEpisode


@dataclass
class StepSummary:
    step: int
    action: str | None
    reward_kind: str
    reward: float
    metric: float | None
    policy_s: float
    env_s: float


@dataclass
class EpisodeResult:
    task_id: str
    steps: list[StepSummary] = field(default_factory=list)
    final_score: float | None = None
    final_error: str | None = None
    medal: str | None = None
    best_metric: float | None = None
    terminated: bool = False
    truncated: bool = False

    @property
    def total_reward(self) -> float:
        return sum(s.reward for s in self.steps)


def run_episode(
    env: gym.Env[str, str],
    policy: Policy,
    *,
    seed: int | None = None,
    options: dict[str, Any] | None = None,
    on_step: Callable[[StepSummary], None] | None = None,
) -> EpisodeResult:
    """Reset ``env``, let ``policy`` act until the episode ends, and summarise it."""
    task_id = env.unwrapped.task.id  # type: ignore[attr-defined]
    policy.reset(task_id, seed)
    _, info = env.reset(seed=seed, options=options)
    result = EpisodeResult(task_id=task_id)
    recorder = env if isinstance(env, RecordEpisode) else None
    while True:
        t0 = time.perf_counter()
        reply = policy.act(info["messages"], info)
        policy_s = time.perf_counter() - t0
        if recorder is not None:
            recorder.note(policy_s=policy_s)
        t1 = time.perf_counter()
        _, reward, terminated, truncated, info = env.step(reply)
        summary = StepSummary(
            step=info["step"],
            action=info["action"]["name"] if info["action"] else None,
            reward_kind=info["reward_kind"],
            reward=float(reward),
            metric=info["metric"],
            policy_s=policy_s,
            env_s=time.perf_counter() - t1,
        )
        result.steps.append(summary)
        if on_step is not None:
            on_step(summary)
        if terminated or truncated:
            result.final_score = info.get("final_score")
            result.final_error = info.get("final_error")
            result.medal = info.get("medal")
            result.best_metric = info.get("best_metric")
            result.terminated, result.truncated = terminated, truncated
            return result
