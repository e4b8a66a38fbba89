"""A tiny process launcher that lives inside a local sandbox: its cgroups and its namespaces.

Joining a (v1) cgroup costs a process about 10 ms, and building bubblewrap's namespaces and
mounts several more, which would double the cost of a short command. So each LocalSandbox starts
one launcher, once: a shell ``prelude`` joins the cgroups (and takes the ``ulimit`` fallbacks),
then execs the ``wrapper`` (``unshare`` or ``bwrap``: new namespaces), which execs the launcher.
Every command is forked by the launcher and inherits all of it for free.

The launcher talks over a SOCK_SEQPACKET socket: first a ready message; then per command a
request (argv, cwd, env) in, a reply with the child's pid and its stdout/stderr pipes (passed as
file descriptors), and later a second reply with the exit code. One command runs at a time.
When it is alone in its own pid namespace (``reap=True``), the launcher kills every other process
of the namespace once a command has exited, so that nothing a command started outlives it. The
launcher is not dumpable: the agent's code, although it runs as the same user, cannot ptrace it.
The host never relies on the launcher for containment (it kills through cgroups and by ending the
namespace), only for speed.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from mlagent_env.errors import SandboxError

# Runs with ``python -S -I``: standard library only, no site-packages, small and fast to start.
LAUNCHER_SOURCE = r"""
import ctypes, json, os, signal, socket, sys, time
try:
    ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0: no ptrace by the agent's code
except Exception:
    pass
sock = socket.socket(fileno=int(sys.argv[1]))
reap = sys.argv[2] == "1" and os.getpid() <= 2  # alone in a fresh pid namespace (pid 1 or 2)

def kill_the_rest():
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        try:
            os.kill(-1, signal.SIGKILL)  # every process of the namespace but init and this one
        except ProcessLookupError:
            pass
        while True:
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break
        others = [d for d in os.listdir("/proc") if d.isdigit() and int(d) not in (1, os.getpid())]
        if not others:
            return
        time.sleep(0.002)

sock.send(b'{"ready": 1}')
while True:
    try:
        data = sock.recv(1 << 22)
    except OSError:
        break
    if not data:
        break
    req = json.loads(data)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    try:
        pid = os.fork()
    except OSError as exc:
        for fd in (out_r, out_w, err_r, err_w):
            os.close(fd)
        sock.send(json.dumps({"error": "cannot start the command: %s" % exc}).encode())
        continue
    if pid == 0:
        try:
            os.setsid()
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            os.closerange(3, 65536)
            os.chdir(req["cwd"])
            os.execvpe(req["argv"][0], req["argv"], req["env"])
        except BaseException as exc:
            os.write(2, ("cannot run %s: %s\n" % (req["argv"][0], exc)).encode())
        os._exit(127)
    os.close(out_w)
    os.close(err_w)
    socket.send_fds(sock, [json.dumps({"pid": pid}).encode()], [out_r, err_r])
    os.close(out_r)
    os.close(err_r)
    _, status = os.waitpid(pid, 0)
    if reap:
        kill_the_rest()
    sock.send(json.dumps({"exit": os.waitstatus_to_exitcode(status)}).encode())
"""

READY_TIMEOUT_S = 30.0
LAUNCHER_ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8"}


@dataclass
class Started:
    pid: int
    """The command's pid as the launcher sees it (in its pid namespace when it has one)."""
    stdout_fd: int
    stderr_fd: int


class Launcher:
    """The launcher process of one sandbox, run by ``python``.

    ``prelude`` is shell code run first on the host (joining cgroups, setting rlimits);
    ``wrapper`` is the command line that puts the launcher in its namespaces (empty: none);
    ``reap``: the wrapper gives the launcher a pid namespace of its own.
    """

    def __init__(self, python: str, prelude: str = "", wrapper: Sequence[str] = (), *, reap: bool = False) -> None:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._errors = tempfile.TemporaryFile()
        try:
            cmd = [*wrapper, python, "-S", "-I", "-c", LAUNCHER_SOURCE, str(child.fileno()), "1" if reap else "0"]
            if prelude:
                cmd = ["/bin/sh", "-c", prelude + 'exec "$@"', "sh", *cmd]
            self.proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=self._errors,
                pass_fds=[child.fileno()],
                start_new_session=True,
                env=LAUNCHER_ENV,  # the host's environment (its secrets) never enters the sandbox
            )
        finally:
            child.close()
        self.sock = parent
        self.sock.settimeout(READY_TIMEOUT_S)
        try:
            ready = self.sock.recv(1 << 16)
        except OSError:
            ready = b""
        self.sock.settimeout(None)
        if not ready:
            errors = self.startup_errors()  # before close(), which closes the file they are in
            self.close()
            raise SandboxError(f"the sandbox could not start: {errors or 'no message'}")
        self.host_pids = _tree(self.proc.pid)
        """Host pids of the wrapper chain and the launcher, which the sandbox's kills spare."""

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def startup_errors(self) -> str:
        self._errors.seek(0)
        return self._errors.read(4000).decode("utf-8", errors="replace").strip()

    def start(self, argv: list[str], cwd: str, env: dict[str, str]) -> Started | str:
        """Fork a command; its pid and output pipes, or an error message if it could not start."""
        try:
            self.sock.send(json.dumps({"argv": argv, "cwd": cwd, "env": env}).encode())
            data, fds, _, _ = socket.recv_fds(self.sock, 1 << 16, 2)
        except OSError:
            data = b""
        if not data:
            raise SandboxError("the sandbox's launcher died")
        reply = json.loads(data)
        if "error" in reply:
            for fd in fds:
                os.close(fd)
            return str(reply["error"])
        return Started(pid=int(reply["pid"]), stdout_fd=fds[0], stderr_fd=fds[1])

    def read_exit(self) -> int | None:
        """The exit code that the launcher reports (call when the socket is readable); None if the
        launcher died."""
        try:
            data = self.sock.recv(1 << 16)
        except OSError:
            return None
        if not data:
            return None
        return int(json.loads(data)["exit"])

    def close(self) -> None:
        """Kill the launcher and its wrapper (which ends its namespaces and every process in them)."""
        try:
            self.sock.close()
        finally:
            if self.alive():
                self.proc.kill()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            self._errors.close()


def _tree(pid: int) -> set[int]:
    """``pid`` and its descendants (host pids)."""
    out, todo = set(), [pid]
    while todo:
        p = todo.pop()
        out.add(p)
        try:
            todo.extend(int(c) for c in Path(f"/proc/{p}/task/{p}/children").read_text().split())
        except (OSError, ValueError):
            pass
    return out
