"""The agent prompt: ONE renderer for the env, the SFT data and the RL prompts.

A prompt is a pure function of a :class:`PromptContext` (task, tools, workspace listing, budget
and the last ``k`` steps), rendered as one string (:func:`render_prompt`) or as chat messages
(:func:`render_messages`, a system and a user message). Training code must call these functions
with the context saved in a trajectory, never re-implement them, so that the policy sees the same
bytes in SFT, in RL and in the env.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from mlagent_env.config import option
from mlagent_env.sandbox.base import DirEntry, truncate_text
from mlagent_env.sandbox.listing import shown_path

PROMPT_VERSION = 1

PromptStyle = Literal["full", "compact"]
PROMPT_STYLES: tuple[str, ...] = get_args(PromptStyle)
PROMPT_STYLE_HELP = ("the prompt: full (MLAgentBench's: tools with usage blocks, Reflection ... Action Input replies) | "
                     "compact (for small models: a line per tool, replies of just Action and Action Input, observations "
                     "in the history cut at 1,500 characters)")
OBSERVATION_LIMIT: dict[str, int] = {"full": 3000, "compact": 1500}
"""Characters of a past observation the prompt shows, per style."""
ACTION_INPUT_LIMIT = 8000
"""Characters of a past step's Action Input the prompt shows (a whole starter-sized script fits)."""


def prompt_style_option() -> Any:
    """The ``prompt_style`` field of a command's config (the env's ``prompt_style``). Trajectories, RL
    states and evaluations of one model must share it: the policy learns the reply format it asks for."""
    return option("full", PROMPT_STYLE_HELP)


def history_window_option() -> Any:
    """The ``history_window`` field of a command's config (the env's ``history_window``)."""
    return option(3, "past steps shown in each prompt (fewer: shorter prompts for small models)", minimum=0)

SYSTEM_INTRO = (
    "You are a helpful research assistant working on a machine-learning engineering task. "
    "You can use the following tools:\n\n"
)

INSTRUCTIONS = """\
Follow these instructions and do not forget them:
- First come up with a high level plan based on your understanding of the problem and the available tools, and keep track of it in the Research Plan and Status.
- Research Plan and Status must only contain what has been confirmed by running code or reading files; mark new updates in **double asterisks**.
- Measure the baseline performance first, then improve on it. Confirm every performance number by running code.
- Write predictions for every test row to the submission file; use Validate Submission to check its format.
- Do not try to install new packages or libraries. Do not look for the test answers: they are not in the workspace.
- Use Final Answer once, when you are done: the submission file is then graded."""

RESPONSE_FORMAT = """\
Always respond in this format exactly:
Reflection: What does the observation mean? If there is an error, what caused the error and how to debug?
Research Plan and Status: The full high level research plan, with the current status and confirmed results of each step.
Fact Check: List the objective statements in the updates to Research Plan and Status, each marked as guessed or directly confirmed by a previous observation.
Thought: What you are currently doing, what actions to perform and why.
Action: the action to take, exactly one of the tool names above
Action Input: the input to the action as a valid JSON object"""


@dataclass(frozen=True)
class HistoryItem:
    """One past step as the prompt shows it. ``action`` is ``{"name", "arguments"}`` or None for an
    invalid reply (then ``reply`` holds the raw text)."""

    step: int
    action: dict[str, Any] | None
    observation: str
    reply: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "action": self.action, "observation": self.observation, "reply": self.reply}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "HistoryItem":
        return cls(step=int(d["step"]), action=d.get("action"), observation=str(d["observation"]), reply=str(d.get("reply", "")))


@dataclass(frozen=True)
class PromptContext:
    """Everything a prompt shows. ``history`` is already the window (the last k steps). ``style``
    picks the system part and the reply format (``tools`` must be rendered in the same style)."""

    research_problem: str
    tools: str
    workspace: list[DirEntry]
    step: int
    max_steps: int
    time_left_s: float
    history: list[HistoryItem] = field(default_factory=list)
    ideas: list[str] = field(default_factory=list)
    observation_limit: int = 3000
    listing_limit: int = 50
    workspace_truncated: bool = False
    """The listing stopped at its entry or depth cap: more files exist than ``workspace`` holds."""
    style: PromptStyle = "full"


def render_workspace(entries: list[DirEntry], limit: int, truncated: bool = False) -> str:
    lines = []
    for e in entries[:limit]:
        lines.append(f"{shown_path(e.path)}/" if e.is_dir else f"{shown_path(e.path)} ({_size(e.size)})")
    if len(entries) > limit:
        lines.append(f"... and {len(entries) - limit}{'+' if truncated else ''} more")
    elif truncated:
        lines.append("... and more")
    return "\n".join(lines) if lines else "(empty)"


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"  # pragma: no cover


def render_history_item(item: HistoryItem, observation_limit: int, style: PromptStyle = "full") -> str:
    obs, _ = truncate_text(item.observation, observation_limit)
    if item.action is None:
        reply, _ = truncate_text(item.reply, 500)
        head = f"Step {item.step}: (invalid reply)\n{reply}"
    else:  # the Action Input as the style's replies write it: indented (full) or on one line (compact)
        args = json.dumps(item.action.get("arguments", {}), indent=4 if style == "full" else None, ensure_ascii=False)
        args, _ = truncate_text(args, ACTION_INPUT_LIMIT)  # a huge payload must not flood every later prompt
        head = f"Step {item.step}:\nAction: {item.action['name']}\nAction Input: {args}"
    return f"{head}\nObservation:\n```\n{obs}\n```"


COMPACT_INTRO = "You solve a machine-learning engineering task in a workspace with these tools:\n"

COMPACT_INSTRUCTIONS = """\
Run the starter script first to measure it (it writes the submission file), then improve the script and run it again.
Do not look for the test answers: they are not in the workspace. End with Final Answer: the submission is then graded."""

COMPACT_FORMAT = """\
Reply with exactly two lines and nothing else: the name of one tool, and its input as one JSON object. For example:
Action: List Files
Action Input: {"dir_path": "."}"""


def style_of(messages: list[dict[str, str]]) -> PromptStyle | None:
    """The style a rendered prompt was made in (read from its system message), or None when it is
    neither (a prompt made elsewhere)."""
    system = messages[0].get("content", "") if messages else ""
    if system.startswith(COMPACT_INTRO):
        return "compact"
    if system.startswith(SYSTEM_INTRO):
        return "full"
    return None


def render_system(ctx: PromptContext) -> str:
    if ctx.style == "compact":
        return COMPACT_INTRO + ctx.tools + "\n\n" + COMPACT_INSTRUCTIONS + "\n\n" + COMPACT_FORMAT
    return SYSTEM_INTRO + ctx.tools + "\n\n" + INSTRUCTIONS + "\n\n" + RESPONSE_FORMAT


IDEAS_HEADER = "Ideas you may try:\n"
"""Opens the first prompt's list of ideas, one ``- idea`` line each (the scripted expert reads it back)."""


def render_user(ctx: PromptContext) -> str:
    parts = [f"Research Problem:\n{ctx.research_problem}"]
    if ctx.ideas:
        parts.append(IDEAS_HEADER + "\n".join(f"- {idea}" for idea in ctx.ideas))
    parts.append(
        "Workspace (your working directory; data/ is read-only):\n"
        + render_workspace(ctx.workspace, ctx.listing_limit, ctx.workspace_truncated)
    )
    if ctx.history:
        parts.append(
            "Your most recent steps:\n\n"
            + "\n\n".join(render_history_item(h, ctx.observation_limit, ctx.style) for h in ctx.history)
        )
    else:
        parts.append("You have not taken any step yet.")
    steps_left = max(ctx.max_steps - ctx.step, 0)
    parts.append(
        f"Step {ctx.step + 1} of {ctx.max_steps} ({steps_left} left); "
        f"time left for running code: {_duration(ctx.time_left_s)}.\nNow give your next response."
    )
    return "\n\n".join(parts)


def _duration(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return f"{h}h {m:02d}m {s:02d}s" if h else f"{m}m {s:02d}s"


def render_messages(ctx: PromptContext) -> list[dict[str, str]]:
    """The prompt as chat messages: one system message (tools, rules, format) and one user message."""
    return [{"role": "system", "content": render_system(ctx)}, {"role": "user", "content": render_user(ctx)}]


def render_prompt(ctx: PromptContext) -> str:
    """The prompt as one string: the system part, a blank line, the user part."""
    return render_system(ctx) + "\n\n" + render_user(ctx)
