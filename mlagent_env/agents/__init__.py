"""Reference policies."""

from mlagent_env.agents.base import Policy
from mlagent_env.agents.scripted import ReplayPolicy, ScriptedPolicy, baseline_replies

__all__ = ["Policy", "ReplayPolicy", "ScriptedPolicy", "baseline_replies"]
