"""The command lines that put a local sandbox's launcher into its own namespaces.

``bwrap_wrapper``: containment. Agent code runs as uid 65534 in a user namespace of its own with
every capability dropped (bubblewrap sets no_new_privs, and ``--disable-userns`` forbids nested
user namespaces, so none can be regained), in new pid, network, ipc, uts and cgroup namespaces,
on a root filesystem that holds only what a Python script needs: ``/usr`` and a few ``/etc`` files
read-only, the interpreter's environment read-only (its folders only, never the checkout around
a virtual environment), this task's public data read-only, the workspace read-write, a private
size-limited ``/tmp``, a minimal ``/dev`` and a ``/proc`` of its own pid namespace. No ``/sys``
(except the CPU topology), ``/run``, ``/var``, home folders, data root or other task.

``unshare_wrapper``: no containment (plain local), only a pid namespace that dies with the
sandbox (no process outlives ``close()``) and, when asked, a network namespace with no network.
"""

from __future__ import annotations

import functools
import glob
import os
import shutil
import subprocess
from pathlib import Path
from typing import Sequence

AGENT_UID = 65534
"""The uid (and gid) of agent code inside the bwrap sandbox."""

ETC_FILES = (
    "ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "timezone", "nsswitch.conf", "alternatives",
    "ssl", "ca-certificates", "mime.types", "fonts", "host.conf", "gai.conf",
)
"""The host's ``/etc`` entries a script may need; passwd and group are the sandbox's own."""

NETWORK_ETC_FILES = ("hosts", "resolv.conf")

SYSTEM_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")


def bwrap_available() -> bool:
    return shutil.which("bwrap") is not None


def bwrap_wrapper(
    *,
    python: str,
    root: Path,
    writable: Sequence[Path],
    public: Path | None,
    network: bool,
    gpus: bool,
    tmp_mb: int,
) -> list[str]:
    """The bwrap command line (ending in ``--``) for one sandbox. ``root`` is the sandbox's own
    host folder (it receives the sandbox's passwd and group files); ``writable`` are bound
    read-write at their host paths; ``public`` read-only at its host path."""
    args = [
        "bwrap", "--unshare-user", "--disable-userns", "--uid", str(AGENT_UID), "--gid", str(AGENT_UID),
        "--cap-drop", "ALL", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
        "--hostname", "sandbox", "--new-session", "--die-with-parent",
    ]
    if not network:
        args.append("--unshare-net")
    args += ["--ro-bind", "/usr", "/usr"]
    for name in SYSTEM_LINKS:
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for name in ETC_FILES + (NETWORK_ETC_FILES if network else ()):
        if (Path("/etc") / name).exists():
            args += ["--ro-bind", f"/etc/{name}", f"/etc/{name}"]
    for name, text in _identity_files().items():
        path = root / name
        path.write_text(text)
        args += ["--ro-bind", str(path), f"/etc/{name}"]
    args += ["--proc", "/proc", "--dev", "/dev", "--size", str(tmp_mb << 20), "--tmpfs", "/tmp"]
    if Path("/sys/devices/system/cpu").is_dir():
        args += ["--ro-bind", "/sys/devices/system/cpu", "/sys/devices/system/cpu"]
    if gpus:
        for dev in sorted(glob.glob("/dev/nvidia*")):
            args += ["--dev-bind", dev, dev]
    for env_dir in interpreter_dirs(python):
        args += ["--ro-bind", str(env_dir), str(env_dir)]
    for path in writable:
        args += ["--bind", str(path), str(path)]
    if public is not None:
        args += ["--ro-bind", str(public), str(public)]
    return args + ["--"]


def interpreter_dirs(python: str) -> list[Path]:
    """The folders an interpreter needs, outside ``/usr``: its virtual environment (if any) and
    the installation it is made from, found from the interpreter, never the folder around them."""
    found: list[Path] = []
    link = Path(python).absolute()
    for exe in (link, Path(os.path.realpath(link))):
        prefix = exe.parent.parent
        if (prefix / "pyvenv.cfg").exists() or (prefix / "lib").is_dir():
            found.append(prefix)
    cfg = link.parent.parent / "pyvenv.cfg"
    if cfg.exists():  # a venv's base interpreter may be linked through other folders
        for line in cfg.read_text(errors="replace").splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "home" and value.strip():
                found.append(Path(os.path.realpath(value.strip())).parent)
    out: list[Path] = []
    for d in found:
        d = Path(os.path.realpath(d))
        if d == Path("/") or d == Path("/usr") or Path("/usr") in d.parents or d in out:
            continue
        out.append(d)
    return out


def _identity_files() -> dict[str, str]:
    uid = AGENT_UID
    return {
        "passwd": f"agent:x:{uid}:{uid}:agent:/tmp:/bin/sh\n",
        "group": f"agent:x:{uid}:\n",
    }


def unshare_wrapper(network: bool) -> list[str] | None:
    """``unshare`` with a pid namespace of its own (and a network namespace when ``network`` is
    False), or None when this host does not allow it."""
    args = ["unshare", "--pid", "--fork", "--kill-child", "--mount-proc"]
    if not network:
        args.append("--net")
    if os.geteuid() != 0:
        args.append("--map-root-user")
    return args if _works(tuple(args)) else None


@functools.lru_cache(maxsize=None)
def _works(args: tuple[str, ...]) -> bool:
    if shutil.which(args[0]) is None:
        return False
    try:
        return subprocess.run([*args, "true"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False
