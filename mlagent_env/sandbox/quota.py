"""DiskQuota: a size-limited file system for a sandbox's workspace.

Every backend keeps the agent's workspace on one of these (its ``/tmp`` is a size-limited tmpfs,
except in plain local), so that a script that writes more than ``disk_mb`` fails with "No space
left on device" and the host's disk outside the quota is untouched. As root it is a sparse ext4 image file, loop-mounted
(no journal, inode tables left uninitialised: a few milliseconds to make, and the host only pays
for what the agent really writes). Without the rights to mount, ``enforced`` is False and the
sandbox falls back to a per-file size limit (``ulimit -f``, Docker's ``fsize`` ulimit), which it
says once.

A process killed with SIGKILL never releases its quotas: :mod:`mlagent_env.sandbox.local_reap`
finds them (:func:`loop_mounts`) and releases those of dead owners.
"""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from mlagent_env.errors import SandboxError

MOUNT_NAME = "workspace"
IMAGE_NAME = "workspace.img"
XFSZ_EXIT_CODES = (-signal.SIGXFSZ, 128 + signal.SIGXFSZ)
"""Exit codes of a command killed for a file over the per-file fallback (as a signal, through a shell)."""
FULL_MARGIN_BYTES = 1 << 20
"""A quota with less than this much space left counts as full."""

_warned = False
_SYSTEM_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
_MKFS = shutil.which("mkfs.ext4", path=_SYSTEM_PATH)
"""mkfs.ext4, also where a user's PATH lacks the sbin folders."""


def can_mount() -> bool:
    """Whether this process may loop-mount an image (root with mkfs.ext4 and a loop device)."""
    return os.geteuid() == 0 and _MKFS is not None and Path("/dev/loop-control").exists()


class DiskQuota:
    """``size_mb`` of writable space at ``mount``, the folder ``root/workspace``, whose file system
    is the sandbox's alone (ext4's ``lost+found`` is removed: the agent sees an empty folder).
    :meth:`release` unmounts and deletes the image; it is idempotent.
    """

    def __init__(self, root: Path, size_mb: int) -> None:
        if size_mb < 8:
            raise SandboxError(f"disk_mb={size_mb} is too small; give at least 8 (MB)")
        self.size_mb = size_mb
        self.root = root
        self.mount = root / MOUNT_NAME
        self.mount.mkdir(exist_ok=True)
        self._image = root / IMAGE_NAME
        if os.path.ismount(self.mount):  # a container recreated on the same workspace keeps its quota
            self.enforced = True
            return
        self.enforced = False
        if not can_mount():
            _warn_unenforced(size_mb, "not root, or no mkfs.ext4 or loop device")
            return
        with open(self._image, "wb") as f:
            f.truncate(size_mb << 20)
        self._image.chmod(0o600)
        try:
            _run([_MKFS, "-q", "-F", "-m", "0", "-i", "8192", "-O", "^has_journal,^resize_inode",
                  "-E", "lazy_itable_init=1,nodiscard", str(self._image)])
            _run(["mount", "-o", "loop,nosuid,nodev,noinit_itable", str(self._image), str(self.mount)])
        except SandboxError as exc:  # e.g. a container without loop devices
            self._image.unlink(missing_ok=True)
            _warn_unenforced(size_mb, str(exc))
            return
        self.enforced = True
        (self.mount / "lost+found").rmdir()

    def hit_by(self, exit_code: int | None, stderr: str) -> bool:
        """Whether a command that ended with ``exit_code`` failed on this quota: it failed and the
        quota is full (or, with the per-file fallback, the file size limit stopped it: a signal, or
        Python's "File too large", since Python ignores that signal)."""
        if exit_code in (0, None):
            return False
        if self.enforced:
            return self.full()
        return exit_code in XFSZ_EXIT_CODES or "[Errno 27] File too large" in stderr[-4000:]

    def full(self) -> bool:
        """Whether the quota is (nearly) exhausted, in bytes or in files."""
        if not self.enforced:
            return False
        try:
            st = os.statvfs(self.mount)
        except OSError:
            return False
        return st.f_bavail * st.f_frsize < FULL_MARGIN_BYTES or st.f_favail == 0

    def release(self) -> None:
        release_disk(self.root)
        self.enforced = False


def release_disk(root: Path) -> None:
    """Unmount the quota under a sandbox's ``root`` (lazily if something still holds it open),
    detach its loop device and delete its image; nothing happens where there is none. Idempotent;
    call before removing ``root``."""
    mount = root / MOUNT_NAME
    if os.path.ismount(mount):
        loop = dict(loop_mounts()).get(Path(os.path.realpath(mount)))
        if subprocess.run(["umount", str(mount)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mount)], capture_output=True)
        if loop is not None and _backing_file(loop) == str(Path(os.path.realpath(root)) / IMAGE_NAME):
            subprocess.run(["losetup", "-d", loop], capture_output=True)  # busy: detached when the last user goes
    (root / IMAGE_NAME).unlink(missing_ok=True)


def loop_mounts() -> list[tuple[Path, str]]:
    """(mount point, loop device) of every loop-device mount this process sees."""
    out: list[tuple[Path, str]] = []
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return out
    for line in lines:
        head, sep, tail = line.partition(" - ")
        fields, rest = head.split(), tail.split()
        if sep and len(fields) >= 5 and len(rest) >= 2 and rest[1].startswith("/dev/loop"):
            out.append((Path(_unescape(fields[4])), rest[1]))
    return out


def _unescape(field: str) -> str:
    """A mountinfo path field, whose space, tab, newline and backslash are octal escapes."""
    for code in ("\\040", "\\011", "\\012", "\\134"):
        field = field.replace(code, chr(int(code[1:], 8)))
    return field


def _backing_file(loop: str) -> str | None:
    try:
        return Path(f"/sys/block/{Path(loop).name}/loop/backing_file").read_text().strip()
    except OSError:
        return None


@contextmanager
def full_disk_as_error(path: str, disk_mb: int, partial: Path) -> Iterator[None]:
    """Turn "no space left" while the host writes ``path`` into the workspace into a SandboxError
    that says what to do, removing the ``partial`` file the write left (it would keep the quota full)."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        if os.path.isfile(partial) and not os.path.islink(partial):
            os.unlink(partial)
        raise SandboxError(
            f"cannot write {path!r}: the workspace is full (disk limit {disk_mb} MB); delete files you do not need"
        ) from exc


def _run(cmd: list[str]) -> None:
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise SandboxError(f"cannot make the sandbox's disk quota ({cmd[0]}): {res.stderr.strip()[:300]}")


def _warn_unenforced(size_mb: int, why: str) -> None:
    global _warned
    if not _warned:
        _warned = True
        warnings.warn(
            f"mlagent sandbox: no disk quota can be mounted ({why}), so disk_mb={size_mb} limits each file's "
            "size only, not the workspace's total; run as root where loop devices exist for a real quota.",
            UserWarning,
            stacklevel=3,
        )
