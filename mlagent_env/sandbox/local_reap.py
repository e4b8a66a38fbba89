"""Reap what local sandboxes leave behind when their process is killed with SIGKILL (its
``close()`` never runs): the disk quota's loop mount and loop device, the pids and memory cgroups
(and any process still in them), the sandbox's folder.

Every local sandbox records its owner in its folder (:func:`record_owner`: ``host:pid:start-ticks``
of the process, see :mod:`mlagent_env.sandbox.owner`, and its cgroups' name); every local or bwrap
sandbox that starts first calls :func:`reap_dead_owners`, which releases the mounted quotas whose
owner is gone. A quota without an owner record, or whose owner runs (or ran on another host), is
left alone.

    record_owner(root, cgroup_name)
    reap_dead_owners()          # -> the sandbox folders it reaped
"""

from __future__ import annotations

import json
import os
import re
import threading
from pathlib import Path

from mlagent_env.sandbox.agent_files import remove_tree
from mlagent_env.sandbox.cgroups import CgroupLimits
from mlagent_env.sandbox.owner import owner_alive, owner_label
from mlagent_env.sandbox.quota import MOUNT_NAME, loop_mounts, release_disk

OWNER_FILE = "owner.json"
"""In a local sandbox's folder, beside its quota: ``{"owner": label, "cgroup": name}``."""
CGROUP_NAME = re.compile(r"mlagent-[0-9a-f]{12}")
"""The cgroups' names a record may give (a local sandbox's own: never a path)."""

_reaping = threading.Lock()


def record_owner(root: Path, cgroup: str) -> None:
    """Record this process as the owner of the sandbox folder ``root``, whose cgroups are ``cgroup``."""
    (root / OWNER_FILE).write_text(json.dumps({"owner": owner_label(), "cgroup": cgroup}) + "\n")


def reap_dead_owners() -> list[Path]:
    """Release the mounted quotas of local sandboxes whose owner process is gone: kill what is left
    in their cgroups and remove them, unmount the quota and detach its loop device, remove the
    sandbox's folder. Returns the folders reaped."""
    reaped: list[Path] = []
    with _reaping:
        for mount, _ in loop_mounts():
            root = mount.parent
            record = _owner_record(root) if mount.name == MOUNT_NAME else None
            if record is None or owner_alive(record[0]) is not False:
                continue
            if record[1] is not None:
                CgroupLimits.existing(record[1]).remove()
            release_disk(root)
            if not os.path.ismount(mount):
                remove_tree(root)
                reaped.append(root)
    return reaped


def _owner_record(root: Path) -> tuple[str, str | None] | None:
    """(owner label, cgroup name or None) from ``root``'s owner file; None without a readable one."""
    try:
        record = json.loads((root / OWNER_FILE).read_text(errors="replace"))
        owner, cgroup = str(record["owner"]), record.get("cgroup")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    return owner, cgroup if isinstance(cgroup, str) and CGROUP_NAME.fullmatch(cgroup) else None
