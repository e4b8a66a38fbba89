"""A tiny process launcher that lives inside a local sandbox's cgroups.

Joining a (v1) cgroup costs a process about 10 ms of wall time, which would double the cost of a
short command. So each LocalSandbox starts one launcher that joins its cgroups (and takes the
``ulimit -v`` fallback) once; every command is forked by the launcher and inherits all of it for
free. The launcher talks over a SOCK_SEQPACKET socket: a request (argv, cwd, env) in; a reply
with the child's pid and its stdout/stderr pipes (passed as file descriptors); later a second
reply with the exit code. One command runs at a time.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from dataclasses import dataclass

from mlagent_env.errors import SandboxError

# Runs with ``python -S -I``: standard library only, no site-packages, small and fast to start.
LAUNCHER_SOURCE = r"""
import json, os, socket, sys
sock = socket.socket(fileno=int(sys.argv[1]))
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
    sock.send(json.dumps({"exit": os.waitstatus_to_exitcode(status)}).encode())
"""


@dataclass
class Started:
    pid: int
    stdout_fd: int
    stderr_fd: int


class Launcher:
    """The launcher process of one sandbox. ``prelude`` is shell code run before it starts
    (joining cgroups, setting rlimits); everything it forks inherits that."""

    def __init__(self, prelude: str) -> None:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            cmd = [sys.executable, "-S", "-I", "-c", LAUNCHER_SOURCE, str(child.fileno())]
            if prelude:
                cmd = ["/bin/sh", "-c", prelude + 'exec "$@"', "sh", *cmd]
            self.proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                pass_fds=[child.fileno()],
                start_new_session=True,
            )
        finally:
            child.close()
        self.sock = parent

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def start(self, argv: list[str], cwd: str, env: dict[str, str]) -> Started | str:
        """Fork a command; its pid and output pipes, or an error message if it could not start."""
        self.sock.send(json.dumps({"argv": argv, "cwd": cwd, "env": env}).encode())
        data, fds, _, _ = socket.recv_fds(self.sock, 1 << 16, 2)
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
        data = self.sock.recv(1 << 16)
        if not data:
            return None
        return int(json.loads(data)["exit"])

    def close(self) -> None:
        try:
            self.sock.close()
        finally:
            if self.alive():
                self.proc.kill()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
