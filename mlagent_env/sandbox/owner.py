"""Who owns a sandbox's leftovers: ``host:pid:start-ticks`` of the process that made them, written
on every container (a label) and in every local sandbox's folder (``local_reap.py``), so that a
reaper can tell an owner that still runs from one that is gone (a reused pid has other start ticks).

    label = owner_label()        # this process
    owner_alive(label)           # True, False (gone), or None (another host: unknown)
"""

from __future__ import annotations

import os
import socket


def _proc_stat(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (state first), or None."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _proc_start_ticks(pid: int) -> str:
    fields = _proc_stat(pid)
    return fields[19] if fields is not None and len(fields) > 19 else "?"


def owner_label(pid: int | None = None) -> str:
    """``host:pid:start-ticks`` of a process (this one by default): what a container's owner label
    and a local sandbox's owner file hold."""
    pid = os.getpid() if pid is None else pid
    return f"{socket.gethostname()}:{pid}:{_proc_start_ticks(pid)}"


def owner_alive(label: str) -> bool | None:
    """Whether the owner process named by :func:`owner_label` still runs (a zombie does not); None
    when it ran on another host or the label is not one."""
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
    fields = _proc_stat(pid)
    if fields is not None and fields[0] in ("Z", "X"):  # killed, waiting for its parent to reap it
        return False
    return ticks == "?" or _proc_start_ticks(pid) == ticks
