"""Getting a task's raw data into the layout its ``prepare.py`` reads.

Two parts: the official download routes for task ``download(raw)`` functions (each either fills
``raw`` or raises :class:`~mlagent_env.errors.DataUnavailable` saying exactly what to download,
from where and where to put it), and :func:`unpack`, which runs on every route (automatic
download and hand-supplied ``--raw-dir``) before the raw files are checked: it extracts every
``.zip`` (zips inside zips too), the other archives the task declares in its :class:`RawLayout`,
and moves the paths some routes leave under another name to the name ``prepare`` reads.
"""

from __future__ import annotations

import gzip
import lzma
import shutil
import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from mlagent_env.errors import DataUnavailable

DATA_EXTRA = "pip install 'mlagent[data]'"
"""What installs the packages acquisition needs (kaggle, py7zr, ogb, pillow)."""

EXTRACTED_SUFFIX = ".extracted"
"""``<archive>.extracted`` marks an archive that was extracted and kept (a folder the user filled)."""

UNPACK_PREFIX = ".unpack-"
"""Archives are extracted into a ``.unpack-*`` folder beside them, then moved into place: an
interrupted extraction leaves no half-written files, and the next run removes the folder."""

MAX_ROUNDS = 4


@dataclass(frozen=True)
class RawLayout:
    """How a task's downloads unpack into the files its ``prepare.py`` reads. A task declares
    one as ``RAW_LAYOUT`` in its ``prepare.py``; without it, every ``.zip`` is extracted and
    nothing else is done."""

    archives: tuple[str, ...] = ()
    """Archives besides the zips (``.tar``, ``.tar.gz``, ``.tgz``, ``.7z``), as paths relative to
    the raw folder; each is extracted beside itself when present (e.g. ``train.json.7z``)."""
    renames: Mapping[str, str] = field(default_factory=dict)
    """``{path some route leaves: path prepare reads}``, relative to the raw folder; moved when
    only the first exists (e.g. ``{"arxiv": "ogbn_arxiv"}``)."""


def kaggle_instructions(competition: str, raw: Path) -> str:
    return (
        f"download the data of the Kaggle competition '{competition}': accept its rules at "
        f"https://www.kaggle.com/competitions/{competition}/rules, then either `{DATA_EXTRA}`, put your API "
        f"token in ~/.kaggle/kaggle.json and run `mlagent-env prepare {competition}` again, or run "
        f"`kaggle competitions download -c {competition} -p {raw}` (or download the zip from the competition's "
        f"Data page into {raw}) and prepare again: the zip and the archives inside it are extracted for you"
    )


def kaggle_competition(competition: str, raw: Path, layout: str | None = None) -> None:
    """Download a Kaggle competition's files into ``raw`` with the ``kaggle`` package (the
    unpack step then extracts them). ``layout`` (e.g. "train.csv and the folder train/ lie
    directly in RAW") is added to every failure message, for users who extract the files by hand."""

    def unavailable(reason: str) -> DataUnavailable:
        hint = f" When done, {layout}." if layout else ""
        return DataUnavailable(reason + kaggle_instructions(competition, raw) + hint)

    try:
        import kaggle  # noqa: PLC0415  (authenticates on import; raises without credentials)
    except ImportError:
        raise unavailable("the kaggle package is not installed; ") from None
    except Exception as exc:  # kaggle raises OSError/ValueError when the token is missing
        raise unavailable(f"Kaggle credentials are missing ({exc}); ") from None
    raw.mkdir(parents=True, exist_ok=True)
    try:
        kaggle.api.competition_download_files(competition, path=str(raw), quiet=False)
    except Exception as exc:
        raise unavailable(f"Kaggle download failed ({exc}); ") from None


def unpack(raw: Path, layout: RawLayout = RawLayout(), keep_archives: bool = True) -> None:
    """Extract every ``.zip`` under ``raw`` and the archives ``layout`` declares (archives inside
    archives too), then apply ``layout.renames``. An extracted archive is removed, or, with
    ``keep_archives`` (a folder the user filled by hand), kept with an ``.extracted`` marker so it is
    not extracted twice. Files already present are never overwritten. Raises DataUnavailable for a
    truncated or corrupt archive (naming it: delete it and download again), a member path that
    would leave ``raw``, or a missing extraction package."""
    for stale in raw.glob(f"**/{UNPACK_PREFIX}*"):
        shutil.rmtree(stale, ignore_errors=True)
    for _ in range(MAX_ROUNDS):
        pending = [a for a in _archives(raw, layout) if not _marker(a).exists()]
        if not pending:
            break
        for archive in pending:
            extract(archive, archive.parent)
            if keep_archives:
                _marker(archive).touch()
            else:
                archive.unlink()
    for found, expected in layout.renames.items():
        src, dst = raw / found, raw / expected
        if src.exists() and not dst.exists():
            dst.parent.mkdir(parents=True, exist_ok=True)
            src.replace(dst)


def _marker(archive: Path) -> Path:
    return archive.with_name(archive.name + EXTRACTED_SUFFIX)


def _archives(raw: Path, layout: RawLayout) -> list[Path]:
    found = {p for p in raw.rglob("*.zip") if p.is_file()}
    found |= {raw / name for name in layout.archives if (raw / name).is_file()}
    return sorted(found)


def extract(archive: Path, dest: Path) -> None:
    """Extract ``archive`` (zip, tar, tar.gz / tgz, 7z) into ``dest`` through a temporary folder
    beside it, refusing members that would leave it; entries already in ``dest`` are kept."""
    reader = _reader(archive)
    try:
        staging = Path(tempfile.mkdtemp(prefix=UNPACK_PREFIX, dir=dest))
    except OSError as exc:  # a read-only folder of downloads
        raise DataUnavailable(
            f"could not extract {archive} into {dest} ({exc}): copy the folder somewhere writable and pass that "
            f"as --raw-dir, or extract the archive there by hand"
        ) from None
    try:
        try:
            reader(archive, staging)
        except (DataUnavailable, MemoryError):
            raise
        except tarfile.FilterError as exc:
            raise DataUnavailable(f"{archive} holds a member that is not a plain file inside the data folder ({exc})") from None
        except OSError as exc:
            if not isinstance(exc, gzip.BadGzipFile):  # disk full, permissions: not the archive's fault
                raise DataUnavailable(f"could not extract {archive} into {dest}: {exc}") from None
            raise _corrupt(archive, exc) from None
        except (zipfile.BadZipFile, tarfile.TarError, EOFError, zlib.error, lzma.LZMAError) as exc:
            raise _corrupt(archive, exc) from None
        except Exception as exc:  # py7zr's own errors (Bad7zFile, CrcError, ...) and what a damaged header raises
            raise _corrupt(archive, exc) from None
        _merge(staging, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _corrupt(archive: Path, exc: BaseException) -> DataUnavailable:
    return DataUnavailable(
        f"{archive} is truncated or corrupt ({type(exc).__name__}: {exc}); an interrupted download leaves such a "
        f"file: delete it, download it again and run the prepare command again"
    )


def _reader(archive: Path) -> Callable[[Path, Path], None]:
    name = archive.name.lower()
    if name.endswith(".zip"):
        return _extract_zip
    if name.endswith((".tar", ".tar.gz", ".tgz")):
        return _extract_tar
    if name.endswith(".7z"):
        return _extract_7z
    raise DataUnavailable(f"{archive}: unknown archive type (expected .zip, .tar, .tar.gz, .tgz or .7z)")


def _check_inside(archive: Path, dest: Path, names: list[str]) -> None:
    root = dest.resolve()
    for member in names:
        target = (root / member).resolve()
        if root != target and root not in target.parents:
            raise DataUnavailable(f"{archive.name} holds a path outside the data folder: {member}")


def _extract_zip(archive: Path, dest: Path) -> None:
    with zipfile.ZipFile(archive) as zf:
        _check_inside(archive, dest, zf.namelist())
        zf.extractall(dest)


def _extract_tar(archive: Path, dest: Path) -> None:
    with tarfile.open(archive) as tar:
        if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4 (and the security releases before it)
            tar.extractall(dest, filter="data")  # refuses absolute paths, '..', links that leave, devices
            return
        # older interpreters (Debian 12 ships 3.11.2): the same rules by hand, files and folders only
        members = tar.getmembers()
        odd = [m.name for m in members if not (m.isfile() or m.isdir())]
        if odd:
            raise DataUnavailable(f"{archive.name} holds links or special files, which are not extracted: {odd[:3]}")
        _check_inside(archive, dest, [m.name for m in members])
        for m in members:
            m.mode = (m.mode | 0o600) & 0o755 if m.isfile() else 0o755
            m.uid = m.gid = 0
            m.uname = m.gname = ""
        tar.extractall(dest, members=members)


def _extract_7z(archive: Path, dest: Path) -> None:
    try:
        import py7zr  # noqa: PLC0415
    except ImportError:
        raise DataUnavailable(
            f"{archive} is a 7-Zip archive and the py7zr package is not installed: run `{DATA_EXTRA}` (or "
            f"`pip install py7zr`) and prepare again, or extract it by hand with 7-Zip (`7z x {archive.name}`)"
        ) from None
    with py7zr.SevenZipFile(archive, "r") as z:
        entries = z.list()
        _check_inside(archive, dest, [e.filename for e in entries])
        if any(e.is_symlink for e in entries):
            raise DataUnavailable(f"{archive.name} holds a symbolic link; the data archives hold plain files only")
        z.extractall(path=dest)


def _merge(src: Path, dest: Path) -> None:
    """Move the entries of ``src`` into ``dest``, into existing folders recursively, keeping every
    file ``dest`` already has."""
    for entry in src.iterdir():
        target = dest / entry.name
        if not target.exists() and not target.is_symlink():
            entry.replace(target)
        elif entry.is_dir() and target.is_dir() and not target.is_symlink():
            _merge(entry, target)
