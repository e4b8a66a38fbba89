"""RemoteEnv: a Gymnasium env whose steps run in an :class:`~mlagent_env.remote.actor.EnvActor`.

It is what ``gym.make("mlagent/<task>")`` is, seen from the driver: the same observations, rewards
and ``info`` (the actor runs exactly that env), ``snapshot()`` and ``final_score()``. After every
reset and step the actor sends back the env's state; when the actor dies (its node was lost),
the next call goes to a new actor, placed by Ray on a live node, which restores that state and
repeats the call that was lost: the episode carries on, no step is lost or played twice.
"""

from __future__ import annotations

from typing import Any, Callable, SupportsFloat, TypeVar

import gymnasium as gym
from gymnasium import spaces

from mlagent_env import actions as A
from mlagent_env.env import CHARSET, MAX_TEXT, EnvState
from mlagent_env.remote.actor import EnvActor
from mlagent_env.remote.cluster import EnvLost, require_ray
from mlagent_env.remote.resources import ActorResources, actor_resources, check_placeable
from mlagent_env.tasks import Task, get_task

MAX_FAILOVERS = 3
"""How many lost actors one env survives before it gives up (:class:`EnvLost`)."""

T = TypeVar("T")
Placed = Callable[[str, str], None]
"""Called with (node id, event): ``placed`` for each new actor, ``lost`` for each dead one."""


def spawn_actor(task_id: str, env_kwargs: dict[str, Any], resources: ActorResources) -> Any:
    """A new env actor (raises :class:`~mlagent_env.remote.cluster.PlacementError` when no node
    can host it)."""
    ray = require_ray()
    check_placeable(resources)
    cls = ray.remote(max_restarts=0, max_concurrency=2)(EnvActor)
    return cls.options(**resources.options()).remote(task_id, env_kwargs)


class RemoteEnv(gym.Env[str, str]):
    """One env of ``task_id`` on the cluster (see the module docstring)."""

    def __init__(self, task_id: str, env_kwargs: dict[str, Any], *, resource: str | None = None,
                 on_event: Placed | None = None) -> None:
        self.task: Task = get_task(task_id)
        self.env_kwargs = dict(env_kwargs)
        self.resources = actor_resources(task_id, env_kwargs, resource)
        self.action_space = spaces.Text(max_length=MAX_TEXT, min_length=0, charset=CHARSET)
        self.observation_space = spaces.Text(max_length=MAX_TEXT, min_length=0, charset=CHARSET)
        self.node_id: str | None = None
        self.failovers = 0
        self._on_event = on_event
        self._actor: Any = None
        self._state: EnvState | None = None

    @classmethod
    def spawn(cls, task_id: str, env_kwargs: dict[str, Any] | None = None, **kw: Any) -> RemoteEnv:
        env = cls(task_id, env_kwargs or {}, **kw)
        env._ensure_actor()
        return env

    # ------------------------------------------------------------------ gymnasium API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        super().reset(seed=seed)
        obs, info, self._state = self._call(lambda a: a.reset.remote(seed, options), restore=False)
        return obs, info

    def step(self, action: str | A.Action) -> tuple[str, SupportsFloat, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info, self._state = self._call(lambda a: a.step.remote(action))
        return obs, reward, terminated, truncated, info

    def snapshot(self) -> EnvState:
        """The state after the last reset or step (kept here: no call to the actor)."""
        if self._state is None:
            raise gym.error.ResetNeeded("call reset() before snapshot()")
        return self._state

    def final_score(self) -> dict[str, Any]:
        return self._call(lambda a: a.final_score.remote())  # type: ignore[no-any-return]

    def close(self) -> None:
        """Release the sandbox and end the actor. Idempotent."""
        actor, self._actor = self._actor, None
        if actor is not None:
            ray = require_ray()
            try:
                ray.get(actor.close.remote())
            except ray.exceptions.RayActorError:
                pass
            ray.kill(actor)

    # ------------------------------------------------------------------ failover
    def _ensure_actor(self) -> Any:
        if self._actor is None:
            ray = require_ray()
            self._actor = spawn_actor(self.task.id, self.env_kwargs, self.resources)
            try:
                self.node_id = ray.get(self._actor.node_id.remote())
            except ray.exceptions.RayActorError:
                self.node_id = "?"  # died while starting: the call below fails over
            if self._on_event is not None:
                self._on_event(self.node_id, "placed")
        return self._actor

    def _call(self, call: Callable[[Any], Any], restore: bool = True) -> Any:
        """``call(actor)``'s result; on a dead actor, a new one restores the last state and the
        call is repeated there."""
        ray = require_ray()
        while True:
            actor = self._ensure_actor()
            try:
                return ray.get(call(actor))
            except ray.exceptions.RayActorError as exc:
                self._actor = None
                ray.kill(actor)  # an actor that is only unreachable must not come back beside its successor
                if self._on_event is not None:
                    self._on_event(self.node_id or "?", "lost")
                self.failovers += 1
                if self.failovers > MAX_FAILOVERS:
                    raise EnvLost(
                        f"the env actor of {self.task.id} died {self.failovers} times (last on node {self.node_id}): "
                        f"{exc}. Check the cluster's nodes (ray status); the run resumes with the same command"
                    ) from None
                if restore and self._state is not None:
                    state = self._state
                    self._restore_on(lambda a: a.reset.remote(None, {"state": state}))

    def _restore_on(self, call: Callable[[Any], Any]) -> None:
        """Restore the last state on a new actor (itself failing over if that one dies too)."""
        self._state = self._call(call, restore=False)[2]
