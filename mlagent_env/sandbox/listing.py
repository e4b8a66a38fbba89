"""Workspace listings that no tree can break: iterative (any depth of nesting), capped in depth
and in entries, sorted by path, and fast on a folder of 200,000 files: a folder is read only as
far as the cap (its kept entries are then the first the file system returns, sorted among
themselves), and only kept entries are stat-ed. :func:`shown_path` is how a listed path is shown to
the agent, one line per entry whatever the name holds."""

from __future__ import annotations

import itertools
import os
from typing import Callable

from mlagent_env.sandbox.base import DirEntry, DirListing
from mlagent_env.text import CHARSET

LIST_MAX_ENTRIES = 10_000
"""The most entries one listing returns; ``DirListing.truncated`` says when more were left out."""
LIST_MAX_DEPTH = 64
"""The deepest folder level a recursive listing descends to."""

_PLAIN = frozenset(CHARSET) - frozenset("\t\n\r\x0b\x0c")
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def shown_path(path: str) -> str:
    """``path`` as a listing shows it: as it is when every character is printable (no newline, tab
    or other control character, no byte that is not UTF-8), it does not start with a double quote
    and has no space at either end; else in double quotes with backslash escapes (``\\n``, ``\\t``,
    ``\\"``, ``\\\\``, ``\\xff`` for a byte of a non-UTF-8 name, ``\\u200b``), so that every entry is one
    line and two names never show the same."""
    if path and path[0] != '"' and path == path.strip(" ") and _PLAIN.issuperset(path):
        return path
    out = []
    for c in path:
        if c in _ESCAPES:
            out.append(_ESCAPES[c])
        elif "\udc80" <= c <= "\udcff":  # a byte that is not UTF-8, as os.fsdecode gives it
            out.append(f"\\x{ord(c) - 0xDC00:02x}")
        elif c in _PLAIN:
            out.append(c)
        else:
            out.append(f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}")
    return '"' + "".join(out) + '"'


Describe = Callable[["os.DirEntry[str]", list[str]], "tuple[bool, int, str | None] | None"]
"""``(entry, path components) -> (is_dir, size, host folder to descend into or None)``, or None
to leave the entry out."""


def walk_listing(
    folder: str,
    comps: list[str],
    prefix: str,
    *,
    recursive: bool,
    describe: Describe,
    max_entries: int = LIST_MAX_ENTRIES,
    max_depth: int = LIST_MAX_DEPTH,
) -> DirListing:
    """List ``folder`` (the host path of workspace components ``comps``; entries' paths start
    with ``prefix``), descending where ``describe`` says so when ``recursive``."""
    out = DirListing()
    stack: list[tuple[str, list[str], str, int]] = [(folder, comps, prefix, 0)]
    while stack:
        host, parts, pre, depth = stack.pop()
        room = max_entries - len(out)
        try:
            with os.scandir(host) as it:
                children = list(itertools.islice(it, room + 1))
        except OSError:
            continue  # vanished, unreadable, or a path too long for the kernel
        if len(children) > room:
            out.truncated = True
            del children[room:]
        children.sort(key=lambda e: e.name)
        below: list[tuple[str, list[str], str, int]] = []
        for e in children:
            child = parts + [e.name]
            try:
                described = describe(e, child)
            except OSError:
                continue
            if described is None:
                continue
            is_dir, size, descend = described
            rel = pre + e.name
            out.append(DirEntry(path=rel, is_dir=is_dir, size=size))
            if recursive and descend is not None:
                if depth + 1 >= max_depth:
                    out.truncated = True
                else:
                    below.append((descend, child, rel + "/", depth + 1))
        stack.extend(reversed(below))
        if len(out) >= max_entries and stack:
            out.truncated = True
            break
    out.sort(key=lambda e: e.path)
    return out
