"""The red team, as root, against every isolation: what each one claims to contain, it contains.

``bwrap`` and ``docker`` claim containment: ``red_team_probe.py`` runs every escape and leak it
knows inside them (umount, remount, nsenter, /proc/<pid>/root, docker.sock, cgroup writes, other
tasks' answers, the checkout, host secrets, ptrace, the host's loopback) and none may get through.
Plain local (``process``) claims less (README.md, "Sandboxes"): network=False holds, no process
outlives the sandbox, a disk quota, and ``answers_readable`` says the rest. Without bubblewrap
the bwrap tests skip, and fail instead under ``MLAGENT_REQUIRE_BWRAP=1`` (CI); likewise Docker.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any, Iterator

import gymnasium as gym
import pytest

import mlagent_env
from mlagent_env import actions as A
from mlagent_env.errors import SandboxError
from mlagent_env.sandbox import local as local_backend
from mlagent_env.sandbox.base import SandboxSpec
from mlagent_env.sandbox.local import LocalSandbox

PROBE = Path(__file__).with_name("red_team_probe.py").read_text()
ISOLATIONS = ["process", "bwrap", pytest.param("docker", marks=pytest.mark.docker)]
CONTAINED = {"process": False, "bwrap": True, "docker": True}
HOST_MARKERS = [Path("/usr/pwned.txt"), Path("/etc/pwned.txt")]
"""Where the probe tries to write on the host (through remounts)."""
HOST_FOLDERS = ["/run", "/var/run", "/var/lib/docker", "/home", "/root"]
HOST_FILES = ["/etc/shadow", "/etc/gshadow", "/etc/machine-id", "/root/.bash_history", "/root/.ssh/authorized_keys"]


@pytest.fixture(params=ISOLATIONS)
def isolation(request: pytest.FixtureRequest) -> str:
    if request.param == "bwrap" and shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed (apt-get install bubblewrap)")
    if request.param == "docker":
        from docker_support import ensure_slim_image  # noqa: PLC0415

        ensure_slim_image()  # skips (or fails under MLAGENT_REQUIRE_DOCKER=1) with the reason
    return request.param


def make_env(isolation: str, data_dir: Path, **kw: Any) -> gym.Env:
    if isolation == "docker":
        from docker_support import ensure_slim_image  # noqa: PLC0415

        options: dict[str, Any] = {"image": ensure_slim_image()}
        return gym.make("mlagent/digits", sandbox="docker", data_dir=data_dir, sandbox_options=options, **kw)
    return gym.make("mlagent/digits", sandbox="local", data_dir=data_dir, sandbox_options={"isolation": isolation}, **kw)


def run_script(env: gym.Env, name: str, code: str) -> tuple[str, float, dict[str, Any]]:
    env.step(A.WriteFile(file_name=name, content=code).to_reply())
    obs, reward, _, _, info = env.step(A.ExecuteScript(script_name=name).to_reply())
    return obs, float(reward), info


def tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        h.update(str(p.relative_to(root)).encode())
        if p.is_file() and not p.is_symlink():
            h.update(p.read_bytes())
    return h.hexdigest()


@pytest.fixture()
def host_services() -> Iterator[dict[str, Any]]:
    """What the host offers on its own network namespace: a TCP port on 127.0.0.1 and an abstract
    unix socket, both listening."""
    tcp = socket.socket()
    tcp.bind(("127.0.0.1", 0))
    tcp.listen(8)
    name = f"mlagent-red-team-{uuid.uuid4().hex[:8]}"
    unix = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    unix.bind("\0" + name)
    unix.listen(8)
    try:
        yield {"host_port": tcp.getsockname()[1], "abstract_socket": name}
    finally:
        tcp.close()
        unix.close()


def probe_params(isolation: str, data_dir: Path, tmp_path: Path, services: dict[str, Any], secret: str) -> dict[str, Any]:
    repo = Path(mlagent_env.__file__).resolve().parents[1]
    prefix_checkout = Path(sys.prefix).resolve().parent  # a venv inside a checkout: its folder
    checkout_files = [str(repo / "pyproject.toml"), str(repo / "mlagent_env" / "env.py")]
    if (prefix_checkout / "pyproject.toml").exists():
        checkout_files.append(str(prefix_checkout / "pyproject.toml"))
    secret_files = [str(p) for p in sorted(data_dir.rglob("*")) if p.is_file() and ("private" in p.parts or "raw" in p.parts)]
    assert any("digits" in f and "private" in f for f in secret_files) and any("diabetes" in f for f in secret_files)
    return {
        "expect_contained": CONTAINED[isolation],
        "secret_files": secret_files,
        "data_root": str(data_dir),
        "public_dir": str(data_dir / "prepared" / "digits" / "public"),
        "host_pids": [os.getpid(), os.getppid()],
        "host_cgroup_files": [str(p) for p in Path("/sys/fs/cgroup").glob("*/cgroup.procs")],
        "checkout_files": checkout_files,
        "host_listings": {d: sorted(os.listdir(d)) for d in HOST_FOLDERS if os.path.isdir(d)},
        "host_file_digests": {p: hashlib.sha256(Path(p).read_bytes()[:4096]).hexdigest()
                              for p in HOST_FILES if os.path.isfile(p)},
        "outside_file": str(tmp_path / "outside.txt"),
        "secret_env": secret,
        **services,
    }


def test_red_team_probe(isolation: str, data_dir: Path, tmp_path: Path, host_services: dict[str, Any],
                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Every attack of the probe is held; the host's data, files and processes are untouched."""
    secret = "MLAGENT-HOST-SECRET-" + uuid.uuid4().hex
    monkeypatch.setenv("MLAGENT_RED_TEAM_SECRET", secret)
    params = probe_params(isolation, data_dir, tmp_path, host_services, secret)
    before = tree_digest(data_dir)
    env = make_env(isolation, data_dir, exec_timeout_s=120, output_limit=100_000)
    try:
        env.reset(seed=0)
        env.step(A.WriteFile(file_name="probe_params.json", content=json.dumps(params)).to_reply())
        obs, _, info = run_script(env, "probe.py", PROBE)
        assert info["exec"]["exit_code"] == 0, obs[-3000:]
        match = re.search(r"RED-TEAM (\{.*\})", obs)
        assert match, obs[-3000:]
        results = json.loads(match.group(1))
        expected = {"network"} | ({"capabilities", "answers", "umount", "answers-after-umount", "remount", "nsenter",
                                   "docker.sock", "host folders", "cgroup", "host files", "ptrace", "host secrets"}
                                  if CONTAINED[isolation] else set())
        assert expected <= set(results), results
        leaks = {k: v for k, v in results.items() if v != "held"}
        assert not leaks, f"{isolation} let these through: {leaks}"
        obs, _, info = run_script(env, "ok.py", "print('still alive')\n")
        assert "still alive" in obs
    finally:
        env.close()
        planted = [p for p in HOST_MARKERS if p.exists()]
        for p in planted:  # a failed containment must not leave its marks on the host
            p.unlink()
    assert not planted, f"the probe wrote {planted} on the host"
    assert tree_digest(data_dir) == before, "the prepared data changed"
    assert not Path(params["outside_file"]).exists()


def test_answers_readable_says_what_each_isolation_is(isolation: str, data_dir: Path) -> None:
    env = make_env(isolation, data_dir)
    try:
        env.reset(seed=0)
        assert env.unwrapped._sandbox.answers_readable is (not CONTAINED[isolation])
    finally:
        env.close()


def test_a_daemon_that_leaves_the_cgroup_dies_with_the_step(isolation: str, data_dir: Path) -> None:
    """A double-forked daemon that moves itself to every cgroup it can write (as root in plain local:
    the host's root cgroups) neither outlives its command nor the sandbox."""
    marker = f"{4000 + uuid.uuid4().int % 1000}.{uuid.uuid4().int % 10**6}"
    code = (
        "import glob, os, time\n"
        "if os.fork() == 0:\n"
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        "        for path in glob.glob('/sys/fs/cgroup/*/cgroup.procs') + glob.glob('/sys/fs/cgroup/cgroup.procs'):\n"
        "            try:\n"
        "                open(path, 'w').write(str(os.getpid()))\n"
        "                print('left the cgroup through', path, flush=True)\n"
        "            except OSError:\n"
        "                pass\n"
        f"        os.execv('/bin/sleep', ['sleep', '{marker}'])\n"
        "    os._exit(0)\n"
        "time.sleep(0.5)\n"
        "print('parent done', flush=True)\n"
    )
    env = make_env(isolation, data_dir, exec_timeout_s=60)

    def survivors() -> str:
        return subprocess.run(["pgrep", "-f", f"sleep {marker}"], capture_output=True, text=True).stdout.strip()

    try:
        env.reset(seed=0)
        obs, _, info = run_script(env, "daemon.py", code)
        assert "parent done" in obs and info["exec"]["exit_code"] == 0, obs
        assert survivors() == "", "the daemon outlived its command"
        run_script(env, "daemon.py", code.replace("time.sleep(0.5)", "time.sleep(0.2)"))
    finally:
        env.close()
    assert survivors() == "", "the daemon outlived env.close()"


def test_agent_code_cannot_take_over_the_sandboxs_init(isolation: str, data_dir: Path) -> None:
    """The sandbox's pid 1 (bwrap: the launcher itself) is not dumpable: agent code, running as the
    same uid, can neither ptrace it nor write its memory, so nothing outlives a step that way."""
    if isolation == "process":
        pytest.skip("plain local is not containment (its pid 1 is the launcher of a host-user process)")
    code = (
        "import ctypes\n"
        "libc = ctypes.CDLL(None, use_errno=True)\n"
        "libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]\n"
        "print('attach', libc.ptrace(16, 1, None, None))\n"
        "try:\n"
        "    open('/proc/1/mem', 'r+b')\n"
        "    print('mem open')\n"
        "except OSError as exc:\n"
        "    print('mem refused', exc.errno)\n"
    )
    env = make_env(isolation, data_dir, exec_timeout_s=60)
    try:
        env.reset(seed=0)
        obs, _, info = run_script(env, "takeover.py", code)
    finally:
        env.close()
    assert "attach -1" in obs and "mem refused" in obs, obs


def test_two_gigabytes_hit_the_disk_quota(isolation: str, data_dir: Path) -> None:
    """Writing 2 GB into a 64 MB quota fails fast with a clear message, as a corner case; the host's
    disk is untouched; deleting the file frees the quota and the next steps work."""
    host_free = shutil.disk_usage("/").free
    env = make_env(isolation, data_dir, disk_mb=64, exec_timeout_s=120)
    try:
        env.reset(seed=0)
        env.step(A.WriteFile(file_name="ok.py", content="print('still alive')\n").to_reply())
        fill = "with open('big.bin', 'wb') as f:\n    for _ in range(2048):\n        f.write(b'x' * (1 << 20))\n"
        obs, reward, info = run_script(env, "fill.py", fill)
        assert info["reward_kind"] == "corner_case" and reward == 0.5, obs[-2000:]
        assert info["exec"]["disk_full"] and not info["exec"]["timed_out"]
        assert "No space left on device" in obs and "disk limit 64 MB" in obs, obs[-2000:]
        assert host_free - shutil.disk_usage("/").free < 1 << 30, "the host's disk filled up"
        obs, reward, _, _, info = env.step(A.ExecuteScript(script_name="ok.py").to_reply())
        assert "still alive" in obs and info["exec"]["exit_code"] == 0
        obs, _, _, _, info = env.step(A.WriteFile(file_name="more.txt", content="x" * (4 << 20)).to_reply())
        assert info["reward_kind"] == "error" and "full" in obs, obs
        obs, _, info = run_script(env, "clean.py", "import os\nos.remove('big.bin')\nprint('freed')\n")
        assert "freed" in obs and info["exec"]["exit_code"] == 0, obs
        obs, _, _, _, info = env.step(A.WriteFile(file_name="more.txt", content="x" * (4 << 20)).to_reply())
        assert info["reward_kind"] != "error", obs
    finally:
        env.close()


def test_plain_local_refuses_network_false_without_a_network_namespace(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """On a host that allows no network namespace, plain local refuses network=False with a message
    saying what to do, instead of silently allowing the network."""
    monkeypatch.setattr(local_backend, "unshare_wrapper", lambda network: None)
    with pytest.raises(SandboxError, match="network=False cannot be applied"):
        LocalSandbox(SandboxSpec(task_id="t", disk_mb=16), root=tmp_path)
    assert list(tmp_path.iterdir()) == [], "a refused sandbox left files behind"
    with LocalSandbox(SandboxSpec(task_id="t", disk_mb=16, network=True), root=tmp_path) as sb:
        assert sb.exec([sb.python, "-c", "print('runs')"], 30).stdout.strip() == "runs"


@pytest.mark.docker
def test_docker_shows_no_host_paths(data_dir: Path, slim_image: str) -> None:
    """Nothing under /proc inside the container names the data root or the workspace's host folder."""
    env = make_env("docker", data_dir, output_limit=100_000)
    code = (
        "import glob\n"
        "seen = []\n"
        "for path in ['/proc/self/mountinfo', '/proc/self/mounts', '/proc/self/mountstats', '/proc/1/mountinfo']\\\n"
        "        + glob.glob('/proc/[0-9]*/cmdline') + glob.glob('/proc/[0-9]*/environ'):\n"
        "    try:\n"
        "        seen.append(open(path, errors='replace').read())\n"
        "    except OSError:\n"
        "        pass\n"
        "print('\\n'.join(seen))\n"
    )
    try:
        env.reset(seed=0)
        obs, _, info = run_script(env, "paths.py", code)
        assert info["exec"]["exit_code"] == 0 and "/home/agent/workspace" in obs, obs[-2000:]
        workspace_host = str(env.unwrapped._sandbox.workspace)
    finally:
        env.close()
    for host_path in (str(data_dir), str(data_dir.parent), workspace_host, "prepared/digits"):
        assert host_path not in obs, f"{host_path} shows inside the container"


def test_without_a_mountable_quota_each_file_is_capped(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Where no quota can be mounted (not root, no loop device), disk_mb still caps each file, says
    so once, and a script stopped by it is a disk-full corner case."""
    from mlagent_env.sandbox import quota  # noqa: PLC0415

    monkeypatch.setattr(quota, "can_mount", lambda: False)
    monkeypatch.setattr(quota, "_warned", False)
    with pytest.warns(UserWarning, match="no disk quota can be mounted"):
        sb = LocalSandbox(SandboxSpec(task_id="t", disk_mb=16), root=tmp_path)
    with sb:
        res = sb.exec([sb.python, "-c", "open('big.bin', 'wb').write(b'x' * (64 << 20))"], 60)
        assert res.disk_full and not res.ok and "disk limit 16 MB" in res.stderr, res
        assert sb.exec([sb.python, "-c", "print('next')"], 30).stdout.strip() == "next"
