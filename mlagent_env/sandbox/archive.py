"""Workspace snapshots as tar archives, ONE implementation and one set of rules for every sandbox.

``inner_root`` is the absolute path at which the agent's processes see the workspace (the host
path for the local sandbox, ``/home/agent/workspace`` in a container).

Writing (:func:`workspace_tar`) walks the workspace iteratively (any depth), folder by folder in
name order, and keeps folders, regular files and symlinks whose target stays inside the workspace
(an absolute one under ``inner_root`` is stored relative, so that an archive restores in any
sandbox); FIFOs, sockets, devices, links out of the workspace, ``data/`` and the host's temporary
files are not state and are left out, and so are files past :data:`SNAPSHOT_MAX_BYTES` in all (a
warning names them): a sparse 64 GB file costs nothing. Reading (:func:`extract_workspace_tar`)
refuses (:class:`UnsafeArchive`) names that leave the workspace, links that point out of it and
members reached through a link, so that a restore never writes outside the workspace.
"""

from __future__ import annotations

import io
import logging
import os
import stat
import tarfile
from pathlib import Path

from mlagent_env.errors import PathEscapeError, SandboxError
from mlagent_env.sandbox.agent_files import remove_tree
from mlagent_env.sandbox.base import DATA_DIR_NAME, TMP_SUFFIX, is_data_path, normalize_relpath

SNAPSHOT_MAX_BYTES = 512 << 20
"""The most bytes of file contents one snapshot holds; files past it are left out, with a warning."""

log = logging.getLogger(__name__)


class UnsafeArchive(PathEscapeError, tarfile.TarError):
    """A snapshot archive with a member that would land outside the workspace."""


def _inside(rel: str, linkname: str, inner_root: str) -> str | None:
    """The target of the link ``rel -> linkname`` as a relative link that stays in the workspace
    (absolute ones under ``inner_root`` rewritten), or None when it points out."""
    if linkname.startswith("/"):
        if linkname != inner_root and not linkname.startswith(inner_root + "/"):
            return None
        inner = linkname[len(inner_root) :].lstrip("/") or "."
        linkname = os.path.relpath(inner, os.path.dirname(rel) or ".")
    lexical = os.path.normpath(os.path.join(os.path.dirname(rel), linkname))
    if lexical == ".." or lexical.startswith("../") or lexical.startswith("/"):
        return None
    return linkname


def workspace_tar(ws: Path, *, inner_root: str, max_bytes: int = SNAPSHOT_MAX_BYTES) -> bytes:
    """The workspace as an uncompressed PAX tar, names relative to its root (see the module
    docstring for what is kept). Written by hand rather than with ``TarFile.add``: no user/group
    name look-ups, one lstat per entry, no recursion, no special file ever opened."""
    root = str(ws)
    buf = io.BytesIO()
    budget = max_bytes
    left_out: list[str] = []
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT, errors="surrogateescape") as tar:
        stack: list[str] = [""]
        while stack:
            rel_dir = stack.pop()
            try:
                with os.scandir(os.path.join(root, rel_dir) if rel_dir else root) as it:
                    names = sorted(e.name for e in it)
            except OSError:
                continue  # vanished, or a path too long for the kernel
            subdirs: list[str] = []
            for name in names:
                if name.endswith(TMP_SUFFIX) or (not rel_dir and name == DATA_DIR_NAME):
                    continue
                arc = rel_dir + "/" + name if rel_dir else name
                full = os.path.join(root, arc)
                try:
                    st = os.lstat(full)
                except OSError:
                    continue
                info = tarfile.TarInfo(arc)
                info.mode = stat.S_IMODE(st.st_mode)
                info.mtime = int(st.st_mtime)
                info.uid, info.gid = st.st_uid, st.st_gid
                if stat.S_ISLNK(st.st_mode):
                    try:
                        target = _inside(arc, os.readlink(full), inner_root)
                    except OSError:
                        continue
                    if target is None:
                        continue  # links out of the workspace are not part of its state
                    info.type, info.linkname = tarfile.SYMTYPE, target
                    tar.addfile(info)
                elif stat.S_ISDIR(st.st_mode):
                    info.type = tarfile.DIRTYPE
                    tar.addfile(info)
                    subdirs.append(arc)
                elif stat.S_ISREG(st.st_mode):
                    if st.st_size > budget:
                        left_out.append(f"{arc} ({st.st_size} bytes)")
                        continue
                    if _add_regular(tar, info, full, st.st_size):
                        budget -= st.st_size
                # sockets, fifos, devices: not state
            stack.extend(reversed(subdirs))
    if left_out:
        log.warning(
            "snapshot: %d file(s) left out, past the %d bytes a snapshot holds: %s",
            len(left_out), max_bytes, ", ".join(left_out[:10]),
        )
    return buf.getvalue()


def _add_regular(tar: tarfile.TarFile, info: tarfile.TarInfo, full: str, size: int) -> bool:
    """Add the regular file ``full`` of ``size`` bytes; False (nothing added) when it cannot be
    read or changed under us."""
    try:
        fd = os.open(full, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return False
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size != size:
            return False
        info.size = size
        try:
            tar.addfile(info, fh)
        except (OSError, tarfile.TarError) as e:  # it shrank while being read: the archive is now broken
            raise SandboxError(f"snapshot: {info.name!r} changed while it was archived ({e}); try again") from e
    return True


def _link_target(name: str, linkname: str, inner_root: str) -> str:
    """A symlink target for the restored workspace: relative, and inside it (else UnsafeArchive)."""
    target = _inside(name, linkname, inner_root)
    if target is None:
        raise UnsafeArchive(f"archive member {name!r} links to {linkname!r}, outside the workspace; refused")
    return target


def wipe_workspace(ws: Path) -> None:
    """Empty the host side of a workspace, keeping the data mount point (or link)."""
    try:
        names = os.listdir(ws)
    except OSError:
        return
    for name in names:
        if name != DATA_DIR_NAME:
            remove_tree(os.path.join(ws, name))


def extract_workspace_tar(archive: bytes, ws: Path, *, inner_root: str, owner: tuple[int, int] | None) -> None:
    """Unpack a workspace archive into the (emptied) ``ws``, safely and owned by the agent.

    Refuses (:class:`UnsafeArchive`) names that leave the workspace, links that point out of it,
    and members reached through a link of the archive; skips ``data/`` and special files.
    Symlinks into the workspace written absolute (as the container sees it) are made relative."""
    chown = owner is not None
    uid, gid = owner or (-1, -1)
    root = str(ws)
    links: set[str] = set()
    made_dirs: set[str] = {""}
    dir_mtimes: list[tuple[str, float]] = []

    def ensure_dir(rel: str) -> None:
        missing: list[str] = []
        while rel not in made_dirs:
            missing.append(rel)
            rel = os.path.dirname(rel)
        for rel in reversed(missing):  # from the top down, without recursion
            full = os.path.join(root, rel)
            try:
                os.mkdir(full, 0o755)
                if chown:
                    os.lchown(full, uid, gid)
            except FileExistsError:
                if os.path.islink(full) or not os.path.isdir(full):
                    raise UnsafeArchive(f"archive path {rel!r} is not a folder; refused") from None
            made_dirs.add(rel)

    def through_link(path: str, including_itself: bool) -> bool:
        if not links:
            return False
        cut = path.find("/")
        while cut != -1:
            if path[:cut] in links:
                return True
            cut = path.find("/", cut + 1)
        return including_itself and path in links

    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:*", errors="surrogateescape") as tar:
        for m in tar:
            try:
                name = normalize_relpath(m.name)
            except PathEscapeError as e:
                raise UnsafeArchive(f"archive member {m.name!r} leaves the workspace; refused") from e
            if name == "." or is_data_path(name):
                continue
            if through_link(name, False):
                raise UnsafeArchive(f"archive member {name!r} goes through a link; refused")
            ensure_dir(os.path.dirname(name))
            full = os.path.join(root, name)
            if m.isdir():
                ensure_dir(name)
                os.chmod(full, (m.mode & 0o755) | 0o700)
                dir_mtimes.append((full, m.mtime))
                continue
            if os.path.lexists(full) and not os.path.isdir(full):
                os.unlink(full)  # a later member of the same name wins, as with tar
                links.discard(name)
            if m.isreg():
                src = tar.extractfile(m)
                fd = os.open(full, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, (m.mode & 0o755) | 0o600)
                try:
                    if src is not None:
                        while chunk := src.read(1 << 20):
                            view = memoryview(chunk)
                            while view:
                                view = view[os.write(fd, view) :]
                    if chown:
                        os.fchown(fd, uid, gid)
                    os.utime(fd, (m.mtime, m.mtime))
                finally:
                    os.close(fd)
            elif m.issym():
                os.symlink(_link_target(name, m.linkname, inner_root), full)
                if chown:
                    os.lchown(full, uid, gid)
                links.add(name)
            elif m.islnk():
                try:
                    source = normalize_relpath(m.linkname)
                except PathEscapeError as e:
                    raise UnsafeArchive(f"archive hard link {name!r} leaves the workspace; refused") from e
                if through_link(source, True) or is_data_path(source):
                    raise UnsafeArchive(f"archive hard link {name!r} goes through a link; refused")
                os.link(os.path.join(root, source), full, follow_symlinks=False)
            # devices, fifos: skipped
    for full, mtime in reversed(dir_mtimes):  # last, since creating entries changes them
        os.utime(full, (mtime, mtime), follow_symlinks=False)
