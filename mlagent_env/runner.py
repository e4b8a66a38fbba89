"""Plays one episode of a policy in an env: the loop that the CLI, the benchmark and training share."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import gymnasium as gym

from mlagent_env.agents.base import Policy
from mlagent_env.errors import MLAgentError
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
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass
class EpisodeResult:
    task_id: str
    seed: int | None = None
    steps: list[StepSummary] = field(default_factory=list)
    final_score: float | None = None
    final_error: str | None = None
    medal: str | None = None
    best_metric: float | None = None
    terminated: bool = False
    truncated: bool = False
    error: str | None = None

    @property
    def total_reward(self) -> float:
        return sum(s.reward for s in self.steps)

    @property
    def invalid_steps(self) -> int:
        return sum(1 for s in self.steps if s.reward_kind == "format_error")

    @property
    def policy_s(self) -> float:
        return sum(s.policy_s for s in self.steps)

    @property
    def env_s(self) -> float:
        return sum(s.env_s for s in self.steps)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "EpisodeResult":
        d = dict(d)
        d["steps"] = [StepSummary(**s) for s in d.get("steps", [])]
        return cls(**d)


def run_episode(
    env: gym.Env[str, str],
    policy: Policy,
    *,
    seed: int | None = None,
    options: dict[str, Any] | None = None,
    on_step: Callable[[StepSummary], None] | None = None,
) -> EpisodeResult:
    """Reset ``env``, let ``policy`` act until the episode ends, and summarise it. A policy that
    fails for good (e.g. its server is down after retries) ends the episode with ``error`` set;
    the final score is still taken from the submission as it is."""
    task_id = env.unwrapped.task.id  # type: ignore[attr-defined]
    policy.reset(task_id, seed)
    _, info = env.reset(seed=seed, options=options)
    result = EpisodeResult(task_id=task_id, seed=seed)
    recorder = env if isinstance(env, RecordEpisode) else None
    usage = getattr(policy, "last_usage", None)
    while True:
        t0 = time.perf_counter()
        try:
            reply = policy.act(info["messages"], info)
        except MLAgentError as exc:
            result.error = f"{type(exc).__name__}: {exc}"
            result.__dict__.update(_final(env))
            return result
        policy_s = time.perf_counter() - t0
        tokens = usage() if usage is not None else None
        if recorder is not None:
            recorder.note(policy_s=policy_s, tokens=tokens)
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
            prompt_tokens=(tokens or {}).get("prompt_tokens", 0),
            completion_tokens=(tokens or {}).get("completion_tokens", 0),
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


def _final(env: gym.Env[str, str]) -> dict[str, Any]:
    inner = env.unwrapped
    final = inner.final_score()  # type: ignore[attr-defined]
    return {
        "final_score": final["final_score"],
        "final_error": final["final_error"],
        "medal": final["medal"],
        "best_metric": inner.snapshot().best_metric,  # type: ignore[attr-defined]
    }
