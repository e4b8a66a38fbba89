"""The red team's script: runs INSIDE a sandbox, as the agent, and tries every escape and leak it
knows. Standard library only (it must run in the slim image too). It reads ``probe_params.json``
from the working folder and prints one line ``RED-TEAM <json>``: for each attack, "held" or
"LEAK: <what got through>". ``tests/test_containment.py`` writes it into the sandbox and fails
on any leak. The attacks use system calls through ctypes, so that a missing tool (nsenter,
mount) in an image cannot make an attack pass by accident; the tools are tried as well.
"""

import ctypes
import glob
import hashlib
import json
import os
import socket
import subprocess

P = json.load(open("probe_params.json"))
libc = ctypes.CDLL(None, use_errno=True)
results: dict[str, str] = {}
MS_RDONLY, MS_REMOUNT, MS_BIND = 1, 32, 4096
MNT_DETACH = 2
CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWNET = 0x10000000, 0x00020000, 0x40000000


def leak(name: str, what: str) -> None:
    results[name] = (results[name] + "; " if name in results and results[name] != "held" else "LEAK: ") + what


def held(name: str) -> None:
    results.setdefault(name, "held")


def readable(path: str) -> bytes | None:
    try:
        with open(path, "rb") as f:
            return f.read(4096)
    except OSError:
        return None


def secrets_seen(tag: str) -> None:
    """Every answer file of every task, by its host path and through every /proc/<pid>/root."""
    roots = [""] + [f"/proc/{p}/root" for p in P["host_pids"]]
    roots += [f"/proc/{d}/root" for d in os.listdir("/proc") if d.isdigit()]
    for root in roots:
        for path in P["secret_files"]:
            data = readable(root + path)
            if data is not None:
                leak(tag, f"read {root + path}")
                return
    for base in [P["data_root"]] + [f"/proc/{p}/root{P['data_root']}" for p in P["host_pids"]]:
        for dirpath, _, files in os.walk(base):
            if "/private" in dirpath or "/raw" in dirpath:
                if files:
                    leak(tag, f"listed {dirpath}")
                    return
    held(tag)


def run(cmd: list[str]) -> int:
    try:
        return subprocess.run(cmd, capture_output=True, timeout=10).returncode
    except (OSError, subprocess.TimeoutExpired):
        return -1


# --- capabilities and identity
status = open("/proc/self/status").read()
cap_eff = [line.split()[1] for line in status.splitlines() if line.startswith("CapEff:")][0]
if P["expect_contained"]:
    if int(cap_eff, 16) != 0:
        leak("capabilities", f"CapEff {cap_eff}")
    if os.getuid() == 0 or os.geteuid() == 0:
        leak("capabilities", "uid 0")
    if libc.unshare(CLONE_NEWUSER) == 0:
        leak("capabilities", "made a new user namespace (to regain capabilities)")
    if libc.unshare(CLONE_NEWNS) == 0 or libc.unshare(CLONE_NEWNET) == 0:
        leak("capabilities", "made a new mount or network namespace")
    if run(["unshare", "-Ur", "true"]) == 0:
        leak("capabilities", "unshare -Ur worked")
    held("capabilities")

    # --- the answers, before and after tearing down mounts
    secrets_seen("answers")
    mounts = [line.split()[1] for line in open("/proc/self/mounts").read().splitlines()]
    for mp in sorted(mounts, key=len, reverse=True):
        if libc.umount2(mp.encode(), MNT_DETACH) == 0:
            leak("umount", f"unmounted {mp}")
        run(["umount", "-l", mp])
    if len(open("/proc/self/mounts").read().splitlines()) < len(mounts):
        leak("umount", "a mount disappeared")
    held("umount")
    secrets_seen("answers-after-umount")

    # --- remount read-only mounts read-write, then write through them
    for mp in ["/", "/usr", P["public_dir"], "/proc", "/sys/devices/system/cpu"]:
        if libc.mount(None, mp.encode(), None, MS_REMOUNT | MS_BIND, None) == 0:
            leak("remount", f"remounted {mp} read-write")
        run(["mount", "-o", "remount,bind,rw", mp])
    for target in [os.path.join(P["public_dir"], "pwned.txt"), "/usr/pwned.txt", "/etc/pwned.txt", P["outside_file"]]:
        try:
            with open(target, "w") as f:
                f.write("pwned")
            leak("remount", f"wrote {target}")
        except OSError:
            pass
    held("remount")

    # --- enter the host's namespaces
    for pid in P["host_pids"] + [1]:
        for ns in ("mnt", "net", "pid", "user", "ipc", "uts", "cgroup"):
            try:
                fd = os.open(f"/proc/{pid}/ns/{ns}", os.O_RDONLY)
            except OSError:
                continue
            if pid != 1 and libc.setns(fd, 0) == 0:
                leak("nsenter", f"setns into /proc/{pid}/ns/{ns}")
            os.close(fd)
        if run(["nsenter", "-t", str(pid), "-n", "-m", "true"]) == 0:
            leak("nsenter", f"nsenter -t {pid}")
    held("nsenter")

    # --- the Docker socket and other host daemons
    for path in ["/var/run/docker.sock", "/run/docker.sock", "/run/containerd/containerd.sock", "/var/run/dbus/system_bus_socket"]:
        if os.path.exists(path):
            leak("docker.sock", f"{path} exists")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            leak("docker.sock", f"connected to {path}")
        except OSError:
            pass
        finally:
            s.close()
    for d, host_names in P["host_listings"].items():  # the host's own folders, recognised by their entries
        try:
            names = set(os.listdir(d))
        except OSError:
            names = set()
        if host_names and names >= set(host_names):
            leak("host folders", f"{d} lists the host's {sorted(host_names)[:5]}")
    held("docker.sock")
    held("host folders")

    # --- cgroups: leave the sandbox's, or raise its limits
    for path in glob.glob("/sys/fs/cgroup/**/cgroup.procs", recursive=True) + P["host_cgroup_files"]:
        try:
            with open(path, "w") as f:
                f.write(str(os.getpid()))
            leak("cgroup", f"wrote {path}")
        except OSError:
            pass
    os.makedirs("/tmp/cg", exist_ok=True)
    for fs in (b"cgroup2", b"cgroup"):
        if libc.mount(fs, b"/tmp/cg", fs, 0, b"pids" if fs == b"cgroup" else None) == 0:
            leak("cgroup", f"mounted {fs.decode()}")
    held("cgroup")

    # --- the checkout of this repository, home folders and host files
    for path in P["checkout_files"]:
        if os.path.exists(path):
            leak("host files", f"{path} is visible")
    for path, digest in P["host_file_digests"].items():  # the host's own copy, not an image's
        data = readable(path)
        if data is not None and hashlib.sha256(data).hexdigest() == digest:
            leak("host files", f"read the host's {path}")
    for dev in glob.glob("/dev/[sv]d*") + glob.glob("/dev/nvme*") + glob.glob("/dev/loop*"):
        leak("host files", f"block device {dev}")
    if libc.mknod(b"/tmp/blk", 0o60600, os.makedev(7, 0)) == 0:
        leak("host files", "made a block device")
    for path in ("/proc/sys/kernel/core_pattern", "/proc/sysrq-trigger", "/proc/sys/vm/drop_caches",
                 "/proc/sys/kernel/hostname"):
        try:  # opening for writing is the permission check; nothing is written to the host's kernel
            os.close(os.open(path, os.O_WRONLY))
            leak("host files", f"may write {path}")
        except OSError:
            pass
    held("host files")

    # --- the launcher and other processes of the sandbox: no ptrace, no memory
    for d in os.listdir("/proc"):
        if d.isdigit() and int(d) != os.getpid():
            for what in ("mem",):
                try:
                    with open(f"/proc/{d}/{what}", "rb") as f:
                        f.read(1)
                    leak("ptrace", f"read /proc/{d}/{what}")
                except OSError:
                    pass
    held("ptrace")

    # --- host secrets in any environment
    for d in ["self"] + [p for p in os.listdir("/proc") if p.isdigit()]:
        data = readable(f"/proc/{d}/environ") or b""
        if P["secret_env"].encode() in data:
            leak("host secrets", f"/proc/{d}/environ")
    if P["secret_env"] in json.dumps(dict(os.environ)):
        leak("host secrets", "os.environ")
    held("host secrets")

# --- the host's loopback services and abstract sockets (every isolation, when network=False)
s = socket.socket()
s.settimeout(2)
try:
    s.connect(("127.0.0.1", P["host_port"]))
    leak("network", f"connected to the host's 127.0.0.1:{P['host_port']}")
except OSError:
    pass
finally:
    s.close()
u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
try:
    u.connect("\0" + P["abstract_socket"])
    leak("network", "connected to the host's abstract unix socket")
except OSError:
    pass
finally:
    u.close()
held("network")

print("RED-TEAM " + json.dumps(results), flush=True)
