"""The Docker engine as this process sees it: one shared client, the run id and owner that label
every container, and the uid that commands run as."""

from __future__ import annotations

import os
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mlagent_env.errors import MLAgentError
from mlagent_env.sandbox.owner import owner_alive, owner_label  # noqa: F401  (the labels' owner; reap checks it)

AGENT_UID = 1000
LABEL_SANDBOX = "org.mlagent.sandbox"
LABEL_RUN_ID = "org.mlagent.run_id"
LABEL_TASK = "org.mlagent.task"
LABEL_CREATED_AT = "org.mlagent.created_at"
LABEL_OWNER = "org.mlagent.owner"
LABEL_WORKSPACE = "org.mlagent.workspace"
LABEL_POOL = "org.mlagent.pool"


class DockerUnavailable(MLAgentError):
    """No Docker engine answers, or docker-py is not installed; the message says what to do."""


# --------------------------------------------------------------------------- process-wide state
_client_lock = threading.Lock()
_default_client: Any = None
_run_id: str | None = None


def process_run_id() -> str:
    """One id per Python process, put on every container it starts (``org.mlagent.run_id``)."""
    global _run_id
    if _run_id is None:
        _run_id = os.environ.get("MLAGENT_RUN_ID") or f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:8]}"
    return _run_id


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
