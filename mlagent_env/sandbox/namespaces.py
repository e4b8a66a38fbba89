"""The command lines that put a local sandbox's launcher into its own namespaces.

``bwrap_wrapper``: containment. Agent code runs as uid 65534 (on the host as well: as root,
bubblewrap itself is started as that uid) in a user namespace of its own with
every capability dropped (bubblewrap sets no_new_privs, and ``--disable-userns`` forbids nested
user namespaces, so none can be regained), in new pid, network, ipc, uts and cgroup namespaces,
on a root filesystem that holds only what a Python script needs: ``/usr`` and a few ``/etc`` files
read-only, the interpreter's environment read-only (of its folders only the parts it needs,
``PREFIX_PARTS``: never the checkout around a virtual environment, nor a conda base's package
cache and other environments), this task's public data read-only, the workspace read-write, a private
size-limited ``/tmp``, a minimal ``/dev`` and a ``/proc`` of its own pid namespace. No ``/sys``
(except the CPU topology), ``/run``, ``/var``, home folders, data root or other task. Not there
either: the datasets that the installed packages bundle (their folders are covered by copies
that hold only their code) and the site-packages folders off the interpreter's path (covered by
empty ones); see :mod:`mlagent_env.sandbox.bundled_data`.

``unshare_wrapper``: no containment (plain local), only a pid namespace that dies with the
sandbox (no process outlives ``close()``) and, when asked, a network namespace with no network.
"""

from __future__ import annotations

import functools
import glob
import os
import shlex
import shutil
import subprocess
from pathlib import Path

from mlagent_env.errors import SandboxError
from mlagent_env.sandbox.bundled_data import BundledDataError, bundled_paths, code_only_copy

AGENT_UID = 65534
"""The uid (and gid) of agent code in the bwrap sandbox; as root, its uid on the host too."""

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
    workspace: Path,
    public: Path | None,
    network: bool,
    gpus: bool,
    tmp_mb: int,
) -> list[str]:
    """The command line (ending in ``--``) that starts one sandbox's launcher under bwrap.

    ``root`` is the sandbox's own host folder (it receives the sandbox's passwd and group files and,
    as root, the staging mounts); ``workspace`` is bound read-write and ``public`` read-only, both
    at their host paths. As root, the read-only sources are first bind-mounted under ``root/stage``
    in a private mount namespace (``unshare``), so that bubblewrap, started as ``AGENT_UID`` by
    ``setpriv``, can reach them however private the folders above them are; the agent's processes
    are then that unprivileged uid on the host too, never root.
    """
    parts = interpreter_parts(python)
    links = [p for p in parts if p.is_symlink()]
    sources: list[tuple[Path, Path]] = [(p, p) for p in parts if p not in links]  # (host source, sandbox path)
    if public is not None:
        sources.append((public, public))
    for name, text in _identity_files().items():
        path = root / name
        path.write_text(text)
        path.chmod(0o644)
        sources.append((path, Path("/etc") / name))
    prefix: list[str] = []
    as_root = os.geteuid() == 0
    if as_root:
        stage = root / "stage"
        stage.mkdir(exist_ok=True)  # again when the launcher restarts
        root.chmod(0o711)  # the unprivileged bwrap passes through to stage/ and the workspace
        script = "set -e; "
        staged: list[tuple[Path, Path]] = []
        for i, (src, dest) in enumerate(sources):
            target = stage / str(i)
            if src.is_dir():
                target.mkdir(exist_ok=True)
            else:
                target.touch()
            script += f"mount --bind {shlex.quote(str(src))} {target}; mount -o remount,bind,ro {target}; "
            staged.append((target, dest))
        sources = staged
        prefix = [
            "unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", script + 'exec "$@"', "sh",
            "setpriv", f"--reuid={AGENT_UID}", f"--regid={AGENT_UID}", "--clear-groups", "--inh-caps=-all",
            "--bounding-set=-all", "--no-new-privs",
        ]
    args = [
        "bwrap", "--unshare-user", "--disable-userns", "--uid", str(AGENT_UID), "--gid", str(AGENT_UID),
        "--cap-drop", "ALL", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
        "--hostname", "sandbox", "--new-session", "--die-with-parent",
        "--as-pid-1",  # the launcher is pid 1 itself: not dumpable, so agent code cannot ptrace or rewrite it
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
    args += ["--proc", "/proc", "--dev", "/dev", "--perms", "1777", "--size", str(tmp_mb << 20), "--tmpfs", "/tmp"]
    if Path("/sys/devices/system/cpu").is_dir():
        args += ["--ro-bind", "/sys/devices/system/cpu", "/sys/devices/system/cpu"]
    if gpus:
        for dev in sorted(glob.glob("/dev/nvidia*")):
            args += ["--dev-bind", dev, dev]
    for src, dest in sources:
        args += ["--ro-bind", str(src), str(dest)]
    for link in links:  # a venv's lib64 -> lib: a link, so that the covers of lib/ cover it too
        args += ["--symlink", os.readlink(link), str(link)]
    args += _hide_bundled_data(python, root)
    args += ["--bind", str(workspace), str(workspace), "--remount-ro", "/"]
    return prefix + args + ["--"]


def _hide_bundled_data(python: str, root: Path) -> list[str]:
    """bwrap arguments that put over each data folder of the installed packages a copy that holds
    only its code (made once per sandbox, in ``root``), and an empty read-only folder over each
    unused site-packages folder, wherever they are inside the mounted folders."""
    try:
        found = bundled_paths(python)
    except BundledDataError as e:
        raise SandboxError(str(e)) from e
    mounted = [Path("/usr"), *interpreter_parts(python)]

    def inside(path: Path) -> bool:
        return any(m == path or m in path.parents for m in mounted)

    folders = [Path(f) for f in found.folders]
    args: list[str] = []
    for i, folder in enumerate(folders):
        if inside(folder) and not any(f in folder.parents for f in folders):  # a folder in another: copied with it
            copy = root / "code-only" / str(i)
            if not copy.is_dir():  # made whole or not at all
                partial = copy.with_name(f"{i}.partial")
                shutil.rmtree(partial, ignore_errors=True)
                code_only_copy(str(folder), partial)
                partial.rename(copy)
            args += ["--ro-bind", str(copy), str(folder)]
    for site in map(Path, found.unused_site):
        if inside(site):
            args += ["--tmpfs", str(site), "--remount-ro", str(site)]
    return args


def hand_over(path: Path) -> None:
    """Give ``path`` (a file, or a folder and everything in it, however deep) to the agent's uid, so
    that its code can change what the host wrote; links are never followed. Nothing to do when the
    host is not root: the agent is then the host's own uid."""
    if os.geteuid() != 0:
        return
    os.chown(path, AGENT_UID, AGENT_UID, follow_symlinks=False)
    todo = [str(path)] if path.is_dir() and not path.is_symlink() else []
    while todo:
        try:
            entries = list(os.scandir(todo.pop()))
        except OSError:
            continue
        for e in entries:
            try:
                os.chown(e.path, AGENT_UID, AGENT_UID, follow_symlinks=False)
                if e.is_dir(follow_symlinks=False):
                    todo.append(e.path)
            except OSError:
                pass


PREFIX_PARTS = ("bin", "lib", "lib64", "pyvenv.cfg", "ssl")
"""What an interpreter needs of its installation's folder: its programs, its libraries (the standard
library and site-packages), a venv's config and a conda Python's certificates. The rest is never
mounted: a conda base keeps every package's files again in ``pkgs/`` and whole other installations
in ``envs/``, where the covers of the interpreter's own packages do not reach."""


def interpreter_parts(python: str) -> list[Path]:
    """The paths of :data:`PREFIX_PARTS` that each folder of :func:`interpreter_dirs` has."""
    return [d / name for d in interpreter_dirs(python) for name in PREFIX_PARTS if os.path.lexists(d / name)]


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
