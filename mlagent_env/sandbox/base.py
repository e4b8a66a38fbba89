"""The Sandbox protocol: where an agent's commands run and its files live.

Every backend (``local.py``, ``docker/``) implements :class:`Sandbox` and passes the same
conformance suite (``tests/test_sandbox_conformance.py``). Paths given to a sandbox are POSIX
paths relative to the workspace root; anything that would leave the workspace raises
:class:`~mlagent_env.errors.PathEscapeError`. The task's public data appears read-only at
``data/`` inside the workspace (``DATA_DIR_NAME``) and is never part of a snapshot.
"""

from __future__ import annotations

import atexit
import os
import posixpath
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, Sequence, runtime_checkable

from mlagent_env.errors import InvalidPath, PathEscapeError

DATA_DIR_NAME = "data"
"""Where the public data is mounted, read-only, relative to the workspace root."""

TMP_SUFFIX = ".mlagent-tmp"
"""Suffix of the host's temporary files in the workspace (atomic writes); never listed or snapshotted."""

DEFAULT_OUTPUT_LIMIT = 10_000
"""Characters of stdout (and, separately, stderr) kept per command: head + tail."""


@dataclass(frozen=True)
class ExecResult:
    """What one command did. ``exit_code`` is None when the command was killed on timeout."""

    exit_code: int | None
    stdout: str
    stderr: str
    timed_out: bool = False
    oom_killed: bool = False
    duration_s: float = 0.0
    output_truncated: bool = False
    disk_full: bool = False
    """The command failed with the sandbox's disk quota (``disk_mb``) exhausted."""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.hit_limit

    @property
    def hit_limit(self) -> bool:
        """Whether a resource limit ended the command: time, memory or disk (a ``corner_case``)."""
        return self.timed_out or self.oom_killed or self.disk_full


@dataclass(frozen=True)
class DirEntry:
    """One entry of :meth:`Sandbox.list_dir`; ``path`` is relative to the workspace root."""

    path: str
    is_dir: bool
    size: int


class DirListing(list[DirEntry]):
    """What :meth:`Sandbox.list_dir` returns: entries sorted by path; ``truncated`` when the entry
    or depth cap left some out."""

    truncated: bool = False


@dataclass
class SandboxSpec:
    """Everything a backend needs to build one episode's sandbox.

    ``starter_dir`` is copied into the fresh workspace; ``public_dir`` is mounted read-only at
    ``data/``; ``hidden_dirs`` are host paths the agent's commands must not be able to read
    (the task's private answers): Docker and bwrap never mount them. ``disk_mb`` caps the
    writable space (workspace and temporary files) in every backend.
    """

    task_id: str
    starter_dir: Path | None = None
    public_dir: Path | None = None
    hidden_dirs: list[Path] = field(default_factory=list)
    memory_mb: int = 4096
    disk_mb: int = 8192
    cpus: float | None = None
    pids_limit: int = 256
    network: bool = False
    gpus: int | str | None = None
    output_limit: int = DEFAULT_OUTPUT_LIMIT
    image: str | None = None
    env: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class Sandbox(Protocol):
    """Where commands run. All paths are relative to the workspace root."""

    spec: SandboxSpec

    @property
    def python(self) -> str:
        """The interpreter that runs the agent's scripts inside this sandbox."""
        ...

    @property
    def answers_readable(self) -> bool:
        """True when agent code in this sandbox can read the task's private answers."""
        ...

    def exec(self, argv: Sequence[str], timeout_s: float) -> ExecResult:
        """Run ``argv`` with the workspace as working directory. Kill the whole process tree after
        ``timeout_s`` seconds (``timed_out=True``). Output is truncated head + tail with a marker."""
        ...

    def read_file(self, path: str) -> bytes:
        """Bytes of a workspace file (``data/`` included). Raises WorkspaceFileNotFound, or
        UnreadableFile for a FIFO, device, socket or a file over 512 MB (never blocks or allocates
        its size)."""
        ...

    def write_file(self, path: str, data: bytes) -> None:
        """Create or replace a workspace file, creating parent folders. Refuses ``data/``."""
        ...

    def exists(self, path: str) -> bool:
        """Whether a file or folder exists at ``path`` (path checks still apply)."""
        ...

    def list_dir(self, path: str = ".", recursive: bool = False, max_entries: int = 10_000) -> DirListing:
        """Entries of a workspace folder, sorted by path, at most ``max_entries`` (``truncated``
        says whether some were left out), found without recursion and at most 64 levels deep.
        Raises WorkspaceFileNotFound."""
        ...

    def snapshot(self) -> bytes:
        """The writable workspace (not ``data/``) as an uncompressed tar archive."""
        ...

    def restore(self, archive: bytes) -> None:
        """Replace the writable workspace by the contents of a :meth:`snapshot` archive."""
        ...

    def close(self) -> None:
        """Release every resource (processes, containers, temporary folders). Idempotent."""
        ...


def normalize_relpath(path: str) -> str:
    """Check a workspace path lexically and return it normalised (``"."`` for the root).

    Refuses absolute paths, ``~``, NUL bytes and anything that climbs out with ``..``.
    Symlinks are the backend's job: this function only sees the string.
    """
    if not isinstance(path, str):
        raise PathEscapeError(f"path must be a string, got {type(path).__name__}")
    raw = path.strip()
    if raw == "":
        return "."
    if "\x00" in raw:
        raise PathEscapeError("path contains a NUL byte")
    if raw.startswith("~"):
        raise PathEscapeError(f"{path!r}: '~' is not allowed; use a path relative to the workspace")
    if raw.startswith("/") or (len(raw) > 1 and raw[1] == ":"):
        raise PathEscapeError(
            f"{path!r} is an absolute path; use a path relative to the workspace (e.g. 'train.py')"
        )
    norm = posixpath.normpath(raw.replace("\\", "/"))
    if norm == ".." or norm.startswith("../"):
        raise PathEscapeError(f"{path!r} leaves the workspace; use a path inside it")
    check_path_length(norm)
    return norm


MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 4000
"""What the file system takes: one name, and a whole workspace path (below PATH_MAX with the root)."""


def check_path_length(norm: str) -> None:
    """Raise InvalidPath for a path the file system cannot take (too long, not encodable)."""
    shown = norm if len(norm) <= 80 else norm[:60] + "..." + norm[-17:]
    try:
        data = norm.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raise InvalidPath(f"{shown!r} is not valid text (a lone surrogate); use plain file names") from None
    if len(data) > MAX_PATH_BYTES:
        raise InvalidPath(f"{shown!r} is {len(data)} bytes long; paths must be at most {MAX_PATH_BYTES} bytes")
    longest = max(data.split(b"/"), key=len)
    if len(longest) > MAX_NAME_BYTES:
        raise InvalidPath(
            f"{shown!r} has a name of {len(longest)} bytes; each file or folder name must be at most "
            f"{MAX_NAME_BYTES} bytes"
        )


def is_data_path(norm: str) -> bool:
    """Whether a normalised path lies in the read-only data mount."""
    return norm == DATA_DIR_NAME or norm.startswith(DATA_DIR_NAME + "/")


def truncate_text(text: str, limit: int) -> tuple[str, bool]:
    """Keep the head and the tail of ``text`` within ``limit`` characters, with a marker between."""
    if limit <= 0 or len(text) <= limit:
        return text, False
    head = limit // 2
    tail = limit - head
    return join_truncated(text[:head], text[-tail:], len(text) - head - tail, "characters"), True


def join_truncated(head: str, tail: str, dropped: int, unit: str = "characters") -> str:
    """The one marker format for truncated output: head, a line saying how much was cut, tail."""
    return f"{head}\n... [{dropped} {unit} truncated] ...\n{tail}"


class OutputCapture:
    """Keeps the first and last ``limit // 2`` bytes of a command's output stream and counts the
    rest, so that a command printing gigabytes costs constant memory. Shared by every backend."""

    def __init__(self, limit: int) -> None:
        self.half = max(limit // 2, 1)
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def feed(self, chunk: bytes | memoryview) -> None:
        chunk = bytes(chunk)
        self.total += len(chunk)
        room = self.half - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            if len(self.tail) > 2 * self.half:
                del self.tail[: len(self.tail) - self.half]

    def text(self) -> tuple[str, bool]:
        """The captured text (UTF-8, undecodable bytes replaced) and whether anything was cut."""
        tail = bytes(self.tail[-self.half :]) if self.tail else b""
        dropped = self.total - len(self.head) - len(tail)
        head_s = self.head.decode("utf-8", errors="replace")
        tail_s = tail.decode("utf-8", errors="replace")
        if dropped <= 0:
            return head_s + tail_s, False
        return join_truncated(head_s, tail_s, dropped, "bytes"), True


def finish_exec(
    exit_code: int | None,
    stdout: OutputCapture,
    stderr: OutputCapture,
    *,
    timed_out: bool,
    oom_killed: bool,
    duration_s: float,
    timeout_s: float,
    memory_mb: int,
    disk_full: bool = False,
    disk_mb: int | None = None,
) -> ExecResult:
    """The ExecResult of a finished command, the same way for every backend: a Python
    ``MemoryError`` (rlimit path) counts as out-of-memory, and a line says why a command was cut."""
    out, t1 = stdout.text()
    err, t2 = stderr.text()
    if timed_out:
        exit_code = None
    elif not oom_killed and exit_code not in (0, None) and "MemoryError" in err[-2000:]:
        oom_killed = True
    if timed_out:
        err += f"\n[mlagent] command timed out after {timeout_s:g} s; all its processes were killed."
    elif oom_killed:
        err += f"\n[mlagent] command ran out of memory (limit {memory_mb} MB)."
    elif disk_full:
        err += (f"\n[mlagent] the workspace is full (disk limit {disk_mb} MB): delete files you do not "
                "need, or write less.")
    return ExecResult(
        exit_code=exit_code,
        stdout=out,
        stderr=err,
        timed_out=timed_out,
        oom_killed=oom_killed,
        duration_s=duration_s,
        output_truncated=t1 or t2,
        disk_full=disk_full and not timed_out and not oom_killed,
    )


def compute_env(spec: SandboxSpec) -> dict[str, str]:
    """Environment variables every backend sets for the agent's commands: thread counts from the
    CPU quota (one BLAS thread otherwise), the host's BLAS correctness settings, the spec's own."""
    env = {"OPENBLAS_NUM_THREADS": "1"}
    for key in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # correctness settings of this CPU's BLAS
        if key in os.environ:
            env[key] = os.environ[key]
    if spec.cpus:
        n = str(max(1, int(spec.cpus)))
        env.update(OMP_NUM_THREADS=n, MKL_NUM_THREADS=n, OPENBLAS_NUM_THREADS=n)
    env.update(spec.env)
    return env


class SandboxLifecycle:
    """What every backend shares around :meth:`close`: context manager, closed check, finaliser."""

    _closed: bool = False

    def close(self) -> None:  # pragma: no cover - implemented by the backends
        raise NotImplementedError

    def __enter__(self) -> "SandboxLifecycle":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # best effort; close() is the contract
        try:
            self.close()
        except Exception:
            pass

    def _check_open(self) -> None:
        if self._closed:
            from mlagent_env.errors import SandboxError  # noqa: PLC0415

            raise SandboxError("this sandbox is closed")


def closed_at_exit() -> "weakref.WeakSet[Any]":
    """A set of open things (sandboxes, pools) whose ``close()`` runs, best effort, when Python
    exits (Ctrl-C included): add each when it opens, discard it when it closes."""
    registry: "weakref.WeakSet[Any]" = weakref.WeakSet()

    def close_all() -> None:
        for thing in list(registry):
            try:
                thing.close()
            except Exception:
                pass

    atexit.register(close_all)
    return registry
