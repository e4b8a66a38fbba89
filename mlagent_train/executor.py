"""The RL executor interface: where the policy's replies are executed and scored.

    executor: Executor = LocalExecutor(sandbox="docker", num_sandboxes=8)   # mlagent_train.local_executor
    executor.warm_up(["spaceship-titanic"])          # envs made, limits checked, before any model loads
    scored = executor.run(states, replies)           # replies[i] executed from states[i]; in order
    starts = executor.begin(["digits"] * 4, seeds=[0, 1, 2, 3])   # episode mode: fresh episodes
    scored = executor.run([s.state for s in starts], replies, keep_state=True)  # ... and their next states

One reply is one step of the env from a restored :class:`~mlagent_env.env.EnvState` (JSON), and
its reward is the env's unified reward of that step; an implementation (the local thread pool,
Ray actors) only decides where that step runs. Every implementation keeps these promises:

* **Per-reply timeouts.** A reply's time limit starts when its own execution starts (a reply
  waiting for a free sandbox is not late), and is the task's own limit: at least the env's
  ``exec_timeout_s``. A reply past its limit is killed and scored as the env scores a timed-out
  run: ``corner_case``, with the reason in :attr:`ScoredReply.error`.
* **Errors are rewards.** Whatever a reply or its state makes go wrong (a corrupt state, a
  sandbox that fails) is that reply's ``error`` reward with the reason, never an exception out of
  :meth:`Executor.run`; the other replies of the batch are scored as usual.
* **No hidden readable answers.** :attr:`Executor.answers_readable` says whether agent code in the
  executor's sandboxes can read the tasks' private answers (decided from the sandboxes made by
  :meth:`Executor.warm_up`), so that training can refuse or label such runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from mlagent_env.errors import MLAgentError

ROLLOUT_TIMEOUT_MARGIN_S = 60.0
"""Added to a task's ``exec_timeout_s`` for its default per-reply limit: restoring the state,
parsing, grading and writing the observation around the script run."""


class RolloutTimeoutTooShort(MLAgentError):
    """A configured per-reply timeout is below a task's own script time limit (its legitimate
    long runs would be scored as timeouts)."""


@dataclass
class ScoredReply:
    """One executed reply: the env's unified reward of that step, or why it has none."""

    task_id: str
    reward: float
    reward_kind: str
    valid: bool
    env_s: float
    observation: str = ""
    metric: float | None = None
    """The submission's score on the reward split when this step produced a new one."""
    error: str | None = None
    """Why the env did not score this reply itself (an exception, the per-reply timeout)."""
    next_state: str | None = None
    """With ``keep_state=True``: the EnvState JSON after the step (None when the step failed)."""
    next_messages: list[dict[str, str]] | None = None
    """With ``keep_state=True``: the chat messages of the next prompt."""
    done: bool = False
    """The episode ended with this step (Final Answer, the step or time budget, or a failure)."""


@dataclass
class EpisodeStart:
    """The first state of a fresh episode (:meth:`Executor.begin`)."""

    task_id: str
    state: str
    messages: list[dict[str, str]]


@runtime_checkable
class Executor(Protocol):
    """Executes replies from restored states (see the module docstring for the promises)."""

    @property
    def answers_readable(self) -> bool:
        """True when agent code in this executor's sandboxes can read a task's private answers
        (known after :meth:`warm_up`; True before it)."""
        ...

    def warm_up(self, task_ids: Sequence[str]) -> None:
        """Make a sandbox for each task before training starts: prepares data, checks every
        task's per-reply limit (raises :class:`RolloutTimeoutTooShort`) and sets
        :attr:`answers_readable`."""
        ...

    def run(self, states: Sequence[str], replies: Sequence[str], *, keep_state: bool = False) -> list[ScoredReply]:
        """Execute ``replies[i]`` from ``states[i]`` (EnvState JSON), concurrently; scored in order.
        ``keep_state`` also returns each step's next state and prompt (episode mode)."""
        ...

    def begin(self, task_ids: Sequence[str], seeds: Sequence[int]) -> list[EpisodeStart]:
        """The first states of fresh episodes of these tasks (``env.reset(seed=...)``)."""
        ...

    def close(self) -> None:
        """Release every sandbox. Idempotent."""
        ...
