"""Shared support for the Docker tests: is there an engine, the slim runtime image (built or
reused once per session, offline), and a factory of DockerSandboxes.

Without an engine the Docker tests are skipped with the reason, which ``-ra`` prints in the
summary; with ``MLAGENT_REQUIRE_DOCKER=1`` (set by CI once ``.ci/docker-setup.sh`` has started
an engine) they fail instead, so that they can never be skipped silently.

Use from a test module::

    from docker_support import docker_client, slim_image, docker_sandbox  # noqa: F401 (fixtures)
    from docker_support import docker_sandbox_factory
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from mlagent_env.sandbox.base import SandboxSpec

REQUIRE_ENV = "MLAGENT_REQUIRE_DOCKER"
SLIM_TAG = "mlagent-runtime:slim"

_engine: dict[str, Any] = {}
_image: dict[str, Any] = {}


def _unavailable(reason: str) -> None:
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {reason}", pytrace=False)
    pytest.skip(f"no Docker engine: {reason}")


def engine_client() -> Any:
    """A docker-py client that answers; otherwise skip (or fail under MLAGENT_REQUIRE_DOCKER=1) with the reason."""
    if "client" not in _engine and "reason" not in _engine:
        try:
            import docker  # noqa: PLC0415
        except ImportError:
            _engine["reason"] = "docker-py is not installed (pip install docker)"
        else:
            try:
                client = docker.from_env(timeout=120)
                client.ping()
                _engine["client"] = client
            except Exception as e:  # the reasons are many: no socket, permission, daemon down
                hint = "start one with `dockerd &` (root) or run .ci/docker-setup.sh"
                _engine["reason"] = f"{type(e).__name__}: {str(e)[:200]}; {hint}"
    if "reason" in _engine:
        _unavailable(_engine["reason"])
    return _engine["client"]


def ensure_slim_image() -> str:
    """The slim runtime image: reused when present, else built offline once (about 1.5 minutes cold)."""
    client = engine_client()
    if "error" in _image:
        pytest.fail(_image["error"], pytrace=False)
    if "tag" not in _image:
        from mlagent_env.sandbox.image import ImageBuildError, ensure_image  # noqa: PLC0415

        tag = os.environ.get("MLAGENT_TEST_IMAGE") or SLIM_TAG
        try:
            if tag == SLIM_TAG:
                ensure_image("slim", offline=True, client=client)
            else:
                client.images.get(tag)
        except (ImageBuildError, Exception) as e:  # a build failure is a failure, never a skip
            _image["error"] = f"the slim runtime image could not be built: {e}"
            pytest.fail(_image["error"], pytrace=False)
        _image["tag"] = tag
    return _image["tag"]


def docker_sandbox_factory() -> Callable[[SandboxSpec], Any]:
    """For the conformance suite: a callable ``(spec) -> DockerSandbox`` on the slim image, or
    ``pytest.skip`` with the reason when no engine answers."""
    client = engine_client()
    image = ensure_slim_image()
    from mlagent_env.sandbox.docker import DockerSandbox  # noqa: PLC0415

    def make(spec: SandboxSpec) -> DockerSandbox:
        return DockerSandbox(spec, image=image, client=client)

    return make


@pytest.fixture(scope="session")
def docker_client() -> Any:
    return engine_client()


@pytest.fixture(scope="session")
def slim_image(docker_client: Any) -> str:
    return ensure_slim_image()


@pytest.fixture()
def task_dirs(tmp_path: Path) -> dict[str, Path]:
    """A fake prepared task: ``public/`` (train.csv), ``private/`` (answers with a unique marker), ``starter/``."""
    public = tmp_path / "prepared" / "public"
    private = tmp_path / "prepared" / "private"
    starter = tmp_path / "starter"
    for d in (public, private, starter):
        d.mkdir(parents=True)
    for d in (tmp_path, tmp_path / "prepared", public, starter):
        d.chmod(0o755)
    (public / "train.csv").write_text("id,x,y\n1,0.5,1\n2,0.1,0\n")
    marker = "MLAGENT-SECRET-" + os.urandom(8).hex()
    (private / "answers.csv").write_text(f"id,y\n3,{marker}\n")
    (starter / "train.py").write_text("print('starter ok')\n")
    return {"root": tmp_path, "public": public, "private": private, "starter": starter, "marker": marker}  # type: ignore[dict-item]


@pytest.fixture()
def docker_sandbox(docker_client: Any, slim_image: str, task_dirs: dict[str, Any]) -> Iterator[Callable[..., Any]]:
    """A factory ``make(**spec_overrides)`` of DockerSandboxes on the fake task; all closed afterwards."""
    from mlagent_env.sandbox.docker import DockerSandbox  # noqa: PLC0415

    made: list[DockerSandbox] = []

    def make(*, pool: Any = None, **overrides: Any) -> DockerSandbox:
        fields: dict[str, Any] = dict(
            task_id="fake-task",
            starter_dir=task_dirs["starter"],
            public_dir=task_dirs["public"],
            hidden_dirs=[task_dirs["private"]],
            memory_mb=512,
            pids_limit=128,
        )
        fields.update(overrides)
        sb = DockerSandbox(SandboxSpec(**fields), image=slim_image, client=docker_client, pool=pool)
        made.append(sb)
        return sb

    yield make
    for sb in made:
        sb.close()


def scratch_dir(prefix: str = "mlagent-test-") -> Path:
    d = Path(tempfile.mkdtemp(prefix=prefix))
    d.chmod(0o755)
    return d


def remove_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
