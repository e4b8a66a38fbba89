"""Carries out one parsed action against a sandbox and says what happened.

The executor knows nothing of rewards: it returns a :class:`ToolOutcome` (observation text,
whether the action failed or hit a resource corner case, the exec result of a run). The env
turns that into the unified reward.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from typing import Sequence

import pandas as pd

from mlagent_env import actions as A
from mlagent_env.errors import InvalidSubmission, PathEscapeError, SandboxError
from mlagent_env.llm import LLMError, TextLLM
from mlagent_env.sandbox.base import ExecResult, Sandbox, normalize_relpath, truncate_text
from mlagent_env.sandbox.listing import shown_path
from mlagent_env.tasks.grading import AnswerKey, read_csv_submission, validate_submission
from mlagent_env.tasks.spec import TaskSpec

READ_LIMIT = 10_000
"""Characters of a file that Read File shows (head + tail)."""
LIST_FILES_MAX = 10_000
"""Entries that List Files shows at most (it says when there are more)."""
INSPECT_MAX_LINES = 100
DIFF_LIMIT = 5_000
UNDERSTAND_BLOCK = 10_000
UNDERSTAND_MAX_BLOCKS = 10


@dataclass
class ToolOutcome:
    observation: str
    failed: bool = False
    corner_case: bool = False
    exec: ExecResult | None = None
    final: bool = False


@dataclass
class ToolState:
    """What tools remember between steps: the edit backups (for Undo Edit Script), oldest first."""

    backups: dict[str, list[str]] = field(default_factory=dict)


class ToolExecutor:
    """Runs actions in ``sandbox`` for task ``spec``. ``expected_ids`` are the test ids that a
    submission must cover (for Validate Submission; an :class:`AnswerKey` also checks the classes,
    as grading does); ``llm`` backs the two LLM tools."""

    def __init__(
        self,
        sandbox: Sandbox,
        spec: TaskSpec,
        expected_ids: Sequence[str] | AnswerKey,
        exec_timeout_s: float,
        state: ToolState | None = None,
        llm: TextLLM | None = None,
        max_backups: int = 20,
    ) -> None:
        self.sandbox = sandbox
        self.spec = spec
        self.expected_ids = expected_ids if isinstance(expected_ids, AnswerKey) else list(expected_ids)
        self.exec_timeout_s = exec_timeout_s
        self.state = state or ToolState()
        self.llm = llm
        self.max_backups = max_backups

    def run(self, action: A.Action) -> ToolOutcome:
        handler = getattr(self, "_" + type(action).__name__)
        try:
            return handler(action)
        except SandboxError as exc:
            return ToolOutcome(f"EnvError: {exc}", failed=True)
        except OSError as exc:  # the file system refused what the sandbox's checks let through
            return ToolOutcome(f"EnvError: {exc.strerror or exc}", failed=True)
        except LLMError as exc:
            return ToolOutcome(f"LLMError: {exc}", failed=True)

    # ------------------------------------------------------------------ file actions
    def _ListFiles(self, a: A.ListFiles) -> ToolOutcome:
        entries = self.sandbox.list_dir(a.dir_path, max_entries=LIST_FILES_MAX)
        prefix = "" if a.dir_path.strip() in ("", ".", "./") else a.dir_path.strip().rstrip("/") + "/"
        lines = [shown_path(e.path[len(prefix) :]) + ("/" if e.is_dir else "") for e in entries]
        if entries.truncated:
            lines.append(f"[only the first {len(entries)} entries are listed]")
        text, _ = truncate_text("\n".join(lines) if lines else "(empty folder)", READ_LIMIT)
        return ToolOutcome(text)

    def _ReadFile(self, a: A.ReadFile) -> ToolOutcome:
        data = self.sandbox.read_file(a.file_name)
        if b"\x00" in data[:8192]:
            return ToolOutcome(f"{a.file_name} is a binary file ({len(data)} bytes); it cannot be shown as text.")
        text, cut = truncate_text(data.decode("utf-8", errors="replace"), READ_LIMIT)
        note = f"\n[the file has {len(data)} bytes; only its beginning and end are shown]" if cut else ""
        return ToolOutcome(text + note)

    def _InspectScriptLines(self, a: A.InspectScriptLines) -> ToolOutcome:
        if a.end_line_number < a.start_line_number:
            return ToolOutcome("EnvError: end_line_number must not be smaller than start_line_number", failed=True)
        if a.end_line_number - a.start_line_number + 1 > INSPECT_MAX_LINES:
            return ToolOutcome(f"EnvError: show at most {INSPECT_MAX_LINES} lines at a time", failed=True)
        lines = self._text(a.script_name).splitlines()
        chosen = lines[a.start_line_number - 1 : a.end_line_number]
        body = "\n".join(f"{i:>4}  {line}" for i, line in enumerate(chosen, start=a.start_line_number))
        return ToolOutcome(f"Here are the lines (the file ends at line {len(lines)}):\n{body}")

    def _WriteFile(self, a: A.WriteFile) -> ToolOutcome:
        self._backup(a.file_name)
        self.sandbox.write_file(a.file_name, a.content.encode())
        return ToolOutcome(f"File {a.file_name} written successfully ({len(a.content)} characters).")

    def _CopyFile(self, a: A.CopyFile) -> ToolOutcome:
        data = self.sandbox.read_file(a.source)
        self._backup(a.destination)
        self.sandbox.write_file(a.destination, data)
        return ToolOutcome(f"File {a.source} copied to {a.destination}.")

    def _EditScriptSegment(self, a: A.EditScriptSegment) -> ToolOutcome:
        old = self._text(a.script_name)
        lines = old.splitlines(keepends=True)
        if a.start_line_number > len(lines) + 1:
            return ToolOutcome(
                f"EnvError: start_line_number {a.start_line_number} is past the end of {a.script_name} "
                f"({len(lines)} lines)",
                failed=True,
            )
        if a.end_line_number < a.start_line_number - 1:
            return ToolOutcome("EnvError: end_line_number must be >= start_line_number - 1", failed=True)
        if lines and not lines[-1].endswith("\n"):
            lines[-1] += "\n"
        new_lines = a.new_content.splitlines(keepends=True)
        if new_lines and not new_lines[-1].endswith("\n"):
            new_lines[-1] += "\n"
        end = min(a.end_line_number, len(lines))
        new = "".join(lines[: a.start_line_number - 1] + new_lines + lines[end:])
        return self._save_edit(a.script_name, a.script_name, old, new)

    def _UndoEditScript(self, a: A.UndoEditScript) -> ToolOutcome:
        key = normalize_relpath(a.script_name)
        stack = self.state.backups.get(key)
        if not stack:
            return ToolOutcome(f"EnvError: there is no edit of {a.script_name} to undo", failed=True)
        previous = stack.pop()
        if not stack:
            del self.state.backups[key]
        self.sandbox.write_file(a.script_name, previous.encode())
        shown, _ = truncate_text(previous, READ_LIMIT)
        return ToolOutcome(f"Content of {a.script_name} after undoing the most recent edit:\n{shown}")

    def _EditScriptAI(self, a: A.EditScriptAI) -> ToolOutcome:
        if self.llm is None:
            return self._unavailable(a)
        old = self._text(a.script_name) if self.sandbox.exists(a.script_name) else ""
        prompt = (
            f"Given this python script:\n```python\n{old}\n```\n\n"
            f"Edit the script by following the instruction:\n{a.edit_instruction}\n\n"
            "Provide the full code after the edit, making no other changes. Start the python code with "
            '"```python".'
        )
        answer = self.llm(prompt)
        match = re.search(r"```python\n(.*?)(?:```|$)", answer, re.DOTALL)
        new = match.group(1) if match else answer
        return self._save_edit(a.script_name, a.save_name, old, new)

    def _UnderstandFile(self, a: A.UnderstandFile) -> ToolOutcome:
        if self.llm is None:
            return self._unavailable(a)
        text = self._text(a.file_name)
        blocks = [text[i : i + UNDERSTAND_BLOCK] for i in range(0, max(len(text), 1), UNDERSTAND_BLOCK)]
        blocks = blocks[:UNDERSTAND_MAX_BLOCKS]
        answers = []
        for i, block in enumerate(blocks):
            answers.append(
                self.llm(
                    f"Here is segment {i + 1} of {len(blocks)} of the file {a.file_name}:\n```\n{block}\n```\n"
                    f"Look for: {a.things_to_look_for}\nDescribe what you find, citing the relevant lines. "
                    "If something cannot be found in this segment, say so."
                )
            )
        if len(answers) == 1:
            return ToolOutcome(answers[0])
        merged = self.llm(
            "Combine these descriptions of the segments of one file into one answer to "
            f"'{a.things_to_look_for}':\n\n" + "\n\n".join(f"Segment {i + 1}: {t}" for i, t in enumerate(answers))
        )
        return ToolOutcome(merged)

    # ------------------------------------------------------------------ running and submitting
    def _ExecuteScript(self, a: A.ExecuteScript) -> ToolOutcome:
        if not self.sandbox.exists(a.script_name):
            return ToolOutcome(f"EnvError: the script {a.script_name} does not exist", failed=True)
        if not a.script_name.endswith(".py"):
            return ToolOutcome(f"EnvError: {a.script_name} is not a Python script (.py)", failed=True)
        result = self.sandbox.exec([self.sandbox.python, "-u", normalize_relpath(a.script_name)], self.exec_timeout_s)
        output = result.stdout
        if result.stderr.strip():
            output = (output + "\n" if output else "") + result.stderr
        obs = f"The script has been executed. Here is the output:\n{output.rstrip()}"
        if result.hit_limit:  # time, memory or disk
            return ToolOutcome(obs, corner_case=True, exec=result)
        if result.exit_code != 0:
            return ToolOutcome(obs + f"\n[exit code {result.exit_code}]", failed=True, exec=result)
        return ToolOutcome(obs, exec=result)

    def _ValidateSubmission(self, a: A.ValidateSubmission) -> ToolOutcome:
        """A missing file, or a path argument that leaves the workspace, is the action's error; a file
        that is there but cannot be read (a FIFO, a link out of the workspace, too large) is an
        invalid submission, reported like any other (``non_edit``)."""
        normalize_relpath(a.submission_path)
        try:
            present = self.sandbox.exists(a.submission_path)
        except PathEscapeError:  # a link in the workspace that points out: read_submission says so
            present = True
        if not present:
            return ToolOutcome(f"EnvError: there is no file {a.submission_path}; write the submission first", failed=True)
        try:
            frame = self.read_submission(a.submission_path)
            validate_submission(self.spec, frame, self.expected_ids)
        except InvalidSubmission as exc:
            return ToolOutcome(f"The submission {a.submission_path} is invalid: {exc}")
        return ToolOutcome(
            f"The submission {a.submission_path} is valid: {len(self.expected_ids)} rows with the columns "
            f"{', '.join(self.spec.submission_columns)}. (No score is given before the end.)"
        )

    def _FinalAnswer(self, a: A.FinalAnswer) -> ToolOutcome:
        return ToolOutcome("Final answer recorded; the episode is over.", final=True)

    # ------------------------------------------------------------------ helpers
    def read_submission(self, path: str | None = None) -> pd.DataFrame:
        """Read a submission file from the sandbox. Raises InvalidSubmission if missing or unreadable."""
        path = path or self.spec.submission_file
        try:
            data = self.sandbox.read_file(path)
        except SandboxError as exc:
            raise InvalidSubmission(f"cannot read {path}: {exc}") from exc
        return read_csv_submission(data, self.spec, name=path)

    def _text(self, path: str) -> str:
        data = self.sandbox.read_file(path)
        if b"\x00" in data[:8192]:
            raise SandboxError(f"{path} is a binary file, not a script")
        return data.decode("utf-8", errors="replace")

    def _backup(self, path: str) -> None:
        if self.sandbox.exists(path):
            try:
                old = self._text(path)
            except SandboxError:
                return
            stack = self.state.backups.setdefault(normalize_relpath(path), [])
            stack.append(old)
            del stack[: -self.max_backups]

    def _save_edit(self, script: str, save_name: str, old: str, new: str) -> ToolOutcome:
        self._backup(save_name)
        self.sandbox.write_file(save_name, new.encode())
        diff = "".join(
            difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True), script, save_name)
        )
        diff, _ = truncate_text(diff or "(no change)", DIFF_LIMIT)
        return ToolOutcome(f"The edited file is saved to {save_name}. Here is the diff; check that it is correct:\n{diff}")

    def _unavailable(self, a: A.Action) -> ToolOutcome:
        return ToolOutcome(
            f"EnvError: {a.name} is unavailable: no helper model is configured for this environment "
            "(pass llm=... to gym.make). Use Read File, Inspect Script Lines, Write File or Edit Script Segment.",
            failed=True,
        )
