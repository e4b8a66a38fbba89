"""Host-side access to files that the agent controls: every one is hostile.

A read checks the file is a regular file before opening it (``lstat``), opens it without
blocking and without following a final symlink, checks again on the open descriptor, and
never reads more than a cap: a FIFO, a device, a socket or a sparse 64 GB file is an
:class:`~mlagent_env.errors.UnreadableFile`, never a hang or an allocation of its size.
Removal is iterative and relative to folder descriptors, so that any depth of nesting is
removed and no symlink is followed.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from mlagent_env.errors import SandboxError, UnreadableFile, WorkspaceFileNotFound

READ_LIMIT_BYTES = 512 << 20
"""The most bytes the host reads from one agent file (Read File, Copy File, grading, digests): a
real full-size submission must fit (denoising-dirty-documents' is ~120 MB), a sparse 2 GB file not."""

_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def file_kind(mode: int) -> str:
    """A word for what a non-regular file is, for messages."""
    for test, word in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISLNK, "a symbolic link"),
    ):
        if test(mode):
            return word
    return "not a regular file"


def _refuse(shown: str, st: os.stat_result, limit: int) -> None:
    if not stat.S_ISREG(st.st_mode):
        if stat.S_ISDIR(st.st_mode):
            raise WorkspaceFileNotFound(f"{shown!r} is a folder, not a file")
        raise UnreadableFile(f"{shown!r} is {file_kind(st.st_mode)}, not a regular file; it cannot be read")
    if st.st_size > limit:
        raise UnreadableFile(
            f"{shown!r} is {st.st_size} bytes, more than the {limit} bytes the host reads from one file; "
            "write a smaller file"
        )


def read_regular_file(host: str | Path, shown: str, limit: int = READ_LIMIT_BYTES) -> bytes:
    """The bytes of the regular file at ``host`` (a resolved host path; ``shown`` is the agent's
    name for it). Raises WorkspaceFileNotFound (missing, a folder) or UnreadableFile (special
    file, over ``limit`` bytes)."""
    try:
        _refuse(shown, os.lstat(host), limit)
        fd = os.open(host, _OPEN_FLAGS)
    except FileNotFoundError as e:
        raise WorkspaceFileNotFound(f"{shown!r} does not exist in the workspace") from e
    except OSError as e:
        raise UnreadableFile(f"{shown!r} cannot be read: {e.strerror}") from e
    try:
        _refuse(shown, os.fstat(fd), limit)  # the file may have been swapped between lstat and open
        chunks: list[bytes] = []
        total = 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
        if total > limit:
            raise UnreadableFile(f"{shown!r} grew past the {limit} bytes the host reads from one file")
        return b"".join(chunks)
    except OSError as e:
        raise UnreadableFile(f"{shown!r} cannot be read: {e.strerror}") from e
    finally:
        os.close(fd)


def write_new_file(path: Path, data: bytes, owner: tuple[int, int] | None = None) -> None:
    """Write ``data`` to a fresh file at ``path``, replacing whatever the agent left there (a FIFO
    included) without ever opening it; ``owner`` (uid, gid) when the host must chown it."""
    if os.path.lexists(path):
        if os.path.isdir(path) and not os.path.islink(path):
            remove_tree(path)
        else:
            os.unlink(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        if owner is not None:
            os.fchown(fd, *owner)


def make_parents(folder: Path) -> None:
    """Create ``folder`` and its missing parents (following links, as ``mkdir -p``), without
    recursion; SandboxError when one of them is a file."""
    missing: list[Path] = []
    while not os.path.isdir(folder):
        if os.path.lexists(folder) and not os.path.islink(folder):
            raise SandboxError(f"{folder.name!r} is a file, not a folder")
        missing.append(folder)
        folder = folder.parent
    for d in reversed(missing):
        try:
            os.mkdir(d)
        except FileExistsError:
            if not os.path.isdir(d):
                raise SandboxError(f"{d.name!r} is not a folder") from None


def remove_tree(path: str | Path) -> None:
    """Remove ``path`` and everything under it, whatever the depth, never following a symlink
    and holding one folder descriptor at a time (it climbs back with ``..``). Best effort: what
    cannot be removed is left, and no error is raised."""
    path = os.fspath(path)
    try:
        cur = os.open(path, _DIR_FLAGS)
    except FileNotFoundError:
        return
    except OSError:
        _unlink_at(path, None)  # a file or a symlink
        return
    # One frame per folder from the top down to the current one: its name, the subfolders left.
    stack: list[tuple[str, list[str]]] = [("", _empty_files(cur))]
    try:
        while stack:
            name, subdirs = stack[-1]
            if subdirs:
                sub = subdirs.pop()
                try:
                    child = os.open(sub, _DIR_FLAGS, dir_fd=cur)
                except OSError:
                    _unlink_at(sub, cur)
                    continue
                os.close(cur)
                cur = child
                stack.append((sub, _empty_files(cur)))
                continue
            stack.pop()
            if not stack:
                break
            parent = os.open("..", _DIR_FLAGS, dir_fd=cur)
            os.close(cur)
            cur = parent
            try:
                os.rmdir(name, dir_fd=cur)
            except OSError:
                pass
    except OSError:
        pass  # could not climb back: leave the rest
    finally:
        os.close(cur)
    try:
        os.rmdir(path)
    except OSError:
        pass


def _empty_files(fd: int) -> list[str]:
    """Unlink every non-folder in the folder ``fd``; return the names of its subfolders."""
    subdirs: list[str] = []
    if os.geteuid() != 0:
        try:
            os.chmod(fd, 0o700)  # a folder the agent made unwritable (root needs no permission)
        except OSError:
            pass
    try:
        with os.scandir(fd) as it:
            entries = [(e.name, e.is_dir(follow_symlinks=False)) for e in it]
    except OSError:
        return subdirs
    for name, is_dir in entries:
        if is_dir:
            subdirs.append(name)
        else:
            _unlink_at(name, fd)
    return subdirs


def _unlink_at(name: str, fd: int | None) -> None:
    try:
        os.unlink(name, dir_fd=fd)
    except OSError:
        pass
