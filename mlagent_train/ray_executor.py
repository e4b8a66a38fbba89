"""The Ray :class:`~mlagent_train.executor.Executor`: replies executed by env actors across a
Ray cluster (``mlagent-train rl --set executor=ray --set ray_address=ADDRESS``).

    with RayExecutor(address="auto", sandbox="docker", num_sandboxes=32) as executor:
        executor.warm_up(["digits"])
        scored = executor.run(states, replies)

It keeps the local executor's promises (per-reply limits from each reply's own start, errors as
rewards, ``answers_readable``). Up to ``num_sandboxes`` :class:`~mlagent_env.remote.actor.EnvActor`
s live at once (per task, reused across calls; Ray spreads them over the nodes that offer their
resources). Each distinct state of a call is put in the object store once, however many replies
start from it; an actor restores it and steps the reply. A reply past its limit has its actor
aborted (which kills what it started) and is scored ``corner_case``; a reply whose actor died (its
node was lost) is executed again on another actor, so that it is scored exactly once.
"""

from __future__ import annotations

import math
import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Callable

from mlagent_env.remote.cluster import EnvLost, connect
from mlagent_env.remote.env import MAX_FAILOVERS, spawn_actor
from mlagent_env.remote.resources import actor_resources
from mlagent_train.executor import EpisodeStart, ScoredReply
from mlagent_train.local_executor import POLL_S, LocalExecutor, _Job, task_of


WARM_UP_WAIT_S = 120.0
"""How long :meth:`RayExecutor.warm_up` waits for Ray to place the actors it started."""
ABORT_WAIT_S = 10.0
"""How long a timed-out reply's actor gets to close its env before it is killed."""


@dataclass
class _Actor:
    handle: Any
    task_id: str


@dataclass
class _Work:
    """One call to make on a ready actor of ``task_id``: ``call(handle)`` returns its ObjectRef."""

    task_id: str
    call: Callable[[Any], Any]
    limit_s: float = math.inf
    started: float = 0.0
    result: Any = None
    failure: BaseException | None = None
    lost: int = 0
    timed_out: bool = False


class RayExecutor(LocalExecutor):
    """Env actors on a Ray cluster (see the module docstring). Limits and failure scoring are the
    local executor's; only where a reply runs differs."""

    def __init__(self, *, address: str = "auto", resource: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._threads.shutdown()  # no local threads: the actors run the replies
        self.ray = connect(address)
        self.resource = resource
        self._idle_actors: dict[str, list[_Actor]] = {}
        self._starting: dict[Any, _Actor] = {}
        self._live = 0
        self.placements: list[str] = []
        """The node id of every reply executed (in completion order): where the work landed."""
        self.lost_replies = 0
        """Replies whose actor died under them and that were executed again elsewhere."""

    # ------------------------------------------------------------------ actors
    def _ready_actor(self, task_id: str, waiting: int) -> _Actor | None:
        """An idle actor of ``task_id``, or None; then, room permitting and fewer than ``waiting``
        starting, a new one starts (it takes work once Ray has placed it, so that an actor that
        cannot be placed now blocks nothing)."""
        idle = self._idle_actors.setdefault(task_id, [])
        if idle:
            return idle.pop()
        if sum(a.task_id == task_id for a in self._starting.values()) >= waiting:
            return None
        if self._live >= self.num_sandboxes:  # make room: end an idle actor of another task
            other = next((a for lst in self._idle_actors.values() for a in lst), None)
            if other is None:
                return None
            self._idle_actors[other.task_id].remove(other)
            self._end(other)
        self._start_actor(task_id)
        return None

    def _start_actor(self, task_id: str) -> None:
        kwargs = dict(sandbox=self.sandbox, data_dir=self.data_dir, max_steps=self.env_max_steps, **self.env_kwargs)
        actor = _Actor(spawn_actor(task_id, kwargs, actor_resources(task_id, kwargs, self.resource)), task_id)
        self._live += 1
        self._starting[actor.handle.node_id.remote()] = actor

    def _started(self, ref: Any) -> None:
        actor = self._starting.pop(ref)
        try:
            self.ray.get(ref)
        except Exception:  # noqa: BLE001 - died while starting: another one will start
            self._end(actor)
            return
        self._idle_actors[actor.task_id].append(actor)

    def _end(self, actor: _Actor) -> None:
        self._live -= 1
        self.ray.kill(actor.handle)

    def _abort(self, actor: _Actor) -> None:
        """Close a busy actor's env (killing what its reply started), then end the actor."""
        self.ray.wait([actor.handle.abort.remote()], timeout=ABORT_WAIT_S)
        self._end(actor)

    def _schedule(self, works: list[_Work]) -> None:
        """Make every call on a ready actor of its task; a call whose actor died is made again on
        another (at most :data:`MAX_FAILOVERS` times); one past its limit has its actor aborted."""
        ray = self.ray
        todo = deque(works)
        running: dict[Any, tuple[_Work, _Actor]] = {}
        while todo or running:
            waiting = Counter(w.task_id for w in todo)
            for _ in range(len(todo)):
                work = todo.popleft()
                actor = self._ready_actor(work.task_id, waiting[work.task_id])
                if actor is None:
                    todo.append(work)
                    continue
                work.started = time.monotonic()
                running[work.call(actor.handle)] = (work, actor)
            ends = [w.started + w.limit_s - time.monotonic() for w, _ in running.values()]
            ready, _ = ray.wait([*running, *self._starting], num_returns=1, timeout=max(0.01, min([POLL_S, *ends])))
            for ref in ready:
                if ref in self._starting:
                    self._started(ref)
                    continue
                work, actor = running.pop(ref)
                try:
                    work.result = ray.get(ref)
                except ray.exceptions.RayActorError as exc:
                    self._end(actor)
                    work.lost += 1
                    self.lost_replies += 1
                    if work.lost > MAX_FAILOVERS:
                        work.failure = EnvLost(f"its env actor died {work.lost} times: {exc}")
                    else:
                        todo.append(work)  # made again elsewhere: it counts once
                    continue
                except Exception as exc:  # noqa: BLE001 - reported through the work
                    self._end(actor)
                    work.failure = exc
                    continue
                self._idle_actors[actor.task_id].append(actor)
            now = time.monotonic()
            for ref, (work, actor) in list(running.items()):
                if now - work.started > work.limit_s:
                    del running[ref]
                    work.timed_out = True
                    self._abort(actor)

    def _note_readable(self, task_id: str, readable: bool) -> None:
        if readable:
            self._readable.add(task_id)

    # ------------------------------------------------------------------ the Executor protocol
    def warm_up(self, task_ids: Sequence[str]) -> None:
        """Check every task (limits, data, sandbox) on one actor, then start the rest of the
        ``num_sandboxes`` actors, shared among the tasks, and wait a while for Ray to place them."""
        tasks = list(dict.fromkeys(task_ids))
        for task_id in tasks:
            self.limit_for(task_id)
        self.begin(tasks, [0] * len(tasks))
        n = 0
        while tasks and self._live < self.num_sandboxes:
            self._start_actor(tasks[n % len(tasks)])
            n += 1
        deadline = time.monotonic() + WARM_UP_WAIT_S
        while self._starting and time.monotonic() < deadline:
            ready, _ = self.ray.wait(list(self._starting), num_returns=1, timeout=max(0.0, deadline - time.monotonic()))
            for ref in ready:
                self._started(ref)

    def run(self, states: Sequence[str], replies: Sequence[str], *, keep_state: bool = False) -> list[ScoredReply]:
        if len(states) != len(replies):
            raise ValueError(f"one state per reply: {len(states)} states, {len(replies)} replies")
        jobs = [_Job(state=s, reply=r, keep_state=keep_state) for s, r in zip(states, replies)]
        results: list[ScoredReply | None] = [None] * len(jobs)
        refs: dict[str, Any] = {}  # each distinct state once in the object store
        works: dict[int, _Work] = {}
        for i, job in enumerate(jobs):
            try:
                job.task_id = task_of(job.state)
                job.limit_s = self.limit_for(job.task_id)
            except Exception as exc:  # noqa: BLE001 - a state that is not one is this reply's error
                results[i] = self._failed(job, "error", f"{type(exc).__name__}: {exc}", env_s=0.0)
                continue
            if job.state not in refs:
                refs[job.state] = self.ray.put(job.state)
            ref, reply = refs[job.state], job.reply
            works[i] = _Work(job.task_id, lambda h, ref=ref, reply=reply: h.execute.remote(ref, reply, keep_state),
                             limit_s=job.limit_s)
        self._schedule(list(works.values()))
        for i, work in works.items():
            job = jobs[i]
            job.started = work.started
            if work.timed_out:
                results[i] = self._failed(job, "corner_case",
                                          f"the reply ran past its {job.limit_s:g} s limit and was killed")
            elif work.failure is not None:
                results[i] = self._failed(job, "error", f"{type(work.failure).__name__}: {work.failure}")
            else:
                results[i] = self._scored(job, work.result)
        return [r if r is not None else self._failed(j, "error", "the reply was not scored")
                for j, r in zip(jobs, results)]

    def _scored(self, job: _Job, out: dict[str, Any]) -> ScoredReply:
        if "error" in out:
            return self._failed(job, "error", out["error"], env_s=out["env_s"])
        self._note_readable(job.task_id, out["readable"])
        self.placements.append(out["node_id"])
        return ScoredReply(task_id=job.task_id, reward=out["reward"], reward_kind=out["reward_kind"],
                           valid=out["valid"], env_s=out["env_s"], observation=out["observation"], next_state=out["next_state"],
                           next_messages=out["next_messages"], done=out["done"])

    def begin(self, task_ids: Sequence[str], seeds: Sequence[int]) -> list[EpisodeStart]:
        if len(task_ids) != len(seeds):
            raise ValueError("one seed per task id")
        works = [_Work(t, lambda h, seed=seed: h.begin.remote(seed)) for t, seed in zip(task_ids, seeds)]
        self._schedule(works)
        out = []
        for work in works:
            if work.failure is not None:
                raise work.failure
            state, messages, readable = work.result
            self._note_readable(work.task_id, readable)
            out.append(EpisodeStart(task_id=work.task_id, state=state, messages=messages))
        return out

    def close(self) -> None:
        idle, self._idle_actors = self._idle_actors, {}
        starting, self._starting = self._starting, {}
        for actor in [*starting.values(), *(a for actors in idle.values() for a in actors)]:
            self._end(actor)
