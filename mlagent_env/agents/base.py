"""The Policy protocol: anything that turns the env's prompt into a reply."""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Policy(Protocol):
    """A policy reads the chat messages of the current prompt (``info["messages"]``) and returns
    its raw reply text. ``reset`` is called at the start of every episode."""

    def reset(self, task_id: str, seed: int | None = None) -> None: ...

    def act(self, messages: list[dict[str, str]], info: dict[str, Any]) -> str: ...
