"""The task registry: every folder ``tasks/<id>/`` with a ``task.yaml`` is a task.

A task folder holds ``task.yaml`` (the TaskSpec), ``description.md`` (the research problem as
the agent reads it), ``prepare.py`` (``prepare(raw, public, private)`` and optionally
``download(raw)``, ``RAW_LAYOUT``, the archives and renames the unpack step applies, and
``answer_units(ids)``, the unit that the answer split keeps whole) and ``starter/`` (the files
the agent starts from). Adding a task is adding a folder; nothing central is edited. A task must
give a reward scale (``mlagent_env.tasks.scale``).

Wherever a list of tasks is accepted, a name may also be a task group: each split
(``held-in`` and ``held-out``, the paper's tasks; ``offline-held-in`` and ``offline-held-out``, the
small offline suite split the same way: held-in for SFT and RL, held-out for evaluation only) and
``offline`` (every offline task). See :func:`resolve_tasks`.
"""

from __future__ import annotations

import difflib
import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any, Sequence

import pandas as pd

from mlagent_env.errors import TaskNotFound
from mlagent_env.tasks.scale import reward_scale
from mlagent_env.tasks.spec import TaskSpec

TASKS_ROOT = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Task:
    """One registered task: its spec and its folder."""

    spec: TaskSpec
    root: Path

    @property
    def id(self) -> str:
        return self.spec.id

    @property
    def starter_dir(self) -> Path:
        return self.root / "starter"

    @property
    def description(self) -> str:
        return (self.root / "description.md").read_text(encoding="utf-8").strip()

    def prepare_module(self) -> ModuleType:
        """The task's ``prepare.py``, imported under a private module name."""
        path = self.root / "prepare.py"
        name = f"mlagent_env.tasks._prepare_{self.id.replace('-', '_')}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot import {path}")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module

    def grade(self, submission: pd.DataFrame, answers: Any, expected_ids: Sequence[str] | None = None) -> float:
        """Score ``submission`` on the rows of ``answers`` (a DataFrame, or an ``AnswerSplit``
        prepared once; aligned by id). Raises InvalidSubmission."""
        from mlagent_env.tasks.grading import grade  # noqa: PLC0415

        return grade(self.spec, submission, answers, expected_ids)


@cache
def _discover() -> dict[str, Task]:
    tasks: dict[str, Task] = {}
    for yaml_path in sorted(TASKS_ROOT.glob("*/task.yaml")):
        try:
            spec = TaskSpec.from_yaml(yaml_path)
            reward_scale(spec)  # every task has one: no task falls back silently
        except Exception as exc:
            raise ValueError(f"invalid task spec {yaml_path}: {exc}") from exc
        if spec.id != yaml_path.parent.name:
            raise ValueError(f"{yaml_path}: id {spec.id!r} differs from its folder name {yaml_path.parent.name!r}")
        tasks[spec.id] = Task(spec=spec, root=yaml_path.parent)
    return tasks


def list_tasks() -> list[TaskSpec]:
    """Every registered task's spec, sorted by id."""
    return [t.spec for t in _discover().values()]


def get_task(task_id: str) -> Task:
    """The task with this id. Raises TaskNotFound with the list of known ids."""
    try:
        return _discover()[task_id]
    except KeyError:
        known = list(_discover())
        close = difflib.get_close_matches(task_id, known, n=3, cutoff=0.6)
        hint = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
        raise TaskNotFound(f"no task {task_id!r}; {hint}known tasks: {', '.join(known)} (mlagent-env list)") from None


def task_groups() -> dict[str, list[str]]:
    """Every task group and its task ids: one group per split, and ``offline`` (all offline tasks)."""
    groups: dict[str, list[str]] = {}
    for spec in list_tasks():
        groups.setdefault(spec.split, []).append(spec.id)
        if spec.source == "offline" and spec.split != "offline":
            groups.setdefault("offline", []).append(spec.id)
    return groups


def resolve_tasks(names: Sequence[str]) -> list[str]:
    """Task ids and group names -> task ids, in order, without repeats. Raises TaskNotFound,
    listing the groups, for a name that is neither."""
    groups = task_groups()
    out: list[str] = []
    for name in names:
        if name in groups:
            ids = groups[name]
        elif name in _discover():
            ids = [name]
        else:
            known = ", ".join(sorted(groups))
            raise TaskNotFound(f"no task or task group {name!r}; groups: {known}; tasks: mlagent-env list")
        out += [i for i in ids if i not in out]
    return out
