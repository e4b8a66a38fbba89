"""WarmPool: started containers kept ready, so that building a DockerSandbox (``reset``) does not
pay a container start.

Containers are interchangeable when their :class:`~mlagent_env.sandbox.docker.container.ContainerConfig`
is equal (image, limits, network, GPUs, public data mount); the pool keeps up to ``size`` ready
containers per config it has been asked for, refilling in one background thread (2 cores: one
start at a time). A released container is reused only if it is safe to: the agent's processes
are killed, /tmp and /dev/shm emptied, the workspace wiped, and the container is still running
and was not tainted (an OOM kill, a timeout whose processes could not all be killed, a
recreated container); otherwise it is removed and a fresh one started instead.

    pool = WarmPool(size=2)
    pool.prewarm(spec, image="mlagent-runtime:slim")      # optional: start them now
    sb = DockerSandbox(spec, image="mlagent-runtime:slim", pool=pool)   # takes a ready one
    sb.close()                                            # cleaned in the background and reused
    pool.close()                                          # removes every container it holds
"""

from __future__ import annotations

import atexit
import threading
import uuid
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from mlagent_env.sandbox.archive import wipe_workspace
from mlagent_env.sandbox.base import SandboxSpec
from mlagent_env.sandbox.docker.client import agent_ids, get_client, process_run_id
from mlagent_env.sandbox.docker.container import (
    ContainerConfig,
    ContainerHandle,
    container_running,
    discard,
    start_container,
)
from mlagent_env.sandbox.docker.processes import reset_container_state

_pools: "set[WarmPool]" = set()


class WarmPool:
    """Ready containers per container config. Thread-safe; see the module docstring."""

    def __init__(self, size: int = 2, *, client: Any = None, run_id: str | None = None) -> None:
        if size < 0:
            raise ValueError("size must be >= 0")
        self.size = size
        self.client = get_client(client)
        self.run_id = run_id or process_run_id()
        self.pool_id = f"pool-{uuid.uuid4().hex[:8]}"
        uid, gid = agent_ids()
        self._user = f"{uid}:{gid}"
        self._ready: dict[ContainerConfig, list[ContainerHandle]] = defaultdict(list)
        self._inflight: dict[ContainerConfig, int] = defaultdict(int)
        self._task_of: dict[ContainerConfig, str] = {}
        self._lock = threading.Lock()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mlagent-pool")
        self._closed = False
        self.hits = 0
        self.misses = 0
        self.recycled = 0
        self.discarded = 0
        _pools.add(self)

    # ------------------------------------------------------------------ public
    def prewarm(
        self, spec: SandboxSpec | ContainerConfig, n: int | None = None, *, image: str | None = None, wait: bool = True
    ) -> None:
        """Start containers for ``spec`` until ``n`` (default ``size``) are ready."""
        config = spec if isinstance(spec, ContainerConfig) else ContainerConfig.from_spec(spec, image)
        task = spec.task_id if isinstance(spec, SandboxSpec) else "pool"
        with self._lock:
            self._task_of.setdefault(config, task)
        futures = self._schedule_refill(config, target=self.size if n is None else n)
        if wait:
            for f in futures:
                f.result()

    def ready_count(self, config: ContainerConfig | None = None) -> int:
        with self._lock:
            if config is not None:
                return len(self._ready.get(config, []))
            return sum(len(v) for v in self._ready.values())

    def acquire(self, config: ContainerConfig, *, task_id: str = "pool") -> ContainerHandle:
        """A ready container for ``config`` (a fresh one when none is ready); refills in the background."""
        self._check_open()
        with self._lock:
            self._task_of.setdefault(config, task_id)
        handle = None
        while handle is None:
            with self._lock:
                ready = self._ready.get(config)
                candidate = ready.pop() if ready else None
            if candidate is None:
                break
            running, _ = container_running(self.client, candidate.id)
            if running:
                handle = candidate
            else:
                self._discard(candidate)
        if handle is None:
            self.misses += 1
            handle = start_container(self.client, config, task_id=task_id, run_id=self.run_id, pool_id=self.pool_id)
        else:
            self.hits += 1
        self._schedule_refill(config, target=self.size)
        return handle

    def release(self, handle: ContainerHandle) -> None:
        """Give a container back: cleaned and kept if safe, else removed (in the background)."""
        if self._closed:
            self._discard(handle)
            return
        try:
            self._worker.submit(self._recycle, handle)
        except RuntimeError:  # shut down meanwhile
            self._discard(handle)

    def close(self) -> None:
        """Remove every container the pool holds, after the background work in flight."""
        if self._closed:
            return
        self._closed = True
        self._worker.shutdown(wait=True)  # queued work sees _closed and discards
        with self._lock:
            handles = [h for hs in self._ready.values() for h in hs]
            self._ready.clear()
        for h in handles:
            self._discard(h)
        _pools.discard(self)

    def __enter__(self) -> "WarmPool":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ internals
    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this WarmPool is closed")

    def _schedule_refill(self, config: ContainerConfig, target: int) -> list[Future[None]]:
        futures = []
        with self._lock:
            missing = target - len(self._ready.get(config, [])) - self._inflight[config]
            self._inflight[config] += max(missing, 0)
        for _ in range(max(missing, 0)):
            try:
                futures.append(self._worker.submit(self._start_one, config))
            except RuntimeError:
                break
        return futures

    def _start_one(self, config: ContainerConfig) -> None:
        try:
            if self._closed:
                return
            handle = start_container(
                self.client, config, task_id=self._task_of.get(config, "pool"), run_id=self.run_id, pool_id=self.pool_id
            )
            self._keep_or_discard(handle)
        finally:
            with self._lock:
                self._inflight[config] -= 1

    def _recycle(self, handle: ContainerHandle) -> None:
        ok = not handle.tainted and not self._closed
        if ok:
            running, _ = container_running(self.client, handle.id)
            ok = running
        if ok:
            ok, count = reset_container_state(self.client, handle.id, self._user)
            ok = ok and (count is None or count == handle.oom_kills)
        if ok:
            try:
                wipe_workspace(handle.workspace)
            except OSError:
                ok = False
        if ok:
            self.recycled += 1
            self._keep_or_discard(handle)
        else:
            self._discard(handle)
            if not self._closed:
                self._schedule_refill(handle.config, target=self.size)

    def _keep_or_discard(self, handle: ContainerHandle) -> None:
        with self._lock:
            keep = not self._closed and len(self._ready[handle.config]) < self.size
            if keep:
                self._ready[handle.config].append(handle)
        if not keep:
            self._discard(handle)

    def _discard(self, handle: ContainerHandle) -> None:
        self.discarded += 1
        try:
            discard(self.client, handle)
        except Exception:
            pass


@atexit.register
def _close_pools() -> None:
    for pool in list(_pools):
        try:
            pool.close()
        except Exception:
            pass
