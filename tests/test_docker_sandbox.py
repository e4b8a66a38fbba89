"""DockerSandbox against a real engine (no mocks): exec, limits, files, snapshots, OOM, the pool,
and the image builder. The pure configuration tests at the top need no engine."""

from __future__ import annotations

import io
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest

from mlagent_env.errors import PathEscapeError, ReadOnlyPathError, SandboxError, WorkspaceFileNotFound
from mlagent_env.sandbox.base import SandboxSpec

docker = pytest.importorskip("docker")

from mlagent_env.sandbox import docker as dsb  # noqa: E402
from mlagent_env.sandbox import image as img  # noqa: E402
from mlagent_env.sandbox.docker.sandbox import _check_hidden  # noqa: E402

# A script that lists the agent's processes from /proc (the image has no procps).
AGENT_PROCS = (
    "import os\n"
    "mine = {os.getpid(), os.getppid()}  # this script and the exec wrapper\n"
    "for p in os.listdir('/proc'):\n"
    "    if p.isdigit() and int(p) not in mine:\n"
    "        try:\n"
    "            st = open(f'/proc/{p}/status').read()\n"
    "        except OSError:\n"
    "            continue\n"
    "        uid = [l.split()[1] for l in st.splitlines() if l.startswith('Uid:')][0]\n"
    "        state = [l.split()[1] for l in st.splitlines() if l.startswith('State:')][0]\n"
    "        if uid == str(os.getuid()) and state != 'Z':\n"
    "            print(p, open(f'/proc/{p}/cmdline').read().replace('\\0', ' '))\n"
)


# --------------------------------------------------------------------------- no engine needed
def test_run_kwargs_isolate_by_default(tmp_path: Path) -> None:
    cfg = dsb.ContainerConfig(image="img", memory_mb=1024, cpus=1.5, pids_limit=99)
    kw = dsb.container_run_kwargs(cfg, workspace=tmp_path / "ws", data_dir=tmp_path / "pub", labels={"a": "b"})
    assert kw["network_mode"] == "none"
    assert kw["read_only"] is True
    assert kw["mem_limit"] == "1024m" and kw["memswap_limit"] == "1024m"
    assert kw["nano_cpus"] == 1_500_000_000
    assert kw["pids_limit"] == 99
    assert kw["cap_drop"] == ["ALL"] and "no-new-privileges" in kw["security_opt"]
    assert kw["init"] is True and kw["labels"] == {"a": "b"}
    assert "/tmp" in kw["tmpfs"] and "device_requests" not in kw
    mounts = {m["Target"]: m for m in kw["mounts"]}
    assert set(mounts) == {dsb.WORKSPACE_DIR, dsb.WORKSPACE_DIR + "/data"}
    assert mounts[dsb.WORKSPACE_DIR]["ReadOnly"] is False
    assert mounts[dsb.WORKSPACE_DIR + "/data"]["ReadOnly"] is True
    assert mounts[dsb.WORKSPACE_DIR + "/data"]["Source"] == str(tmp_path / "pub")


@pytest.mark.parametrize(
    ("gpus", "count", "ids"),
    [(None, None, None), (0, None, None), (1, 1, None), ("all", -1, None), ("2", 2, None), ("0,3", None, ["0", "3"])],
)
def test_gpu_requests(gpus: Any, count: Any, ids: Any, tmp_path: Path) -> None:
    cfg = dsb.ContainerConfig(image="img", gpus=gpus, network=True)
    kw = dsb.container_run_kwargs(cfg, workspace=tmp_path, data_dir=tmp_path, labels={})
    assert kw["network_mode"] == "bridge"
    if count is None and ids is None:
        assert "device_requests" not in kw
        return
    (req,) = kw["device_requests"]
    assert req["Capabilities"] == [["gpu"]]
    if count is not None:
        assert req["Count"] == count
    else:
        assert req["DeviceIDs"] == ids


def test_config_from_spec_and_hidden_overlap(tmp_path: Path) -> None:
    spec = SandboxSpec(task_id="t", public_dir=tmp_path / "pub", memory_mb=300, cpus=2, gpus="all", image="x:y")
    cfg = dsb.ContainerConfig.from_spec(spec)
    assert (cfg.image, cfg.memory_mb, cfg.cpus, cfg.gpus) == ("x:y", 300, 2, "all")
    assert cfg.public_dir == str((tmp_path / "pub").resolve())
    assert dsb.ContainerConfig.from_spec(spec, "other").image == "other"
    bad = SandboxSpec(task_id="t", public_dir=tmp_path / "prep", hidden_dirs=[tmp_path / "prep" / "private"])
    with pytest.raises(SandboxError, match="overlaps"):
        _check_hidden(bad)


def test_owner_label_roundtrip() -> None:
    label = dsb.owner_label()
    assert dsb.owner_alive(label) is True
    host = label.split(":")[0]
    assert dsb.owner_alive(f"{host}:999999999:1") is False
    assert dsb.owner_alive("another-host:1:1") is None


def test_apt_mirror_and_wheelhouse_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert img.apt_mirror().startswith("http")
    monkeypatch.setenv("MLAGENT_DEBIAN_MIRROR", "http://mirror.example/debian")
    assert img.apt_mirror() == "http://mirror.example/debian"
    slim = img.wheelhouse_key(img.ImageBuildConfig(variant="slim"), img.docker_dir())
    full = img.wheelhouse_key(img.ImageBuildConfig(variant="full"), img.docker_dir())
    cuda = img.wheelhouse_key(img.ImageBuildConfig(variant="full", cuda=True), img.docker_dir())
    assert len({slim, full, cuda}) == 3 and slim.startswith("slim-")
    assert img.offline_base_tag().startswith("mlagent-base:bookworm-py311-")
    assert any(t.startswith("manylinux_2_36_") for t in img._platform_tags())


def test_image_cli_parsers() -> None:
    import argparse

    from mlagent_env.sandbox import reap

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="cmd")
    img.add_image_parser(sub)
    reap.add_reap_parser(sub)
    ns = parser.parse_args(["image", "build", "--slim", "--offline"])
    assert ns.func is img.cli_image_build
    cfg = img._config_from_args(ns)
    assert (cfg.variant, cfg.offline, cfg.resolved_tag()) == ("slim", True, "mlagent-runtime:slim")
    ns = parser.parse_args(["image", "build", "--cuda"])
    cfg = img._config_from_args(ns)
    assert (cfg.variant, cfg.offline, cfg.resolved_tag(), cfg.resolved_torch_index()) == (
        "full",
        None,
        img.CUDA_TAG,
        "",
    )
    assert img._config_from_args(parser.parse_args(["image", "build"])).resolved_torch_index() == img.TORCH_CPU_INDEX
    ns = parser.parse_args(["reap", "--all", "--dry-run"])
    assert ns.func is reap.cli_reap and ns.all and ns.dry_run


# --------------------------------------------------------------------------- with an engine


@pytest.mark.docker
def test_exec_runs_as_agent_in_workspace(docker_sandbox: Any) -> None:
    sb = docker_sandbox(env={"MY_VAR": "42"})
    r = sb.exec(["sh", "-c", "id -u; pwd; echo $MY_VAR $HOME; echo oops >&2; exit 3"], 30)
    uid, cwd, env = r.stdout.splitlines()
    assert uid != "0" and cwd == dsb.WORKSPACE_DIR and env == "42 /tmp"
    assert r.exit_code == 3 and r.stderr == "oops\n" and not r.timed_out and not r.oom_killed
    assert sb.exec([sb.python, "train.py"], 30).stdout == "starter ok\n"
    assert sb.exec(["no-such-command"], 30).exit_code == 127
    assert sb.exec(["cat", "data/train.csv"], 30).stdout.startswith("id,x,y")


@pytest.mark.docker
def test_limits_and_labels_on_the_container(docker_sandbox: Any, docker_client: Any) -> None:
    sb = docker_sandbox(memory_mb=700, cpus=1.0, pids_limit=77, task_id="label-task")
    attrs = docker_client.api.inspect_container(sb.container_id)
    host = attrs["HostConfig"]
    assert host["Memory"] == 700 * 1024 * 1024 and host["MemorySwap"] == host["Memory"]
    assert host["NanoCpus"] == 1_000_000_000 and host["PidsLimit"] == 77
    assert host["NetworkMode"] == "none" and host["ReadonlyRootfs"] is True
    labels = attrs["Config"]["Labels"]
    assert labels[dsb.LABEL_SANDBOX] == "1" and labels[dsb.LABEL_TASK] == "label-task"
    assert labels[dsb.LABEL_RUN_ID] and labels[dsb.LABEL_CREATED_AT].endswith("Z")
    assert dsb.owner_alive(labels[dsb.LABEL_OWNER]) is True
    assert labels[dsb.LABEL_WORKSPACE] == str(sb.workspace.parent)


@pytest.mark.docker
def test_timeout_kills_the_whole_tree(docker_sandbox: Any) -> None:
    sb = docker_sandbox()
    t0 = time.monotonic()
    r = sb.exec(["sh", "-c", "sleep 300 & setsid sleep 301 & (sleep 302 &) ; echo started; sleep 303"], 1.0)
    assert r.timed_out and r.exit_code is None and "started" in r.stdout
    assert "timed out" in r.stderr and time.monotonic() - t0 < 10
    assert sb.exec(["python", "-c", AGENT_PROCS], 30).stdout == ""


@pytest.mark.docker
def test_background_processes_do_not_outlive_the_command(docker_sandbox: Any) -> None:
    sb = docker_sandbox()
    r = sb.exec(["sh", "-c", "nohup sleep 500 >/dev/null 2>&1 & setsid sleep 501 >/dev/null 2>&1 & echo ok"], 30)
    assert r.exit_code == 0 and r.stdout == "ok\n" and r.duration_s < 10
    assert sb.exec(["python", "-c", AGENT_PROCS], 30).stdout == ""


@pytest.mark.docker
def test_output_truncated_head_and_tail(docker_sandbox: Any) -> None:
    sb = docker_sandbox(output_limit=1000)
    code = "import sys; print('HEAD'); print('x' * 200000); print('TAIL'); sys.stderr.write('e' * 5000)"
    r = sb.exec(["python", "-c", code], 60)
    assert r.output_truncated and r.exit_code == 0
    assert r.stdout.startswith("HEAD") and r.stdout.rstrip().endswith("TAIL")
    assert "truncated" in r.stdout and len(r.stdout) < 1200
    assert "truncated" in r.stderr and len(r.stderr) < 1200


@pytest.mark.docker
def test_files_host_side_and_container_agree(docker_sandbox: Any) -> None:
    sb = docker_sandbox()
    sb.write_file("sub/dir/a.txt", b"hello")
    r = sb.exec(["sh", "-c", "cat sub/dir/a.txt; echo; echo more >> sub/dir/a.txt; stat -c %u sub/dir/a.txt sub"], 30)
    lines = r.stdout.splitlines()
    assert lines[0] == "hello"
    assert lines[1] == lines[2] != "0"  # written host-side, owned by the agent
    assert sb.read_file("sub/dir/a.txt") == b"hellomore\n"
    sb.exec(["sh", "-c", "mkdir -p out && printf x > out/b.bin"], 30)
    entries = {e.path: e for e in sb.list_dir(".", recursive=True)}
    assert {"train.py", "data", "data/train.csv", "sub", "sub/dir", "sub/dir/a.txt", "out/b.bin"} <= set(entries)
    assert entries["data"].is_dir and entries["out/b.bin"].size == 1
    assert [e.path for e in sb.list_dir("sub")] == ["sub/dir"]
    assert sb.exists("data/train.csv") and not sb.exists("nope")
    assert sb.read_file("data/train.csv").startswith(b"id,x,y")
    with pytest.raises(WorkspaceFileNotFound):
        sb.read_file("nope.txt")
    with pytest.raises(WorkspaceFileNotFound):
        sb.read_file("sub")
    with pytest.raises(WorkspaceFileNotFound):
        sb.list_dir("train.py")
    with pytest.raises(ReadOnlyPathError):
        sb.write_file("data/evil.csv", b"x")
    with pytest.raises(SandboxError):
        sb.write_file("sub", b"x")
    assert sb.exec(["sh", "-c", "touch data/evil"], 30).exit_code != 0


@pytest.mark.docker
def test_symlinks_resolved_as_the_container_sees_them(docker_sandbox: Any) -> None:
    sb = docker_sandbox()
    sb.write_file("real/f.txt", b"inside")
    script = (
        "ln -s /etc etc_link; ln -s ../../.. up; ln -s /home/agent/workspace/real abs_in; "
        "ln -s real/f.txt rel_in; ln -s data/train.csv to_data; ln -s loop2 loop1; ln -s loop1 loop2; "
        "ln -s /proc/self/root rootlink"
    )
    assert sb.exec(["sh", "-c", script], 30).exit_code == 0
    assert sb.read_file("abs_in/f.txt") == b"inside"
    assert sb.read_file("rel_in") == b"inside"
    assert sb.read_file("to_data").startswith(b"id,x,y")
    for bad in ("etc_link/passwd", "up/etc/passwd", "rootlink/etc/passwd", "etc_link"):
        with pytest.raises(PathEscapeError):
            sb.read_file(bad)
    with pytest.raises(PathEscapeError):
        sb.write_file("etc_link/evil", b"x")
    with pytest.raises(PathEscapeError):
        sb.list_dir("etc_link")
    with pytest.raises(PathEscapeError):
        sb.exists("up/x")
    with pytest.raises(PathEscapeError):
        sb.read_file("loop1")
    with pytest.raises(ReadOnlyPathError):
        sb.write_file("to_data", b"x")
    with pytest.raises(PathEscapeError):
        sb.read_file("../outside")
    listed = {e.path for e in sb.list_dir(".")}
    assert "abs_in" in listed and "rel_in" in listed
    assert not {"etc_link", "up", "rootlink", "loop1"} & listed  # never reveal what lies outside


@pytest.mark.docker
def test_snapshot_restore_roundtrip(docker_sandbox: Any) -> None:
    sb = docker_sandbox()
    sb.write_file("model/w.bin", bytes(range(256)) * 100)
    sb.exec(["sh", "-c", "echo v1 > notes.txt; ln -s model/w.bin link; ln -s /etc out_link"], 30)
    archive = sb.snapshot()
    names = tarfile.open(fileobj=io.BytesIO(archive)).getnames()
    assert "notes.txt" in names and "link" in names and "train.py" in names
    assert not any(n == "data" or n.startswith("data/") for n in names) and "out_link" not in names
    sb.exec(["sh", "-c", "echo v2 > notes.txt; rm -r model; touch extra"], 30)
    sb.restore(archive)
    assert sb.read_file("notes.txt") == b"v1\n" and sb.read_file("link") == bytes(range(256)) * 100
    assert not sb.exists("extra") and sb.exists("data/train.csv")
    r = sb.exec(["sh", "-c", "cat notes.txt && echo v3 > notes.txt && stat -c %u model/w.bin"], 30)
    assert r.exit_code == 0 and r.stdout.splitlines()[1] != "0"  # restored files belong to the agent
    other = docker_sandbox()
    other.restore(archive)
    assert other.read_file("model/w.bin") == bytes(range(256)) * 100


@pytest.mark.docker
def test_local_snapshot_restores_into_docker(docker_sandbox: Any, task_dirs: dict[str, Any]) -> None:
    from mlagent_env.sandbox.local import LocalSandbox

    local = LocalSandbox(SandboxSpec(task_id="x", starter_dir=task_dirs["starter"], public_dir=task_dirs["public"]))
    try:
        local.write_file("feat/a.py", b"print(1)\n")
        archive = local.snapshot()
    finally:
        local.close()
    sb = docker_sandbox(starter_dir=None)
    sb.restore(archive)
    assert sb.exec(["python", "feat/a.py"], 30).stdout == "1\n"
    assert sb.read_file("train.py") == b"print('starter ok')\n"


@pytest.mark.docker
def test_oom_kill_reported_and_next_step_works(docker_sandbox: Any) -> None:
    sb = docker_sandbox(memory_mb=256)
    r = sb.exec(["python", "-c", "x = b'x' * (1 << 30)"], 60)
    assert r.oom_killed and r.exit_code == 137 and not r.ok and "out of memory" in r.stderr
    ok = sb.exec(["python", "-c", "print('alive')"], 30)
    assert ok.ok and ok.stdout == "alive\n" and not ok.oom_killed
    assert not sb.exec(["sh", "-c", "kill -9 $$"], 30).oom_killed  # a SIGKILL is not an OOM


@pytest.mark.docker
def test_dead_container_is_recreated_on_the_same_workspace(docker_sandbox: Any, docker_client: Any) -> None:
    sb = docker_sandbox()
    sb.write_file("keep.txt", b"kept")
    old = sb.container_id
    docker_client.api.kill(old)
    r = sb.exec(["cat", "keep.txt"], 30)
    assert r.ok and r.stdout == "kept" and sb.container_id != old


@pytest.mark.docker
def test_close_is_idempotent_and_final(docker_sandbox: Any, docker_client: Any) -> None:
    sb = docker_sandbox()
    cid, root = sb.container_id, sb.workspace.parent
    sb.close()
    sb.close()
    with pytest.raises(docker.errors.NotFound):
        docker_client.api.inspect_container(cid)
    assert not root.exists()
    with pytest.raises(SandboxError):
        sb.exec(["true"], 5)


@pytest.mark.docker
def test_missing_image_names_the_build_command(docker_client: Any, task_dirs: dict[str, Any]) -> None:
    spec = SandboxSpec(task_id="t", public_dir=task_dirs["public"])
    with pytest.raises(dsb.ImageMissing, match="image build"):
        dsb.DockerSandbox(spec, image="mlagent-runtime:does-not-exist", client=docker_client)


@pytest.mark.docker
def test_pool_reuses_clean_containers(docker_sandbox: Any, docker_client: Any, slim_image: str) -> None:
    from mlagent_env.sandbox.pool import WarmPool

    with WarmPool(size=1, client=docker_client) as pool:
        first = docker_sandbox(pool=pool)
        cid = first.container_id
        first.exec(["sh", "-c", "echo secret > /tmp/leak; echo w > ws.txt; mkdir -p /dev/shm/x"], 30)
        first.close()
        deadline = time.monotonic() + 30
        while pool.recycled < 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        # the refill after the first acquire plus the recycled one: at most `size` kept
        assert pool.ready_count() == 1
        second = docker_sandbox(pool=pool)
        assert pool.hits >= 1
        r = second.exec(["sh", "-c", "ls -A /tmp /dev/shm; ls"], 30)
        assert "leak" not in r.stdout and "ws.txt" not in r.stdout and "train.py" in r.stdout
        if second.container_id == cid:
            assert second.exec(["python", "-c", AGENT_PROCS], 30).stdout == ""
        # an OOM taints the container: the pool never hands it out again
        tainted = docker_sandbox(pool=pool, memory_mb=256)
        assert tainted.exec(["python", "-c", "x = b'x' * (1 << 30)"], 60).oom_killed
        tainted_id = tainted.container_id
        tainted.close()
        time.sleep(0.5)
        again = docker_sandbox(pool=pool, memory_mb=256)
        assert again.container_id != tainted_id
        again.close()
        second.close()
    left = docker_client.api.containers(all=True, filters={"label": f"{dsb.LABEL_POOL}={pool.pool_id}"})
    assert left == []


@pytest.mark.docker
def test_warm_rebuild_uses_the_layer_cache(docker_client: Any, slim_image: str) -> None:
    if slim_image != img.SLIM_TAG:
        pytest.skip("MLAGENT_TEST_IMAGE points at another image")
    config = img.ImageBuildConfig(variant="slim", offline=True)
    first = img.build_image(config, client=docker_client, log=lambda m: None)  # brings it up to date
    again = img.build_image(config, client=docker_client, log=lambda m: None)
    assert again.image_id == first.image_id and again.offline
    assert again.base_image == img.offline_base_tag()
    assert again.cached_steps >= 3 and again.seconds < 60
