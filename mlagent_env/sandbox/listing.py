"""Workspace listings that no tree can break: iterative (any depth of nesting), capped in depth
and in entries, sorted by path, and fast on a folder of 200,000 files: a folder is read only as
far as the cap (its kept entries are then the first the file system returns, sorted among
themselves), and only kept entries are stat-ed."""

from __future__ import annotations

import itertools
import os
from typing import Callable

from mlagent_env.sandbox.base import DirEntry, DirListing

LIST_MAX_ENTRIES = 10_000
"""The most entries one listing returns; ``DirListing.truncated`` says when more were left out."""
LIST_MAX_DEPTH = 64
"""The deepest folder level a recursive listing descends to."""

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
