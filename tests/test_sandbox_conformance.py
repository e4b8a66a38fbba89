"""One conformance suite for the Sandbox protocol, run against every backend: exec, timeouts,
truncation, file operations, path refusal, snapshot/restore."""

from __future__ import annotations

import io
import shutil
import tarfile
from typing import Callable, Iterator

import pytest

from mlagent_env.errors import PathEscapeError, ReadOnlyPathError, SandboxError, WorkspaceFileNotFound
from mlagent_env.sandbox import LocalSandbox, Sandbox, SandboxSpec

BACKENDS = ["local", "local-bwrap", pytest.param("docker", marks=pytest.mark.docker)]


@pytest.fixture(params=BACKENDS)
def make(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Sandbox]]:
    kind = request.param
    if kind == "local":
        factory: Callable[[SandboxSpec], Sandbox] = lambda spec: LocalSandbox(spec)  # noqa: E731
    elif kind == "local-bwrap":
        if shutil.which("bwrap") is None:
            pytest.skip("bubblewrap is not installed (apt-get install bubblewrap)")
        factory = lambda spec: LocalSandbox(spec, isolation="bwrap")  # noqa: E731
    else:
        from docker_support import docker_sandbox_factory

        factory = docker_sandbox_factory()
    made: list[Sandbox] = []
    base = tmp_path_factory.mktemp("conformance")
    # the docker backend bind-mounts these folders: keep them world-readable
    starter, public = base / "starter", base / "public"
    (starter / "pkg").mkdir(parents=True)
    public.mkdir()
    (starter / "train.py").write_text("print('hello from train')\n")
    (starter / "pkg" / "util.py").write_text("X = 1\n")
    (public / "train.csv").write_text("id,y\n1,0\n")
    for p in (base, starter, starter / "pkg", public):
        p.chmod(0o755)

    def build(**kw: object) -> Sandbox:
        spec = SandboxSpec(task_id="conformance", starter_dir=starter, public_dir=public, **kw)  # type: ignore[arg-type]
        sb = factory(spec)
        made.append(sb)
        return sb

    yield build
    for sb in made:
        sb.close()


def py(sb: Sandbox, code: str, timeout: float = 30) -> "object":
    sb.write_file("_snippet.py", code.encode())
    return sb.exec([sb.python, "-u", "_snippet.py"], timeout)


def test_starter_and_data_are_there(make) -> None:
    sb = make()
    assert sb.read_file("train.py") == b"print('hello from train')\n"
    assert sb.read_file("pkg/util.py") == b"X = 1\n"
    assert sb.read_file("data/train.csv") == b"id,y\n1,0\n"
    paths = [e.path for e in sb.list_dir(".", recursive=True)]
    assert {"train.py", "pkg", "pkg/util.py", "data", "data/train.csv"} <= set(paths)
    assert paths == sorted(paths)
    top = {e.path: e for e in sb.list_dir(".")}
    assert top["pkg"].is_dir and not top["train.py"].is_dir and top["train.py"].size == 26
    assert [e.path for e in sb.list_dir("data")] == ["data/train.csv"]


def test_exec_output_and_exit_code(make) -> None:
    sb = make()
    r = sb.exec([sb.python, "-u", "train.py"], 30)
    assert (r.exit_code, r.stdout, r.timed_out, r.oom_killed) == (0, "hello from train\n", False, False)
    assert r.ok and r.duration_s > 0
    r = py(sb, "import sys\nprint('out')\nprint('err', file=sys.stderr)\nsys.exit(3)\n")
    assert (r.exit_code, r.stdout, r.stderr.strip()) == (3, "out\n", "err")
    assert not r.ok


def test_exec_runs_in_the_workspace_and_sees_data(make) -> None:
    sb = make()
    r = py(sb, "import os\nprint(sorted(os.listdir('.')))\nprint(open('data/train.csv').read())\nopen('made.txt','w').write('m')\n")
    assert "train.py" in r.stdout and "id,y" in r.stdout
    assert sb.read_file("made.txt") == b"m"


def test_exec_timeout_kills_the_tree(make) -> None:
    sb = make()
    r = py(sb, "import subprocess, time\nc = subprocess.Popen(['sleep', '300'])\nprint('started', c.pid, flush=True)\ntime.sleep(300)\n", timeout=2)
    assert r.timed_out and r.exit_code is None and "started" in r.stdout and "timed out" in r.stderr
    assert r.duration_s < 10
    child = int(r.stdout.split()[1])
    # the child is gone (or a zombie waiting to be reaped); host-wide `ps` would also see other tests' processes
    probe = (
        "try:\n"
        f"    state = open('/proc/{child}/stat').read().rsplit(')', 1)[1].split()[0]\n"
        f"    cmd = open('/proc/{child}/cmdline').read()\n"
        "except OSError:\n    state, cmd = 'gone', ''\n"
        "print('ALIVE' if state != 'Z' and 'sleep' in cmd else 'DEAD')\n"
    )
    assert py(sb, probe).stdout.strip() == "DEAD"


def test_output_is_truncated_head_and_tail(make) -> None:
    sb = make(output_limit=1000)
    r = py(sb, "print('HEAD')\nfor i in range(100000):\n    print('line', i)\nprint('TAIL')\n")
    assert r.exit_code == 0 and r.output_truncated
    assert r.stdout.startswith("HEAD") and r.stdout.rstrip().endswith("TAIL")
    assert "truncated" in r.stdout and len(r.stdout) < 1200


def test_write_read_and_overwrite(make) -> None:
    sb = make()
    sb.write_file("new/deep/file.txt", b"one")
    assert sb.read_file("new/deep/file.txt") == b"one" and sb.exists("new/deep")
    sb.write_file("./new/deep/../deep/file.txt", b"two")
    assert sb.read_file("new/deep/file.txt") == b"two"
    data = bytes(range(256)) * 100
    sb.write_file("blob.bin", data)
    assert sb.read_file("blob.bin") == data
    assert not sb.exists("missing.txt")


def test_missing_files_raise(make) -> None:
    sb = make()
    with pytest.raises(WorkspaceFileNotFound):
        sb.read_file("missing.txt")
    with pytest.raises(WorkspaceFileNotFound):
        sb.read_file("pkg")
    with pytest.raises(WorkspaceFileNotFound):
        sb.list_dir("nope")


@pytest.mark.parametrize("bad", ["../x", "/etc/passwd", "a/../../x", "~/x", "x\x00y", "..", "/"])
def test_paths_that_leave_are_refused(make, bad: str) -> None:
    sb = make()
    with pytest.raises(PathEscapeError):
        sb.read_file(bad)
    with pytest.raises(PathEscapeError):
        sb.write_file(bad, b"x")
    with pytest.raises(PathEscapeError):
        sb.exists(bad)


def test_symlinks_out_are_refused(make) -> None:
    sb = make()
    r = py(sb, "import os\nos.symlink('/etc/passwd', 'pw')\nos.symlink('/', 'root')\nos.symlink('train.py', 'inside')\n")
    assert r.exit_code == 0, r.stderr
    with pytest.raises(PathEscapeError):
        sb.read_file("pw")
    with pytest.raises(PathEscapeError):
        sb.write_file("root/tmp/evil.txt", b"x")
    with pytest.raises(PathEscapeError):
        sb.list_dir("root")
    assert sb.read_file("inside") == sb.read_file("train.py")  # links inside are fine
    assert "pw" not in {e.path for e in sb.list_dir(".")}  # and links out are not listed


def test_data_is_read_only(make) -> None:
    sb = make()
    with pytest.raises(ReadOnlyPathError):
        sb.write_file("data/train.csv", b"x")
    with pytest.raises(ReadOnlyPathError):
        sb.write_file("data/new.csv", b"x")
    assert sb.read_file("data/train.csv") == b"id,y\n1,0\n"


def test_snapshot_restore_round_trip(make) -> None:
    sb = make()
    sb.write_file("model/weights.bin", b"\x01" * 5000)
    sb.write_file("notes.txt", b"v1")
    archive = sb.snapshot()
    names = tarfile.open(fileobj=io.BytesIO(archive)).getnames()
    assert "notes.txt" in names and "model/weights.bin" in names
    assert not any(n == "data" or n.startswith("data/") for n in names), "data/ must not be snapshotted"
    sb.write_file("notes.txt", b"v2")
    sb.write_file("later.txt", b"x")
    py(sb, "import shutil\nshutil.rmtree('model')\n")
    sb.restore(archive)
    assert sb.read_file("notes.txt") == b"v1"
    assert sb.read_file("model/weights.bin") == b"\x01" * 5000
    assert not sb.exists("later.txt")
    assert sb.read_file("data/train.csv") == b"id,y\n1,0\n"
    other = make()
    other.restore(archive)
    assert other.read_file("notes.txt") == b"v1" and other.snapshot() == sb.snapshot()


def test_workspace_deleted_by_a_command_recovers(make) -> None:
    sb = make()
    py(sb, "import os, shutil\nfor n in os.listdir('.'):\n    p = os.path.join('.', n)\n    (os.remove if os.path.islink(p) or os.path.isfile(p) else shutil.rmtree)(p)\n")
    r = sb.exec([sb.python, "-c", "print('alive')"], 30)
    assert r.stdout == "alive\n"
    sb.write_file("again.txt", b"x")
    assert sb.read_file("again.txt") == b"x"


def test_close_is_idempotent_and_final(make) -> None:
    sb = make()
    sb.close()
    sb.close()
    with pytest.raises(SandboxError):
        sb.exec([sb.python, "-c", "print(1)"], 10)


def test_environment_has_no_host_secrets(make, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLAGENT_TEST_SECRET", "hunter2")
    sb = make()
    r = py(sb, "import os\nprint(os.environ.get('MLAGENT_TEST_SECRET'))\n")
    assert r.stdout.strip() == "None"


def test_memory_limit_is_reported(make) -> None:
    sb = make(memory_mb=256)
    r = py(sb, "x = bytearray(2 * 1024**3)\nx[::4096] = b'1' * len(x[::4096])\nprint('survived')\n")
    assert r.oom_killed and "survived" not in r.stdout
    assert py(sb, "print('next')").stdout == "next\n"
