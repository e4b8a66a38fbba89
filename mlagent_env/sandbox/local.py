"""LocalSandbox: runs an episode's commands on this machine, in a private temporary workspace.

For development and notebooks. Each command runs in its own session with a clean environment
(no host secrets). Memory is capped by a memory cgroup when one can be created (else
``ulimit -v``), a pids cgroup contains fork bombs, and both are joined once by the sandbox's
launcher (``launcher.py``), which forks every command. Output is read incrementally and
truncated head + tail; on timeout, and whenever a command ends, every process it left is killed.
File operations refuse paths that leave the workspace, symlinks included.

``isolation="process"`` (default) gives no filesystem isolation: a script could read the task's
answers or write outside the workspace. ``isolation="bwrap"`` runs each command under
bubblewrap: the host is read-only, the answers and raw data are masked, /tmp is private and the
network is unshared. Only the Docker backend hides answers by construction.
"""

from __future__ import annotations

import io
import os
import selectors
import shutil
import signal
import sys
import tarfile
import tempfile
import time
import uuid
import warnings
from pathlib import Path
from typing import Literal, Sequence

from mlagent_env.errors import (
    PathEscapeError,
    ReadOnlyPathError,
    SandboxError,
    WorkspaceFileNotFound,
)
from mlagent_env.sandbox.base import (
    DATA_DIR_NAME,
    DirEntry,
    ExecResult,
    OutputCapture,
    SandboxLifecycle,
    SandboxSpec,
    compute_env,
    finish_exec,
    is_data_path,
    normalize_relpath,
)
from mlagent_env.sandbox.launcher import Launcher

Isolation = Literal["process", "bwrap"]
CGROUP_ROOT = Path("/sys/fs/cgroup")
_warned = False


def _warn_once() -> None:
    global _warned
    if not _warned:
        _warned = True
        warnings.warn(
            "mlagent local sandbox: commands run on this machine; a determined agent can read the task's "
            "answers. Use sandbox='docker' for benchmarks and training (isolation='bwrap' masks answers locally).",
            UserWarning,
            stacklevel=3,
        )


class _CgroupLimits:
    """A pids and a memory cgroup (v1) for one sandbox; absent controllers are simply skipped."""

    def __init__(self, name: str, memory_mb: int, pids_limit: int) -> None:
        self.dirs: dict[str, Path] = {}
        for ctrl, key, value in (
            ("pids", "pids.max", str(pids_limit)),
            ("memory", "memory.limit_in_bytes", str(memory_mb * 1024 * 1024)),
        ):
            d = CGROUP_ROOT / ctrl / name
            try:
                d.mkdir(exist_ok=True)
                (d / key).write_text(value)
                if ctrl == "memory":
                    try:
                        (d / "memory.swappiness").write_text("0")
                    except OSError:
                        pass
                self.dirs[ctrl] = d
            except OSError:
                try:
                    d.rmdir()
                except OSError:
                    pass

    @property
    def has_memory(self) -> bool:
        return "memory" in self.dirs

    def attach_script(self) -> str:
        """Shell code that moves the shell itself into the cgroups (what it execs stays there)."""
        return "".join(f'echo $$ > "{d}/cgroup.procs" || exit 126; ' for d in self.dirs.values())

    def pids(self) -> set[int]:
        out: set[int] = set()
        for d in self.dirs.values():
            try:
                out.update(int(x) for x in (d / "cgroup.procs").read_text().split())
            except (OSError, ValueError):
                pass
        return out

    def oom_kills(self) -> int:
        d = self.dirs.get("memory")
        if d is None:
            return 0
        try:
            for line in (d / "memory.oom_control").read_text().splitlines():
                if line.startswith("oom_kill "):
                    return int(line.split()[1])
        except (OSError, ValueError):
            pass
        return 0

    def kill_all(self, deadline_s: float = 5.0, exclude: set[int] = frozenset()) -> None:  # type: ignore[assignment]
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            pids = self.pids() - exclude
            if not pids:
                return
            for pid in pids:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.01)

    def remove(self) -> None:
        self.kill_all()
        for d in self.dirs.values():
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)
        self.dirs = {}


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


def _bwrap_available() -> bool:
    return shutil.which("bwrap") is not None


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
        if isolation == "bwrap" and not _bwrap_available():
            raise SandboxError("isolation='bwrap' needs bubblewrap: apt-get install bubblewrap")
        self.spec = spec
        self.isolation: Isolation = isolation
        self._python = python or sys.executable
        self._root = Path(tempfile.mkdtemp(prefix=f"mlagent-{spec.task_id}-", dir=root)).resolve()
        self.workspace = self._root / "workspace"
        self._tmp = self._root / "tmp"
        self._tmp.mkdir()
        self._public = Path(spec.public_dir).resolve() if spec.public_dir else None
        self._closed = False
        self._launcher: Launcher | None = None
        self._cg = _CgroupLimits(f"mlagent-{uuid.uuid4().hex[:12]}", spec.memory_mb, spec.pids_limit)
        self._ensure_workspace()
        if spec.starter_dir is not None:
            shutil.copytree(spec.starter_dir, self.workspace, dirs_exist_ok=True, symlinks=False)
        _warn_once()

    # ------------------------------------------------------------------ protocol
    @property
    def python(self) -> str:
        return self._python

    @property
    def answers_readable(self) -> bool:
        """Plain processes read every host file; bwrap masks the answers, but not yet as root."""
        return self.isolation == "process" or os.geteuid() == 0

    def exec(self, argv: Sequence[str], timeout_s: float) -> ExecResult:
        self._check_open()
        self._ensure_workspace()
        cmd = self._bwrap_prefix() + list(argv) if self.isolation == "bwrap" else list(argv)
        oom_before = self._cg.oom_kills()
        out = OutputCapture(self.spec.output_limit)
        err = OutputCapture(self.spec.output_limit)
        start = time.perf_counter()
        launcher = self._launcher_ready()
        started = launcher.start(cmd, str(self.workspace), self._command_env())
        code: int | None = None
        timed_out = False
        if isinstance(started, str):  # it could not even start (e.g. the pids limit is reached)
            err.feed(started.encode())
            code = 126
        else:
            streams = _Streams({started.stdout_fd: out, started.stderr_fd: err})
            try:
                state, code = streams.pump(launcher, time.monotonic() + timeout_s)
                timed_out = state == "timeout"
            finally:
                # Nothing a command started may outlive it: background children die with it.
                self._kill_leftovers(started.pid, launcher.pid)
            if timed_out:
                _, code = streams.pump(launcher, time.monotonic() + 5.0)  # collect the exit report
            streams.drain(time.monotonic() + 2.0)
            streams.close()
            if not launcher.alive():  # the command killed its launcher: a new one starts next time
                self._stop_launcher()
                if code is None:
                    err.feed(b"\n[mlagent] the command killed the sandbox's launcher; exit status unknown")
                    code = -1
        return finish_exec(
            code,
            out,
            err,
            timed_out=timed_out,
            oom_killed=self._cg.oom_kills() > oom_before,
            duration_s=time.perf_counter() - start,
            timeout_s=timeout_s,
            memory_mb=self.spec.memory_mb,
        )

    def read_file(self, path: str) -> bytes:
        target = self._resolve(path)
        if not target.exists():
            raise WorkspaceFileNotFound(f"{path!r} does not exist in the workspace")
        if target.is_dir():
            raise WorkspaceFileNotFound(f"{path!r} is a folder, not a file")
        return target.read_bytes()

    def write_file(self, path: str, data: bytes) -> None:
        target = self._resolve(path, for_write=True)
        if target.is_dir():
            raise SandboxError(f"{path!r} is a folder; give a file name")
        target.parent.mkdir(parents=True, exist_ok=True)
        # re-check after creating parents: a parent could be a symlink planted by the agent
        self._resolve(path, for_write=True)
        tmp = target.parent / f".{target.name}.mlagent-tmp"
        tmp.write_bytes(data)
        os.replace(tmp, target)

    def exists(self, path: str) -> bool:
        return self._resolve(path).exists()

    def list_dir(self, path: str = ".", recursive: bool = False) -> list[DirEntry]:
        target = self._resolve(path)
        if not target.is_dir():
            raise WorkspaceFileNotFound(f"{path!r} is not a folder in the workspace")
        norm = normalize_relpath(path)
        prefix = "" if norm == "." else norm + "/"
        entries: list[DirEntry] = []
        self._walk(target, prefix, recursive, entries)
        return sorted(entries, key=lambda e: e.path)

    def snapshot(self) -> bytes:
        self._check_open()
        self._ensure_workspace()
        buf = io.BytesIO()
        ws = os.path.realpath(self.workspace)
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for dirpath, dirnames, filenames in os.walk(self.workspace):
                rel_dir = os.path.relpath(dirpath, self.workspace)
                if rel_dir == ".":
                    dirnames[:] = [d for d in dirnames if d != DATA_DIR_NAME]
                    filenames = [f for f in filenames if f != DATA_DIR_NAME]
                dirnames.sort()
                for name in dirnames + sorted(filenames):  # os.walk does not descend into links
                    full = os.path.join(dirpath, name)
                    if os.path.islink(full):
                        real = os.path.realpath(full)
                        if not (real == ws or real.startswith(ws + os.sep)):
                            continue  # links out of the workspace are not part of its state
                    tar.add(full, arcname=os.path.normpath(os.path.join(rel_dir, name)), recursive=False)
        return buf.getvalue()

    def restore(self, archive: bytes) -> None:
        self._check_open()
        self._ensure_workspace()
        for child in self.workspace.iterdir():
            if child.name == DATA_DIR_NAME and child.is_symlink():
                continue
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:*") as tar:
            tar.extractall(self.workspace, filter="data")
        self._ensure_workspace()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop_launcher()
        self._cg.remove()
        shutil.rmtree(self._root, ignore_errors=True)

    # ------------------------------------------------------------------ helpers
    def _ensure_workspace(self) -> None:
        """Recreate the workspace and the data link if a command deleted them."""
        self.workspace.mkdir(parents=True, exist_ok=True)
        self._tmp.mkdir(parents=True, exist_ok=True)
        link = self.workspace / DATA_DIR_NAME
        if self._public is not None:
            if link.is_symlink() and os.readlink(link) == str(self._public):
                return
            if link.is_symlink() or link.is_file():
                link.unlink()
            elif link.is_dir():
                shutil.rmtree(link)
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

    def _walk(self, folder: Path, prefix: str, recursive: bool, out: list[DirEntry]) -> None:
        try:
            children = list(os.scandir(folder))
        except OSError:
            return
        for e in children:
            if e.name.endswith(".mlagent-tmp"):
                continue
            rel = prefix + e.name
            try:
                is_dir = e.is_dir()  # follows the data link
                size = 0 if is_dir else e.stat().st_size
            except OSError:
                continue  # dangling link
            if e.is_symlink() and rel != DATA_DIR_NAME:
                real = os.path.realpath(e.path)
                ws = os.path.realpath(self.workspace)
                if not (real == ws or real.startswith(ws + os.sep)):
                    continue  # never reveal what lies outside
            out.append(DirEntry(path=rel, is_dir=is_dir, size=size))
            if recursive and is_dir:
                self._walk(Path(e.path), rel + "/", recursive, out)

    def _command_env(self) -> dict[str, str]:
        env = {
            "PATH": os.pathsep.join([str(Path(self._python).parent), "/usr/local/bin", "/usr/bin", "/bin"]),
            "HOME": str(self._tmp),
            "TMPDIR": str(self._tmp),
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

    def _bwrap_prefix(self) -> list[str]:
        args = [
            "bwrap", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
            "--tmpfs", "/tmp", "--unshare-pid", "--die-with-parent",
        ]
        if not self.spec.network:
            args.append("--unshare-net")
        for hidden in self.spec.hidden_dirs:
            if Path(hidden).exists():
                args += ["--tmpfs", str(Path(hidden).resolve())]
        # The private /tmp hides the host's; bring back, read-only, the interpreter's environment
        # when it lives there (a virtual environment in a checkout under /tmp, as in CI).
        for env_dir in {Path(self._python).absolute().parent.parent, Path(os.path.realpath(self._python)).parent.parent}:
            if env_dir == Path("/tmp") or Path("/tmp") in env_dir.parents:
                args += ["--ro-bind", str(env_dir), str(env_dir)]
        args += ["--bind", str(self._root), str(self._root)]
        if self._public is not None:
            args += ["--ro-bind", str(self._public), str(self._public)]
        args += ["--chdir", str(self.workspace)]
        return args

    def _kill_leftovers(self, pid: int, launcher_pid: int) -> None:
        """Kill the command's process group and everything else in the sandbox's cgroups
        (processes that left the group with setsid), sparing the launcher."""
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self._cg.kill_all(exclude={launcher_pid})

    def _launcher_ready(self) -> Launcher:
        if self._launcher is None or not self._launcher.alive():
            self._stop_launcher()
            prelude = self._cg.attach_script()
            if not self._cg.has_memory:
                prelude += f"ulimit -v {self.spec.memory_mb * 1024} 2>/dev/null; "
            self._launcher = Launcher(prelude)
        return self._launcher

    def _stop_launcher(self) -> None:
        if self._launcher is not None:
            self._launcher.close()
            self._launcher = None
