"""Sandboxes: where an episode's commands run. ``make_sandbox`` picks a backend by name, one of
:data:`SANDBOX_KINDS`; every command that runs agent code takes that name as its ``sandbox``
option (:func:`sandbox_option`: one type, one help text)."""

from __future__ import annotations

import warnings
from typing import Any, Literal, get_args

from mlagent_env.config import option
from mlagent_env.errors import MLAgentError
from mlagent_env.sandbox.base import DATA_DIR_NAME, DirEntry, ExecResult, Sandbox, SandboxSpec
from mlagent_env.sandbox.local import LocalSandbox

SandboxKind = Literal["auto", "docker", "bwrap", "local"]
SANDBOX_KINDS: tuple[str, ...] = get_args(SandboxKind)
SANDBOX_HELP = (
    "where agent code runs: docker (a container; hides the answers) | bwrap (this machine under bubblewrap; "
    "hides the answers) | local (this machine, not contained: agent code can read the answers) | auto (docker "
    "when an engine answers, else local)"
)


class UnknownSandbox(MLAgentError, ValueError):
    """A sandbox name that is none of :data:`SANDBOX_KINDS`, or options that contradict it."""


def sandbox_option(default: SandboxKind = "auto") -> Any:
    """The ``sandbox`` field of a command's config: a :data:`SandboxKind` with :data:`SANDBOX_HELP`."""
    return option(default, SANDBOX_HELP)


__all__ = [
    "DATA_DIR_NAME",
    "DirEntry",
    "ExecResult",
    "LocalSandbox",
    "Sandbox",
    "SANDBOX_HELP",
    "SANDBOX_KINDS",
    "SandboxKind",
    "SandboxSpec",
    "UnknownSandbox",
    "docker_available",
    "make_sandbox",
    "sandbox_option",
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
    """Build a sandbox: ``"docker"``, ``"bwrap"`` (a :class:`LocalSandbox` with
    ``isolation="bwrap"``), ``"local"`` (plain, or ``isolation=`` in ``backend_kwargs``), or
    ``"auto"`` (Docker when an engine answers, else local with a warning). ``backend_kwargs`` go to
    the backend's constructor."""
    if kind not in SANDBOX_KINDS:
        raise UnknownSandbox(f"unknown sandbox {kind!r}; use one of: {', '.join(SANDBOX_KINDS)}")
    if kind == "auto":
        if docker_available():
            kind = "docker"
        else:
            warnings.warn(
                "no Docker engine answers: using the local sandbox, which does not hide answers. "
                "For isolation use sandbox='docker' (start Docker, build the image: mlagent-env image build) "
                "or sandbox='bwrap' (bubblewrap on this machine).",
                UserWarning,
                stacklevel=2,
            )
            kind = "local"
    if kind == "bwrap":
        if backend_kwargs.get("isolation", "bwrap") != "bwrap":
            raise UnknownSandbox(f"sandbox='bwrap' is isolation='bwrap', not {backend_kwargs['isolation']!r}")
        return LocalSandbox(spec, **{**backend_kwargs, "isolation": "bwrap"})
    if kind == "local":
        return LocalSandbox(spec, **backend_kwargs)
    from mlagent_env.sandbox.docker import DockerSandbox  # noqa: PLC0415  (docker-py is optional)

    return DockerSandbox(spec, **backend_kwargs)
