"""A policy behind any OpenAI-compatible chat-completions server (vLLM, SGLang, Ollama, OpenAI).

    policy = ChatPolicy(base_url="http://localhost:8000/v1", model="Qwen/Qwen2.5-7B-Instruct")

The API key is read from the environment variable named by ``api_key_env`` (never stored).
Requests are retried on connection errors, timeouts, 429 and 5xx with exponential backoff;
every call's prompt/completion token counts and latency are kept in :attr:`ChatPolicy.usage`
and returned by :meth:`ChatPolicy.last_usage` for the trajectory log. Uses the standard library
only.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from mlagent_env.errors import MLAgentError

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}


class PolicyError(MLAgentError):
    """The policy's server could not produce a reply (after retries), or refused the request."""


@dataclass
class Usage:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0
    seconds: float = 0.0


@dataclass
class ChatPolicy:
    """An LLM policy over the chat-completions API. One instance per episode runner (not shared
    across threads: it keeps per-episode usage)."""

    base_url: str
    model: str
    api_key_env: str = "OPENAI_API_KEY"
    temperature: float = 0.7
    top_p: float = 1.0
    max_tokens: int = 2048
    timeout_s: float = 300.0
    max_retries: int = 4
    backoff_s: float = 1.0
    seed: int | None = None
    extra_body: dict[str, Any] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    _last: dict[str, int] = field(default_factory=dict, repr=False)
    _episode_seed: int | None = field(default=None, repr=False)
    _calls_this_episode: int = field(default=0, repr=False)

    def reset(self, task_id: str, seed: int | None = None) -> None:
        self.usage = Usage()
        self._episode_seed = seed if seed is not None else self.seed
        self._calls_this_episode = 0

    def act(self, messages: list[dict[str, str]], info: dict[str, Any]) -> str:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            **self.extra_body,
        }
        if self._episode_seed is not None:  # a per-call seed makes sampling servers reproducible
            body["seed"] = self._episode_seed * 10_007 + self._calls_this_episode
        self._calls_this_episode += 1
        data = self._post("/chat/completions", body)
        try:
            content = data["choices"][0]["message"].get("content")
        except (KeyError, IndexError, TypeError, AttributeError):
            raise PolicyError(f"the server's answer has no choices[0].message: {str(data)[:300]}") from None
        usage = data.get("usage") or {}
        self._last = {
            "prompt_tokens": int(usage.get("prompt_tokens", 0) or 0),
            "completion_tokens": int(usage.get("completion_tokens", 0) or 0),
        }
        self.usage.prompt_tokens += self._last["prompt_tokens"]
        self.usage.completion_tokens += self._last["completion_tokens"]
        return "" if content is None else str(content)

    def last_usage(self) -> dict[str, int]:
        """Token counts of the most recent reply (for the trajectory)."""
        return dict(self._last)

    def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        url = self.base_url.rstrip("/") + path
        payload = json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        last_error = ""
        for attempt in range(self.max_retries + 1):
            start = time.perf_counter()
            try:
                req = urllib.request.Request(url, data=payload, headers=headers, method="POST")
                with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                    raw = resp.read()
                self.usage.calls += 1
                self.usage.seconds += time.perf_counter() - start
                try:
                    return json.loads(raw)
                except ValueError:
                    raise PolicyError(f"{url} answered with something that is not JSON: {raw[:200]!r}") from None
            except urllib.error.HTTPError as exc:
                detail = exc.read()[:300].decode("utf-8", errors="replace")
                last_error = f"HTTP {exc.code}: {detail}"
                if exc.code not in RETRY_STATUS:
                    raise PolicyError(f"{url} refused the request ({last_error})") from None
            except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
                last_error = f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"
            self.usage.seconds += time.perf_counter() - start
            if attempt < self.max_retries:
                self.usage.retries += 1
                time.sleep(self.backoff_s * (2**attempt))
        raise PolicyError(f"{url} failed after {self.max_retries + 1} attempts; last error: {last_error}")
