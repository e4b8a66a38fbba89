"""Sandboxes: where an episode's commands run. ``make_sandbox`` picks a backend by name."""

from __future__ import annotations

import warnings
from typing import Any, Literal

from mlagent_env.sandbox.base import DATA_DIR_NAME, DirEntry, ExecResult, Sandbox, SandboxSpec
from mlagent_env.sandbox.local import LocalSandbox

SandboxKind = Literal["auto", "local", "docker"]

__all__ = [
    "DATA_DIR_NAME",
    "DirEntry",
    "ExecResult",
    "LocalSandbox",
    "Sandbox",
    "SandboxKind",
    "SandboxSpec",
    "docker_available",
    "make_sandbox",
]


def docker_available() -> bool:
    """Whether a Docker engine answers (and docker-py is installed)."""
    try:
        import docker  # noqa: PLC0415
    except ImportError:
        return False
    try:
        client = docker.from_env(timeout=3)
        client.ping()
        client.close()
        return True
    except Exception:
        return False


def make_sandbox(kind: SandboxKind | str, spec: SandboxSpec, **backend_kwargs: Any) -> Sandbox:
    """Build a sandbox: ``"local"``, ``"docker"``, or ``"auto"`` (Docker when an engine answers,
    else local with a warning). ``backend_kwargs`` go to the backend's constructor."""
    if kind == "auto":
        if docker_available():
            kind = "docker"
        else:
            warnings.warn(
                "no Docker engine answers: using the local sandbox, which does not hide answers. "
                "Start Docker (and build the image: mlagent-env image build) for isolation.",
                UserWarning,
                stacklevel=2,
            )
            kind = "local"
    if kind == "local":
        return LocalSandbox(spec, **backend_kwargs)
    if kind == "docker":
        from mlagent_env.sandbox.docker import DockerSandbox  # noqa: PLC0415  (docker-py is optional)

        return DockerSandbox(spec, **backend_kwargs)
    raise ValueError(f"unknown sandbox kind {kind!r}; use 'auto', 'local' or 'docker'")
