"""Killing the agent's processes inside a container and reading its OOM counter, from execs of
pure-shell scripts (they still work when the pids limit forbids every fork)."""

from __future__ import annotations

import time
from typing import Any

from mlagent_env.sandbox.docker.exec_stream import run_exec


# sweep: SIGKILL every process of this uid but the calling shell until none is left (a fork bomb
# included). `kill -1` alone cannot tell when it is done (it succeeds while any other process,
# even one it may not signal, exists), so the shell looks for /proc entries that this uid owns.
# Pure shell builtins: it still works when the pids limit forbids every fork.
_SWEEP_FN = (
    "sweep() { n=0; while :; do left=0; for d in /proc/[0-9]*; do "
    'if [ "$d" != "/proc/$$" ] && [ -O "$d" ]; then left=1; break; fi; done; '
    '[ "$left" = 0 ] && return 0; kill -9 -1 2>/dev/null; n=$((n+1)); [ "$n" -lt 20000 ] || return 1; done; }; '
)
# The wrapper of every agent command: runs it, then kills whatever it left running (pid 1 is root and out of reach), and
# exits with the command's status. A command can kill this shell first: the sandbox then sees processes left
# (agent_processes_left) and sweeps from a separate exec.
COMMAND_WRAPPER = _SWEEP_FN + '"$@"; rc=$?; sweep; exit $rc'
# Kills every process of the agent's uid, from a separate exec. Exit 0: none left.
_KILL_ALL = _SWEEP_FN + "sweep"
_OOM_COUNTER = "cat /sys/fs/cgroup/memory.events 2>/dev/null || cat /sys/fs/cgroup/memory/memory.oom_control"
# Before a pooled container is reused: no process of the agent left, /tmp and /dev/shm empty;
# prints the OOM counter so that one exec tells whether the container is still clean.
_RESET_STATE = (
    _SWEEP_FN + "sweep || exit 1; find /tmp /dev/shm -mindepth 1 -delete 2>/dev/null; " + _OOM_COUNTER + "; exit 0"
)


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


def agent_processes_left(client: Any, container_id: str) -> bool:
    """Whether any process is left in the container besides its own (the init and the command it
    runs, both root): an agent command that killed its wrapper shell skipped the wrapper's sweep,
    and what it started would live on into later steps. Asked of the engine's process list (no
    exec, so a few milliseconds); True when the list cannot be read (sweep to be sure)."""
    try:
        top = client.api.top(container_id, ps_args="-o pid,uid")
        uid = top["Titles"].index("UID")
        return any(str(row[uid]).strip() != "0" for row in top.get("Processes") or [])
    except Exception:
        return True


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
