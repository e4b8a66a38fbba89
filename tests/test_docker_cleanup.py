"""Nothing is left running: close() removes the container and its workspace, Ctrl-C during a step
ends the command and removes the container, and what a crashed (SIGKILLed) process left is
removed by reap. Real processes, real signals, a real engine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from mlagent_env.sandbox import docker as dsb
from mlagent_env.sandbox.reap import reap

pytestmark = pytest.mark.docker
REPO = Path(__file__).resolve().parents[1]

CHILD = textwrap.dedent(
    """
    import os, signal, sys, threading, time
    from mlagent_env.sandbox.base import SandboxSpec
    from mlagent_env.sandbox.docker import DockerSandbox
    from mlagent_env.sandbox.pool import WarmPool

    image, run_id, mode = sys.argv[1:4]
    spec = SandboxSpec(task_id="cleanup-test", memory_mb=256)
    pool = None
    if mode == "crash-pool":
        pool = WarmPool(size=2, run_id=run_id)
        pool.prewarm(spec, image=image)
    sb = DockerSandbox(spec, image=image, run_id=run_id, pool=pool)
    print(sb.container_id, sb.workspace.parent, flush=True)
    if mode == "interrupt":
        sb.exec(["sh", "-c", "echo started > started.txt; sleep 600"], 600)
    else:
        t = threading.Thread(target=sb.exec, args=(["sh", "-c", "echo started > started.txt; sleep 600"], 600), daemon=True)
        t.start()
        while not (sb.workspace / "started.txt").exists():
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGKILL)
    """
)


def _spawn(image: str, run_id: str, mode: str) -> tuple[subprocess.Popen[str], str, Path]:
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, image, run_id, mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=REPO,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().split()
    if len(line) != 2:
        proc.kill()
        pytest.fail(f"child did not start a sandbox: {line} {proc.stderr.read() if proc.stderr else ''}")
    return proc, line[0], Path(line[1])


def _labelled(client: Any, run_id: str) -> list[dict[str, Any]]:
    return client.api.containers(all=True, filters={"label": f"{dsb.LABEL_RUN_ID}={run_id}"})


def _wait_started(workspace_root: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not (workspace_root / "workspace" / "started.txt").exists():
        assert time.monotonic() < deadline, "the command never started"
        time.sleep(0.05)


def test_close_removes_container_and_workspace(docker_sandbox: Any, docker_client: Any) -> None:
    sb = docker_sandbox()
    cid, root = sb.container_id, sb.workspace.parent
    sb.exec(["sh", "-c", "sleep 300 >/dev/null 2>&1 &"], 30)
    sb.close()
    assert not [c for c in docker_client.api.containers(all=True) if c["Id"] == cid]
    assert not root.exists()


def test_ctrl_c_during_a_step_leaves_nothing_running(docker_client: Any, slim_image: str) -> None:
    run_id = f"test-int-{uuid.uuid4().hex[:8]}"
    proc, cid, root = _spawn(slim_image, run_id, "interrupt")
    try:
        _wait_started(root)
        assert _labelled(docker_client, run_id), "the container should exist while the step runs"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "KeyboardInterrupt" in err
    assert _labelled(docker_client, run_id) == []  # gone without any reaping
    assert not root.exists()
    assert reap(client=docker_client, run_id=run_id) == []


@pytest.mark.parametrize("mode", ["crash", "crash-pool"])
def test_crashed_process_is_reaped(docker_client: Any, slim_image: str, mode: str) -> None:
    run_id = f"test-crash-{uuid.uuid4().hex[:8]}"
    proc, cid, root = _spawn(slim_image, run_id, mode)
    proc.wait(timeout=120)
    assert proc.returncode == -signal.SIGKILL
    left = _labelled(docker_client, run_id)
    assert cid in {c["Id"] for c in left}, "a SIGKILLed process cannot clean up: its container must still be there"
    if mode == "crash-pool":
        assert len(left) >= 2  # the sandbox's container and the pool's ready ones
    assert root.exists()
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cli = subprocess.run(
        [sys.executable, "-m", "mlagent_env.sandbox.reap"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )
    assert cli.returncode == 0, cli.stderr
    assert "owner process gone" in cli.stdout
    assert _labelled(docker_client, run_id) == []
    assert not root.exists()


def test_reap_spares_live_owners_and_filters(docker_sandbox: Any, docker_client: Any) -> None:
    sb = docker_sandbox()
    assert all(r.container_id != sb.container_id for r in reap(client=docker_client))
    assert docker_client.api.inspect_container(sb.container_id)["State"]["Running"]
    dry = reap(client=docker_client, run_id=dsb.process_run_id(), dry_run=True)
    assert sb.container_id in {r.container_id for r in dry}
    assert docker_client.api.inspect_container(sb.container_id)["State"]["Running"]
    old = reap(client=docker_client, older_than_s=3600, dry_run=True)
    assert sb.container_id not in {r.container_id for r in old}
    assert sb.exec(["true"], 30).ok
