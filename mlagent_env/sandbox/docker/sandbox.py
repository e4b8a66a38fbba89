"""DockerSandbox: the :class:`~mlagent_env.sandbox.base.Sandbox` of one episode in one container.

Commands run through :mod:`.exec_stream` under the wrapper of :mod:`.processes`; file operations,
listings and snapshots act on the host side of the workspace mount, with symlinks resolved as the
container would resolve them (anything that resolves outside the workspace is refused).
"""

from __future__ import annotations

import os
import shutil
import stat
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from mlagent_env.errors import PathEscapeError, ReadOnlyPathError, SandboxError, WorkspaceFileNotFound
from mlagent_env.sandbox.agent_files import read_regular_file, write_new_file
from mlagent_env.sandbox.archive import extract_workspace_tar, wipe_workspace, workspace_tar
from mlagent_env.sandbox.base import (
    DATA_DIR_NAME,
    TMP_SUFFIX,
    DirListing,
    ExecResult,
    SandboxLifecycle,
    SandboxSpec,
    closed_at_exit,
    compute_env,
    finish_exec,
    is_data_path,
    normalize_relpath,
)
from mlagent_env.sandbox.docker.client import LABEL_POOL, agent_ids, get_client, process_run_id
from mlagent_env.sandbox.docker.container import (
    WORKSPACE_DIR,
    ContainerConfig,
    chown,
    chown_tree,
    container_running,
    discard,
    file_owner,
    remove_container,
    start_container,
)
from mlagent_env.sandbox.docker.exec_stream import RawExec, run_exec
from mlagent_env.sandbox.docker.processes import (
    COMMAND_WRAPPER,
    agent_processes_left,
    kill_agent_processes,
    read_oom_kills,
)
from mlagent_env.sandbox.listing import LIST_MAX_ENTRIES, walk_listing
from mlagent_env.sandbox.quota import full_disk_as_error

if TYPE_CHECKING:  # pragma: no cover
    from mlagent_env.sandbox.pool import WarmPool

_live: "weakref.WeakSet[DockerSandbox]" = closed_at_exit()


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
        """True when agent code in this sandbox can read the task's private answers."""
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
        cmd = ["/bin/sh", "-c", COMMAND_WRAPPER, "mlagent", *argv]
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
        if not raw.timed_out and agent_processes_left(self._client, self._handle.id):
            killed_ok[0] = kill_agent_processes(self._client, self._handle.id, self._user)  # the wrapper was killed
        if not killed_ok[0]:
            self._handle.tainted = True
        oom = False
        if not raw.timed_out and raw.exit_code in (137, -9, None):
            oom = self._check_oom()
        disk = self._handle.disk
        disk_full = not raw.timed_out and disk is not None and disk.hit_by(raw.exit_code, raw.stderr.text()[0])
        return finish_exec(
            raw.exit_code,
            raw.stdout,
            raw.stderr,
            timed_out=raw.timed_out,
            oom_killed=oom,
            disk_full=disk_full,
            duration_s=raw.duration_s,
            timeout_s=timeout_s,
            memory_mb=self.spec.memory_mb,
            disk_mb=self.spec.disk_mb,
        )

    def read_file(self, path: str) -> bytes:
        _, host = self._resolve(path)
        return read_regular_file(host, path)

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
                chown(cur)
            elif os.path.islink(cur) or not os.path.isdir(cur):
                raise SandboxError(f"{path!r}: {'/'.join(parts[: parts.index(comp) + 1])!r} is not a folder")
        tmp = host.parent / f".{host.name}{TMP_SUFFIX}"
        with full_disk_as_error(path, self.spec.disk_mb, partial=tmp):
            write_new_file(tmp, bytes(data), file_owner())
            os.replace(tmp, host)

    def exists(self, path: str) -> bool:
        _, host = self._resolve(path)
        return os.path.exists(host)

    def list_dir(self, path: str = ".", recursive: bool = False, max_entries: int = LIST_MAX_ENTRIES) -> DirListing:
        rel, host = self._resolve(path)
        if not os.path.isdir(host):
            raise WorkspaceFileNotFound(f"{path!r} is not a folder in the workspace")
        norm = normalize_relpath(path)
        prefix = "" if norm == "." else norm + "/"
        comps = [] if rel == "." else rel.split("/")
        return walk_listing(
            str(host), comps, prefix, recursive=recursive, describe=self._describe, max_entries=max_entries
        )

    def snapshot(self) -> bytes:
        self._check_open()
        return workspace_tar(self._handle.workspace, inner_root=WORKSPACE_DIR)

    def restore(self, archive: bytes) -> None:
        self._check_open()
        wipe_workspace(self._handle.workspace)
        extract_workspace_tar(
            archive, self._handle.workspace, inner_root=WORKSPACE_DIR, owner=file_owner()
        )

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
        chown_tree(self._handle.workspace)

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

    def _describe(self, e: "os.DirEntry[str]", child: list[str]) -> tuple[bool, int, str | None] | None:
        """How a listing shows one entry (see :func:`~mlagent_env.sandbox.listing.walk_listing`)."""
        if e.name.endswith(TMP_SUFFIX):
            return None
        if len(child) == 1 and e.name == DATA_DIR_NAME and not self._handle.config.public_dir:
            return None  # no data for this task: an empty read-only mount, not shown
        descend = False
        try:
            if e.is_symlink():
                _, target = self._resolve("/".join(child))
                st = os.stat(target)
            else:
                st = e.stat(follow_symlinks=False)
                descend = stat.S_ISDIR(st.st_mode)
        except (SandboxError, OSError):
            return None  # never reveal what lies outside; skip dangling links
        is_dir = stat.S_ISDIR(st.st_mode)
        return is_dir, 0 if is_dir else st.st_size, str(self._host_of(child)) if descend else None


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
