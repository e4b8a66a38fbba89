"""DiskQuota: a size-limited filesystem for a sandbox's writable space.

Every backend keeps the agent's writable files (workspace, temporary folder) on one of these,
so that a script that writes more than ``disk_mb`` fails with "No space left on device" and the
host's disk outside the quota is untouched. As root it is a sparse ext4 image file, loop-mounted
(no journal, inode tables left uninitialised: a few milliseconds to make, and the host only pays
for what the agent really writes). Without the rights to mount, ``enforced`` is False and the
sandbox falls back to a per-file size limit (``ulimit -f``), which it says once.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import warnings
from pathlib import Path

from mlagent_env.errors import SandboxError

FULL_MARGIN_BYTES = 1 << 20
"""A quota with less than this much space left counts as full."""

_warned = False


def can_mount() -> bool:
    """Whether this process may loop-mount an image (root with mkfs.ext4 and a loop device)."""
    return os.geteuid() == 0 and shutil.which("mkfs.ext4") is not None and Path("/dev/loop-control").exists()


class DiskQuota:
    """``size_mb`` of writable space at ``mount`` (a folder created under ``root``).

    Use ``mount / "workspace"`` and the like rather than ``mount`` itself, which holds ext4's
    ``lost+found``. :meth:`release` unmounts and deletes the image; it is idempotent.
    """

    def __init__(self, root: Path, size_mb: int) -> None:
        if size_mb < 8:
            raise SandboxError(f"disk_mb={size_mb} is too small; give at least 8 (MB)")
        self.size_mb = size_mb
        self.mount = root / "disk"
        self.mount.mkdir()
        self._image = root / "disk.img"
        self.enforced = can_mount()
        if not self.enforced:
            _warn_unenforced(size_mb)
            return
        with open(self._image, "wb") as f:
            f.truncate(size_mb << 20)
        self._image.chmod(0o600)
        try:
            _run(["mkfs.ext4", "-q", "-F", "-m", "0", "-i", "8192", "-O", "^has_journal,^resize_inode",
                  "-E", "lazy_itable_init=1,nodiscard", str(self._image)])
            _run(["mount", "-o", "loop,nosuid,nodev,noinit_itable", str(self._image), str(self.mount)])
        except SandboxError:
            self._image.unlink(missing_ok=True)
            raise

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
        """Unmount (lazily if something still holds it open) and delete the image."""
        if self.enforced and os.path.ismount(self.mount):
            if subprocess.run(["umount", str(self.mount)], capture_output=True).returncode != 0:
                subprocess.run(["umount", "-l", str(self.mount)], capture_output=True)
        self.enforced = False
        self._image.unlink(missing_ok=True)


def _run(cmd: list[str]) -> None:
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        raise SandboxError(f"cannot make the sandbox's disk quota ({cmd[0]}): {res.stderr.strip()[:300]}")


def _warn_unenforced(size_mb: int) -> None:
    global _warned
    if not _warned:
        _warned = True
        warnings.warn(
            f"mlagent sandbox: not root, so the disk quota ({size_mb} MB) limits each file's size only, "
            "not the workspace's total; run as root (or use sandbox='docker' as root) for a real quota.",
            UserWarning,
            stacklevel=3,
        )
