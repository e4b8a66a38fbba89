"""DockerSandbox: an episode's commands run in a container of the runtime image (docker/Dockerfile).

Constructor (``make_sandbox("docker", spec, **kwargs)`` passes its kwargs here)::

    DockerSandbox(spec, *, image=None, client=None, pool=None, run_id=None)

- ``image``: the runtime image; default ``spec.image``, else ``$MLAGENT_IMAGE``, else
  ``mlagent-runtime:full``. A missing image raises :class:`ImageMissing`, one built before the
  packages' bundled datasets were removed from it (no ``org.mlagent.bundled_data`` label; see
  :mod:`mlagent_env.sandbox.bundled_data`) :class:`ImageOutdated`; both name the build command.
  The first container of each image ID in a process runs ``bundled_data.py --check`` before the
  agent gets it: an image whose packages still hold the data (one built FROM the runtime image
  inherits its label) raises :class:`ImageHoldsBundledData`, which names the files and the fix.
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

One job a module: :mod:`.client` (the engine client, run id, owner and labels),
:mod:`.container` (container configuration and lifecycle), :mod:`.exec_stream` (one command's
output stream), :mod:`.processes` (killing the agent's processes, OOM accounting),
:mod:`.sandbox` (the sandbox class). Snapshots use the tar of :mod:`mlagent_env.sandbox.archive`,
shared with the local backend.
"""

from mlagent_env.sandbox.docker.client import (
    LABEL_CREATED_AT,
    LABEL_OWNER,
    LABEL_POOL,
    LABEL_RUN_ID,
    LABEL_SANDBOX,
    LABEL_TASK,
    LABEL_WORKSPACE,
    DockerUnavailable,
    agent_ids,
    get_client,
    owner_alive,
    owner_label,
    process_run_id,
)
from mlagent_env.sandbox.docker.container import (
    WORKSPACE_DIR,
    WORKSPACE_PREFIX,
    ContainerConfig,
    ContainerHandle,
    ImageHoldsBundledData,
    ImageMissing,
    ImageOutdated,
    container_run_kwargs,
)
from mlagent_env.sandbox.docker.sandbox import DockerSandbox

__all__ = [
    "LABEL_CREATED_AT",
    "LABEL_OWNER",
    "LABEL_POOL",
    "LABEL_RUN_ID",
    "LABEL_SANDBOX",
    "LABEL_TASK",
    "LABEL_WORKSPACE",
    "WORKSPACE_DIR",
    "WORKSPACE_PREFIX",
    "ContainerConfig",
    "ContainerHandle",
    "DockerSandbox",
    "DockerUnavailable",
    "ImageHoldsBundledData",
    "ImageMissing",
    "ImageOutdated",
    "agent_ids",
    "container_run_kwargs",
    "get_client",
    "owner_alive",
    "owner_label",
    "process_run_id",
]
