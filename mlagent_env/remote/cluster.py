"""Connecting to a Ray cluster, and the errors a user can meet there."""

from __future__ import annotations

import os
from types import ModuleType

from mlagent_env.errors import MLAgentError


class RayUnavailable(MLAgentError):
    """Ray is not installed, or no cluster answers at the given address."""


class EnvLost(MLAgentError):
    """An env actor died (its node was lost) more often than the failover allows."""


class PlacementError(MLAgentError):
    """No node of the cluster offers the resources that an env actor asks for."""


def require_ray() -> ModuleType:
    """The ``ray`` module, or :class:`RayUnavailable` saying how to install it."""
    try:
        import ray  # noqa: PLC0415
    except ImportError:
        raise RayUnavailable('Ray is not installed: pip install "mlagent[ray]" (on every node of the cluster)') from None
    return ray


def connect(address: str) -> ModuleType:
    """Join the cluster at ``address`` (``host:port`` of its head, or ``auto`` for the one this
    node belongs to) unless this process is connected already; returns ``ray``."""
    ray = require_ray()
    if ray.is_initialized():
        return ray
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        ray.init(address=address, log_to_driver=False, configure_logging=False)
    except ConnectionError as exc:
        raise RayUnavailable(
            f"no Ray cluster answers at {address!r} ({exc}); start one (ray start --head) and pass its address, "
            "or --ray-address auto on one of its nodes"
        ) from None
    return ray


def driver_node_id() -> str:
    """The id of the node this process is attached to."""
    return str(require_ray().get_runtime_context().get_node_id())
