"""Build a policy from a small, serialisable description (what the CLI and the benchmark take)."""

from __future__ import annotations

import importlib
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from mlagent_env.agents.base import Policy
from mlagent_env.agents.http import ChatPolicy
from mlagent_env.agents.scripted import ReplayPolicy, ScriptedPolicy, baseline_replies
from mlagent_env.errors import MLAgentError
from mlagent_env.tasks import get_task

PolicyKind = Literal["scripted", "baseline", "replay", "http", "python"]


@dataclass(frozen=True)
class PolicySpec:
    """``scripted`` (the task's demo, else the baseline), ``baseline`` (run the starter and
    submit), ``replay`` (the replies of a JSONL file at ``path``), ``http`` (a model behind an
    OpenAI-compatible server at ``base_url``), or ``python`` (``factory="module:callable"`` called
    with ``kwargs`` for each episode, e.g. an in-process model from ``mlagent_train``; the
    callable may cache what it loads)."""

    kind: PolicyKind = "scripted"
    path: str | None = None
    base_url: str | None = None
    model: str | None = None
    api_key_env: str = "OPENAI_API_KEY"
    temperature: float = 0.7
    max_tokens: int = 2048
    timeout_s: float = 300.0
    factory: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)

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

    @classmethod
    def parse(cls, text: str, **http: Any) -> "PolicySpec":
        """``scripted`` | ``baseline`` | ``replay:PATH`` | ``http`` (with base_url/model in ``http``)."""
        if text.startswith("replay:"):
            return cls(kind="replay", path=text.split(":", 1)[1])
        if text in ("scripted", "baseline"):
            return cls(kind=text)  # type: ignore[arg-type]
        if text == "http":
            if not http.get("base_url") or not http.get("model"):
                raise MLAgentError("--policy http needs --base-url and --model")
            return cls(kind="http", **{k: v for k, v in http.items() if v is not None})
        raise MLAgentError(f"unknown policy {text!r}; use scripted, baseline, replay:PATH or http")


def build_policy(spec: PolicySpec, task_id: str) -> Policy:
    """A fresh policy instance for one episode of ``task_id``."""
    if spec.kind == "scripted":
        return ScriptedPolicy.for_task(task_id)
    if spec.kind == "baseline":
        task = get_task(task_id).spec
        return ScriptedPolicy(baseline_replies(task.starter_script, task.submission_file))
    if spec.kind == "replay":
        if not spec.path:
            raise MLAgentError("a replay policy needs a path")
        return ReplayPolicy(spec.path)
    if spec.kind == "http":
        assert spec.base_url and spec.model
        return ChatPolicy(
            base_url=spec.base_url,
            model=spec.model,
            api_key_env=spec.api_key_env,
            temperature=spec.temperature,
            max_tokens=spec.max_tokens,
            timeout_s=spec.timeout_s,
        )
    if spec.kind == "python":
        if not spec.factory or ":" not in spec.factory:
            raise MLAgentError("a python policy needs factory='module:callable'")
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
