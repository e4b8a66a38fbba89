"""LocalSandbox: runs an episode's commands on this machine, in a private temporary workspace.

Each command runs in its own session with a clean environment (no host secrets), forked by the
sandbox's launcher (``launcher.py``), which joins the sandbox's cgroups once: a memory cgroup
caps memory (else ``ulimit -v``), a pids cgroup contains fork bombs. The workspace is a
``disk_mb`` quota (``quota.py``); under bwrap ``/tmp`` is a size-limited tmpfs (counted as
memory), while plain local's temporary folder is on the host's disk, uncapped. Output is read
incrementally and truncated head + tail; on timeout, and whenever a command ends, every process
it left is killed. File operations refuse paths that leave the workspace, symlinks included.

Two isolations (what each does not contain is stated in README.md, "Sandboxes"):

- ``isolation="bwrap"`` contains, root or not: the launcher and everything it forks run under
  bubblewrap as an unprivileged uid in their own user, pid, network, ipc and uts namespaces,
  with no capabilities, on a filesystem that holds only the workspace (read-write), this task's
  public data and the interpreter (read-only) and system libraries (``namespaces.py``).
  ``answers_readable`` is False.
- ``isolation="process"`` (default, plain local) does not: scripts run as the host user, see the
  host's files (the answers included) and, as root, can leave the sandbox's cgroups. It runs
  them in a pid namespace that dies with the sandbox (a daemon does not outlive ``close()``) and
  applies ``network=False`` with a network namespace, or refuses to start when the host allows
  none. ``answers_readable`` is True.
"""

from __future__ import annotations

import os
import selectors
import shutil
import stat
import signal
import sys
import tempfile
import time
import uuid
import warnings
import weakref
from pathlib import Path
from typing import Literal, Sequence

from mlagent_env.errors import (
    PathEscapeError,
    ReadOnlyPathError,
    SandboxError,
    WorkspaceFileNotFound,
)
from mlagent_env.sandbox.agent_files import make_parents, read_regular_file, remove_tree, write_new_file
from mlagent_env.sandbox.archive import extract_workspace_tar, wipe_workspace, workspace_tar
from mlagent_env.sandbox.base import (
    DATA_DIR_NAME,
    TMP_SUFFIX,
    DirListing,
    ExecResult,
    OutputCapture,
    SandboxLifecycle,
    SandboxSpec,
    closed_at_exit,
    compute_env,
    finish_exec,
    is_data_path,
    normalize_relpath,
)
from mlagent_env.sandbox.cgroups import CgroupLimits
from mlagent_env.sandbox.launcher import Launcher
from mlagent_env.sandbox.listing import LIST_MAX_ENTRIES, walk_listing
from mlagent_env.sandbox.namespaces import AGENT_UID, bwrap_available, bwrap_wrapper, hand_over, unshare_wrapper
from mlagent_env.sandbox.local_reap import reap_dead_owners, record_owner
from mlagent_env.sandbox.quota import DiskQuota, can_mount, full_disk_as_error

Isolation = Literal["process", "bwrap"]
_warned = False
_open: "weakref.WeakSet[LocalSandbox]" = closed_at_exit()
"""Sandboxes not closed yet: closed when Python exits, so that no disk quota stays mounted."""


def _warn_once() -> None:
    global _warned
    if not _warned:
        _warned = True
        warnings.warn(
            "mlagent local sandbox (isolation='process'): commands run on this machine as this user; a "
            "determined agent can read the task's answers. Use sandbox='docker' or sandbox='bwrap' for "
            "benchmarks and training.",
            UserWarning,
            stacklevel=3,
        )


class _Streams:
    """A command's output pipes, read without threads or polling: one selector over the pipes and
    the launcher's socket (which becomes readable when the command exits)."""

    def __init__(self, pipes: dict[int, OutputCapture]) -> None:
        self.pipes = pipes
        self.open = set(pipes)
        for fd in pipes:
            os.set_blocking(fd, False)

    def _read(self, fd: int) -> None:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return
        if chunk:
            self.pipes[fd].feed(chunk)
        else:
            self.open.discard(fd)

    def pump(self, launcher: Launcher, deadline: float) -> tuple[str, int | None]:
        """Read output until the command exits (``("exited", code)``), its launcher dies
        (``("lost", None)``) or the deadline passes (``("timeout", None)``)."""
        with selectors.DefaultSelector() as sel:
            for fd in self.open:
                sel.register(fd, selectors.EVENT_READ)
            sel.register(launcher.sock, selectors.EVENT_READ)
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return "timeout", None
                for key, _ in sel.select(remaining):
                    if key.fileobj is launcher.sock:
                        code = launcher.read_exit()
                        return ("exited", code) if code is not None else ("lost", None)
                    fd = int(key.fd)
                    self._read(fd)
                    if fd not in self.open:
                        sel.unregister(fd)

    def drain(self, deadline: float) -> None:
        """Read what is left until every pipe is closed or the deadline passes."""
        with selectors.DefaultSelector() as sel:
            for fd in self.open:
                sel.register(fd, selectors.EVENT_READ)
            while self.open and (remaining := deadline - time.monotonic()) > 0:
                for key, _ in sel.select(remaining):
                    fd = int(key.fd)
                    self._read(fd)
                    if fd not in self.open:
                        sel.unregister(fd)

    def close(self) -> None:
        for fd in self.pipes:
            os.close(fd)


class LocalSandbox(SandboxLifecycle):
    """A temporary workspace on this machine. See the module docstring for what it does and does not isolate."""

    def __init__(
        self,
        spec: SandboxSpec,
        *,
        root: str | Path | None = None,
        isolation: Isolation = "process",
        python: str | None = None,
    ) -> None:
        if isolation not in ("process", "bwrap"):
            raise ValueError(f"isolation must be 'process' or 'bwrap', got {isolation!r}")
        if isolation == "bwrap" and not bwrap_available():
            raise SandboxError("isolation='bwrap' needs bubblewrap: apt-get install bubblewrap")
        self.spec = spec
        self.isolation: Isolation = isolation
        self._python = python or sys.executable
        self._unshare: list[str] | None = None
        if isolation == "process":
            self._unshare = unshare_wrapper(spec.network)
            if self._unshare is None and not spec.network:
                raise SandboxError(
                    "network=False cannot be applied: this host allows no network namespace (unshare --net). "
                    "Run as root or enable unprivileged user namespaces, use isolation='bwrap' or "
                    "sandbox='docker', or pass network=True to let scripts use the network."
                )
        self._closed = False
        self._launcher: Launcher | None = None
        if can_mount():
            reap_dead_owners()  # what a process killed before it could close its sandboxes left
        self._root = Path(tempfile.mkdtemp(prefix=f"mlagent-{spec.task_id}-", dir=root)).resolve()
        cgroup = f"mlagent-{uuid.uuid4().hex[:12]}"
        self._cg = CgroupLimits(cgroup, spec.memory_mb, spec.pids_limit)
        try:
            record_owner(self._root, cgroup)
            self._quota = DiskQuota(self._root, spec.disk_mb)
        except BaseException:
            self._cg.remove()
            shutil.rmtree(self._root, ignore_errors=True)
            raise
        _open.add(self)
        self.workspace = self._quota.mount
        self._tmp = self._root / "tmp"
        self._public = Path(spec.public_dir).resolve() if spec.public_dir else None
        self._ensure_workspace()
        if spec.starter_dir is not None:
            shutil.copytree(spec.starter_dir, self.workspace, dirs_exist_ok=True, symlinks=False)
            self._hand_over(self.workspace)
        if isolation == "process":
            _warn_once()

    # ------------------------------------------------------------------ protocol
    @property
    def python(self) -> str:
        return self._python

    @property
    def answers_readable(self) -> bool:
        """True when agent code in this sandbox can read the task's private answers."""
        return self.isolation != "bwrap"

    @property
    def _namespaced(self) -> bool:
        """Whether the launcher has a pid namespace of its own (which ends every process in it)."""
        return self.isolation == "bwrap" or bool(self._unshare)

    def exec(self, argv: Sequence[str], timeout_s: float) -> ExecResult:
        self._check_open()
        self._ensure_workspace()
        oom_before = self._cg.oom_kills()
        out = OutputCapture(self.spec.output_limit)
        err = OutputCapture(self.spec.output_limit)
        start = time.perf_counter()
        launcher = self._launcher_ready()
        started = launcher.start(list(argv), str(self.workspace), self._command_env())
        code: int | None = None
        timed_out = False
        if isinstance(started, str):  # it could not even start (e.g. the pids limit is reached)
            err.feed(started.encode())
            code = 126
        else:
            streams = _Streams({started.stdout_fd: out, started.stderr_fd: err})
            state = "lost"
            try:
                state, code = streams.pump(launcher, time.monotonic() + timeout_s)
            finally:
                # Nothing a command started may outlive it: background children die with it.
                self._kill_leftovers(started.pid, launcher, exited=state == "exited")
            timed_out = state == "timeout"
            if timed_out and launcher.alive():
                _, code = streams.pump(launcher, time.monotonic() + 5.0)  # collect the exit report
            streams.drain(time.monotonic() + 2.0)
            streams.close()
            if not launcher.alive():  # the command killed its launcher: a new one starts next time
                self._stop_launcher()
                if code is None and not timed_out:
                    err.feed(b"\n[mlagent] the command killed the sandbox's launcher; exit status unknown")
                    code = -1
        disk_full = not timed_out and self._quota.hit_by(code, err.text()[0])
        return finish_exec(
            code,
            out,
            err,
            timed_out=timed_out,
            oom_killed=self._cg.oom_kills() > oom_before,
            disk_full=disk_full,
            duration_s=time.perf_counter() - start,
            timeout_s=timeout_s,
            memory_mb=self.spec.memory_mb,
            disk_mb=self.spec.disk_mb,
        )

    def read_file(self, path: str) -> bytes:
        return read_regular_file(os.path.realpath(self._resolve(path)), path)

    def write_file(self, path: str, data: bytes) -> None:
        target = self._resolve(path, for_write=True)
        if target.is_dir():
            raise SandboxError(f"{path!r} is a folder; give a file name")
        created = None  # the first folder this write creates, which the agent must own
        if not target.parent.is_dir():
            created = next((p for p in [target.parent, *target.parent.parents][::-1] if not p.exists()), None)
        tmp = target.parent / f".{target.name}{TMP_SUFFIX}"
        try:
            with full_disk_as_error(path, self.spec.disk_mb, partial=tmp):
                make_parents(target.parent)
                # re-check after creating parents: a parent could be a symlink planted by the agent
                self._resolve(path, for_write=True)
                write_new_file(tmp, data, owner=self._owner)
                os.replace(tmp, target)
        finally:
            if created is not None and created.is_dir():
                self._hand_over(created)

    def exists(self, path: str) -> bool:
        return self._resolve(path).exists()

    def list_dir(self, path: str = ".", recursive: bool = False, max_entries: int = LIST_MAX_ENTRIES) -> DirListing:
        target = self._resolve(path)
        if not target.is_dir():
            raise WorkspaceFileNotFound(f"{path!r} is not a folder in the workspace")
        norm = normalize_relpath(path)
        prefix = "" if norm == "." else norm + "/"
        comps = [] if norm == "." else norm.split("/")
        return walk_listing(str(target), comps, prefix, recursive=recursive, describe=self._describe, max_entries=max_entries)

    def snapshot(self) -> bytes:
        self._check_open()
        self._ensure_workspace()
        return workspace_tar(self.workspace, inner_root=str(self.workspace))

    def restore(self, archive: bytes) -> None:
        self._check_open()
        self._ensure_workspace()
        wipe_workspace(self.workspace)
        extract_workspace_tar(archive, self.workspace, inner_root=str(self.workspace), owner=self._owner)
        self._ensure_workspace()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        _open.discard(self)
        self._stop_launcher()
        self._cg.remove()
        self._quota.release()
        remove_tree(self._root)

    # ------------------------------------------------------------------ helpers
    def _ensure_workspace(self) -> None:
        """Recreate the workspace and the data link if a command deleted them."""
        if not self.workspace.is_dir():
            self.workspace.mkdir(parents=True, exist_ok=True)
            self._hand_over(self.workspace)
        self._tmp.mkdir(parents=True, exist_ok=True)
        link = self.workspace / DATA_DIR_NAME
        if self._public is not None:
            if link.is_symlink() and os.readlink(link) == str(self._public):
                return
            if link.is_symlink() or link.is_file():
                link.unlink()
            elif link.is_dir():
                remove_tree(link)
            link.symlink_to(self._public, target_is_directory=True)

    def _resolve(self, path: str, for_write: bool = False) -> Path:
        """Map a workspace path to a host path, refusing escapes (lexical and through symlinks)."""
        self._check_open()
        self._ensure_workspace()
        norm = normalize_relpath(path)
        if is_data_path(norm):
            if for_write:
                raise ReadOnlyPathError(f"{path!r} is in the read-only data folder; write into the workspace instead")
            if self._public is None:
                raise WorkspaceFileNotFound(f"{path!r}: this task has no data folder")
            rest = norm[len(DATA_DIR_NAME) :].lstrip("/")
            base = self._public
        else:
            rest = "" if norm == "." else norm
            base = self.workspace
        candidate = base / rest if rest else base
        real = Path(os.path.realpath(candidate))
        base_real = Path(os.path.realpath(base))
        if real != base_real and base_real not in real.parents:
            raise PathEscapeError(f"{path!r} points outside the workspace (through a symlink); refused")
        if for_write and rest == "":
            raise SandboxError("cannot write to the workspace folder itself; give a file name")
        return candidate

    def _describe(self, e: "os.DirEntry[str]", child: list[str]) -> tuple[bool, int, str | None] | None:
        """How a listing shows one entry (see :func:`~mlagent_env.sandbox.listing.walk_listing`)."""
        if e.name.endswith(TMP_SUFFIX):
            return None
        st = e.stat()  # follows links (the data link); OSError for a dangling one skips the entry
        mount = child == [DATA_DIR_NAME]  # the link to the public data stands for its mount
        if e.is_symlink() and not mount:
            real = os.path.realpath(e.path)
            ws = os.path.realpath(self.workspace)
            if not (real == ws or real.startswith(ws + os.sep)):
                return None  # never reveal what lies outside
        is_dir = stat.S_ISDIR(st.st_mode)
        descend = is_dir and (mount or not e.is_symlink())
        return is_dir, 0 if is_dir else st.st_size, e.path if descend else None

    def _command_env(self) -> dict[str, str]:
        tmp = "/tmp" if self.isolation == "bwrap" else str(self._tmp)
        env = {
            "PATH": os.pathsep.join([str(Path(self._python).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
            "HOME": tmp,
            "TMPDIR": tmp,
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "MPLBACKEND": "Agg",
        }
        if not self.spec.gpus:
            env["CUDA_VISIBLE_DEVICES"] = ""
        env.update(compute_env(self.spec))
        return env

    @property
    def _owner(self) -> tuple[int, int] | None:
        """Who owns what the host writes into the workspace: the agent's uid under bwrap as root."""
        return (AGENT_UID, AGENT_UID) if self.isolation == "bwrap" and os.geteuid() == 0 else None

    def _hand_over(self, path: Path) -> None:
        """Give a folder the host made (and what is in it) to the agent (see ``namespaces.hand_over``)."""
        if self._owner is not None:
            hand_over(path)

    def _wrapper(self) -> list[str]:
        """The command line that puts the launcher in the sandbox's namespaces."""
        if self.isolation == "bwrap":
            return bwrap_wrapper(
                python=self._python,
                root=self._root,
                workspace=self.workspace,
                public=self._public,
                network=self.spec.network,
                gpus=bool(self.spec.gpus),
                tmp_mb=min(self.spec.disk_mb, max(64, self.spec.memory_mb // 4)),  # tmpfs counts as memory
            )
        return list(self._unshare or [])

    def _kill_leftovers(self, pid: int, launcher: Launcher, *, exited: bool) -> None:
        """Kill what a command left: in a pid namespace the launcher already ended the rest when the
        command exited, and a command that did not exit ends with its namespace; without one, its
        process group. Then everything else in the sandbox's cgroups, sparing the launcher."""
        if self._namespaced:
            if not exited:
                self._stop_launcher()
        else:
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self._cg.kill_all(exclude=launcher.host_pids if launcher.alive() else set())

    def _launcher_ready(self) -> Launcher:
        if self._launcher is None or not self._launcher.alive():
            self._stop_launcher()
            prelude = self._cg.attach_script()
            if not self._cg.has_memory:
                prelude += f"ulimit -v {self.spec.memory_mb * 1024} 2>/dev/null; "
            if not self._quota.enforced:  # the per-file fallback of the disk quota, in 512-byte blocks
                prelude += f"ulimit -f {self.spec.disk_mb * 2048} 2>/dev/null; "
            self._launcher = Launcher(self._python, prelude, self._wrapper(), reap=self._namespaced)
        return self._launcher

    def _stop_launcher(self) -> None:
        if self._launcher is not None:
            self._launcher.close()
            self._launcher = None
