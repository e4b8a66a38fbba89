"""Why a task's ``prepare.py`` could not read its raw data, as an :class:`InvalidRawData` that says
which file and what to do (never a pandas traceback).

    try:
        prepare(raw, public, private)
    except (ValueError, KeyError) as exc:   # UnicodeDecodeError and pandas' parser errors are ValueErrors
        raise invalid_raw_data(task_id, raw, exc) from exc
"""

from __future__ import annotations

import codecs
from pathlib import Path

from mlagent_env.errors import InvalidRawData

TEXT_SUFFIXES = (".csv", ".tsv", ".txt", ".json", ".jsonl")
"""Raw files read as text: the ones checked for UTF-8 when a preparation fails to decode one."""


def first_non_utf8(raw: Path) -> tuple[Path, int] | None:
    """The first raw text file (by path) that is not valid UTF-8, with the offset of its first bad
    byte; None when every one is. Links are not followed."""
    for path in sorted(p for p in raw.rglob("*") if p.suffix.lower() in TEXT_SUFFIXES):
        if path.is_symlink() or not path.is_file():
            continue
        decoder = codecs.getincrementaldecoder("utf-8")()
        offset = 0
        with open(path, "rb") as f:
            while True:
                chunk = f.read(1 << 20)
                try:
                    decoder.decode(chunk, final=not chunk)
                except UnicodeDecodeError as exc:  # exc.object: the bytes held from the last chunk, then this one
                    return path, offset - (len(exc.object) - len(chunk)) + exc.start
                if not chunk:
                    break
                offset += len(chunk)
    return None


def invalid_raw_data(task_id: str, raw: Path, exc: Exception) -> InvalidRawData:
    """The error to raise when ``prepare.py`` failed on the raw data in ``raw`` with ``exc``."""
    if isinstance(exc, UnicodeDecodeError):
        found = first_non_utf8(raw)
        if found is not None:
            path, offset = found
            return InvalidRawData(
                f"{task_id}: raw file {path} is not UTF-8 text (first bad byte at offset {offset}). Save it as "
                f"UTF-8 (e.g. iconv -f latin1 -t utf-8 {path.name} > fixed.csv) or put the source's own file there again."
            )
    return InvalidRawData(
        f"{task_id}: the raw data in {raw} cannot be prepared ({type(exc).__name__}: {str(exc)[:500]}). Are these "
        f"the source's own files, unchanged? Download them again or fix the file that the message names."
    )
