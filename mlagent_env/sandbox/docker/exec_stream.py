"""The exec stream: run one command in a container and read its multiplexed stdout/stderr from
the raw socket with a deadline, keeping head + tail of each stream."""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from typing import Any, Sequence

from mlagent_env.sandbox.base import OutputCapture
from mlagent_env.sandbox.docker.container import WORKSPACE_DIR


@dataclass
class RawExec:
    exit_code: int | None
    stdout: OutputCapture
    stderr: OutputCapture
    timed_out: bool
    duration_s: float


def _socket_of(sock: Any) -> tuple[Any, bytes]:
    """The OS socket under docker-py's exec socket, and any stream bytes that the HTTP reader buffered."""
    raw = getattr(sock, "_sock", sock)
    leftover = b""
    resp = getattr(sock, "_response", None)
    try:
        fp = resp.raw._fp.fp  # type: ignore[union-attr]
        raw.setblocking(False)
        try:
            peeked = fp.peek(1 << 16)
            if peeked:
                leftover = fp.read(len(peeked))
        finally:
            raw.setblocking(True)
    except Exception:
        pass
    return raw, leftover


def run_exec(
    client: Any,
    container_id: str,
    argv: Sequence[str],
    *,
    timeout_s: float,
    limit: int,
    user: str,
    env: dict[str, str] | None = None,
    workdir: str = WORKSPACE_DIR,
    on_timeout: Any = None,
) -> RawExec:
    """Run ``argv`` in the container; read stdout/stderr with a deadline. At the deadline call
    ``on_timeout()`` (which must make the command end), drain, and report ``timed_out``."""
    api = client.api
    out, err = OutputCapture(limit), OutputCapture(limit)
    start = time.perf_counter()
    exec_id = api.exec_create(
        container_id,
        list(argv),
        stdout=True,
        stderr=True,
        stdin=False,
        tty=False,
        user=user,
        environment=env or None,
        workdir=workdir,
    )["Id"]
    sock = api.exec_start(exec_id, socket=True)
    raw, pending = _socket_of(sock)
    buf = bytearray(pending)
    timed_out = False
    deadline = start + max(float(timeout_s), 0.0)
    drain_until: float | None = None

    def parse() -> None:
        while len(buf) >= 8:
            size = int.from_bytes(buf[4:8], "big")
            if len(buf) < 8 + size:
                return
            kind = buf[0]
            payload = memoryview(buf)[8 : 8 + size]
            (err if kind == 2 else out).feed(payload)
            payload.release()
            del buf[: 8 + size]

    try:
        while True:
            parse()
            now = time.perf_counter()
            if drain_until is None and now >= deadline:
                timed_out = True
                if on_timeout is not None:
                    on_timeout()
                drain_until = time.perf_counter() + 5.0
                continue
            limit_t = drain_until if drain_until is not None else deadline
            if now >= limit_t:
                break
            raw.settimeout(min(limit_t - now, 30.0))
            try:
                data = raw.recv(1 << 16)
            except (socket.timeout, TimeoutError):
                continue
            except OSError:
                break
            if not data:
                break
            buf += data
        parse()
    except BaseException:
        if on_timeout is not None:  # Ctrl-C or any error: nothing may keep running
            try:
                on_timeout()
            except Exception:
                pass
        raise
    finally:
        try:
            sock.close()
        except Exception:
            pass
    duration = time.perf_counter() - start
    code: int | None = None
    for _ in range(50):
        info = api.exec_inspect(exec_id)
        if not info.get("Running"):
            code = info.get("ExitCode")
            break
        time.sleep(0.02)
    return RawExec(None if timed_out else code, out, err, timed_out, duration)
