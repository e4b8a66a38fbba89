"""Reap the containers (and host workspaces) that a killed or crashed run left behind.

Every sandbox container carries ``org.mlagent.sandbox=1`` and the labels of
:mod:`mlagent_env.sandbox.docker` (run id, task, created-at, owner process, workspace folder).
By default ``reap`` removes the containers whose owner process, on this host, is gone; options
widen that to a run id, an age, or every mlagent container.

    mlagent-env reap [--all] [--run-id ID] [--older-than SECONDS] [--dry-run]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from mlagent_env.sandbox.agent_files import remove_tree
from mlagent_env.sandbox.docker.client import (
    LABEL_CREATED_AT,
    LABEL_OWNER,
    LABEL_RUN_ID,
    LABEL_SANDBOX,
    LABEL_TASK,
    LABEL_WORKSPACE,
    DockerUnavailable,
    get_client,
    owner_alive,
)
from mlagent_env.sandbox.docker.container import WORKSPACE_PREFIX, remove_container
from mlagent_env.sandbox.quota import release_disk


@dataclass(frozen=True)
class Reaped:
    container_id: str
    run_id: str
    task: str
    reason: str
    workspace_removed: bool


def _age_s(labels: dict[str, str]) -> float | None:
    try:
        created = datetime.strptime(labels[LABEL_CREATED_AT], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
    except (KeyError, ValueError):
        return None
    return time.time() - created.timestamp()


def _why(labels: dict[str, str], *, everything: bool, run_id: str | None, older_than_s: float | None) -> str | None:
    if everything:
        return "--all"
    if run_id is not None:
        return "run id" if labels.get(LABEL_RUN_ID) == run_id else None
    if older_than_s is not None:
        age = _age_s(labels)
        if age is not None and age > older_than_s:
            return f"older than {older_than_s:g} s"
    alive = owner_alive(labels.get(LABEL_OWNER, ""))
    if alive is False:
        return "owner process gone"
    return None


def _safe_workspace(path: str) -> Path | None:
    """The labelled workspace folder, only if it looks like one of ours (never an arbitrary path)."""
    if not path:
        return None
    p = Path(path)
    if not p.name.startswith(WORKSPACE_PREFIX) or not p.is_absolute() or ".." in p.parts:
        return None
    return p


def reap(
    *,
    client: Any = None,
    everything: bool = False,
    run_id: str | None = None,
    older_than_s: float | None = None,
    dry_run: bool = False,
) -> list[Reaped]:
    """Remove the labelled containers that match (see the module docstring) and their workspaces."""
    client = get_client(client)
    found = client.api.containers(all=True, filters={"label": f"{LABEL_SANDBOX}=1"})
    out: list[Reaped] = []
    for c in found:
        labels = c.get("Labels") or {}
        reason = _why(labels, everything=everything, run_id=run_id, older_than_s=older_than_s)
        if reason is None:
            continue
        removed = False
        if not dry_run:
            remove_container(client, c["Id"])
            ws = _safe_workspace(labels.get(LABEL_WORKSPACE, ""))
            if ws is not None and ws.exists():
                release_disk(ws)  # the workspace's disk quota is mounted inside it
                remove_tree(ws)
                removed = not ws.exists()
        out.append(Reaped(c["Id"], labels.get(LABEL_RUN_ID, ""), labels.get(LABEL_TASK, ""), reason, removed))
    return out


def add_reap_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``reap`` to an ``argparse`` subparsers object; the handler is :func:`cli_reap`."""
    p = subparsers.add_parser("reap", help="remove sandbox containers left by killed or crashed runs")
    p.add_argument("--all", action="store_true", help="every mlagent container, running runs included")
    p.add_argument("--run-id", default=None, help="the containers of this run id")
    p.add_argument("--older-than", type=float, default=None, metavar="SECONDS", help="also those older than this")
    p.add_argument("--dry-run", action="store_true", help="list, remove nothing")
    p.set_defaults(func=cli_reap)
    return p


def cli_reap(args: argparse.Namespace) -> int:
    """``mlagent-env reap``: 0 on success (also when nothing was left), 1 when no engine answers."""
    try:
        reaped = reap(everything=args.all, run_id=args.run_id, older_than_s=args.older_than, dry_run=args.dry_run)
    except DockerUnavailable as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    verb = "would remove" if args.dry_run else "removed"
    for r in reaped:
        print(f"{verb} {r.container_id[:12]}  task={r.task}  run={r.run_id}  ({r.reason})")
    print(f"{len(reaped)} container(s) {verb}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlagent_env.sandbox.reap")
    sub = parser.add_subparsers(dest="command", required=True)
    add_reap_parser(sub)
    ns = parser.parse_args(["reap", *(argv if argv is not None else sys.argv[1:])])
    return int(ns.func(ns))


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["Reaped", "add_reap_parser", "cli_reap", "reap"]
