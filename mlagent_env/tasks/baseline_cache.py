"""The starter's measured scores, cached beside the prepared data: ``prepared/<task>/baseline.json``.

``mlagent-env baseline TASK`` runs the unmodified starter once and saves its scores here; the env
reads them to set the task's reward scale (:mod:`mlagent_env.tasks.scale`) and the first run's
previous metric. The entry is keyed by the checksum of the prepared data (its manifest) and of the
starter's files, so data prepared again differently, or a changed starter, is measured again.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from datetime import datetime, timezone
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mlagent_env.tasks.data import TaskPaths, sha256_file
from mlagent_env.tasks.registry import Task
from mlagent_env.tasks.scale import MeasuredStarter

CACHE_NAME = "baseline.json"


class CachedBaseline(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key: str = Field(description="sha256 of the prepared data's manifest and of the starter's files")
    score: float = Field(allow_inf_nan=False, description="the starter's score on the held-back rows")
    reward_score: float = Field(allow_inf_nan=False, description="the starter's score on the reward rows")
    sandbox: str = Field(description="the sandbox it ran in")
    measured_at: str = Field(description="UTC time of the measurement (ISO 8601)")


def cache_path(paths: TaskPaths) -> Path:
    return paths.prepared / CACHE_NAME


def data_key(task: Task, paths: TaskPaths) -> str:
    """Checksum of what the starter's score depends on: the prepared data and the starter."""
    h = hashlib.sha256(paths.manifest.read_bytes())
    for path in sorted(p for p in task.starter_dir.rglob("*") if p.is_file()):
        h.update(f"\0{path.relative_to(task.starter_dir).as_posix()}\0{sha256_file(path)}".encode())
    return h.hexdigest()


def load(task: Task, paths: TaskPaths) -> MeasuredStarter | None:
    """The cached measurement for this prepared data and starter, or None (absent, unreadable, or
    measured on other data or another starter)."""
    path = cache_path(paths)
    try:
        entry = CachedBaseline.model_validate_json(path.read_bytes())
        if entry.key != data_key(task, paths):
            return None
    except (OSError, ValidationError):
        return None
    return MeasuredStarter(entry.score, entry.reward_score, f"measured in {entry.sandbox} on {entry.measured_at[:10]}, {path}")


def save(task: Task, paths: TaskPaths, score: float, reward_score: float, sandbox: str) -> Path:
    """Cache a measurement of the starter on this prepared data (atomically). Returns the file."""
    entry = CachedBaseline(
        key=data_key(task, paths),
        score=score,
        reward_score=reward_score,
        sandbox=sandbox,
        measured_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
    )
    path = cache_path(paths)
    fd, tmp = tempfile.mkstemp(prefix=f".{CACHE_NAME}-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(json.dumps(entry.model_dump(), indent=2))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
