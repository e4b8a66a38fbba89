"""What an env actor asks Ray for, so that Ray places it on a node that can run its sandbox.

CPUs and memory are the env's sandbox limits (``cpus``, ``memory_mb``: the task's default when
unset); a custom resource (e.g. ``mlagent_sandbox``, declared by ``ray start --resources``) marks
the nodes meant for sandboxes; GPUs are taken only when the env is given GPUs (``gpus``), and then
never on the driver's node, whose GPUs belong to the trainer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlagent_env.remote.cluster import PlacementError, driver_node_id, require_ray
from mlagent_env.tasks import get_task

MiB = 1 << 20


@dataclass(frozen=True)
class ActorResources:
    num_cpus: float = 1.0
    memory_mb: int = 0
    num_gpus: int = 0
    custom: dict[str, float] = field(default_factory=dict)

    def needs(self) -> dict[str, float]:
        """The amount of each Ray resource name that one actor takes."""
        out = {"CPU": self.num_cpus, "memory": float(self.memory_mb * MiB), "GPU": float(self.num_gpus), **self.custom}
        return {k: v for k, v in out.items() if v}

    def options(self) -> dict[str, Any]:
        """Keyword arguments of ``ActorClass.options``: the resources and where the actor may go."""
        opts: dict[str, Any] = {"num_cpus": self.num_cpus, "num_gpus": self.num_gpus, "resources": dict(self.custom),
                                "scheduling_strategy": "SPREAD"}
        if self.memory_mb:
            opts["memory"] = self.memory_mb * MiB
        if self.num_gpus:
            from ray.util.scheduling_strategies import NodeLabelSchedulingStrategy, NotIn  # noqa: PLC0415

            opts["scheduling_strategy"] = NodeLabelSchedulingStrategy(hard={"ray.io/node-id": NotIn(driver_node_id())})
        return opts


def actor_resources(task_id: str, env_kwargs: dict[str, Any], resource: str | None = None) -> ActorResources:
    """The resources of one env actor of ``task_id`` made with ``env_kwargs`` (gym.make's)."""
    spec = get_task(task_id).spec
    gpus = env_kwargs.get("gpus")
    return ActorResources(
        num_cpus=float(env_kwargs.get("cpus") or 1.0),
        memory_mb=int(env_kwargs.get("memory_mb") or spec.resources.memory_mb),
        num_gpus=int(gpus) if isinstance(gpus, int) or (isinstance(gpus, str) and gpus.isdigit()) else 0,
        custom={resource: 1.0} if resource else {},
    )


def check_placeable(res: ActorResources) -> None:
    """Raise :class:`PlacementError` when no live node offers everything ``res`` asks for
    (Ray would otherwise wait for such a node for ever)."""
    ray = require_ray()
    needs = res.needs()
    driver = driver_node_id() if res.num_gpus else None
    for node in ray.nodes():
        if node.get("Alive") and node["NodeID"] != driver:
            have = node.get("Resources", {})
            if all(have.get(k, 0.0) >= v for k, v in needs.items()):
                return
    asked = ", ".join(f"{k}={v / MiB:.0f} MiB" if k == "memory" else f"{k}={v:g}" for k, v in needs.items())
    raise PlacementError(
        f"no node of the Ray cluster offers what one env actor needs ({asked}"
        f"{'; GPUs never on the driver node' if driver else ''}); start nodes with those resources "
        "(ray start --resources '{\"mlagent_sandbox\": 8}' ...) or ask for less (cpus, memory_mb, --ray-resource)"
    )
