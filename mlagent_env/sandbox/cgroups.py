"""CgroupLimits: the pids and memory cgroups (v1) of one local sandbox.

The sandbox's launcher joins them once (``attach_script``); everything it forks stays in them,
so the host can count OOM kills and kill every process a command left, whatever its process
group. Controllers that cannot be created (not root, cgroup v2 only) are skipped.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


class CgroupLimits:
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

    @classmethod
    def existing(cls, name: str) -> "CgroupLimits":
        """The cgroups called ``name`` that exist (e.g. those of a sandbox whose process was killed),
        to kill what is in them and remove them; none is created."""
        limits = cls.__new__(cls)
        limits.dirs = {c: CGROUP_ROOT / c / name for c in ("pids", "memory") if (CGROUP_ROOT / c / name).is_dir()}
        return limits

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
