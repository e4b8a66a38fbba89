"""mlagent_env: machine-learning engineering tasks as Gymnasium environments.

Importing the package registers every task of the registry as ``mlagent/<task-id>``::

    import gymnasium as gym
    import mlagent_env  # noqa: F401
    env = gym.make("mlagent/digits", sandbox="local")
"""

from __future__ import annotations

import gymnasium as gym

from mlagent_env.actions import Action, ActionParseError, parse_reply
from mlagent_env.env import EnvState, MLAgentEnv
from mlagent_env.errors import InvalidSubmission, MLAgentError
from mlagent_env.reward import RewardConfig
from mlagent_env.tasks import get_task, list_tasks

__version__ = "0.1.0"
ENV_PREFIX = "mlagent/"

__all__ = [
    "Action",
    "ActionParseError",
    "ENV_PREFIX",
    "EnvState",
    "InvalidSubmission",
    "MLAgentEnv",
    "MLAgentError",
    "RewardConfig",
    "get_task",
    "list_tasks",
    "parse_reply",
    "register_tasks",
]


def register_tasks() -> list[str]:
    """Register every task as a Gymnasium id ``mlagent/<task-id>`` (idempotent). Returns the ids."""
    ids = []
    for spec in list_tasks():
        env_id = ENV_PREFIX + spec.id
        if env_id not in gym.registry:
            gym.register(
                id=env_id,
                entry_point="mlagent_env.env:MLAgentEnv",
                kwargs={"task": spec.id},
                nondeterministic=True,  # scripts, timings and models are not seeded by reset()
            )
        ids.append(env_id)
    return ids


register_tasks()
