"""DockerSandbox: an episode's commands run in a container of the runtime image (docker/Dockerfile).

Constructor (``make_sandbox("docker", spec, **kwargs)`` passes its kwargs here)::

    DockerSandbox(spec, *, image=None, client=None, pool=None, run_id=None)

- ``image``: the runtime image; default ``spec.image``, else ``$MLAGENT_IMAGE``, else
  ``mlagent-runtime:full``. A missing image raises :class:`ImageMissing`, which names the build command.
- ``client``: a ``docker.DockerClient``; default one per process from the environment (``DOCKER_HOST``).
  The engine must be local: the workspace is a host folder bind-mounted into the container.
- ``pool``: a :class:`~mlagent_env.sandbox.pool.WarmPool` to take a started container from.
- ``run_id``: label put on the container so that one run's leftovers can be reaped together;
  default one id per Python process (:func:`process_run_id`).

What a container is (:func:`container_run_kwargs`): one per sandbox, started when the sandbox
is built (``reset``) and reused by every step; the root filesystem read-only; a tmpfs at ``/tmp``
(also ``$HOME``); the workspace, a host temporary folder owned by the agent's uid, bind-mounted
read-write at ``/home/agent/workspace``; the public data bind-mounted read-only at
``/home/agent/workspace/data``; the task's answers (``spec.hidden_dirs``) are never mounted or
copied; ``network_mode="none"`` unless ``spec.network``; memory (no swap), CPU, pids limits and
GPUs (``device_requests``) from the spec; every capability dropped, ``no-new-privileges``; an
init process (``--init``) reaps orphans. Commands run as the non-root ``agent`` user (uid 1000;
the caller's uid when Python does not run as root) with the workspace as working directory.

``exec`` runs ``argv`` under a small ``sh`` wrapper that, when the command ends, kills every
process of the agent user that it left behind (like the local backend). On timeout the whole
process tree (every process of the agent user) is killed from a second exec and the result has
``timed_out=True``. An out-of-memory kill (the memory cgroup's ``oom_kill`` counter moved, or
the container itself died of OOM, in which case it is recreated transparently on the same
workspace) gives ``oom_killed=True``. File operations and snapshots act on the host side of the
workspace mount (fast, no exec), with symlinks resolved as the container would resolve them;
anything that resolves outside the workspace is refused. Grading reads ``submission.csv``
through :meth:`read_file`, outside the container.

Containers carry labels (:data:`LABEL_SANDBOX`, run id, task, created-at, owner process,
workspace folder); :meth:`close` removes the container and the folder, an ``atexit`` hook
closes what is still open, and ``mlagent-env reap`` (:mod:`mlagent_env.sandbox.reap`) removes
what a killed process left.
"""

from __future__ import annotations

import atexit
import io
import os
import shutil
import socket
import stat
import tarfile
import tempfile
import threading
import time
import uuid
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from mlagent_env.errors import MLAgentError, PathEscapeError, ReadOnlyPathError, SandboxError, WorkspaceFileNotFound
from mlagent_env.sandbox.base import (
    DATA_DIR_NAME,
    DirEntry,
    ExecResult,
    SandboxSpec,
    is_data_path,
    OutputCapture,
    SandboxLifecycle,
    compute_env,
    finish_exec,
    normalize_relpath,
)

if TYPE_CHECKING:  # pragma: no cover
    from mlagent_env.sandbox.pool import WarmPool

WORKSPACE_DIR = "/home/agent/workspace"
"""The workspace inside the container (fixed); the public data is at ``WORKSPACE_DIR/data``."""
AGENT_UID = 1000
DEFAULT_IMAGE = "mlagent-runtime:full"
LABEL_SANDBOX = "org.mlagent.sandbox"
LABEL_RUN_ID = "org.mlagent.run_id"
LABEL_TASK = "org.mlagent.task"
LABEL_CREATED_AT = "org.mlagent.created_at"
LABEL_OWNER = "org.mlagent.owner"
LABEL_WORKSPACE = "org.mlagent.workspace"
LABEL_POOL = "org.mlagent.pool"
WORKSPACE_PREFIX = "mlagent-ws-"
_TMP_SUFFIX = ".mlagent-tmp"

# sweep: SIGKILL every process of this uid but the calling shell until none is left (a fork bomb
# included). `kill -1` alone cannot tell when it is done (it succeeds while any other process,
# even one it may not signal, exists), so the shell looks for /proc entries that this uid owns.
# Pure shell builtins: it still works when the pids limit forbids every fork.
_SWEEP_FN = (
    "sweep() { n=0; while :; do left=0; for d in /proc/[0-9]*; do "
    'if [ "$d" != "/proc/$$" ] && [ -O "$d" ]; then left=1; break; fi; done; '
    '[ "$left" = 0 ] && return 0; kill -9 -1 2>/dev/null; n=$((n+1)); [ "$n" -lt 20000 ] || return 1; done; }; '
)
# Runs the command, then kills whatever it left running (pid 1 is root and out of reach), and
# exits with the command's status.
_WRAPPER = _SWEEP_FN + '"$@"; rc=$?; sweep; exit $rc'
# Kills every process of the agent's uid, from a separate exec. Exit 0: none left.
_KILL_ALL = _SWEEP_FN + "sweep"
_OOM_COUNTER = "cat /sys/fs/cgroup/memory.events 2>/dev/null || cat /sys/fs/cgroup/memory/memory.oom_control"
# Before a pooled container is reused: no process of the agent left, /tmp and /dev/shm empty;
# prints the OOM counter so that one exec tells whether the container is still clean.
_RESET_STATE = (
    _SWEEP_FN + "sweep || exit 1; find /tmp /dev/shm -mindepth 1 -delete 2>/dev/null; " + _OOM_COUNTER + "; exit 0"
)


class DockerUnavailable(MLAgentError):
    """No Docker engine answers, or docker-py is not installed; the message says what to do."""


class ImageMissing(MLAgentError):
    """The runtime image is not in the engine; the message gives the command that builds it."""


# --------------------------------------------------------------------------- process-wide state
_client_lock = threading.Lock()
_default_client: Any = None
_run_id: str | None = None
_live: "weakref.WeakSet[DockerSandbox]" = weakref.WeakSet()


def process_run_id() -> str:
    """One id per Python process, put on every container it starts (``org.mlagent.run_id``)."""
    global _run_id
    if _run_id is None:
        _run_id = os.environ.get("MLAGENT_RUN_ID") or f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"
    return _run_id


def _proc_start_ticks(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return "?"


def owner_label(pid: int | None = None) -> str:
    """``host:pid:start-ticks`` of the process that owns a container; reap checks it is still alive."""
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}:{pid}:{_proc_start_ticks(pid)}"


def owner_alive(label: str) -> bool | None:
    """Whether the owner process named by :func:`owner_label` still runs; None when it ran on another host."""
    try:
        host, pid_s, ticks = label.rsplit(":", 2)
        pid = int(pid_s)
    except ValueError:
        return None
    if host != socket.gethostname():
        return None
    if not os.path.exists(f"/proc/{pid}"):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return ticks == "?" or _proc_start_ticks(pid) == ticks


def get_client(client: Any = None) -> Any:
    """``client``, or this process's shared docker-py client; :class:`DockerUnavailable` if none answers."""
    global _default_client
    if client is not None:
        return client
    with _client_lock:
        if _default_client is None:
            try:
                import docker  # noqa: PLC0415
            except ImportError as e:
                raise DockerUnavailable("the docker backend needs docker-py: pip install docker") from e
            try:
                c = docker.from_env(timeout=120)
                c.ping()
            except Exception as e:
                raise DockerUnavailable(
                    f"no Docker engine answers ({e}). Start it (`dockerd &` as root or `systemctl start docker`), "
                    "check `docker info`, or use sandbox='local'."
                ) from e
            _default_client = c
        return _default_client


def agent_ids() -> tuple[int, int]:
    """uid and gid that commands run as: 1000 (``agent``) when we are root, else our own (so the
    workspace stays ours on the host)."""
    if os.geteuid() == 0:
        return AGENT_UID, AGENT_UID
    return os.getuid(), os.getgid()


# --------------------------------------------------------------------------- containers
@dataclass(frozen=True)
class ContainerConfig:
    """What fixes a container at creation; containers with equal configs are interchangeable (pool key)."""

    image: str
    memory_mb: int = 4096
    cpus: float | None = None
    pids_limit: int = 256
    network: bool = False
    gpus: int | str | None = None
    public_dir: str | None = None

    @classmethod
    def from_spec(cls, spec: SandboxSpec, image: str | None = None) -> "ContainerConfig":
        img = image or spec.image or os.environ.get("MLAGENT_IMAGE") or DEFAULT_IMAGE
        public = str(Path(spec.public_dir).resolve()) if spec.public_dir is not None else None
        return cls(img, spec.memory_mb, spec.cpus, spec.pids_limit, spec.network, spec.gpus, public)


@dataclass
class ContainerHandle:
    """A started container and its host-side workspace."""

    id: str
    root: Path
    config: ContainerConfig
    labels: dict[str, str] = field(default_factory=dict)
    oom_kills: int = 0
    tainted: bool = False

    @property
    def workspace(self) -> Path:
        return self.root / "workspace"

    @property
    def data_dir(self) -> Path:
        return Path(self.config.public_dir) if self.config.public_dir else self.root / "no-data"


def _device_requests(gpus: int | str | None) -> list[Any] | None:
    if gpus in (None, 0, "", "0", "none"):
        return None
    from docker.types import DeviceRequest  # noqa: PLC0415

    if isinstance(gpus, int):
        return [DeviceRequest(count=gpus, capabilities=[["gpu"]])]
    text = str(gpus).strip()
    if text == "all":
        return [DeviceRequest(count=-1, capabilities=[["gpu"]])]
    if text.isdigit():
        return [DeviceRequest(count=int(text), capabilities=[["gpu"]])]
    ids = [x.strip() for x in text.removeprefix("device=").split(",") if x.strip()]
    return [DeviceRequest(device_ids=ids, capabilities=[["gpu"]])]


def container_run_kwargs(
    config: ContainerConfig, *, workspace: Path, data_dir: Path, labels: dict[str, str]
) -> dict[str, Any]:
    """The ``client.containers.run`` arguments for ``config`` (pure; tested without an engine)."""
    from docker.types import Mount  # noqa: PLC0415

    small_mb = max(64, config.memory_mb // 4)  # tmpfs pages count against the memory limit
    kwargs: dict[str, Any] = dict(
        image=config.image,
        command=["sleep", "infinity"],
        detach=True,
        init=True,
        user="0:0",
        working_dir=WORKSPACE_DIR,
        hostname="sandbox",
        labels=labels,
        read_only=True,
        tmpfs={"/tmp": f"rw,nosuid,nodev,size={small_mb}m,mode=1777"},
        shm_size=f"{small_mb}m",
        mounts=[
            Mount(WORKSPACE_DIR, str(workspace), type="bind", read_only=False),
            Mount(f"{WORKSPACE_DIR}/{DATA_DIR_NAME}", str(data_dir), type="bind", read_only=True),
        ],
        network_mode="bridge" if config.network else "none",
        mem_limit=f"{config.memory_mb}m",
        memswap_limit=f"{config.memory_mb}m",
        pids_limit=config.pids_limit,
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
    )
    if config.cpus:
        kwargs["nano_cpus"] = int(config.cpus * 1e9)
    requests = _device_requests(config.gpus)
    if requests:
        kwargs["device_requests"] = requests
    return kwargs


def container_labels(task_id: str, run_id: str | None, root: Path, pool_id: str = "") -> dict[str, str]:
    return {
        LABEL_SANDBOX: "1",
        LABEL_RUN_ID: run_id or process_run_id(),
        LABEL_TASK: task_id,
        LABEL_CREATED_AT: datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        LABEL_OWNER: owner_label(),
        LABEL_WORKSPACE: str(root),
        LABEL_POOL: pool_id,
    }


def _workspace_root() -> Path:
    base = os.environ.get("MLAGENT_WORKSPACE_ROOT") or None
    return Path(tempfile.mkdtemp(prefix=WORKSPACE_PREFIX, dir=base)).resolve()


def _chown(path: Path | str) -> None:
    uid, gid = agent_ids()
    if os.geteuid() == 0:
        os.lchown(path, uid, gid)


def _chown_tree(path: Path) -> None:
    if os.geteuid() != 0:
        return
    uid, gid = agent_ids()
    os.lchown(path, uid, gid)
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            os.lchown(os.path.join(dirpath, name), uid, gid)


def start_container(
    client: Any,
    config: ContainerConfig,
    *,
    task_id: str,
    run_id: str | None = None,
    pool_id: str = "",
    root: Path | None = None,
) -> ContainerHandle:
    """Create the host workspace (unless ``root`` is given) and start a container on it."""
    import docker  # noqa: PLC0415

    root = root or _workspace_root()
    handle_cfg = config
    ws = root / "workspace"
    ws.mkdir(exist_ok=True)
    _chown(ws)
    os.chmod(ws, 0o755)
    data_dir = Path(config.public_dir) if config.public_dir else root / "no-data"
    if not config.public_dir:
        data_dir.mkdir(exist_ok=True)
    labels = container_labels(task_id, run_id, root, pool_id)
    kwargs = container_run_kwargs(handle_cfg, workspace=ws, data_dir=data_dir, labels=labels)
    kwargs.pop("detach")
    try:
        container = client.containers.create(**kwargs)  # never pulls: the image is built here
    except docker.errors.ImageNotFound as e:
        shutil.rmtree(root, ignore_errors=True)
        variant = "--slim " if "slim" in config.image else ""
        raise ImageMissing(
            f"the runtime image {config.image!r} is not built: run `mlagent-env image build {variant}--offline` "
            "(or pass image=... / set MLAGENT_IMAGE)"
        ) from e
    except docker.errors.APIError as e:
        shutil.rmtree(root, ignore_errors=True)
        raise SandboxError(f"could not create a container from {config.image!r}: {e.explanation or e}") from e
    try:
        container.start()
    except docker.errors.APIError as e:
        discard(client, ContainerHandle(container.id, root, config, labels))
        raise SandboxError(f"could not start a container from {config.image!r}: {e.explanation or e}") from e
    return ContainerHandle(container.id, root, config, labels)


def remove_container(client: Any, container_id: str) -> None:
    import docker  # noqa: PLC0415

    try:
        client.api.remove_container(container_id, force=True, v=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as e:
        if "already in progress" not in str(e):
            raise


def discard(client: Any, handle: ContainerHandle) -> None:
    """Remove the container and its host workspace (best effort on the folder)."""
    try:
        remove_container(client, handle.id)
    finally:
        shutil.rmtree(handle.root, ignore_errors=True)


def container_running(client: Any, container_id: str) -> tuple[bool, bool]:
    """(running, OOMKilled) from the engine's view of the container."""
    import docker  # noqa: PLC0415

    try:
        state = client.api.inspect_container(container_id)["State"]
    except docker.errors.NotFound:
        return False, False
    return bool(state.get("Running")), bool(state.get("OOMKilled"))


# --------------------------------------------------------------------------- exec
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


def kill_agent_processes(client: Any, container_id: str, user: str, timeout_s: float = 20.0) -> bool:
    """SIGKILL every process of ``user`` in the container (repeatedly, so that a fork bomb ends too).
    True when none is left. Retried: under a fork bomb at the pids limit an exec can fail to start."""
    import docker  # noqa: PLC0415

    deadline = time.monotonic() + timeout_s
    while True:
        left = deadline - time.monotonic()
        try:
            res = run_exec(
                client, container_id, ["/bin/sh", "-c", _KILL_ALL], timeout_s=max(left, 1.0), limit=2000, user=user
            )
            if res.exit_code == 0:
                return True
        except docker.errors.NotFound:
            return True  # no container, no process
        except docker.errors.APIError as e:
            if "is not running" in str(e):
                return True
        except Exception:
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def _parse_oom_kills(text: str) -> int | None:
    for line in text.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "oom_kill":
            return int(parts[1])
    return None


def read_oom_kills(client: Any, container_id: str, user: str) -> int | None:
    """The container memory cgroup's ``oom_kill`` counter (cgroup v1 or v2), None if unreadable."""
    try:
        res = run_exec(client, container_id, ["/bin/sh", "-c", _OOM_COUNTER], timeout_s=20, limit=4000, user=user)
    except Exception:
        return None
    return _parse_oom_kills(res.stdout.text()[0])


def reset_container_state(client: Any, container_id: str, user: str) -> tuple[bool, int | None]:
    """Kill the agent's processes and empty /tmp and /dev/shm (for reuse by the pool).
    Returns (success, the OOM counter)."""
    try:
        res = run_exec(client, container_id, ["/bin/sh", "-c", _RESET_STATE], timeout_s=30, limit=4000, user=user)
    except Exception:
        return False, None
    return res.exit_code == 0, _parse_oom_kills(res.stdout.text()[0])


def wipe_workspace(handle: ContainerHandle) -> None:
    """Empty the host side of the workspace, keeping the data mount point."""
    ws = handle.workspace
    for child in ws.iterdir():
        if child.name == DATA_DIR_NAME:
            continue
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()


# --------------------------------------------------------------------------- the sandbox
class DockerSandbox(SandboxLifecycle):
    """One container per episode; see the module docstring for what is isolated and how."""

    def __init__(
        self,
        spec: SandboxSpec,
        *,
        image: str | None = None,
        client: Any = None,
        pool: "WarmPool | None" = None,
        run_id: str | None = None,
    ) -> None:
        self.spec = spec
        self._closed = True  # until a container is ours
        self._client = get_client(client) if pool is None else (client or pool.client)
        self._pool = pool
        self._run_id = run_id or (pool.run_id if pool is not None else process_run_id())
        self._config = ContainerConfig.from_spec(spec, image)
        self.image = self._config.image
        uid, gid = agent_ids()
        self._user = f"{uid}:{gid}"
        _check_hidden(spec)
        if pool is not None:
            self._handle = pool.acquire(self._config, task_id=spec.task_id)
        else:
            self._handle = start_container(self._client, self._config, task_id=spec.task_id, run_id=self._run_id)
        self._closed = False
        _live.add(self)
        try:
            if spec.starter_dir is not None:
                self._copy_starter(Path(spec.starter_dir))
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ protocol
    @property
    def python(self) -> str:
        return "python"

    @property
    def answers_readable(self) -> bool:
        """The answers are never mounted into the container."""
        return False

    @property
    def container_id(self) -> str:
        return self._handle.id

    @property
    def workspace(self) -> Path:
        """The host side of the workspace mount."""
        return self._handle.workspace

    def exec(self, argv: Sequence[str], timeout_s: float) -> ExecResult:
        self._check_open()
        argv = [str(a) for a in argv]
        if not argv:
            raise ValueError("exec needs a command: argv is empty")
        cmd = ["/bin/sh", "-c", _WRAPPER, "mlagent", *argv]
        env = self._command_env()
        killed_ok = [True]

        def on_timeout() -> None:
            killed_ok[0] = kill_agent_processes(self._client, self._handle.id, self._user)

        def run() -> RawExec:
            return run_exec(
                self._client,
                self._handle.id,
                cmd,
                timeout_s=timeout_s,
                limit=self.spec.output_limit,
                user=self._user,
                env=env,
                on_timeout=on_timeout,
            )

        try:
            raw = run()
        except _not_running_errors() as e:
            if not self._container_gone(e):
                raise
            self._recreate()  # the container died (e.g. OOM of its init): same workspace, new container
            raw = run()
        if not killed_ok[0]:
            self._handle.tainted = True
        oom = False
        if not raw.timed_out and raw.exit_code in (137, -9, None):
            oom = self._check_oom()
        return finish_exec(
            raw.exit_code,
            raw.stdout,
            raw.stderr,
            timed_out=raw.timed_out,
            oom_killed=oom,
            duration_s=raw.duration_s,
            timeout_s=timeout_s,
            memory_mb=self.spec.memory_mb,
        )

    def read_file(self, path: str) -> bytes:
        _, host = self._resolve(path)
        if not os.path.lexists(host):
            raise WorkspaceFileNotFound(f"{path!r} does not exist in the workspace")
        if os.path.isdir(host):
            raise WorkspaceFileNotFound(f"{path!r} is a folder, not a file")
        try:
            fd = os.open(host, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError as e:
            raise WorkspaceFileNotFound(f"{path!r} cannot be read: {e.strerror}") from e
        with os.fdopen(fd, "rb") as fh:
            return fh.read()

    def write_file(self, path: str, data: bytes) -> None:
        rel, host = self._resolve(path, for_write=True)
        if os.path.isdir(host):
            raise SandboxError(f"{path!r} is a folder; give a file name")
        parts = rel.split("/")
        cur = self._handle.workspace
        for comp in parts[:-1]:  # the parents: real folders after resolution, or missing
            cur = cur / comp
            if not os.path.lexists(cur):
                os.mkdir(cur)
                _chown(cur)
            elif os.path.islink(cur) or not os.path.isdir(cur):
                raise SandboxError(f"{path!r}: {'/'.join(parts[: parts.index(comp) + 1])!r} is not a folder")
        tmp = host.parent / f".{host.name}{_TMP_SUFFIX}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(bytes(data))
        _chown(tmp)
        os.replace(tmp, host)

    def exists(self, path: str) -> bool:
        _, host = self._resolve(path)
        return os.path.exists(host)

    def list_dir(self, path: str = ".", recursive: bool = False) -> list[DirEntry]:
        rel, host = self._resolve(path)
        if not os.path.isdir(host):
            raise WorkspaceFileNotFound(f"{path!r} is not a folder in the workspace")
        norm = normalize_relpath(path)
        prefix = "" if norm == "." else norm + "/"
        out: list[DirEntry] = []
        self._walk([] if rel == "." else rel.split("/"), prefix, recursive, out)
        return sorted(out, key=lambda e: e.path)

    def snapshot(self) -> bytes:
        self._check_open()

        def keep_link(rel: str) -> bool:
            try:
                self._resolve(rel)
                return True
            except PathEscapeError:
                return False  # links out of the workspace are not part of its state

        return workspace_tar(self._handle.workspace, keep_link)

    def restore(self, archive: bytes) -> None:
        self._check_open()
        wipe_workspace(self._handle)
        extract_workspace_tar(archive, self._handle.workspace)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        _live.discard(self)
        handle = self._handle
        if self._pool is not None:
            self._pool.release(handle)
        else:
            discard(self._client, handle)

    # ------------------------------------------------------------------ helpers
    def _command_env(self) -> dict[str, str]:
        return compute_env(self.spec)

    def _copy_starter(self, starter: Path) -> None:
        def ignore(folder: str, names: list[str]) -> list[str]:
            return [DATA_DIR_NAME] if Path(folder).resolve() == starter.resolve() and DATA_DIR_NAME in names else []

        shutil.copytree(starter, self._handle.workspace, dirs_exist_ok=True, symlinks=True, ignore=ignore)
        _chown_tree(self._handle.workspace)

    def _check_oom(self) -> bool:
        """After a SIGKILL: did the memory cgroup kill something? Recreates a container that died."""
        running, oom_state = container_running(self._client, self._handle.id)
        if not running:
            self._recreate()  # the container died under the command (its init was OOM-killed, or it was killed)
            return oom_state
        count = read_oom_kills(self._client, self._handle.id, self._user)
        if count is None:
            return oom_state
        if count > self._handle.oom_kills:
            self._handle.oom_kills = count
            self._handle.tainted = True  # the pool gives the next episode a fresh container
            return True
        return False

    def _container_gone(self, error: BaseException) -> bool:
        running, _ = container_running(self._client, self._handle.id)
        return not running

    def _recreate(self) -> None:
        """Replace a dead container by a fresh one on the same workspace (kept on the host)."""
        old = self._handle
        try:
            remove_container(self._client, old.id)
        except Exception:
            pass
        new = start_container(
            self._client,
            old.config,
            task_id=self.spec.task_id,
            run_id=self._run_id,
            pool_id=old.labels.get(LABEL_POOL, ""),
            root=old.root,
        )
        new.tainted = True
        self._handle = new

    def _host_of(self, comps: list[str]) -> Path:
        if comps and comps[0] == DATA_DIR_NAME:
            return self._handle.data_dir.joinpath(*comps[1:])
        return self._handle.workspace.joinpath(*comps)

    def _resolve(self, path: str, for_write: bool = False) -> tuple[str, Path]:
        """Resolve ``path`` as the container would (symlinks included) and map it to the host.

        Returns the resolved workspace-relative path and its host path; raises PathEscapeError
        when it leaves the workspace, ReadOnlyPathError for writes into ``data/``."""
        self._check_open()
        norm = normalize_relpath(path)
        if for_write and is_data_path(norm):
            raise ReadOnlyPathError(f"{path!r} is in the read-only data folder; write into the workspace instead")
        pending = [] if norm == "." else norm.split("/")
        cur: list[str] = []
        hops = 0
        escape = PathEscapeError(f"{path!r} points outside the workspace (through a symlink); refused")
        while pending:
            comp = pending.pop(0)
            if comp in ("", "."):
                continue
            if comp == "..":
                if not cur:
                    raise escape
                cur.pop()
                continue
            cur.append(comp)
            if cur == [DATA_DIR_NAME]:
                continue  # the mount point itself
            host = self._host_of(cur)
            if not os.path.islink(host):
                continue
            hops += 1
            if hops > 40:
                raise PathEscapeError(f"{path!r}: too many levels of symbolic links")
            target = os.readlink(host)
            cur.pop()
            if target.startswith("/"):
                if target != WORKSPACE_DIR and not target.startswith(WORKSPACE_DIR + "/"):
                    raise escape
                cur = []
                target = target[len(WORKSPACE_DIR) :]
            pending = [p for p in target.split("/") if p] + pending
        rel = "/".join(cur) or "."
        if is_data_path(rel) and not self._handle.config.public_dir and not for_write:
            raise WorkspaceFileNotFound(f"{path!r}: this task has no data folder")
        if for_write:
            if is_data_path(rel):
                raise ReadOnlyPathError(
                    f"{path!r} leads into the read-only data folder; write into the workspace instead"
                )
            if rel == ".":
                raise SandboxError("cannot write to the workspace folder itself; give a file name")
        return rel, self._host_of(cur)

    def _walk(self, comps: list[str], prefix: str, recursive: bool, out: list[DirEntry]) -> None:
        try:
            children = list(os.scandir(self._host_of(comps)))
        except OSError:
            return
        for e in children:
            if e.name.endswith(_TMP_SUFFIX):
                continue
            if not comps and e.name == DATA_DIR_NAME and not self._handle.config.public_dir:
                continue  # no data for this task: an empty read-only mount, not shown
            rel = prefix + e.name
            child = comps + [e.name]
            follow = False
            try:
                if e.is_symlink():
                    _, target = self._resolve("/".join(child))
                    st = os.stat(target)
                else:
                    st = e.stat(follow_symlinks=False)
                    follow = stat.S_ISDIR(st.st_mode)
            except (PathEscapeError, OSError):
                continue  # never reveal what lies outside; skip dangling links
            is_dir = stat.S_ISDIR(st.st_mode)
            out.append(DirEntry(path=rel, is_dir=is_dir, size=0 if is_dir else st.st_size))
            if recursive and follow:
                self._walk(child, rel + "/", recursive, out)


class UnsafeArchive(PathEscapeError, tarfile.TarError):
    """A snapshot archive with a member that would land outside the workspace."""


def workspace_tar(ws: Path, keep_link: Any = None) -> bytes:
    """The workspace (``data/`` excluded) as an uncompressed PAX tar, names relative to its root.

    Written by hand rather than with ``TarFile.add`` (no user/group name look-ups, one lstat per
    entry); ``keep_link(relpath)`` decides which symlinks belong to the state."""
    root = str(ws)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for dirpath, dirnames, filenames in os.walk(root):
            rel_dir = os.path.relpath(dirpath, root)
            if rel_dir == ".":
                dirnames[:] = [d for d in dirnames if d != DATA_DIR_NAME]
                filenames = [f for f in filenames if f != DATA_DIR_NAME]
                rel_dir = ""
            dirnames.sort()
            for name in dirnames + sorted(filenames):
                if name.endswith(_TMP_SUFFIX):
                    continue
                full = os.path.join(dirpath, name)
                arc = rel_dir + "/" + name if rel_dir else name
                try:
                    st = os.lstat(full)
                except FileNotFoundError:
                    continue
                info = tarfile.TarInfo(arc)
                info.mode = stat.S_IMODE(st.st_mode)
                info.mtime = int(st.st_mtime)
                info.uid, info.gid = st.st_uid, st.st_gid
                if stat.S_ISLNK(st.st_mode):
                    if keep_link is not None and not keep_link(arc):
                        continue
                    info.type, info.linkname = tarfile.SYMTYPE, os.readlink(full)
                    tar.addfile(info)
                elif stat.S_ISDIR(st.st_mode):
                    info.type = tarfile.DIRTYPE
                    tar.addfile(info)
                elif stat.S_ISREG(st.st_mode):
                    info.size = st.st_size
                    with open(full, "rb") as fh:
                        tar.addfile(info, fh)
                # sockets, fifos, devices: not state
    return buf.getvalue()


def _link_target(name: str, linkname: str) -> str:
    """A symlink target for the restored workspace: relative, and inside it (else UnsafeArchive)."""
    if linkname.startswith("/"):
        if linkname != WORKSPACE_DIR and not linkname.startswith(WORKSPACE_DIR + "/"):
            raise UnsafeArchive(f"archive member {name!r} links to {linkname!r}, outside the workspace; refused")
        inner = linkname[len(WORKSPACE_DIR) :].lstrip("/") or "."
        linkname = os.path.relpath(inner, os.path.dirname(name) or ".")
    lexical = os.path.normpath(os.path.join(os.path.dirname(name), linkname))
    if lexical == ".." or lexical.startswith("../") or lexical.startswith("/"):
        raise UnsafeArchive(f"archive member {name!r} links to {linkname!r}, outside the workspace; refused")
    return linkname


def extract_workspace_tar(archive: bytes, ws: Path) -> None:
    """Unpack a workspace archive into the (emptied) ``ws``, safely and owned by the agent.

    Refuses (:class:`UnsafeArchive`) names that leave the workspace, links that point out of it,
    and members reached through a link of the archive; skips ``data/`` and special files.
    Symlinks into the workspace written absolute (as the container sees it) are made relative."""
    uid, gid = agent_ids()
    as_root = os.geteuid() == 0
    root = str(ws)
    links: set[str] = set()
    made_dirs: set[str] = {""}
    dir_mtimes: list[tuple[str, float]] = []

    def ensure_dir(rel: str) -> None:
        if rel in made_dirs:
            return
        parent = os.path.dirname(rel)
        ensure_dir(parent)
        full = os.path.join(root, rel)
        try:
            os.mkdir(full, 0o755)
            if as_root:
                os.lchown(full, uid, gid)
        except FileExistsError:
            if os.path.islink(full) or not os.path.isdir(full):
                raise UnsafeArchive(f"archive path {rel!r} is not a folder; refused") from None
        made_dirs.add(rel)

    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:*") as tar:
        for m in tar:
            try:
                name = normalize_relpath(m.name)
            except PathEscapeError as e:
                raise UnsafeArchive(f"archive member {m.name!r} leaves the workspace; refused") from e
            if name == "." or is_data_path(name):
                continue
            parts = name.split("/")
            for k in range(1, len(parts)):
                if "/".join(parts[:k]) in links:
                    raise UnsafeArchive(f"archive member {name!r} goes through a link; refused")
            parent = "/".join(parts[:-1])
            ensure_dir(parent)
            full = os.path.join(root, name)
            if m.isdir():
                ensure_dir(name)
                os.chmod(full, (m.mode & 0o755) | 0o700)
                dir_mtimes.append((full, m.mtime))
                continue
            if os.path.lexists(full) and not os.path.isdir(full):
                os.unlink(full)  # a later member of the same name wins, as with tar
                links.discard(name)
            if m.isreg():
                src = tar.extractfile(m)
                fd = os.open(full, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, (m.mode & 0o755) | 0o600)
                try:
                    if src is not None:
                        while chunk := src.read(1 << 20):
                            view = memoryview(chunk)
                            while view:
                                view = view[os.write(fd, view) :]
                    if as_root:
                        os.fchown(fd, uid, gid)
                    os.utime(fd, (m.mtime, m.mtime))
                finally:
                    os.close(fd)
            elif m.issym():
                os.symlink(_link_target(name, m.linkname), full)
                if as_root:
                    os.lchown(full, uid, gid)
                links.add(name)
            elif m.islnk():
                try:
                    source = normalize_relpath(m.linkname)
                except PathEscapeError as e:
                    raise UnsafeArchive(f"archive hard link {name!r} leaves the workspace; refused") from e
                sparts = source.split("/")
                if any("/".join(sparts[:k]) in links for k in range(1, len(sparts) + 1)) or is_data_path(source):
                    raise UnsafeArchive(f"archive hard link {name!r} goes through a link; refused")
                os.link(os.path.join(root, source), full, follow_symlinks=False)
            # devices, fifos: skipped
    for full, mtime in reversed(dir_mtimes):  # last, since creating entries changes them
        os.utime(full, (mtime, mtime), follow_symlinks=False)


def _check_hidden(spec: SandboxSpec) -> None:
    """Refuse a spec whose mounted or copied folders contain (or are inside) a hidden folder."""
    exposed = [Path(p).resolve() for p in (spec.public_dir, spec.starter_dir) if p is not None]
    for hidden in spec.hidden_dirs:
        h = Path(hidden).resolve()
        for e in exposed:
            if h == e or e in h.parents or h in e.parents:
                raise SandboxError(
                    f"hidden folder {h} overlaps {e}, which the sandbox mounts or copies; keep answers out of the "
                    "public and starter folders"
                )


def _not_running_errors() -> tuple[type[BaseException], ...]:
    import docker  # noqa: PLC0415

    return (docker.errors.APIError,)


@atexit.register
def _close_all() -> None:
    """Close every sandbox still open when Python exits (Ctrl-C included)."""
    for sb in list(_live):
        try:
            sb.close()
        except Exception:
            pass
