"""A process killed with SIGKILL never closes its local sandboxes: their disk quotas (a loop-mounted
image) stay mounted and their cgroups stay. The next local sandbox to start reaps those of dead
owners, and only those."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from mlagent_env.sandbox import LocalSandbox, SandboxSpec
from mlagent_env.sandbox.cgroups import CGROUP_ROOT
from mlagent_env.sandbox.local_reap import OWNER_FILE
from mlagent_env.sandbox.quota import IMAGE_NAME, MOUNT_NAME, can_mount

pytestmark = pytest.mark.filterwarnings("ignore:mlagent local sandbox")

OWNER = textwrap.dedent("""
    import sys, time
    from mlagent_env.sandbox import LocalSandbox, SandboxSpec
    sb = LocalSandbox(SandboxSpec(task_id="reap-test"), isolation=sys.argv[1])
    sb.exec(["sh", "-c", "echo work > f"], 30)
    print(sb._root, flush=True)
    time.sleep(600)
""")


def _backing(loop: str) -> str:
    """What a loop device is attached to ("" when detached)."""
    return subprocess.run(["losetup", "-n", "-O", "BACK-FILE", loop], capture_output=True, text=True).stdout.strip()


@pytest.mark.parametrize("isolation", ["process", "bwrap"])
def test_a_sigkilled_owners_quota_mount_is_reaped_when_a_local_sandbox_starts(isolation: str) -> None:
    if not can_mount():
        pytest.skip("needs root, mkfs.ext4 and loop devices (the quota is a loop mount only there)")
    if isolation == "bwrap" and shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed (apt-get install bubblewrap)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "PYTHONWARNINGS": "ignore"}
    child = subprocess.Popen([sys.executable, "-c", OWNER, isolation], stdout=subprocess.PIPE, text=True, env=env)
    try:
        root = Path(child.stdout.readline().strip())  # type: ignore[union-attr]
        loop = subprocess.run(["losetup", "-j", str(root / IMAGE_NAME)], capture_output=True, text=True).stdout
        loop = loop.split(":")[0]
        assert os.path.ismount(root / MOUNT_NAME) and str(root) in _backing(loop)
        cgroups = [CGROUP_ROOT / c / json.loads((root / OWNER_FILE).read_text())["cgroup"] for c in ("pids", "memory")]
        cgroups = [d for d in cgroups if d.is_dir()]
        with LocalSandbox(SandboxSpec(task_id="reap-test")):  # its owner runs: left alone
            assert os.path.ismount(root / MOUNT_NAME)
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert os.path.ismount(root / MOUNT_NAME), "SIGKILL leaves the mount behind (what the reaper is for)"
    assert all(d.exists() for d in cgroups)
    with LocalSandbox(SandboxSpec(task_id="reap-test"), isolation=isolation) as fresh:
        assert not os.path.ismount(root / MOUNT_NAME) and not root.exists()
        assert str(root) not in _backing(loop)  # the loop device is detached (or serves another image)
        assert not any(d.exists() for d in cgroups)
        assert fresh.exec(["sh", "-c", "echo ok"], 30).stdout == "ok\n"
