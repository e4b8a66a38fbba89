"""Training and benchmarking never run where agent code can read the answers, unless asked to.

    note = check_readable_answers(env_answers_readable("digits", sandbox="local"), allow=False)
    # raises ReadableAnswersRefused: its message names --sandbox docker, --sandbox bwrap and the opt-in

A sandbox says whether agent code in it can read the task's private answers
(:attr:`mlagent_env.sandbox.Sandbox.answers_readable`): a plain local sandbox can, Docker and
bwrap cannot.
``mlagent-env bench``, ``mlagent-train explore``, ``rl`` and ``eval`` ask the sandbox they would
use, before any model loads, and refuse a readable one unless the user opts in
(``--allow-readable-answers true``, ``allow_readable_answers: true``); with the opt-in, the run's log
lines, reports and checkpoint cards carry :data:`READABLE_ANSWERS_NOTE`.
"""

from __future__ import annotations

import sys
from typing import Any

from mlagent_env.errors import MLAgentError

READABLE_ANSWERS_NOTE = (
    "READABLE ANSWERS: agent code in this run's sandbox could read the tasks' private answers "
    "(allow_readable_answers: true), so its scores and rewards may come from reading them"
)

OPT_IN_HELP = ("run even where agent code can read the private answers (e.g. the local sandbox); "
               "every log line, report and checkpoint card then says so")


REFUSAL = (
    "agent code in this sandbox can read the tasks' private answers, so scores and rewards would not mean "
    "anything. Run it contained: --sandbox docker (start Docker, then: mlagent-env image build) or --sandbox bwrap "
    "(this machine, under bubblewrap: apt-get install bubblewrap); or, knowing that, opt in with "
    "--allow-readable-answers true (allow_readable_answers: true in a YAML config)"
)
"""Why a command refuses a readable sandbox, and the flags that get past it (both contained sandboxes and the opt-in)."""


class ReadableAnswersRefused(MLAgentError):
    """The sandbox lets agent code read the private answers and the user did not opt in."""


def env_answers_readable(task_id: str, **env_kwargs: Any) -> bool:
    """Make the task's env as a command would (same sandbox options), start it, and ask its sandbox."""
    import gymnasium as gym  # noqa: PLC0415

    env = gym.make(f"mlagent/{task_id}", **env_kwargs)
    try:
        env.reset()
        return bool(env.unwrapped.answers_readable)  # type: ignore[attr-defined]
    finally:
        env.close()


def check_readable_answers(readable: bool, allow: bool) -> str | None:
    """Refuse a readable sandbox without the opt-in (:data:`REFUSAL`: the command line that runs it
    prefixes its own name); with it, print and return the note that the run's logs, reports and
    cards must carry (None when the answers are hidden)."""
    if not readable:
        return None
    if not allow:
        raise ReadableAnswersRefused(REFUSAL)
    print(READABLE_ANSWERS_NOTE, file=sys.stderr)
    return READABLE_ANSWERS_NOTE
