"""Trajectory logs: one JSON line per step, written while an episode runs and read back later.

Each :class:`StepRecord` holds what the policy saw (``prompt``, ``messages``) and the
:class:`~mlagent_env.env.EnvState` *in which it saw it* (``state``), so that step-wise RL can
restore any step and SFT can render the same prompt again.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any, Iterator, SupportsFloat

import gymnasium as gym
from pydantic import BaseModel, ConfigDict, Field

from mlagent_env.env import EnvState
from mlagent_env.text import scrub_surrogates


class StepRecord(BaseModel):
    model_config = ConfigDict(extra="forbid", ser_json_bytes="base64", val_json_bytes="base64")

    episode_id: str
    task_id: str
    step: int = Field(description="1-based index of this step in the episode")
    prompt: str
    messages: list[dict[str, str]]
    reply: str = Field(description="the policy's raw reply (or the action's reply form)")
    action: dict[str, Any] | None
    valid: bool
    observation: str
    reward: float
    reward_kind: str
    metric: float | None = None
    best_metric: float | None = None
    exec: dict[str, Any] | None = None
    terminated: bool = False
    truncated: bool = False
    final_score: float | None = None
    env_s: float = Field(0.0, description="wall time of env.step")
    policy_s: float | None = Field(None, description="wall time the policy took for this reply")
    tokens: dict[str, int] | None = None
    state: EnvState | None = Field(None, description="the state before the action (where the prompt was shown)")


def write_records(path: str | Path, records: list[StepRecord]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for r in records:
            f.write(r.model_dump_json() + "\n")


def iter_records(path: str | Path) -> Iterator[StepRecord]:
    """Read a trajectory file line by line (validates every line)."""
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if line.strip():
                try:
                    yield StepRecord.model_validate_json(line)
                except ValueError as exc:
                    raise ValueError(f"{path}:{n}: not a trajectory record: {exc}") from exc


def read_records(path: str | Path) -> list[StepRecord]:
    return list(iter_records(path))


class RecordEpisode(gym.Wrapper[str, str, str, str]):
    """Append a :class:`StepRecord` to ``path`` (JSONL) after every step.

    ``save_state`` stores the EnvState before each action (needed for step-wise RL; costs a
    workspace snapshot per step). Set ``policy_s``/``tokens`` with :meth:`note` before a step to
    record the policy's time and token counts."""

    def __init__(self, env: gym.Env[str, str], path: str | Path, save_state: bool = True) -> None:
        super().__init__(env)
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.save_state = save_state
        self.episode_id = ""
        self._prompt = ""
        self._messages: list[dict[str, str]] = []
        self._state: EnvState | None = None
        self._note: dict[str, Any] = {}

    def note(self, policy_s: float | None = None, tokens: dict[str, int] | None = None) -> None:
        self._note = {"policy_s": policy_s, "tokens": tokens}

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        obs, info = self.env.reset(seed=seed, options=options)
        self.episode_id = uuid.uuid4().hex[:12]
        self._remember(info)
        return obs, info

    def step(self, action: str) -> tuple[str, SupportsFloat, bool, bool, dict[str, Any]]:
        start = time.perf_counter()
        obs, reward, terminated, truncated, info = self.env.step(action)
        env_s = time.perf_counter() - start
        record = StepRecord(
            episode_id=self.episode_id,
            task_id=self.unwrapped.task.id,  # type: ignore[attr-defined]
            step=info["step"],
            prompt=self._prompt,
            messages=self._messages,
            reply=scrub_surrogates(action if isinstance(action, str) else action.to_reply()),
            action=info["action"],
            valid=info["valid"],
            observation=obs,
            reward=float(reward),
            reward_kind=info["reward_kind"],
            metric=info["metric"],
            best_metric=info["best_metric"],
            exec=info["exec"],
            terminated=terminated,
            truncated=truncated,
            final_score=info.get("final_score"),
            env_s=env_s,
            state=self._state,
            **self._note,
        )
        self._note = {}
        with open(self.path, "a", encoding="utf-8") as f:
            f.write(record.model_dump_json() + "\n")
        if not (terminated or truncated):
            self._remember(info)
        return obs, reward, terminated, truncated, info

    def _remember(self, info: dict[str, Any]) -> None:
        self._prompt = info["prompt"]
        self._messages = info["messages"]
        env = self.unwrapped  # an MLAgentEnv, or a RemoteEnv (mlagent_env.remote) that runs one elsewhere
        self._state = env.snapshot() if self.save_state else None  # type: ignore[attr-defined]


