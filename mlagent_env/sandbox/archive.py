"""Workspace snapshots as tar archives: write one from a host folder, and unpack one safely into
an emptied workspace. ``inner_root`` is the absolute path at which the agent's processes see the
workspace (absolute symlinks under it are part of the state, made relative on restore)."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from pathlib import Path
from typing import Any

from mlagent_env.errors import PathEscapeError
from mlagent_env.sandbox.base import DATA_DIR_NAME, TMP_SUFFIX, is_data_path, normalize_relpath


class UnsafeArchive(PathEscapeError, tarfile.TarError):
    """A snapshot archive with a member that would land outside the workspace."""


def workspace_tar(ws: Path, keep_link: Any = None) -> bytes:
    """The workspace (``data/`` excluded) as an uncompressed PAX tar, names relative to its root.

    Written by hand rather than with ``TarFile.add`` (no user/group name look-ups, one lstat per
    entry); ``keep_link(relpath)`` decides which symlinks belong to the state."""
    root = str(ws)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for dirpath, dirnames, filenames in os.walk(root):
            rel_dir = os.path.relpath(dirpath, root)
            if rel_dir == ".":
                dirnames[:] = [d for d in dirnames if d != DATA_DIR_NAME]
                filenames = [f for f in filenames if f != DATA_DIR_NAME]
                rel_dir = ""
            dirnames.sort()
            for name in dirnames + sorted(filenames):
                if name.endswith(TMP_SUFFIX):
                    continue
                full = os.path.join(dirpath, name)
                arc = rel_dir + "/" + name if rel_dir else name
                try:
                    st = os.lstat(full)
                except FileNotFoundError:
                    continue
                info = tarfile.TarInfo(arc)
                info.mode = stat.S_IMODE(st.st_mode)
                info.mtime = int(st.st_mtime)
                info.uid, info.gid = st.st_uid, st.st_gid
                if stat.S_ISLNK(st.st_mode):
                    if keep_link is not None and not keep_link(arc):
                        continue
                    info.type, info.linkname = tarfile.SYMTYPE, os.readlink(full)
                    tar.addfile(info)
                elif stat.S_ISDIR(st.st_mode):
                    info.type = tarfile.DIRTYPE
                    tar.addfile(info)
                elif stat.S_ISREG(st.st_mode):
                    info.size = st.st_size
                    with open(full, "rb") as fh:
                        tar.addfile(info, fh)
                # sockets, fifos, devices: not state
    return buf.getvalue()


def _link_target(name: str, linkname: str, inner_root: str) -> str:
    """A symlink target for the restored workspace: relative, and inside it (else UnsafeArchive)."""
    if linkname.startswith("/"):
        if linkname != inner_root and not linkname.startswith(inner_root + "/"):
            raise UnsafeArchive(f"archive member {name!r} links to {linkname!r}, outside the workspace; refused")
        inner = linkname[len(inner_root) :].lstrip("/") or "."
        linkname = os.path.relpath(inner, os.path.dirname(name) or ".")
    lexical = os.path.normpath(os.path.join(os.path.dirname(name), linkname))
    if lexical == ".." or lexical.startswith("../") or lexical.startswith("/"):
        raise UnsafeArchive(f"archive member {name!r} links to {linkname!r}, outside the workspace; refused")
    return linkname


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
        if rel in made_dirs:
            return
        parent = os.path.dirname(rel)
        ensure_dir(parent)
        full = os.path.join(root, rel)
        try:
            os.mkdir(full, 0o755)
            if chown:
                os.lchown(full, uid, gid)
        except FileExistsError:
            if os.path.islink(full) or not os.path.isdir(full):
                raise UnsafeArchive(f"archive path {rel!r} is not a folder; refused") from None
        made_dirs.add(rel)

    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:*") as tar:
        for m in tar:
            try:
                name = normalize_relpath(m.name)
            except PathEscapeError as e:
                raise UnsafeArchive(f"archive member {m.name!r} leaves the workspace; refused") from e
            if name == "." or is_data_path(name):
                continue
            parts = name.split("/")
            for k in range(1, len(parts)):
                if "/".join(parts[:k]) in links:
                    raise UnsafeArchive(f"archive member {name!r} goes through a link; refused")
            parent = "/".join(parts[:-1])
            ensure_dir(parent)
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
                sparts = source.split("/")
                if any("/".join(sparts[:k]) in links for k in range(1, len(sparts) + 1)) or is_data_path(source):
                    raise UnsafeArchive(f"archive hard link {name!r} goes through a link; refused")
                os.link(os.path.join(root, source), full, follow_symlinks=False)
            # devices, fifos: skipped
    for full, mtime in reversed(dir_mtimes):  # last, since creating entries changes them
        os.utime(full, (mtime, mtime), follow_symlinks=False)
