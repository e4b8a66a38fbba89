"""Shared helpers for task tests: raw data from a task's fixture (or its bundled source), prepared
into a temporary data root once per test session."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path
from types import ModuleType

from mlagent_env.tasks import get_task
from mlagent_env.tasks.data import TaskPaths, prepare_task
from mlagent_env.tasks.registry import Task

FIXTURE_FILE = "fixture.py"


def fixture_module(task: Task) -> ModuleType | None:
    """The task's ``fixture.py`` (``make_fixture(raw, seed=0)`` and ``SAMPLE_SUBMISSION_SCORE``), if any."""
    path = task.root / FIXTURE_FILE
    if not path.is_file():
        return None
    spec = importlib.util.spec_from_file_location(f"_fixture_{task.id.replace('-', '_')}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_raw(task_id: str, raw: Path, seed: int = 0) -> Path:
    """Fill ``raw`` with the task's fixture, or with its bundled data (offline tasks)."""
    task = get_task(task_id)
    raw.mkdir(parents=True, exist_ok=True)
    fixture = fixture_module(task)
    if fixture is not None:
        fixture.make_fixture(raw, seed=seed)
    else:
        task.prepare_module().download(raw)
    return raw


def prepare_from_raw(task_id: str, raw: Path, data_dir: Path) -> TaskPaths:
    return prepare_task(get_task(task_id), data_dir, raw_dir=raw, force=True)


def copy_prepared(paths: TaskPaths, data_dir: Path) -> None:
    dest = data_dir / "prepared" / paths.task_id
    if not dest.exists():
        shutil.copytree(paths.prepared, dest)


def start_state(data_dir: Path, files: dict[str, str] | None = None) -> str:
    """The digits task's first state (EnvState JSON), with extra workspace files (plain local)."""
    import gymnasium as gym  # noqa: PLC0415

    import mlagent_env  # noqa: F401,PLC0415  (registers the ids)

    env = gym.make("mlagent/digits", sandbox="local", data_dir=str(data_dir))
    try:
        env.reset(seed=0)
        for name, text in (files or {}).items():
            env.unwrapped._sandbox.write_file(name, text.encode())  # type: ignore[attr-defined]
        return env.unwrapped.snapshot().model_dump_json()  # type: ignore[attr-defined]
    finally:
        env.close()
