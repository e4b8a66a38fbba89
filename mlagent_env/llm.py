"""Helper LLM clients for the LLM-backed tools (Understand File, Edit Script (AI)).

Any callable ``prompt -> text`` is a :data:`TextLLM`. :class:`ChatCompletionsLLM` talks to any
OpenAI-compatible ``/v1/chat/completions`` endpoint (OpenAI, vLLM, SGLang, Ollama) with the
standard library only.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
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
        body = json.dumps(
            {
                "model": self.model,
                "messages": [{"role": "user", "content": prompt}],
                "temperature": self.temperature,
                "max_tokens": self.max_tokens,
            }
        ).encode()
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        url = self.base_url.rstrip("/") + "/chat/completions"
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            try:
                req = urllib.request.Request(url, data=body, headers=headers, method="POST")
                with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                    data = json.loads(resp.read())
                return str(data["choices"][0]["message"]["content"] or "")
            except (urllib.error.URLError, TimeoutError, OSError, KeyError, IndexError, ValueError) as exc:
                last = exc
                if attempt < self.retries:
                    time.sleep(min(2**attempt, 8))
        raise LLMError(f"helper model at {url} failed: {last}")
