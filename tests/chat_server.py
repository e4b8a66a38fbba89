"""A small real HTTP server that speaks the chat-completions API, for tests. It answers from a
script: each entry is a reply text, or ("status", code[, message]) / ("sleep", seconds, text) /
("length", text) (a reply cut at max_tokens) to misbehave. A request with ``stream: true`` is
answered as server-sent events, one word a chunk."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class ChatServer:
    def __init__(self, script: list[Any], default: str | None = None) -> None:
        self.script = list(script)
        self.default = default
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # keep test output clean
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                with server._lock:
                    server.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
                    item = server.script.pop(0) if server.script else server.default
                if self.path != "/v1/chat/completions":
                    return self._send(404, {"error": "not found"})
                if isinstance(item, tuple) and item[0] == "status":
                    message = item[2] if len(item) > 2 else "scripted failure"
                    return self._send(item[1], {"error": {"message": message}})
                if isinstance(item, tuple) and item[0] == "sleep":
                    time.sleep(item[1])
                    item = item[2]
                finish = "stop"
                if isinstance(item, tuple) and item[0] == "length":
                    finish, item = "length", item[1]
                if item is None:
                    return self._send(500, {"error": "script exhausted"})
                prompt_tokens = sum(len(m["content"].split()) for m in body["messages"])
                usage = {"prompt_tokens": prompt_tokens, "completion_tokens": len(item.split()),
                         "total_tokens": prompt_tokens + len(item.split())}
                if body.get("stream"):
                    return self._stream(item, finish, usage)
                self._send(200, {
                    "id": "chatcmpl-test", "object": "chat.completion", "model": body["model"],
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": item}, "finish_reason": finish}],
                    "usage": usage,
                })

            def _stream(self, text: str, finish: str, usage: dict[str, int]) -> None:
                words = text.split(" ")
                chunks = [{"choices": [{"index": 0, "delta": {"content": w + (" " if i < len(words) - 1 else "")},
                                        "finish_reason": None}]} for i, w in enumerate(words)]
                chunks.append({"choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
                chunks.append({"choices": [], "usage": usage})
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for chunk in chunks:
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")

            def _send(self, code: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(code)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def __enter__(self) -> "ChatServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
