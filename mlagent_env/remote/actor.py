"""The env actor: one env, and its sandbox, on the node where Ray placed the actor.

Methods return plain picklable values (and the state after each reset and step, which lets the
driver carry an episode on elsewhere when this node dies). ``abort`` runs beside a busy method
(the actor has two threads) and closes the env, killing what the running reply started.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import gymnasium as gym

import mlagent_env  # noqa: F401  (registers the gym ids in the actor's process)
from mlagent_env.env import EnvState
from mlagent_env.tasks import data as D
from mlagent_env.tasks import get_task

Step = tuple[str, float, bool, bool, dict[str, Any], EnvState]


def prepare_here(task_id: str, data_dir: str | None) -> None:
    """Prepare the task's data under this node's data root unless it is there; actors that start
    at once on one node wait for the first one's preparation (``prepare_task``'s per-task lock)."""
    D.prepare_task(get_task(task_id), data_dir)


class EnvActor:
    """One env of ``task_id`` made with ``env_kwargs`` (gym.make's), on this node."""

    def __init__(self, task_id: str, env_kwargs: dict[str, Any]) -> None:
        import ray  # noqa: PLC0415

        self.task_id = task_id
        prepare_here(task_id, env_kwargs.get("data_dir"))
        kwargs = dict(env_kwargs)
        gpu_ids = ray.get_gpu_ids()
        if gpu_ids:  # exactly the GPUs Ray gave this actor
            kwargs["gpus"] = ",".join(str(i) for i in gpu_ids)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="mlagent local sandbox")
            self.env = gym.make(f"mlagent/{task_id}", **kwargs)
        self.node = str(ray.get_runtime_context().get_node_id())

    def node_id(self) -> str:
        return self.node

    def reset(self, seed: int | None = None,
              options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any], EnvState]:
        obs, info = self.env.reset(seed=seed, options=options)
        return obs, info, self.snapshot()

    def step(self, action: Any) -> Step:
        obs, reward, terminated, truncated, info = self.env.step(action)
        return obs, float(reward), terminated, truncated, info, self.snapshot()

    def snapshot(self) -> EnvState:
        return self.env.unwrapped.snapshot()  # type: ignore[attr-defined,no-any-return]

    def final_score(self) -> dict[str, Any]:
        return self.env.unwrapped.final_score()  # type: ignore[attr-defined,no-any-return]

    def answers_readable(self) -> bool:
        return bool(getattr(self.env.unwrapped, "answers_readable", False))

    def execute(self, state: str, reply: str, keep_state: bool) -> dict[str, Any]:
        """One RL reply: restore ``state`` (EnvState JSON), step with ``reply``. An exception is
        returned as ``error`` (the env is made again for the next reply), never raised."""
        start = time.perf_counter()
        try:
            self.env.reset(options={"state": state})
            obs, reward, terminated, truncated, info = self.env.step(reply)
            next_state = self.snapshot().model_dump_json() if keep_state else None
        except Exception as exc:  # noqa: BLE001 - one reply's failure is its own error reward
            self.env.close()
            return {"error": f"{type(exc).__name__}: {exc}", "env_s": time.perf_counter() - start}
        return {
            "reward": float(reward), "reward_kind": info["reward_kind"], "valid": bool(info["valid"]),
            "metric": info["metric"],
            "observation": obs, "env_s": time.perf_counter() - start, "next_state": next_state,
            "next_messages": info["messages"] if keep_state else None, "done": bool(terminated or truncated),
            "readable": self.answers_readable(), "node_id": self.node,
        }

    def begin(self, seed: int) -> tuple[str, list[dict[str, str]], bool]:
        """A fresh episode: its first state (JSON), prompt messages, and whether answers are readable."""
        _, info = self.env.reset(seed=seed)
        return self.snapshot().model_dump_json(), info["messages"], self.answers_readable()

    def abort(self) -> None:
        """Close the env now (from the actor's second thread), killing what a running reply started."""
        self.env.close()

    def close(self) -> None:
        self.env.close()
