"""Build the task runtime image (``docker/Dockerfile``), with or without a registry.

Online, the image starts from ``python:3.11-slim`` and pip installs from the package index.
Offline (asked for, or when no registry answers) it needs neither a registry nor network access
from inside the build:

1. the base image is a Debian rootfs made by ``debootstrap --variant=minbase`` with Debian's
   python3.11 and python3-venv, imported with ``docker import`` and cached by name and tag
   (``mlagent-base:<suite>-py311-<hash>``), so a rebuild never redoes it;
2. the Python packages come from a wheelhouse that the host fills with ``pip download
   --only-binary=:all: --python-version 3.11 --platform manylinux...`` (or that you bring, for an
   air-gapped cluster: ``--wheelhouse DIR``), installed with ``pip install --no-index``.

Rebuilding with nothing changed only replays Docker's layer cache (seconds).

CLI (hooked into ``mlagent-env`` by :func:`add_image_parser`; also ``python -m
mlagent_env.sandbox.image build ...``)::

    mlagent-env image build [--slim] [--offline] [--cuda] [--tag T] [--wheelhouse DIR] [--mirror URL]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

from mlagent_env.errors import MLAgentError
from mlagent_env.sandbox import bundled_data
from mlagent_env.sandbox.docker.container import ImageMissing, ImageOutdated, check_image

RUNTIME_REPO = "mlagent-runtime"
SLIM_TAG = f"{RUNTIME_REPO}:slim"
FULL_TAG = f"{RUNTIME_REPO}:full"
CUDA_TAG = f"{RUNTIME_REPO}:full-cuda"
ONLINE_BASE = "python:3.11-slim"
BASE_REPO = "mlagent-base"
DEFAULT_SUITE = "bookworm"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
DEBOOTSTRAP_PACKAGES = ("python3", "python3-venv", "ca-certificates", "procps", "libgomp1")
BASE_RECIPE_VERSION = "1"  # bump when the rootfs recipe changes, so that the cached base is rebuilt
TORCH_VERSION = "2.13.0"
TORCHVISION_VERSION = "0.28.0"
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
PYTHON_VERSION = "3.11"

Variant = Literal["slim", "full"]
Log = Callable[[str], None]


class ImageBuildError(MLAgentError):
    """The runtime image could not be built; the message says which step failed and what to do."""


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def default_tag(variant: Variant, cuda: bool = False) -> str:
    if variant == "slim":
        return SLIM_TAG
    return CUDA_TAG if cuda else FULL_TAG


def docker_dir() -> Path:
    """The folder holding the Dockerfile and requirements: ``$MLAGENT_DOCKER_DIR``, the repository's
    ``docker/``, or a copy shipped inside the package (``mlagent_env/_docker``)."""
    candidates = []
    if os.environ.get("MLAGENT_DOCKER_DIR"):
        candidates.append(Path(os.environ["MLAGENT_DOCKER_DIR"]))
    here = Path(__file__).resolve()
    candidates += [here.parents[2] / "docker", here.parents[1] / "_docker"]
    for c in candidates:
        if (c / "Dockerfile").is_file():
            return c
    raise ImageBuildError(
        "cannot find docker/Dockerfile; set MLAGENT_DOCKER_DIR to the folder that holds it "
        f"(looked in: {', '.join(str(c) for c in candidates)})"
    )


def cache_dir() -> Path:
    root = os.environ.get("MLAGENT_DATA_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "mlagent")
    return Path(root)


@dataclass
class ImageBuildConfig:
    """What :func:`build_image` builds. Each field has a CLI flag of the same name."""

    variant: Variant = "full"
    """``slim`` (numpy, pandas, scikit-learn) or ``full`` (+ lightgbm, torch, torchvision, torch-geometric, transformers)."""
    offline: bool | None = None
    """True: debootstrap base + wheelhouse; False: ``python:3.11-slim`` + index; None: online if a registry answers."""
    cuda: bool = False
    """Full image only: a CUDA build of torch instead of the CPU build."""
    tag: str | None = None
    """Image tag; default ``mlagent-runtime:slim|full|full-cuda``."""
    wheelhouse: Path | None = None
    """Offline: a folder of wheels to install from. Default: a cache folder filled with ``pip download``."""
    mirror: str | None = None
    """Offline: the Debian mirror for debootstrap. Default: the one apt uses on this host."""
    suite: str = DEFAULT_SUITE
    """Offline: the Debian release of the base (bookworm ships Python 3.11)."""
    base_image: str | None = None
    """Use this base instead (must provide python3 3.11). Skips debootstrap and the registry check."""
    no_cache: bool = False
    """Do not use Docker's layer cache."""
    torch_version: str = TORCH_VERSION
    torchvision_version: str = TORCHVISION_VERSION
    torch_index_url: str | None = None
    """Where torch comes from; default the CPU wheel index, or the default index with ``cuda``."""
    verbose: bool = False
    """Print every line of the build, not only its steps."""
    extra_buildargs: dict[str, str] = field(default_factory=dict)

    def resolved_tag(self) -> str:
        return self.tag or default_tag(self.variant, self.cuda)

    def resolved_torch_index(self) -> str:
        if self.torch_index_url is not None:
            return self.torch_index_url
        return "" if self.cuda else TORCH_CPU_INDEX


@dataclass
class BuildResult:
    tag: str
    image_id: str
    offline: bool
    base_image: str
    seconds: float
    steps: int
    cached_steps: int


# --------------------------------------------------------------------------- docker client
def docker_client(timeout: int = 600) -> Any:
    """A docker-py client that answers, or :class:`ImageBuildError` saying how to get one."""
    try:
        import docker  # noqa: PLC0415
    except ImportError as e:  # pragma: no cover - docker is a dependency of the docker extra
        raise ImageBuildError("the docker Python package is missing: pip install docker") from e
    try:
        client = docker.from_env(timeout=timeout)
        client.ping()
        return client
    except Exception as e:
        raise ImageBuildError(
            f"no Docker engine answers ({e}). Start one (e.g. `dockerd &` as root, or "
            "`systemctl start docker`) and check `docker info`."
        ) from e


def image_exists(client: Any, tag: str) -> bool:
    import docker  # noqa: PLC0415

    try:
        client.images.get(tag)
        return True
    except docker.errors.ImageNotFound:
        return False


def registry_reachable(client: Any, image: str = ONLINE_BASE, timeout_s: float = 90.0, log: Log = _stderr) -> bool:
    """Whether ``image`` is here or can be pulled now (the pull is the check)."""
    if image_exists(client, image):
        return True
    repo, _, tag = image.partition(":")
    outcome: dict[str, Any] = {}

    def pull() -> None:
        try:
            client.images.pull(repo, tag=tag or "latest")
            outcome["ok"] = True
        except Exception as e:  # network errors come in many types
            outcome["error"] = e

    t = threading.Thread(target=pull, daemon=True)
    t.start()
    t.join(timeout_s)
    if outcome.get("ok"):
        return True
    reason = outcome.get("error", f"no answer in {timeout_s:g} s")
    log(f"[image] no registry answers for {image} ({str(reason).strip()[:200]}); building offline")
    return False


# --------------------------------------------------------------------------- offline base
def apt_mirror() -> str:
    """The Debian mirror that apt uses on this host (deb822 or one-line sources), else deb.debian.org."""
    if os.environ.get("MLAGENT_DEBIAN_MIRROR"):
        return os.environ["MLAGENT_DEBIAN_MIRROR"]
    files = [Path("/etc/apt/sources.list")] + sorted(Path("/etc/apt/sources.list.d").glob("*"))
    for f in files:
        if not f.is_file() or not (f.suffix in (".list", ".sources") or f.name == "sources.list"):
            continue
        try:
            text = f.read_text()
        except OSError:
            continue
        for m in re.finditer(r"^\s*URIs:\s*(\S+)", text, re.M):
            if m.group(1).rstrip("/").endswith("/debian"):
                return m.group(1)
        for m in re.finditer(r"^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+\S+", text, re.M):
            if m.group(1).rstrip("/").endswith("/debian"):
                return m.group(1)
    return DEFAULT_MIRROR


def offline_base_tag(suite: str = DEFAULT_SUITE) -> str:
    key = json.dumps([BASE_RECIPE_VERSION, suite, "minbase", sorted(DEBOOTSTRAP_PACKAGES), platform.machine()])
    return f"{BASE_REPO}:{suite}-py311-{hashlib.sha256(key.encode()).hexdigest()[:10]}"


def ensure_offline_base(client: Any, suite: str = DEFAULT_SUITE, mirror: str | None = None, log: Log = _stderr) -> str:
    """The debootstrap base image, made once and then found by its tag."""
    tag = offline_base_tag(suite)
    if image_exists(client, tag):
        log(f"[image] base {tag}: cached")
        return tag
    if shutil.which("debootstrap") is None:
        raise ImageBuildError(
            "the offline build needs debootstrap: apt-get install -y debootstrap (or pass --base-image)"
        )
    if os.geteuid() != 0:
        raise ImageBuildError(
            "debootstrap needs root: run the offline build as root once (the base is cached afterwards), "
            "or pass --base-image IMAGE with an image that provides python3.11"
        )
    mirror = mirror or apt_mirror()
    work = Path(tempfile.mkdtemp(prefix="mlagent-rootfs-", dir=os.environ.get("MLAGENT_BUILD_TMP", "/var/tmp")))
    rootfs = work / "rootfs"
    try:
        log(f"[image] debootstrap {suite} from {mirror} (about a minute)...")
        t0 = time.monotonic()
        cmd = [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(DEBOOTSTRAP_PACKAGES)}",
            suite,
            str(rootfs),
            mirror,
        ]
        _run_with_progress(cmd, work / "debootstrap.log", log, prefix="[debootstrap] ")
        log(f"[image] rootfs ready in {time.monotonic() - t0:.0f} s; importing as {tag}")
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
            d = rootfs / junk
            if d.is_dir():
                for child in d.iterdir():
                    if child.is_file() and child.name != "lock":
                        child.unlink()
        tar_path = work / "rootfs.tar"
        subprocess.run(
            [
                "tar",
                "-C",
                str(rootfs),
                "--numeric-owner",
                "--exclude=./dev/*",
                "--exclude=./proc/*",
                "--exclude=./sys/*",
                "-cf",
                str(tar_path),
                ".",
            ],
            check=True,
        )
        repo, _, version = tag.partition(":")
        client.api.import_image_from_file(
            str(tar_path),
            repository=repo,
            tag=version,
            changes=[
                "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "ENV LANG=C.UTF-8",
                'CMD ["/bin/bash"]',
            ],
        )
        if not image_exists(client, tag):
            raise ImageBuildError(f"docker import did not produce {tag}")
        return tag
    except subprocess.CalledProcessError as e:
        raise ImageBuildError(
            f"{e.cmd[0]} failed with exit code {e.returncode}; see {work / 'debootstrap.log'} "
            "(is the Debian mirror reachable? pass --mirror URL)"
        ) from e
    finally:
        if os.environ.get("MLAGENT_KEEP_ROOTFS") != "1":
            shutil.rmtree(work / "rootfs", ignore_errors=True)
            (work / "rootfs.tar").unlink(missing_ok=True)


def _run_with_progress(cmd: list[str], logfile: Path, log: Log, prefix: str) -> None:
    """Run ``cmd``, logging to ``logfile`` and echoing one line in 20 so that progress shows."""
    with open(logfile, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert proc.stdout is not None
        n = 0
        for line in proc.stdout:
            fh.write(line)
            n += 1
            if n % 20 == 1 or line.startswith("E:"):
                log(prefix + line.rstrip())
        rc = proc.wait()
    if rc != 0:
        raise subprocess.CalledProcessError(rc, cmd)


# --------------------------------------------------------------------------- wheelhouse
def _platform_tags() -> list[str]:
    arch = platform.machine() or "x86_64"
    if arch == "amd64":
        arch = "x86_64"
    tags = [f"manylinux2014_{arch}"]  # pip expands this one to manylinux2010 and manylinux1
    tags += [f"manylinux_2_{minor}_{arch}" for minor in range(17, 37)]  # bookworm's glibc is 2.36
    return tags


def _requirement_lines(path: Path) -> list[str]:
    out = []
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(line)
    return out


def wheelhouse_key(config: ImageBuildConfig, ddir: Path) -> str:
    parts: list[Any] = [config.variant, _platform_tags()[-1], _requirement_lines(ddir / "requirements-slim.txt")]
    if config.variant == "full":
        parts += [
            _requirement_lines(ddir / "requirements-full.txt"),
            config.torch_version,
            config.torchvision_version,
            config.resolved_torch_index(),
        ]
    digest = hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:12]
    return f"{config.variant}{'-cuda' if config.cuda else ''}-{digest}"


def _pip_download(dest: Path, requirements: list[str], extra: list[str], log: Log) -> None:
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--disable-pip-version-check",
        "--only-binary=:all:",
        "--python-version",
        PYTHON_VERSION,
        "--implementation",
        "cp",
        "--abi",
        "cp311",
        "-d",
        str(dest),
    ]
    for tag in _platform_tags():
        cmd += ["--platform", tag]
    cmd += extra + requirements
    log(f"[image] pip download {' '.join(requirements)}")
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-15:])
        raise ImageBuildError(
            f"pip download failed (exit {proc.returncode}); without a package index, bring a filled "
            f"wheelhouse with --wheelhouse DIR.\n{tail}"
        )


def fill_wheelhouse(config: ImageBuildConfig, dest: Path | None = None, log: Log = _stderr) -> Path:
    """Download every wheel the image needs (for Linux, CPython 3.11) into ``dest``.

    Without ``dest``, a cache folder keyed by the requirements; a complete one is reused without
    asking the index. Run this on a connected machine and carry the folder to an air-gapped one.
    """
    ddir = docker_dir()
    if dest is None:
        dest = cache_dir() / "wheelhouse" / wheelhouse_key(config, ddir)
    dest = Path(dest)
    marker = dest / ".complete"
    if marker.is_file():
        log(f"[image] wheelhouse {dest}: complete, reused")
        return dest
    dest.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    _pip_download(dest, _requirement_lines(ddir / "requirements-slim.txt"), [], log)
    if config.variant == "full":
        index = config.resolved_torch_index()
        extra = ["--extra-index-url", index] if index else []
        _pip_download(
            dest, [f"torch=={config.torch_version}", f"torchvision=={config.torchvision_version}"], extra, log
        )
        _pip_download(dest, _requirement_lines(ddir / "requirements-full.txt"), [], log)
    marker.write_text(time.strftime("%Y-%m-%dT%H:%M:%S") + "\n")
    n = len(list(dest.glob("*.whl")))
    log(f"[image] wheelhouse {dest}: {n} wheels in {time.monotonic() - t0:.0f} s")
    return dest


# --------------------------------------------------------------------------- build
def _prepare_context(ddir: Path, wheelhouse: Path | None) -> Path:
    ctx = Path(tempfile.mkdtemp(prefix="mlagent-image-ctx-"))
    for name in ("Dockerfile", "requirements-slim.txt", "requirements-full.txt"):
        shutil.copy2(ddir / name, ctx / name)
    shutil.copy2(bundled_data.__file__, ctx / "bundled_data.py")
    wheels = ctx / "wheels"
    wheels.mkdir()
    (wheels / "README").write_text("wheels for the offline build (empty when building online)\n")
    if wheelhouse is not None:
        for whl in sorted(Path(wheelhouse).glob("*.whl")):
            try:
                os.link(whl, wheels / whl.name)
            except OSError:
                shutil.copy2(whl, wheels / whl.name)
    return ctx


_STEP_RE = re.compile(r"^Step (\d+)/(\d+) : (.*)")


def _stream_build(
    client: Any, ctx: Path, tag: str, buildargs: dict[str, str], no_cache: bool, verbose: bool, log: Log
) -> tuple[str, int, int]:
    """Run the build, showing a progress bar over the Dockerfile's steps. Returns (image id, steps, cached steps)."""
    try:
        from tqdm import tqdm  # noqa: PLC0415
    except ImportError:  # pragma: no cover
        tqdm = None
    bar = None
    steps = cached = 0
    image_id = ""
    recent: list[str] = []
    current = ""
    stream = client.api.build(
        path=str(ctx), tag=tag, buildargs=buildargs, rm=True, forcerm=True, nocache=no_cache, decode=True, pull=False
    )
    try:
        for chunk in stream:
            if "error" in chunk:
                detail = chunk.get("errorDetail", {}).get("message") or chunk["error"]
                tail = "".join(recent[-25:])
                raise ImageBuildError(f"docker build failed at {current!r}: {detail.strip()}\n{tail}")
            text = chunk.get("stream", "")
            if not text:
                if "aux" in chunk and "ID" in chunk["aux"]:
                    image_id = chunk["aux"]["ID"]
                continue
            recent.append(text)
            del recent[:-200]
            for line in text.splitlines():
                m = _STEP_RE.match(line)
                if m:
                    steps = int(m.group(2))
                    current = m.group(3)
                    if tqdm is not None and bar is None and not verbose:
                        bar = tqdm(total=steps, desc=f"build {tag}", unit="step", file=sys.stderr, leave=True)
                    if bar is not None:
                        bar.n = int(m.group(1)) - 1
                        bar.set_postfix_str(current[:50])
                    else:
                        log(f"[image] {line}")
                elif "Using cache" in line:
                    cached += 1
                elif verbose and line.strip():
                    log("    " + line)
                m2 = re.match(r"^Successfully built ([0-9a-f]+)", line)
                if m2:
                    image_id = m2.group(1)
    finally:
        if bar is not None:
            bar.n = bar.total
            bar.close()
    return image_id, steps, cached


def build_image(config: ImageBuildConfig, client: Any = None, log: Log = _stderr) -> BuildResult:
    """Build (or, with nothing changed, re-tag from cache) the runtime image. See the module docstring."""
    t0 = time.monotonic()
    client = client or docker_client()
    tag = config.resolved_tag()
    ddir = docker_dir()
    if config.cuda and config.variant != "full":
        raise ImageBuildError("--cuda applies to the full image; drop --slim")
    if config.base_image:
        base, offline = config.base_image, bool(config.offline)
    else:
        offline = config.offline if config.offline is not None else not registry_reachable(client, ONLINE_BASE, log=log)
        base = ensure_offline_base(client, config.suite, config.mirror, log) if offline else ONLINE_BASE
    wheelhouse = None
    if offline:
        given = Path(config.wheelhouse) if config.wheelhouse is not None else None
        if given is not None and any(given.glob("*.whl")):
            wheelhouse = given  # brought from elsewhere (air-gapped): taken as it is
            log(f"[image] wheelhouse {wheelhouse}: as given")
        else:
            wheelhouse = fill_wheelhouse(config, given, log)
    buildargs = {
        "BASE_IMAGE": base,
        "VARIANT": config.variant,
        "PIP_OFFLINE": "1" if offline else "0",
        "TORCH_VERSION": config.torch_version,
        "TORCHVISION_VERSION": config.torchvision_version,
        "TORCH_INDEX_URL": config.resolved_torch_index(),
        **config.extra_buildargs,
    }
    ctx = _prepare_context(ddir, wheelhouse)
    try:
        log(f"[image] building {tag} ({config.variant}, {'offline' if offline else 'online'}, base {base})")
        image_id, steps, cached = _stream_build(client, ctx, tag, buildargs, config.no_cache, config.verbose, log)
    finally:
        shutil.rmtree(ctx, ignore_errors=True)
    if not image_exists(client, tag):
        raise ImageBuildError(f"the build finished but {tag} is not there; rerun with --verbose")
    image_id = client.images.get(tag).id
    seconds = time.monotonic() - t0
    log(f"[image] {tag} ready ({image_id[:19]}) in {seconds:.1f} s; {cached}/{steps} steps from cache")
    return BuildResult(tag, image_id, offline, base, seconds, steps, cached)


def ensure_image(
    variant: Variant = "slim",
    *,
    offline: bool | None = True,
    client: Any = None,
    rebuild: bool = False,
    log: Log = _stderr,
) -> str:
    """The tag of a runtime image of ``variant``: the existing one when it is current (see
    :func:`~mlagent_env.sandbox.docker.container.check_image`), else a fresh build."""
    client = client or docker_client()
    tag = default_tag(variant)
    if not rebuild:
        try:
            check_image(client, tag)
            return tag
        except ImageOutdated as e:
            log(f"[image] {e}: rebuilding it")
        except ImageMissing:
            pass
    return build_image(ImageBuildConfig(variant=variant, offline=offline), client=client, log=log).tag


# --------------------------------------------------------------------------- CLI
def add_image_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Add ``image build`` to an ``argparse`` subparsers object; the handler is :func:`cli_image_build`."""
    image = subparsers.add_parser("image", help="build the Docker runtime image for the tasks")
    image_sub = image.add_subparsers(dest="image_command", required=True)
    b = image_sub.add_parser("build", help="build the runtime image (offline when no registry answers)")
    b.add_argument("--slim", action="store_true", help="numpy, pandas, scikit-learn only (fast; for tests)")
    b.add_argument("--offline", action="store_true", help="debootstrap base + wheelhouse; no registry needed")
    b.add_argument("--online", action="store_true", help="python:3.11-slim from the registry; fail if none answers")
    b.add_argument("--cuda", action="store_true", help="full image with a CUDA build of torch")
    b.add_argument("--tag", default=None, help="image tag (default mlagent-runtime:slim|full|full-cuda)")
    b.add_argument("--wheelhouse", type=Path, default=None, help="folder of wheels for the offline build")
    b.add_argument("--mirror", default=None, help="Debian mirror for debootstrap (default: apt's)")
    b.add_argument("--suite", default=DEFAULT_SUITE, help="Debian release of the offline base")
    b.add_argument("--base-image", default=None, help="base image providing python3.11 (skips debootstrap)")
    b.add_argument("--torch-version", default=TORCH_VERSION)
    b.add_argument("--torchvision-version", default=TORCHVISION_VERSION)
    b.add_argument("--torch-index-url", default=None, help="index for torch (default: CPU wheels; '' = default index)")
    b.add_argument("--no-cache", action="store_true", help="do not use Docker's layer cache")
    b.add_argument("--verbose", "-v", action="store_true", help="print every build line")
    b.set_defaults(func=cli_image_build)
    w = image_sub.add_parser("wheelhouse", help="download the wheels for an offline build into a folder")
    w.add_argument("dest", type=Path)
    w.add_argument("--slim", action="store_true")
    w.add_argument("--cuda", action="store_true")
    w.add_argument("--torch-version", default=TORCH_VERSION)
    w.add_argument("--torchvision-version", default=TORCHVISION_VERSION)
    w.add_argument("--torch-index-url", default=None)
    w.set_defaults(func=cli_image_wheelhouse)
    return image


def _config_from_args(args: argparse.Namespace) -> ImageBuildConfig:
    offline: bool | None = None
    if getattr(args, "offline", False):
        offline = True
    elif getattr(args, "online", False):
        offline = False
    return ImageBuildConfig(
        variant="slim" if args.slim else "full",
        offline=offline,
        cuda=args.cuda,
        tag=getattr(args, "tag", None),
        wheelhouse=getattr(args, "wheelhouse", None),
        mirror=getattr(args, "mirror", None),
        suite=getattr(args, "suite", DEFAULT_SUITE),
        base_image=getattr(args, "base_image", None),
        no_cache=getattr(args, "no_cache", False),
        torch_version=args.torch_version,
        torchvision_version=args.torchvision_version,
        torch_index_url=args.torch_index_url,
        verbose=getattr(args, "verbose", False),
    )


def cli_image_build(args: argparse.Namespace) -> int:
    """``mlagent-env image build``: 0 on success, 1 with a message on failure."""
    try:
        build_image(_config_from_args(args))
        return 0
    except ImageBuildError as e:
        _stderr(f"error: {e}")
        return 1


def cli_image_wheelhouse(args: argparse.Namespace) -> int:
    """``mlagent-env image wheelhouse DEST``: fill a wheelhouse to carry to an air-gapped machine."""
    try:
        fill_wheelhouse(_config_from_args(args), args.dest)
        return 0
    except ImageBuildError as e:
        _stderr(f"error: {e}")
        return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlagent_env.sandbox.image")
    add_image_parser(parser.add_subparsers(dest="command", required=True))
    ns = parser.parse_args(["image", *(argv if argv is not None else sys.argv[1:])])
    return int(ns.func(ns))


if __name__ == "__main__":
    raise SystemExit(main())
