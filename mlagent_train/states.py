"""The states pool of step-wise RL (ML-Agent section 4): every saved step of the expert
trajectories is a state to start one RL step from.

    pool = StatesPool.from_trajectories(["runs/explore/expert/trajectories"], tasks=None)
    rows = pool.sample(256, seed=0)          # weighted draws: task balance x step position
    dataset = pool.to_dataset(256, seed=0)   # conversational ``prompt`` + ``state_index`` columns for TRL

One entry per step that carries its :class:`~mlagent_env.env.EnvState` (the state in which the
prompt was shown) and its chat ``messages`` (rendered by :mod:`mlagent_env.prompt`, copied byte
for byte). Which tasks are allowed: by default the ``held-in`` tasks only; a task of another
split (an ``offline`` test task, or a ``held-out`` one on purpose) is used only when it is listed
explicitly in ``tasks`` (ids or task groups such as ``offline-held-in``), and a listed held-out
task (``held-out`` or ``offline-held-out``) needs ``allow_held_out=True``.

Sampling weights: each task gets the same total weight (``task_balance="uniform"``) or a weight
proportional to its number of states (``"proportional"``); within a task an entry of step ``t``
(1-based) of an episode of ``T`` steps weighs ``(t / T) ** step_power`` relative to the others:
``step_power=0`` is uniform over positions, ``> 0`` favours late steps (more context, harder
decisions), ``< 0`` early ones. ``"stratified"`` weighs like ``uniform`` but draws in rounds of
one state per task (the tasks in a fresh random order each round), so that a batch of
``k x n_tasks`` consecutive draws aligned with the rounds holds every task ``k`` times, where
independent draws may give a batch of one task only.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mlagent_env.errors import MLAgentError
from mlagent_env.tasks import get_task, resolve_tasks
from mlagent_env.trajectory import iter_records
from mlagent_train.datasets import trajectory_files


TaskBalance = Literal["uniform", "proportional", "stratified"]


class StatesPoolError(MLAgentError):
    """No usable state (no trajectories with saved states, or every task filtered out)."""


@dataclass
class StateEntry:
    task_id: str
    episode_id: str
    step: int
    episode_steps: int
    messages: list[dict[str, str]]
    state: str = field(repr=False)
    """The EnvState as JSON (what ``env.reset(options={"state": ...})`` takes)."""


def allowed_task(task_id: str, listed: set[str] | None, allow_held_out: bool) -> bool:
    split = get_task(task_id).spec.split
    if listed is not None and task_id not in listed:
        return False
    if split == "held-in":
        return True
    if split in ("held-out", "offline-held-out"):
        return listed is not None and allow_held_out
    return listed is not None  # offline tasks: only when named


@dataclass
class StatesPool:
    entries: list[StateEntry]
    task_balance: TaskBalance = "uniform"
    step_power: float = 0.0
    skipped: Counter[str] = field(default_factory=Counter)

    @classmethod
    def from_trajectories(
        cls,
        paths: Iterable[str | Path],
        *,
        tasks: list[str] | None = None,
        allow_held_out: bool = False,
        task_balance: TaskBalance = "uniform",
        step_power: float = 0.0,
        max_steps_per_episode: int | None = None,
    ) -> StatesPool:
        listed = set(resolve_tasks(tasks)) if tasks else None
        entries: list[StateEntry] = []
        skipped: Counter[str] = Counter()
        by_episode: dict[tuple[str, str], list[StateEntry]] = defaultdict(list)
        for path in trajectory_files(paths):
            for rec in iter_records(path):
                if rec.state is None:
                    skipped["no_state"] += 1
                    continue
                if not allowed_task(rec.task_id, listed, allow_held_out):
                    skipped[f"task:{rec.task_id}"] += 1
                    continue
                if max_steps_per_episode is not None and rec.step > max_steps_per_episode:
                    skipped["late_step"] += 1
                    continue
                entry = StateEntry(task_id=rec.task_id, episode_id=rec.episode_id, step=rec.step, episode_steps=0,
                                   messages=[dict(m) for m in rec.messages], state=rec.state.model_dump_json())
                by_episode[(str(path), rec.episode_id)].append(entry)
                entries.append(entry)
        for steps in by_episode.values():
            last = max(e.step for e in steps)
            for e in steps:
                e.episode_steps = last
        if not entries:
            why = ", ".join(f"{k}: {v}" for k, v in sorted(skipped.items())) or "no records"
            raise StatesPoolError(
                f"no state for step-wise RL in {list(map(str, paths))} ({why}); record trajectories with saved "
                "states (the benchmark does) and list offline or held-out tasks explicitly in tasks"
            )
        return cls(entries=entries, task_balance=task_balance, step_power=step_power, skipped=skipped)

    @property
    def tasks(self) -> list[str]:
        return sorted({e.task_id for e in self.entries})

    def weights(self) -> list[float]:
        """The (normalised) sampling weight of each entry; see the module docstring."""
        per_task = Counter(e.task_id for e in self.entries)
        raw = [(e.step / max(e.episode_steps, 1)) ** self.step_power for e in self.entries]
        task_sum: dict[str, float] = defaultdict(float)
        for e, w in zip(self.entries, raw):
            task_sum[e.task_id] += w
        n_tasks = len(per_task)
        out = []
        for e, w in zip(self.entries, raw):
            share = 1.0 / n_tasks if self.task_balance != "proportional" else per_task[e.task_id] / len(self.entries)
            out.append(share * w / task_sum[e.task_id])
        total = sum(out)
        return [w / total for w in out]

    def sample(self, n: int, seed: int = 0) -> list[StateEntry]:
        """``n`` weighted draws with replacement (reproducible for a seed); in rounds of one
        state per task with ``task_balance="stratified"``."""
        rng = random.Random(seed)
        if self.task_balance != "stratified":
            return rng.choices(self.entries, weights=self.weights(), k=n)
        by_task: dict[str, tuple[list[StateEntry], list[float]]] = {}
        for e, w in zip(self.entries, self.weights()):
            by_task.setdefault(e.task_id, ([], []))[0].append(e)
            by_task[e.task_id][1].append(w)
        out: list[StateEntry] = []
        while len(out) < n:
            for task in rng.sample(sorted(by_task), len(by_task)):
                entries, weights = by_task[task]
                out += rng.choices(entries, weights=weights)
        return out[:n]

    def to_rows(self, n: int, seed: int = 0) -> list[dict[str, Any]]:
        """``n`` weighted draws as dataset rows. A row names its state by ``state_index`` into
        :meth:`states` instead of carrying the EnvState (a workspace tar can be megabytes, and a
        state is drawn many times)."""
        index = {id(e): i for i, e in enumerate(self.entries)}
        return [
            {"prompt": e.messages, "state_index": index[id(e)], "task_id": e.task_id, "state_step": e.step}
            for e in self.sample(n, seed)
        ]

    def states(self) -> list[str]:
        """The EnvState JSON of every entry, in order (what ``state_index`` points into)."""
        return [e.state for e in self.entries]

    def to_dataset(self, n: int, seed: int = 0) -> Any:
        """A ``datasets.Dataset`` of ``n`` sampled states: a conversational ``prompt`` (the state's
        messages), ``state_index`` (into :meth:`states`), ``task_id`` and ``state_step``."""
        from datasets import Dataset

        return Dataset.from_list(self.to_rows(n, seed))
