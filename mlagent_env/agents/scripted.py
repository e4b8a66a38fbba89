"""Policies that need no model: a fixed list of replies, a task's demo, a replayed trajectory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from mlagent_env import actions as A
from mlagent_env.tasks.registry import get_task

DEMO_FILE = "demo.jsonl"


def baseline_replies(script: str = "train.py", submission: str = "submission.csv") -> list[str]:
    """The generic baseline: look around, run the starter, check the submission, finish."""
    return [
        A.ListFiles(dir_path=".").to_reply(),
        A.InspectScriptLines(script_name=script, start_line_number=1, end_line_number=100).to_reply(),
        A.ExecuteScript(script_name=script).to_reply(),
        A.ValidateSubmission(submission_path=submission).to_reply(),
        A.FinalAnswer(final_answer=f"Ran the starter {script} and submitted its predictions.").to_reply(),
    ]


class ScriptedPolicy:
    """Replies from a fixed list, in order; when the list runs out, a Final Answer."""

    def __init__(self, replies: Sequence[str]) -> None:
        if not replies:
            raise ValueError("a scripted policy needs at least one reply")
        self.replies = list(replies)
        self._i = 0

    def reset(self, task_id: str, seed: int | None = None) -> None:
        self._i = 0

    def act(self, messages: list[dict[str, str]], info: dict[str, Any]) -> str:
        if self._i >= len(self.replies):
            return A.FinalAnswer(final_answer="The script is exhausted.").to_reply()
        reply = self.replies[self._i]
        self._i += 1
        return reply

    @classmethod
    def for_task(cls, task_id: str) -> "ScriptedPolicy":
        """The task's demo (``tasks/<id>/demo.jsonl``: one ``{"reply": ...}`` per line) if it has
        one, else the generic baseline."""
        task = get_task(task_id)
        demo = task.root / DEMO_FILE
        if demo.is_file():
            return cls(read_replies(demo))
        return cls(baseline_replies(task.spec.starter_script, task.spec.submission_file))


class ReplayPolicy(ScriptedPolicy):
    """Replays the ``reply`` fields of a JSONL trajectory (or demo) file."""

    def __init__(self, path: str | Path) -> None:
        super().__init__(read_replies(path))


def read_replies(path: str | Path) -> list[str]:
    replies = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                replies.append(str(json.loads(line)["reply"]))
            except (ValueError, KeyError, TypeError) as exc:
                raise ValueError(f"{path}:{n}: expected a JSON object with a 'reply' field") from exc
    return replies
