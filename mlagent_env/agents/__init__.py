"""Reference policies: scripted and replayed ones, and any model behind an OpenAI-compatible server."""

from mlagent_env.agents.base import Policy
from mlagent_env.agents.factory import PolicySpec, build_policy
from mlagent_env.agents.http import ChatPolicy, PolicyError
from mlagent_env.agents.scripted import ReplayPolicy, ScriptedPolicy, baseline_replies

__all__ = [
    "ChatPolicy",
    "Policy",
    "PolicyError",
    "PolicySpec",
    "ReplayPolicy",
    "ScriptedPolicy",
    "baseline_replies",
    "build_policy",
]
