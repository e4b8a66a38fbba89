"""The local :class:`~mlagent_train.executor.Executor`: a pool of envs (one sandbox each) per task
and a thread pool that runs replies on them, ``num_sandboxes`` at a time.

    with LocalExecutor(sandbox="docker", data_dir=..., num_sandboxes=4) as executor:
        executor.warm_up(["digits"])
        scored = executor.run(states, replies)

A reply takes an idle env of its task (or makes one), restores the state with
``env.reset(options={"state": state})`` (a fresh sandbox holding exactly that workspace), steps it
with the reply text and gives the env back. Its clock starts when it has its env; past its limit
(``timeout_s``, or by default the task's ``exec_timeout_s`` plus
:data:`~mlagent_train.executor.ROLLOUT_TIMEOUT_MARGIN_S`) the env is closed, which kills what
the reply started, and the reply is scored ``corner_case``. An exception while executing one
reply closes that env and scores the reply ``error``, with the reason in ``ScoredReply.error``.
"""

from __future__ import annotations

import json
import math
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from mlagent_env import actions as A
from mlagent_env.reward import RewardConfig, RewardKind, flat_reward
from mlagent_env.tasks import get_task
from mlagent_train.executor import (
    ROLLOUT_TIMEOUT_MARGIN_S,
    EpisodeStart,
    RolloutTimeoutTooShort,
    ScoredReply,
)

POLL_S = 0.2
"""How often the waiting thread looks for replies that started or ran past their limit."""


@dataclass
class _Job:
    state: str
    reply: str
    keep_state: bool
    task_id: str = "?"
    limit_s: float = math.inf
    started: float | None = None
    env: gym.Env[str, str] | None = None
    finished: bool = False
    expired: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


def task_of(state: str) -> str:
    """The task id of an EnvState JSON (raises on a state that is not one)."""
    task_id = json.loads(state)["task_id"]
    if not isinstance(task_id, str):
        raise ValueError(f"the state's task_id is {task_id!r}, not a task id")
    return task_id


def parses(reply: str) -> bool:
    try:
        A.parse_reply(reply)
    except A.ActionParseError:
        return False
    return True


class LocalExecutor:
    """Envs on this machine, executed by a thread pool (see the module docstring)."""

    def __init__(
        self,
        *,
        sandbox: str = "auto",
        data_dir: str | None = None,
        num_sandboxes: int = 4,
        timeout_s: float | None = None,
        env_max_steps: int = 1000,
        env_kwargs: dict[str, Any] | None = None,
    ) -> None:
        self.sandbox = sandbox
        self.data_dir = data_dir
        self.num_sandboxes = max(1, num_sandboxes)
        self.timeout_s = timeout_s
        self.env_kwargs = dict(env_kwargs or {})
        self.env_max_steps = env_max_steps
        self.reward_config = RewardConfig.model_validate(self.env_kwargs.get("reward_config") or {})
        self._readable: set[str] = set()
        self._warmed = False
        self._idle: dict[str, queue.SimpleQueue[gym.Env[str, str]]] = {}
        self._lock = threading.Lock()
        self._threads = ThreadPoolExecutor(max_workers=self.num_sandboxes, thread_name_prefix="mlagent-rollout")
        self._all: list[gym.Env[str, str]] = []

    # ------------------------------------------------------------------ the Executor protocol
    @property
    def answers_readable(self) -> bool:
        if not self._warmed:  # nothing is known before warm_up: assume the worst
            return True
        return bool(self._readable)

    @property
    def readable_tasks(self) -> list[str]:
        """The tasks whose answers agent code can read in this executor's sandboxes."""
        return sorted(self._readable)

    def warm_up(self, task_ids: Sequence[str]) -> None:
        for task_id in dict.fromkeys(task_ids):
            self.limit_for(task_id)
            env = self._take(task_id)
            env.reset()
            self._note_sandbox(task_id, env)
            self._give(task_id, env)
        self._warmed = True

    def run(self, states: Sequence[str], replies: Sequence[str], *, keep_state: bool = False) -> list[ScoredReply]:
        if len(states) != len(replies):
            raise ValueError(f"one state per reply: {len(states)} states, {len(replies)} replies")
        jobs = [_Job(state=s, reply=r, keep_state=keep_state) for s, r in zip(states, replies)]
        futures: dict[int, Future[ScoredReply | None]] = {
            i: self._threads.submit(self._execute, job) for i, job in enumerate(jobs)
        }
        results: list[ScoredReply | None] = [None] * len(jobs)
        while futures:
            now = time.monotonic()
            for i, fut in list(futures.items()):
                job = jobs[i]
                if fut.done():
                    results[i] = fut.result()
                    del futures[i]
                elif job.started is not None and now - job.started > job.limit_s and self._expire(job):
                    results[i] = self._failed(job, "corner_case", f"the reply ran past its {job.limit_s:g} s limit "
                                              "and was killed")
                    del futures[i]
            if futures:
                wait(list(futures.values()), timeout=self._next_check(jobs, futures), return_when=FIRST_COMPLETED)
        out: list[ScoredReply] = []
        for job, result in zip(jobs, results):
            out.append(result if result is not None else self._failed(job, "error", "the reply was not scored"))
        return out

    def begin(self, task_ids: Sequence[str], seeds: Sequence[int]) -> list[EpisodeStart]:
        if len(task_ids) != len(seeds):
            raise ValueError("one seed per task id")
        futures = [self._threads.submit(self._begin_one, t, s) for t, s in zip(task_ids, seeds)]
        return [f.result() for f in futures]

    def close(self) -> None:
        self._threads.shutdown(wait=True, cancel_futures=True)
        with self._lock:
            envs, self._all = self._all, []
            self._idle.clear()
        for env in envs:
            env.close()

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ limits
    def limit_for(self, task_id: str) -> float:
        """The per-reply limit of a task: ``timeout_s``, never below the task's ``exec_timeout_s``."""
        exec_s = float(self.env_kwargs.get("exec_timeout_s") or get_task(task_id).spec.resources.exec_timeout_s)
        if self.timeout_s is None:
            return exec_s + ROLLOUT_TIMEOUT_MARGIN_S
        if self.timeout_s < exec_s:
            raise RolloutTimeoutTooShort(
                f"rollout_timeout_s={self.timeout_s:g} is below the {exec_s:g} s that {task_id} gives a script "
                f"(exec_timeout_s): its long legitimate runs would score as timeouts. Leave rollout_timeout_s unset "
                f"(the task's limit + {ROLLOUT_TIMEOUT_MARGIN_S:g} s) or set it to at least {exec_s:g}"
            )
        return self.timeout_s

    def _next_check(self, jobs: list[_Job], futures: dict[int, Future[ScoredReply | None]]) -> float:
        now = time.monotonic()
        ends = [jobs[i].started + jobs[i].limit_s - now for i in futures if jobs[i].started is not None]
        return max(0.01, min([POLL_S, *ends]))

    # ------------------------------------------------------------------ envs
    def make_env(self, task_id: str) -> gym.Env[str, str]:
        env = gym.make(f"mlagent/{task_id}", sandbox=self.sandbox, data_dir=self.data_dir,
                       max_steps=self.env_max_steps, **self.env_kwargs)
        with self._lock:
            self._all.append(env)
        return env

    def _take(self, task_id: str) -> gym.Env[str, str]:
        with self._lock:
            idle = self._idle.setdefault(task_id, queue.SimpleQueue())
        try:
            return idle.get_nowait()
        except queue.Empty:
            return self.make_env(task_id)

    def _give(self, task_id: str, env: gym.Env[str, str]) -> None:
        self._idle[task_id].put(env)

    def _discard(self, env: gym.Env[str, str]) -> None:
        with self._lock:
            if env in self._all:
                self._all.remove(env)
        env.close()

    def _note_sandbox(self, task_id: str, env: gym.Env[str, str]) -> None:
        if env.unwrapped.answers_readable:  # type: ignore[attr-defined]
            with self._lock:
                self._readable.add(task_id)

    # ------------------------------------------------------------------ one reply
    def _execute(self, job: _Job) -> ScoredReply | None:
        env: gym.Env[str, str] | None = None
        start = time.perf_counter()
        try:
            job.task_id = task_of(job.state)
            job.limit_s = self.limit_for(job.task_id)
            env = self._take(job.task_id)
            with job.lock:
                job.env, job.started = env, time.monotonic()
            start = time.perf_counter()
            env.reset(options={"state": job.state})
            self._note_sandbox(job.task_id, env)
            obs, reward, terminated, truncated, info = env.step(job.reply)
            next_state = env.unwrapped.snapshot().model_dump_json() if job.keep_state else None  # type: ignore[attr-defined]
        except Exception as exc:  # noqa: BLE001 - one reply's failure is its own error reward
            if env is not None:
                self._discard(env)
            with job.lock:
                job.finished = True
                if job.expired:
                    return None
            return self._failed(job, "error", f"{type(exc).__name__}: {exc}", env_s=time.perf_counter() - start)
        with job.lock:
            job.finished = True
            if job.expired:  # scored as a timeout by the waiting thread, which closed this env
                return None
        self._give(job.task_id, env)
        return ScoredReply(task_id=job.task_id, reward=float(reward), reward_kind=info["reward_kind"],
                           valid=bool(info["valid"]), env_s=time.perf_counter() - start, observation=obs, metric=info["metric"],
                           next_state=next_state, next_messages=info["messages"] if job.keep_state else None,
                           done=bool(terminated or truncated))

    def _expire(self, job: _Job) -> bool:
        """Mark a running reply as timed out and close its env (killing what it started), unless
        it has just finished."""
        with job.lock:
            if job.finished:
                return False
            job.expired = True
            env = job.env
        if env is not None:
            threading.Thread(target=self._discard, args=(env,), daemon=True, name="mlagent-rollout-kill").start()
        return True

    def _failed(self, job: _Job, kind: RewardKind, reason: str, env_s: float | None = None) -> ScoredReply:
        if env_s is None:
            env_s = time.monotonic() - job.started if job.started is not None else 0.0
        return ScoredReply(task_id=job.task_id, reward=flat_reward(kind, self.reward_config), reward_kind=kind,
                           valid=parses(job.reply), env_s=env_s, observation=f"[mlagent executor] {reason}",
                           error=reason, done=True)

    def _begin_one(self, task_id: str, seed: int) -> EpisodeStart:
        env = self._take(task_id)
        try:
            _, info = env.reset(seed=seed)
            self._note_sandbox(task_id, env)
            state = env.unwrapped.snapshot().model_dump_json()  # type: ignore[attr-defined]
        except BaseException:
            self._discard(env)
            raise
        self._give(task_id, env)
        return EpisodeStart(task_id=task_id, state=state, messages=info["messages"])
