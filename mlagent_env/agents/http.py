"""A policy behind any OpenAI-compatible chat-completions server (vLLM, SGLang, llama.cpp, Ollama,
OpenAI).

    policy = ChatPolicy(base_url="http://localhost:8000/v1", model="Qwen/Qwen2.5-7B-Instruct")

The API key is read from the environment variable named by ``api_key_env`` (never stored).

Retries: a request that the server answered with 429 or 5xx, or that could not connect, is sent
again with exponential backoff (the server did not run it). A request that *timed out* is never
sent again: the server may still be computing it, and a second copy would only queue behind the
first; the error says so and names the setting to raise. ``timeout_s`` is the longest the client
waits without receiving a byte: without streaming that is the whole reply, with ``stream=True``
it is the longest pause between tokens.

Every call's token counts and ``finish_reason`` are returned by :meth:`ChatPolicy.last_usage` for
the trajectory log (``finish_reason == "length"``: the reply was cut at ``max_tokens``). Errors
that a user fixes on the server side (context too small, bad key, unknown model) carry a one-line
explanation of what to change. Standard library only.
"""

from __future__ import annotations

import json
import os
import re
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Iterator

from mlagent_env.errors import MLAgentError

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
_CONTEXT = re.compile(r"context (length|window|size)|maximum context|n_ctx|too many tokens|prompt is too long"
                      r"|exceeds? the (model's )?(maximum|max)", re.I)
_MODEL = re.compile(r"model", re.I)


class PolicyError(MLAgentError):
    """The policy's server could not produce a reply (after retries), or refused the request."""


def explain(status: int | None, detail: str, model: str) -> str | None:
    """One line saying what to change, for the server errors a user causes (or None)."""
    if _CONTEXT.search(detail):
        return ("the prompt plus max_tokens does not fit the server's context: start the server with a larger "
                "context (README, 'Context a model needs') or lower --policy.max_tokens")
    if status in (401, 403):
        return "the server refused the API key: export it in the variable named by --policy.api_key_env"
    if status == 404 and _MODEL.search(detail) or (status == 400 and re.search(r"model.*(not|unknown|exist)", detail, re.I)):
        return f"the server does not serve a model named {model!r}: list its models at <base_url>/models"
    if status == 404:
        return "nothing answers at this path: --policy.base_url usually ends in /v1"
    return None


@dataclass
class Usage:
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    retries: int = 0
    truncated: int = 0
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
    stream: bool = False
    extra_body: dict[str, Any] = field(default_factory=dict)
    usage: Usage = field(default_factory=Usage)
    _last: dict[str, Any] = field(default_factory=dict, repr=False)
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
        if self.stream:
            body["stream"] = True
            body.setdefault("stream_options", {"include_usage": True})
        if self._episode_seed is not None:  # a per-call seed makes sampling servers reproducible
            body["seed"] = self._episode_seed * 10_007 + self._calls_this_episode
        self._calls_this_episode += 1
        content, finish, usage = self._post("/chat/completions", body)
        self._last = {
            "prompt_tokens": int(usage.get("prompt_tokens", 0) or 0),
            "completion_tokens": int(usage.get("completion_tokens", 0) or 0),
        }
        if finish is not None:
            self._last["finish_reason"] = finish
        self.usage.prompt_tokens += self._last["prompt_tokens"]
        self.usage.completion_tokens += self._last["completion_tokens"]
        self.usage.truncated += finish == "length"
        return content

    def last_usage(self) -> dict[str, Any]:
        """Token counts (and ``finish_reason`` when the server gave one) of the most recent reply."""
        return dict(self._last)

    def _post(self, path: str, body: dict[str, Any]) -> tuple[str, str | None, dict[str, Any]]:
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
                    answer = self._read_stream(resp, url) if self.stream else self._read_json(resp.read(), url)
                self.usage.calls += 1
                self.usage.seconds += time.perf_counter() - start
                return answer
            except urllib.error.HTTPError as exc:
                detail = exc.read()[:500].decode("utf-8", errors="replace")
                last_error = f"HTTP {exc.code}: {detail}"
                hint = explain(exc.code, detail, self.model)
                if exc.code not in RETRY_STATUS or hint:
                    raise PolicyError(f"{url} refused the request ({last_error})" + (f"\n  -> {hint}" if hint else "")) from None
            except (TimeoutError, socket.timeout) as exc:
                raise PolicyError(self._timeout_message(url, exc)) from None
            except (urllib.error.URLError, ConnectionError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                if isinstance(reason, (TimeoutError, socket.timeout)):
                    raise PolicyError(self._timeout_message(url, reason)) from None
                last_error = f"{type(exc).__name__}: {reason}"
            self.usage.seconds += time.perf_counter() - start
            if attempt < self.max_retries:
                self.usage.retries += 1
                time.sleep(self.backoff_s * (2**attempt))
        raise PolicyError(f"{url} failed after {self.max_retries + 1} attempts; last error: {last_error}"
                          "\n  -> is the server running at --policy.base_url?")

    def _timeout_message(self, url: str, exc: BaseException) -> str:
        wait = "between two streamed chunks" if self.stream else "for the reply"
        return (f"{url} sent nothing for {self.timeout_s:g} s {wait} ({exc}); not re-sent, since the server may still "
                "be computing it\n  -> raise --policy.timeout_s, lower --policy.max_tokens, or use --policy.stream true")

    def _read_json(self, raw: bytes, url: str) -> tuple[str, str | None, dict[str, Any]]:
        try:
            data = json.loads(raw)
        except ValueError:
            raise PolicyError(f"{url} answered with something that is not JSON: {raw[:200]!r}") from None
        try:
            choice = data["choices"][0]
            content = choice["message"].get("content")
        except (KeyError, IndexError, TypeError, AttributeError):
            raise PolicyError(f"the server's answer has no choices[0].message: {str(data)[:300]}") from None
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        return ("" if content is None else str(content)), choice.get("finish_reason"), usage

    def _read_stream(self, resp: Any, url: str) -> tuple[str, str | None, dict[str, Any]]:
        parts: list[str] = []
        finish: str | None = None
        usage: dict[str, Any] = {}
        for event in _sse_events(resp):
            if event == "[DONE]":
                break
            try:
                chunk = json.loads(event)
            except ValueError:
                raise PolicyError(f"{url} streamed something that is not JSON: {event[:200]!r}") from None
            if isinstance(chunk.get("usage"), dict):
                usage = chunk["usage"]
            for choice in chunk.get("choices") or []:
                delta = choice.get("delta") or {}
                if isinstance(delta.get("content"), str):
                    parts.append(delta["content"])
                finish = choice.get("finish_reason") or finish
        return "".join(parts), finish, usage


def _sse_events(resp: Any) -> Iterator[str]:
    """The ``data:`` payloads of a server-sent-events stream."""
    for raw in resp:
        line = raw.decode("utf-8", errors="replace").strip()
        if line.startswith("data:"):
            yield line[5:].strip()
