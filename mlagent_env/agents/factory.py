"""Build a policy from a small, serialisable description (what the CLI and the benchmark take)."""

from __future__ import annotations

import importlib
from dataclasses import asdict, dataclass
from typing import Any, Literal, get_args

from mlagent_env.agents.base import Policy
from mlagent_env.agents.expert import ExpertPolicy
from mlagent_env.agents.http import ChatPolicy
from mlagent_env.agents.scripted import ReplayPolicy, ScriptedPolicy, baseline_replies
from mlagent_env.config import option
from mlagent_env.errors import MLAgentError
from mlagent_env.tasks import get_task

PolicyKind = Literal["scripted", "baseline", "expert", "replay", "http", "python"]
KINDS: tuple[str, ...] = get_args(PolicyKind)


@dataclass(frozen=True)
class PolicySpec:
    """``scripted`` (the task's demo, else the baseline), ``baseline`` (run the starter and
    submit), ``expert`` (the scripted expert of :mod:`mlagent_env.agents.expert`: turns the ideas
    of the first prompt into edits that it keeps when they validate better), ``replay`` (the replies of a JSONL file at ``path``), ``http`` (a model behind an
    OpenAI-compatible server at ``base_url``), or ``python`` (``factory="module:callable"`` called
    with ``kwargs`` for each episode, e.g. an in-process model from ``mlagent_train``; the
    callable may cache what it loads). The server settings apply to ``http``."""

    kind: PolicyKind = option("scripted", "scripted | baseline | expert | replay | http | python")
    path: str | None = option(None, "replay: the JSONL file of replies")
    base_url: str | None = option(None, "http: the OpenAI-compatible server, e.g. http://localhost:8000/v1")
    model: str | None = option(None, "http: the model name on that server")
    api_key_env: str = option("OPENAI_API_KEY", "http: the environment variable holding the API key")
    temperature: float = option(0.7, "http: sampling temperature")
    top_p: float = option(1.0, "http: nucleus sampling top_p")
    max_tokens: int = option(2048, "http: most tokens of one reply (the server's context must hold the prompt plus this)")
    timeout_s: float = option(300.0, "http: longest wait without a byte from the server (with stream: between tokens); "
                              "a timed-out request is not re-sent")
    retries: int = option(4, "http: re-sends after a refused connection, 429 or 5xx (never after a timeout)")
    stream: bool = option(False, "http: stream the reply (timeout_s then bounds the pause between tokens)")
    extra_body: dict[str, Any] = option({}, "http: extra request fields, e.g. {response_format: {...}} for llama.cpp")
    factory: str | None = option(None, "python: module:callable returning a Policy")
    kwargs: dict[str, Any] = option({}, "python: keyword arguments of the factory")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def label(self) -> str:
        if self.kind == "http":
            return f"http:{self.model}"
        if self.kind == "replay":
            return f"replay:{self.path}"
        if self.kind == "python":
            return f"python:{self.factory}"
        return self.kind

    def shorthand(self) -> str:
        return self.label if self.kind == "replay" else self.kind

    @staticmethod
    def parse_shorthand(text: str) -> dict[str, Any]:
        """``scripted`` | ``baseline`` | ``expert`` | ``replay:PATH`` | ``http`` | ``python`` as option values."""
        if text.startswith("replay:"):
            return {"kind": "replay", "path": text.split(":", 1)[1]}
        if text in KINDS:
            return {"kind": text}
        raise MLAgentError(f"unknown policy {text!r}; use scripted, baseline, expert, replay:PATH, http or python")

    @classmethod
    def parse(cls, text: str) -> "PolicySpec":
        """A spec from its shorthand alone (``scripted``, ``baseline``, ``expert``, ``replay:PATH``)."""
        return cls(**cls.parse_shorthand(text)).check()

    def check(self) -> "PolicySpec":
        """Raise a clear error when the options of this kind are missing."""
        if self.kind == "http" and (not self.base_url or not self.model):
            raise MLAgentError("--policy http needs --policy.base_url and --policy.model")
        if self.kind == "replay" and not self.path:
            raise MLAgentError("a replay policy needs a path (--policy replay:PATH)")
        if self.kind == "python" and (not self.factory or ":" not in self.factory):
            raise MLAgentError("a python policy needs --policy.factory module:callable")
        return self


def build_policy(spec: PolicySpec, task_id: str) -> Policy:
    """A fresh policy instance for one episode of ``task_id``."""
    if spec.kind == "scripted":
        return ScriptedPolicy.for_task(task_id)
    if spec.kind == "baseline":
        task = get_task(task_id).spec
        return ScriptedPolicy(baseline_replies(task.starter_script, task.submission_file))
    if spec.kind == "expert":
        return ExpertPolicy()
    if spec.kind == "replay":
        spec.check()
        return ReplayPolicy(spec.path)  # type: ignore[arg-type]
    if spec.kind == "http":
        spec.check()
        return ChatPolicy(
            base_url=spec.base_url,  # type: ignore[arg-type]
            model=spec.model,  # type: ignore[arg-type]
            api_key_env=spec.api_key_env,
            temperature=spec.temperature,
            top_p=spec.top_p,
            max_tokens=spec.max_tokens,
            timeout_s=spec.timeout_s,
            max_retries=spec.retries,
            stream=spec.stream,
            extra_body=dict(spec.extra_body),
        )
    if spec.kind == "python":
        spec.check()
        module_name, _, attr = spec.factory.partition(":")
        try:
            factory = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise MLAgentError(f"cannot load the policy factory {spec.factory!r}: {exc}") from exc
        policy = factory(**spec.kwargs)
        if not isinstance(policy, Policy):
            raise MLAgentError(f"{spec.factory} did not return a Policy (reset and act methods)")
        return policy
    raise MLAgentError(f"unknown policy kind {spec.kind!r}")
