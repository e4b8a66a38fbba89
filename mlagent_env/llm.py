"""Helper LLM clients for the LLM-backed tools (Understand File, Edit Script (AI)).

Any callable ``prompt -> text`` is a :data:`TextLLM`. :class:`ChatCompletionsLLM` talks to any
OpenAI-compatible ``/v1/chat/completions`` endpoint (OpenAI, vLLM, SGLang, Ollama), through the
same client as the chat policy (``mlagent_env.agents.http``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from mlagent_env.errors import MLAgentError

TextLLM = Callable[[str], str]


class LLMError(MLAgentError):
    """The helper model could not be reached or answered nonsense."""


@dataclass
class ChatCompletionsLLM:
    """A helper model behind an OpenAI-compatible chat-completions endpoint."""

    base_url: str
    model: str
    api_key_env: str = "OPENAI_API_KEY"
    temperature: float = 0.0
    max_tokens: int = 4000
    timeout_s: float = 120.0
    retries: int = 2

    def __call__(self, prompt: str) -> str:
        from mlagent_env.agents.http import ChatPolicy, PolicyError  # noqa: PLC0415

        client = ChatPolicy(
            base_url=self.base_url,
            model=self.model,
            api_key_env=self.api_key_env,
            temperature=self.temperature,
            max_tokens=self.max_tokens,
            timeout_s=self.timeout_s,
            max_retries=self.retries,
        )
        try:
            return client.act([{"role": "user", "content": prompt}], {})
        except PolicyError as exc:
            raise LLMError(str(exc)) from exc
