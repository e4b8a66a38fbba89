"""Container lifecycle: what fixes a container (:class:`ContainerConfig`), the ``containers.run``
arguments that isolate it, starting one on a fresh host workspace, asking whether it still runs,
and removing it with its workspace."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlagent_env.errors import MLAgentError, SandboxError
from mlagent_env.sandbox.agent_files import remove_tree
from mlagent_env.sandbox.base import DATA_DIR_NAME, SandboxSpec
from mlagent_env.sandbox import bundled_data
from mlagent_env.sandbox.bundled_data import IMAGE_LABEL, IMAGE_LABEL_VALUE
from mlagent_env.sandbox.docker.client import agent_ids, container_labels
from mlagent_env.sandbox.quota import DiskQuota, release_disk

WORKSPACE_DIR = "/home/agent/workspace"
"""The workspace inside the container (fixed); the public data is at ``WORKSPACE_DIR/data``."""
DEFAULT_IMAGE = "mlagent-runtime:full"
WORKSPACE_PREFIX = "mlagent-ws-"


class ImageMissing(MLAgentError):
    """The runtime image is not in the engine; the message gives the command that builds it."""


class ImageOutdated(MLAgentError):
    """The runtime image was built before a change that the sandbox relies on (it lacks the label
    that says its packages' bundled datasets are removed); the message gives the command that
    rebuilds it."""


class ImageHoldsBundledData(MLAgentError):
    """The image carries the label, but its packages still hold datasets that the offline tasks are
    built from (an image built FROM the runtime image that installs more packages inherits the
    label); the message names the files and how to remove them."""


_checked_images: set[str] = set()
"""The image IDs whose contents this process has checked (:func:`check_contents`)."""


def _build_command(image: str) -> str:
    variant = "--slim --offline" if "slim" in image else "--cuda" if "cuda" in image else "--offline"
    return f"mlagent-env image build {variant}"


def check_image(client: Any, image: str) -> str:
    """Refuse ``image`` unless it is in the engine and says (``bundled_data.IMAGE_LABEL``) that the
    datasets bundled with its packages were removed at build: in an older image agent code could
    look the offline tasks' answers up in them. One API call, no container; returns the image's ID
    (what :func:`check_contents` checks once)."""
    import docker  # noqa: PLC0415

    try:
        found = client.api.inspect_image(image)
        labels = found.get("Config", {}).get("Labels") or {}
    except docker.errors.ImageNotFound as e:
        raise ImageMissing(
            f"the runtime image {image!r} is not built: run `{_build_command(image)}` "
            "(or pass image=... / set MLAGENT_IMAGE)"
        ) from e
    if labels.get(IMAGE_LABEL) != IMAGE_LABEL_VALUE:
        raise ImageOutdated(
            f"the runtime image {image!r} predates hiding the datasets that its packages bundle (label "
            f"{IMAGE_LABEL}={IMAGE_LABEL_VALUE} missing), so agent code could look the offline tasks' answers up "
            f"in them: rebuild it with `{_build_command(image)}` (an image built FROM it: rebuild that on the "
            "new runtime image)"
        )
    return str(found.get("Id") or image)


def check_contents(client: Any, container_id: str, image_id: str, image: str) -> None:
    """Refuse the image unless its interpreter's packages hold none of the datasets that
    ``bundled_data.SOURCES`` knows: this file's own ``--check`` (so the list is the host's, not the
    image's copy) run once in ``container_id``, the first container of ``image_id`` this process starts.
    The label cannot say this: an image built FROM the runtime image inherits it."""
    if image_id in _checked_images:
        return
    source = Path(bundled_data.__file__).read_text()
    res = client.containers.get(container_id).exec_run(
        ["python", "-I", "-c", source, "--check"], user="agent", demux=True
    )
    _, err = res.output if isinstance(res.output, tuple) else (res.output, b"")
    if res.exit_code != 0:
        found = [line.removeprefix("bundled data left: ") for line in (err or b"").decode(errors="replace").splitlines()]
        raise ImageHoldsBundledData(
            f"the image {image!r} holds {len(found)} data files that the offline tasks are built from, so agent "
            f"code could look their answers up: {'; '.join(found[:5]) or f'(--check exited {res.exit_code})'}"
            f"{' ...' if len(found) > 5 else ''}. Remove them where the image is built: add "
            "`RUN /opt/venv/bin/python -I /opt/mlagent/bundled_data.py --remove` (as root) to its Dockerfile "
            "after the packages are installed, and rebuild it"
        )
    _checked_images.add(image_id)


@dataclass(frozen=True)
class ContainerConfig:
    """What fixes a container at creation; containers with equal configs are interchangeable (pool key)."""

    image: str
    memory_mb: int = 4096
    cpus: float | None = None
    pids_limit: int = 256
    network: bool = False
    gpus: int | str | None = None
    public_dir: str | None = None
    disk_mb: int = 8192

    @classmethod
    def from_spec(cls, spec: SandboxSpec, image: str | None = None) -> "ContainerConfig":
        img = image or spec.image or os.environ.get("MLAGENT_IMAGE") or DEFAULT_IMAGE
        public = str(Path(spec.public_dir).resolve()) if spec.public_dir is not None else None
        return cls(img, spec.memory_mb, spec.cpus, spec.pids_limit, spec.network, spec.gpus, public, spec.disk_mb)


@dataclass
class ContainerHandle:
    """A started container and its host-side workspace."""

    id: str
    root: Path
    config: ContainerConfig
    labels: dict[str, str] = field(default_factory=dict)
    oom_kills: int = 0
    tainted: bool = False
    disk: DiskQuota | None = None

    @property
    def workspace(self) -> Path:
        return self.root / "workspace"

    @property
    def data_dir(self) -> Path:
        """The host folder mounted at ``data/``: the public data's hard-linked view (see :func:`public_view`)."""
        return self.root / "public"


def _device_requests(gpus: int | str | None) -> list[Any] | None:
    if gpus in (None, 0, "", "0", "none"):
        return None
    from docker.types import DeviceRequest  # noqa: PLC0415

    if isinstance(gpus, int):
        return [DeviceRequest(count=gpus, capabilities=[["gpu"]])]
    text = str(gpus).strip()
    if text == "all":
        return [DeviceRequest(count=-1, capabilities=[["gpu"]])]
    if text.isdigit():
        return [DeviceRequest(count=int(text), capabilities=[["gpu"]])]
    ids = [x.strip() for x in text.removeprefix("device=").split(",") if x.strip()]
    return [DeviceRequest(device_ids=ids, capabilities=[["gpu"]])]


def container_run_kwargs(
    config: ContainerConfig, *, workspace: Path, data_dir: Path, labels: dict[str, str], file_size_cap: bool = False
) -> dict[str, Any]:
    """The ``client.containers.run`` arguments for ``config`` (pure; tested without an engine).
    ``file_size_cap``: cap each file at ``disk_mb``, the fallback where no disk quota is mounted."""
    from docker.types import Mount, Ulimit  # noqa: PLC0415

    small_mb = max(64, config.memory_mb // 4)  # tmpfs pages count against the memory limit
    kwargs: dict[str, Any] = dict(
        image=config.image,
        command=["sleep", "infinity"],
        detach=True,
        init=True,
        user="0:0",
        working_dir=WORKSPACE_DIR,
        hostname="sandbox",
        labels=labels,
        read_only=True,
        tmpfs={"/tmp": f"rw,nosuid,nodev,size={small_mb}m,mode=1777"},
        shm_size=f"{small_mb}m",
        mounts=[
            Mount(WORKSPACE_DIR, str(workspace), type="bind", read_only=False),
            Mount(f"{WORKSPACE_DIR}/{DATA_DIR_NAME}", str(data_dir), type="bind", read_only=True),
        ],
        network_mode="bridge" if config.network else "none",
        mem_limit=f"{config.memory_mb}m",
        memswap_limit=f"{config.memory_mb}m",
        pids_limit=config.pids_limit,
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
    )
    if config.cpus:
        kwargs["nano_cpus"] = int(config.cpus * 1e9)
    if file_size_cap:
        kwargs["ulimits"] = [Ulimit(name="fsize", soft=config.disk_mb << 20, hard=config.disk_mb << 20)]
    requests = _device_requests(config.gpus)
    if requests:
        kwargs["device_requests"] = requests
    return kwargs


def _workspace_root() -> Path:
    base = os.environ.get("MLAGENT_WORKSPACE_ROOT") or None
    return Path(tempfile.mkdtemp(prefix=WORKSPACE_PREFIX, dir=base)).resolve()


def file_owner() -> tuple[int, int] | None:
    """(uid, gid) that files the host writes into the workspace get; None when not root (ours)."""
    return agent_ids() if os.geteuid() == 0 else None


def chown(path: Path | str) -> None:
    uid, gid = agent_ids()
    if os.geteuid() == 0:
        os.lchown(path, uid, gid)


def chown_tree(path: Path) -> None:
    if os.geteuid() != 0:
        return
    uid, gid = agent_ids()
    os.lchown(path, uid, gid)
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            os.lchown(os.path.join(dirpath, name), uid, gid)


def public_view(public: Path | None, view: Path) -> None:
    """Make ``view`` a tree of hard links to the files of ``public`` (copies across file systems).

    The container mounts the view, not the data root's folder, so that nothing in its
    ``/proc/self/mountinfo`` (which shows a bind mount's path on its file system) names the host's
    data root. Made once per container root; empty when the task has no public data."""
    if view.exists():
        return
    view.mkdir()
    os.chmod(view, 0o755)
    if public is None:
        return
    for dirpath, dirnames, filenames in os.walk(public):  # the prepared data: shallow, written by us
        rel = os.path.relpath(dirpath, public)
        target = view if rel == "." else view / rel
        for d in dirnames:
            (target / d).mkdir()
            os.chmod(target / d, 0o755)  # the agent's uid passes, whatever the host's umask
        for f in filenames:
            src = Path(dirpath) / f
            if src.is_symlink() or not src.is_file():
                continue
            try:
                os.link(src, target / f)
            except OSError:
                shutil.copyfile(src, target / f)


def start_container(
    client: Any,
    config: ContainerConfig,
    *,
    task_id: str,
    run_id: str | None = None,
    pool_id: str = "",
    root: Path | None = None,
) -> ContainerHandle:
    """Create the host workspace (unless ``root`` is given) and start a container on it."""
    import docker  # noqa: PLC0415

    image_id = check_image(client, config.image)
    root = root or _workspace_root()
    handle_cfg = config
    try:
        disk = DiskQuota(root, config.disk_mb)
        ws = disk.mount
        chown(ws)
        os.chmod(ws, 0o755)
        data_dir = root / "public"
        public_view(Path(config.public_dir) if config.public_dir else None, data_dir)
    except BaseException:
        release_disk(root)
        remove_tree(root)
        raise
    labels = container_labels(task_id, run_id, root, pool_id)
    kwargs = container_run_kwargs(
        handle_cfg, workspace=ws, data_dir=data_dir, labels=labels, file_size_cap=not disk.enforced
    )
    kwargs.pop("detach")
    try:
        container = client.containers.create(**kwargs)  # never pulls: the image is built here
    except docker.errors.APIError as e:
        release_disk(root)
        remove_tree(root)
        raise SandboxError(f"could not create a container from {config.image!r}: {e.explanation or e}") from e
    try:
        container.start()
    except docker.errors.APIError as e:
        discard(client, ContainerHandle(container.id, root, config, labels))
        raise SandboxError(f"could not start a container from {config.image!r}: {e.explanation or e}") from e
    try:
        check_contents(client, container.id, image_id, config.image)
    except BaseException:
        discard(client, ContainerHandle(container.id, root, config, labels, disk=disk))
        raise
    return ContainerHandle(container.id, root, config, labels, disk=disk)


def remove_container(client: Any, container_id: str) -> None:
    import docker  # noqa: PLC0415

    try:
        client.api.remove_container(container_id, force=True, v=True)
    except docker.errors.NotFound:
        pass
    except docker.errors.APIError as e:
        if "already in progress" not in str(e):
            raise


def discard(client: Any, handle: ContainerHandle) -> None:
    """Remove the container and its host workspace (best effort on the folder)."""
    try:
        remove_container(client, handle.id)
    finally:
        release_disk(handle.root)
        remove_tree(handle.root)


def container_running(client: Any, container_id: str) -> tuple[bool, bool]:
    """(running, OOMKilled) from the engine's view of the container."""
    import docker  # noqa: PLC0415

    try:
        state = client.api.inspect_container(container_id)["State"]
    except docker.errors.NotFound:
        return False, False
    return bool(state.get("Running")), bool(state.get("OOMKilled"))
