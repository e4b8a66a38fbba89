"""A hostile agent in the Docker sandbox (real commands, real engine): it cannot find the answers,
reach the network, write outside the workspace and /tmp, or take the sandbox down with a fork
bomb or a 10 GB allocation; the step after each attack works."""

from __future__ import annotations

import time
from typing import Any

import pytest

from mlagent_env.sandbox import docker as dsb

pytestmark = pytest.mark.docker

ALLOWED_WRITABLE = (dsb.WORKSPACE_DIR, "/tmp", "/dev/shm", "/dev/mqueue")


def _no_agent_processes_left(sb: Any) -> bool:
    code = (
        "import os\n"
        "mine = {os.getpid(), os.getppid()}\n"
        "left = [p for p in os.listdir('/proc') if p.isdigit() and int(p) not in mine\n"
        "        and os.stat(f'/proc/{p}').st_uid == os.getuid()]\n"
        "print(len(left))\n"
    )
    r = sb.exec(["python", "-c", code], 60)
    return r.ok and r.stdout.strip() == "0"


def test_answers_cannot_be_found(
    docker_sandbox: Any, task_dirs: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = task_dirs["marker"]
    private = str(task_dirs["private"])
    monkeypatch.setenv("MLAGENT_HOST_SECRET", marker)  # the host's environment must not leak in either
    sb = docker_sandbox()
    attacks = {
        # each search has a positive control in /tmp, so that a search that silently failed cannot pass
        "find": "touch /tmp/answers_control; "
        "find / \\( -path /proc -o -path /sys \\) -prune -o -name 'answers*' -print 2>/dev/null",
        "grep": f"echo CONTROL-{marker[::-1]} > /tmp/control.txt; "
        f"grep -rlF -D skip -e {marker} -e CONTROL-{marker[::-1]} / --exclude-dir=proc --exclude-dir=sys 2>/dev/null",
        "host path": f"ls -la {private} {private}/.. 2>&1; cat {private}/answers.csv 2>&1",
        "environ": "for f in /proc/*/environ; do tr '\\0' '\\n' < $f; done 2>/dev/null; env",
        "mounts": "cat /proc/*/mounts /proc/*/mountinfo 2>/dev/null",
        "cmdline": "cat /proc/*/cmdline 2>/dev/null | tr '\\0' ' '",
    }
    for name, script in attacks.items():
        r = sb.exec(["sh", "-c", script], 120)
        seen = r.stdout + r.stderr
        assert marker not in seen, f"{name}: the marker leaked"
        if name != "host path":  # (that one echoes the path it was given)
            assert private not in seen, f"{name}: the host path of the answers is visible:\n{seen[:2000]}"
        if name == "find":
            assert r.stdout.split() == ["/tmp/answers_control"], f"find found {r.stdout!r}"
        if name == "grep":
            assert r.stdout.split() == ["/tmp/control.txt"], f"grep found {r.stdout!r}"
    host = sb.exec(["sh", "-c", f"test -e {private}"], 30)
    assert host.exit_code == 1


def test_environment_and_proc_of_root_stay_closed(docker_sandbox: Any) -> None:
    sb = docker_sandbox()
    r = sb.exec(["sh", "-c", "cat /proc/1/environ; echo rc=$?"], 30)
    assert "rc=0" not in r.stdout  # pid 1 is root's: its environment is not the agent's to read
    status = sb.exec(["cat", "/proc/self/status"], 30).stdout
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    assert fields["CapEff"].strip() == "0000000000000000"
    assert fields["NoNewPrivs"].strip() == "1"
    assert fields["Uid"].split()[0] != "0"


def test_network_cannot_be_reached(docker_sandbox: Any) -> None:
    sb = docker_sandbox()
    code = (
        "import socket, time\n"
        "t = time.time()\n"
        "try:\n"
        "    socket.create_connection(('1.1.1.1', 80), timeout=3)\n"
        "    print('CONNECTED')\n"
        "except OSError as e:\n"
        "    print('refused', type(e).__name__, e, round(time.time() - t, 2))\n"
    )
    r = sb.exec(["python", "-c", code], 30)
    assert "CONNECTED" not in r.stdout and r.stdout.startswith("refused"), r.stdout + r.stderr
    assert "unreachable" in r.stdout.lower()  # no route at all: nothing was sent
    ifaces = sb.exec(["sh", "-c", "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '"], 30).stdout.split()
    assert ifaces == ["lo"]


def test_nothing_outside_workspace_and_tmp_is_writable(docker_sandbox: Any) -> None:
    sb = docker_sandbox()
    find = "find / \\( -path /proc -o -path /sys \\) -prune -o -writable -print 2>/dev/null"
    found = sb.exec(["sh", "-c", find], 120).stdout.split()
    data = f"{dsb.WORKSPACE_DIR}/data"
    bad = [
        p
        for p in found
        if not any(p == a or p.startswith(a + "/") for a in ALLOWED_WRITABLE)
        and not p.startswith("/dev/")  # device nodes such as /dev/null, /dev/tty
        or p == data
        or p.startswith(data + "/")
    ]
    assert bad == [], f"writable outside the workspace and /tmp: {bad[:20]}"
    targets = ["/x", "/etc/x", "/usr/x", "/opt/venv/x", "/home/agent/x", "/root/x", "/var/x", "/var/tmp/x", "data/x"]
    script = "; ".join(f"(echo pwned > {t}) 2>/dev/null && echo WROTE {t}" for t in targets)
    r = sb.exec(["sh", "-c", script + "; true"], 30)
    assert "WROTE" not in r.stdout, r.stdout
    ok = sb.exec(["sh", "-c", "echo fine > ws.txt && echo fine > /tmp/t.txt && cat ws.txt /tmp/t.txt"], 30)
    assert ok.ok and ok.stdout == "fine\nfine\n"


@pytest.mark.parametrize(
    "bomb",
    [
        ["bash", "-c", ":(){ :|:& };:"],
        ["python", "-c", "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass"],
    ],
    ids=["bash", "python"],
)
def test_fork_bomb_is_contained(docker_sandbox: Any, docker_client: Any, bomb: list[str]) -> None:
    sb = docker_sandbox(pids_limit=64)
    t0 = time.monotonic()
    r = sb.exec(bomb, 5)
    assert time.monotonic() - t0 < 60
    assert r.timed_out or r.exit_code is not None
    nxt = sb.exec(["python", "-c", "print('next step works')"], 60)
    assert nxt.ok and nxt.stdout == "next step works\n"
    assert _no_agent_processes_left(sb)
    assert docker_client.api.inspect_container(sb.container_id)["State"]["Running"]


def test_ten_gigabytes_are_contained(docker_sandbox: Any, docker_client: Any) -> None:
    sb = docker_sandbox(memory_mb=1024)
    r = sb.exec(["python", "-c", "x = b'\\x01' * (10 << 30); print('ALLOCATED', len(x))"], 120)
    assert "ALLOCATED" not in r.stdout
    assert r.oom_killed and not r.ok
    nxt = sb.exec(["python", "-c", "import numpy; print(numpy.ones(1000).sum())"], 60)
    assert nxt.ok and nxt.stdout == "1000.0\n" and not nxt.oom_killed
    assert _no_agent_processes_left(sb)
