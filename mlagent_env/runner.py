"""Plays one episode of a policy in an env: the loop that the CLI, the benchmark and training share."""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import gymnasium as gym

from mlagent_env.agents.base import Policy
from mlagent_env.agents.factory import PolicySpec
from mlagent_env.config import option
from mlagent_env.errors import MLAgentError
from mlagent_env.trajectory import RecordEpisode


@dataclass
class RunConfig:
    """What ``mlagent-env run`` plays; every field is a command-line option and a YAML key."""

    task: str = option("digits", "task id")
    policy: PolicySpec = option(PolicySpec(), "scripted | baseline | expert | replay:PATH | http | python; "
                                "its settings are the --policy.* options")
    sandbox: str = option("local", "auto | local | docker")
    max_steps: int | None = option(None, "most steps (default: the env's)")
    seed: int = option(0, "episode seed")
    data_dir: str | None = option(None, "data root (default: $MLAGENT_DATA_DIR or ~/.cache/mlagent)")
    trajectory: str | None = option(None, "write the trajectory to this JSONL file")


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
    truncated_reply: bool = False
    """The server cut the reply at max_tokens (``finish_reason: length``)."""


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
    sandbox: str | None = None
    """The sandbox the episode ran in (``docker``, ``local``), whatever was asked for."""

    @property
    def total_reward(self) -> float:
        return sum(s.reward for s in self.steps)

    @property
    def invalid_steps(self) -> int:
        return sum(1 for s in self.steps if s.reward_kind == "format_error")

    @property
    def truncated_replies(self) -> int:
        return sum(1 for s in self.steps if s.truncated_reply)

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
    stop: threading.Event | None = None,
) -> EpisodeResult:
    """Reset ``env``, let ``policy`` act until the episode ends, and summarise it. A policy that
    fails for good (e.g. its server is down after retries) ends the episode with ``error`` set;
    the final score is still taken from the submission as it is. When ``stop`` is set the episode
    is abandoned before its next step (:class:`Interrupted`)."""
    task_id = env.unwrapped.task.id  # type: ignore[attr-defined]
    policy.reset(task_id, seed)
    _, info = env.reset(seed=seed, options=options)
    result = EpisodeResult(task_id=task_id, seed=seed, sandbox=sandbox_name(env))
    recorder = env if isinstance(env, RecordEpisode) else None
    usage = getattr(policy, "last_usage", None)
    while True:
        if stop is not None and stop.is_set():
            raise Interrupted(f"{task_id}: stopped before step {len(result.steps) + 1}")
        t0 = time.perf_counter()
        try:
            reply = policy.act(info["messages"], info)
        except MLAgentError as exc:
            result.error = f"{type(exc).__name__}: {exc}"
            result.__dict__.update(_final(env))
            return result
        policy_s = time.perf_counter() - t0
        tokens = dict(usage()) if usage is not None else None
        finish = (tokens or {}).pop("finish_reason", None)
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
            truncated_reply=finish == "length",
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


class Interrupted(Exception):
    """The episode was abandoned because its ``stop`` event was set (Ctrl-C)."""


def sandbox_name(env: gym.Env[str, str]) -> str | None:
    """``docker`` or ``local``: the backend the env's sandbox actually is."""
    sandbox = getattr(env.unwrapped, "_sandbox", None)
    return None if sandbox is None else type(sandbox).__name__.removesuffix("Sandbox").lower()


def _final(env: gym.Env[str, str]) -> dict[str, Any]:
    inner = env.unwrapped
    final = inner.final_score()  # type: ignore[attr-defined]
    return {
        "final_score": final["final_score"],
        "final_error": final["final_error"],
        "medal": final["medal"],
        "best_metric": inner.snapshot().best_metric,  # type: ignore[attr-defined]
    }
