"""Actions: pydantic models, the text protocol parser, and tool descriptions made from the models.

An agent's reply is parsed by :func:`parse_reply` in one of two forms:

(a) the MLAgentBench format::

        Reflection: ...
        Research Plan and Status: ...
        Fact Check: ...
        Thought: ...
        Action: Execute Script
        Action Input: {"script_name": "train.py"}

(b) a JSON tool call, bare, in a code fence or in ``<tool_call>`` tags::

        {"name": "Execute Script", "arguments": {"script_name": "train.py"}}
        {"action": "Execute Script", "action_input": {"script_name": "train.py"}}

Parsing forgives what LLMs commonly do (code fences, markdown bold, text after the JSON,
trailing commas, raw newlines inside strings, action names in snake_case) and refuses what is
ambiguous (two actions in one reply). Every failure is an :class:`ActionParseError` whose
message says what was wrong and how a correct reply looks.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from dataclasses import dataclass, field
from typing import Any, ClassVar, Iterable

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mlagent_env.errors import MLAgentError

# --------------------------------------------------------------------------- action models


class Action(BaseModel):
    """Base class of every action. Subclasses set ``name``, ``observation`` and ``editing``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: ClassVar[str]
    observation: ClassVar[str] = "[a message describing the result]"
    editing: ClassVar[bool] = False
    """True for actions that change files (their effect is judged by the next execution)."""
    needs_llm: ClassVar[bool] = False

    def arguments(self) -> dict[str, Any]:
        return self.model_dump()

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "arguments": self.arguments()}

    def to_reply(self, style: str = "full") -> str:
        """This action as a bare reply (used by scripted agents and tests): an Action line and the Action
        Input, indented (the ``full`` prompt style) or on one line (``compact``)."""
        args = json.dumps(self.arguments(), indent=4 if style == "full" else None)
        return f"Action: {self.name}\nAction Input: {args}"


class ListFiles(Action):
    """List the files and folders in a folder of the workspace."""

    name: ClassVar[str] = "List Files"
    observation: ClassVar[str] = "[the files and folders, folders end with '/']"
    dir_path: str = Field(".", description="a folder relative to the workspace root, e.g. '.' or 'data'")


class ReadFile(Action):
    """Read a text file of the workspace (long files are truncated with a marker)."""

    name: ClassVar[str] = "Read File"
    observation: ClassVar[str] = "[the content of the file]"
    file_name: str = Field(description="a file relative to the workspace root")


class InspectScriptLines(Action):
    """Show some lines of a script, numbered. At most 100 lines at a time."""

    name: ClassVar[str] = "Inspect Script Lines"
    observation: ClassVar[str] = "[the numbered lines of the script]"
    script_name: str = Field(description="a script relative to the workspace root")
    start_line_number: int = Field(ge=1, description="first line to show, counting from 1")
    end_line_number: int = Field(ge=1, description="last line to show (inclusive)")


class WriteFile(Action):
    """Write a whole file (created or replaced). Replacing a file can be undone with Undo Edit Script."""

    name: ClassVar[str] = "Write File"
    editing: ClassVar[bool] = True
    observation: ClassVar[str] = "[a confirmation]"
    file_name: str = Field(description="a file relative to the workspace root")
    content: str = Field(description="the full new content of the file")


class CopyFile(Action):
    """Copy a file to a new location in the workspace."""

    name: ClassVar[str] = "Copy File"
    editing: ClassVar[bool] = True
    observation: ClassVar[str] = "[a confirmation]"
    source: str = Field(description="the file to copy, relative to the workspace root")
    destination: str = Field(description="where to write the copy, relative to the workspace root")


class EditScriptSegment(Action):
    """Replace the lines start_line_number..end_line_number (inclusive) of a script by new_content.
    To insert before line n without deleting, use start_line_number=n and end_line_number=n-1."""

    name: ClassVar[str] = "Edit Script Segment"
    editing: ClassVar[bool] = True
    observation: ClassVar[str] = "[the diff of the edit]"
    script_name: str = Field(description="a script relative to the workspace root")
    start_line_number: int = Field(ge=1, description="first line to replace, counting from 1")
    end_line_number: int = Field(ge=0, description="last line to replace (inclusive)")
    new_content: str = Field(description="the lines that replace them (may be empty to delete)")


class UndoEditScript(Action):
    """Undo the most recent edit of a script (Write File, Copy File, Edit Script Segment or Edit Script (AI))."""

    name: ClassVar[str] = "Undo Edit Script"
    editing: ClassVar[bool] = True
    observation: ClassVar[str] = "[the content of the script after the undo]"
    script_name: str = Field(description="a script relative to the workspace root")


class ExecuteScript(Action):
    """Run a Python script of the workspace and see its output. Runs have a time and memory limit."""

    name: ClassVar[str] = "Execute Script"
    observation: ClassVar[str] = "[the output of the script, or its errors]"
    script_name: str = Field(description="a Python script relative to the workspace root, e.g. 'train.py'")


class UnderstandFile(Action):
    """Ask a helper model to read a (long) file and answer what to look for in it."""

    name: ClassVar[str] = "Understand File"
    needs_llm: ClassVar[bool] = True
    observation: ClassVar[str] = "[a description of what was found in the file]"
    file_name: str = Field(description="a file relative to the workspace root")
    things_to_look_for: str = Field(description="what to look for and what should be returned")


class EditScriptAI(Action):
    """Ask a helper model to edit a whole script by an instruction; the result is saved to save_name."""

    name: ClassVar[str] = "Edit Script (AI)"
    editing: ClassVar[bool] = True
    needs_llm: ClassVar[bool] = True
    observation: ClassVar[str] = "[the diff of the edit]"
    script_name: str = Field(description="the script to edit (created if missing)")
    edit_instruction: str = Field(description="a precise, step-by-step description of the edit")
    save_name: str = Field(description="where to save the edited script")


class ValidateSubmission(Action):
    """Check the format of a submission file (ids, columns, values). It does not give a score."""

    name: ClassVar[str] = "Validate Submission"
    observation: ClassVar[str] = "[whether the submission is valid, and what is wrong if not]"
    submission_path: str = Field("submission.csv", description="the submission file, relative to the workspace root")


class FinalAnswer(Action):
    """End the episode. The submission file as it is now is graded. Use it once."""

    name: ClassVar[str] = "Final Answer"
    observation: ClassVar[str] = "[nothing: the episode ends]"
    final_answer: str = Field(description="a short summary of what you did and the result")


ACTION_TYPES: tuple[type[Action], ...] = (
    ListFiles,
    ReadFile,
    InspectScriptLines,
    WriteFile,
    CopyFile,
    EditScriptSegment,
    UndoEditScript,
    ExecuteScript,
    UnderstandFile,
    EditScriptAI,
    ValidateSubmission,
    FinalAnswer,
)
ACTIONS: dict[str, type[Action]] = {cls.name: cls for cls in ACTION_TYPES}


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


_BY_KEY: dict[str, type[Action]] = {_key(n): cls for n, cls in ACTIONS.items()}


def action_from_dict(data: dict[str, Any]) -> Action:
    """Inverse of :meth:`Action.to_dict`. Raises ActionParseError."""
    return _build(str(data.get("name", "")), data.get("arguments", {}))


# --------------------------------------------------------------------------- tool descriptions


def available_actions(has_llm: bool) -> list[type[Action]]:
    """The actions shown to the agent: the LLM-backed ones only when a helper model is configured."""
    return [cls for cls in ACTION_TYPES if has_llm or not cls.needs_llm]


def _usage(cls: type[Action]) -> dict[str, str]:
    usage = {}
    for fname, finfo in cls.model_fields.items():
        desc = finfo.description or fname
        if not finfo.is_required():
            desc += f" (default: {json.dumps(finfo.default)})"
        usage[fname] = f"[{desc}]"
    return usage


def tool_description(cls: type[Action]) -> str:
    doc = " ".join((cls.__doc__ or "").split())
    args = json.dumps(_usage(cls), indent=4)
    return (
        f"- {cls.name}:\n"
        f"    {doc}\n"
        f"    Usage:\n"
        f"    ```\n"
        f"    Action: {cls.name}\n"
        f"    Action Input: {args.replace(chr(10), chr(10) + '    ')}\n"
        f"    Observation: {cls.observation}\n"
        f"    ```"
    )


def compact_tool_description(cls: type[Action]) -> str:
    """One line: the name, an example input (defaults, ``<field>`` for the rest) and the first sentence of the doc."""
    example = {name: (f.default if not f.is_required() else 1 if f.annotation is int else f"<{name}>")
               for name, f in cls.model_fields.items()}
    doc = " ".join((cls.__doc__ or "").split())
    first = doc.split(". ")[0].rstrip(".")
    return f"- {cls.name} {json.dumps(example, ensure_ascii=False)}: {first}."


def tool_descriptions(actions: Iterable[type[Action]], style: str = "full") -> str:
    """The tool section of the prompt, generated from the action models: usage blocks (``full``) or a
    line per tool (``compact``)."""
    describe = compact_tool_description if style == "compact" else tool_description
    return "\n".join(describe(cls) for cls in actions)


def tool_schemas(actions: Iterable[type[Action]]) -> list[dict[str, Any]]:
    """OpenAI-style function schemas of the actions (for tool-calling policies)."""
    out = []
    for cls in actions:
        schema = cls.model_json_schema()
        schema.pop("title", None)
        for prop in schema.get("properties", {}).values():
            prop.pop("title", None)
        out.append(
            {
                "type": "function",
                "function": {
                    "name": cls.name,
                    "description": " ".join((cls.__doc__ or "").split()),
                    "parameters": schema,
                },
            }
        )
    return out


# --------------------------------------------------------------------------- parsing


class ActionParseError(MLAgentError):
    """A reply that is not exactly one valid action. The message is shown to the agent."""


@dataclass
class ParsedReply:
    """What :func:`parse_reply` found: the action, the reply form, and the named sections
    (Reflection, Thought, ...) of an MLAgentBench-format reply."""

    action: Action
    form: str  # "mlagentbench" | "json"
    sections: dict[str, str] = field(default_factory=dict)


FORMAT_HINT = (
    "Reply with exactly one action, either as\n"
    "an Action line naming it and an Action Input line with its arguments as a JSON object, e.g.\n"
    'Action: Execute Script\nAction Input: {"script_name": "train.py"}\n'
    'or as a JSON tool call, e.g. {"name": "Execute Script", "arguments": {"script_name": "train.py"}}.'
)

_SECTION_NAMES = ("Reflection", "Research Plan and Status", "Fact Check", "Thought", "Action Input", "Action")
_SECTION_RE = re.compile(
    r"^[ \t>]*(?:#{1,6}[ \t]+)?[*_`]*(" + "|".join(re.escape(n) for n in _SECTION_NAMES) + r")[*_`]*[ \t]*:[*_`]*[ \t]*",
    re.IGNORECASE | re.MULTILINE,
)
_THINK_RE = re.compile(r"\A(?:\s*<think>.*?</think>)+", re.DOTALL | re.IGNORECASE)  # leading only: payloads stay
_NO_ACTION_LINE = "the reply has an 'Action Input:' but no 'Action:' line naming the action. " + FORMAT_HINT
_TOOL_CALL_OPEN_RE = re.compile(r"<tool_call>", re.IGNORECASE)


def parse_reply(reply: Any) -> ParsedReply:
    """Parse an agent's raw reply into exactly one action. Raises ActionParseError.

    The form is read from the reply's own layout, never from its payload: whichever comes first
    of an ``Action:`` header, a ``<tool_call>`` tag or a JSON tool-call object decides it, and the
    action's arguments (file contents included) are then skipped as one balanced JSON value, so
    they may contain ``Action:`` lines, ``<tool_call>`` tags, JSON or fences. Only what follows the
    arguments is checked for a second action.
    """
    if not isinstance(reply, str):
        raise ActionParseError(f"the reply must be text, got {type(reply).__name__}. {FORMAT_HINT}")
    text = _THINK_RE.sub("", reply).replace("\r\n", "\n").strip()
    if not text:
        raise ActionParseError(f"the reply is empty. {FORMAT_HINT}")
    try:
        return _parse_layout(text)
    except RecursionError:
        raise ActionParseError(f"the reply's JSON is nested too deeply to read. {FORMAT_HINT}") from None


def _parse_layout(text: str) -> ParsedReply:
    headers = list(_SECTION_RE.finditer(text))
    action_at = next((m.start() for m in headers if m.group(1).lower() == "action"), None)
    tag = _TOOL_CALL_OPEN_RE.search(text)
    brace = text.find("{")
    marks = sorted(
        (pos, kind)
        for pos, kind in ((action_at, "action"), (tag.start() if tag else None, "tag"), (brace, "brace"))
        if pos is not None and pos >= 0
    )
    for i, (pos, kind) in enumerate(marks):
        if kind == "tag":
            return _parse_tool_call(text, tag.end())  # type: ignore[union-attr]
        if kind == "action":
            return _parse_mlab_layout(text, headers, pos)
        # a '{' first: a bare JSON tool call, unless it is prose before an Action line or a tag
        if any(m.group(1).lower() == "action input" and m.start() < pos for m in headers) and action_at is None:
            raise ActionParseError(_NO_ACTION_LINE)
        if i == len(marks) - 1:
            return _parse_tool_call(text, pos)
        if _looks_like_call(text[pos:]):
            return _parse_tool_call(text, pos)
    if any(m.group(1).lower() == "action input" for m in headers):
        raise ActionParseError(_NO_ACTION_LINE)
    raise ActionParseError("no action found: the reply has neither an 'Action:' line nor a JSON tool call. " + FORMAT_HINT)


def _parse_mlab_layout(text: str, headers: list[re.Match[str]], action_at: int) -> ParsedReply:
    if any(m.group(1).lower() == "action input" and m.start() < action_at for m in headers):
        raise ActionParseError("the 'Action Input:' comes before the 'Action:' line. " + FORMAT_HINT)
    first_input = next((m for m in headers if m.group(1).lower() == "action input" and m.start() > action_at), None)
    head = text[: first_input.start()] if first_input else text
    tail = text[first_input.end() :] if first_input else None
    return _parse_mlab(_split_sections(head), tail)


def _looks_like_call(text: str) -> bool:
    """True when text starts with a JSON object that names an action (a tool call)."""
    try:
        obj, _ = _decode_json(text, what="the reply")
    except ActionParseError:
        return False
    return isinstance(obj, dict) and (
        any(k in obj for k in ("name", "action", "tool")) or isinstance(obj.get("function"), dict)
    )


def _parse_tool_call(text: str, start: int) -> ParsedReply:
    """A JSON tool call whose object is the first at or after ``start``. Only the text after the
    object is searched for further actions."""
    parsed, end = _parse_json_call(text[start:])
    rest = text[start + end :]
    rest = re.sub(r"^\s*(?:```)?\s*</tool_call>", "", rest, flags=re.IGNORECASE)
    more_tags = len(_TOOL_CALL_OPEN_RE.findall(rest))
    if more_tags:
        raise ActionParseError(f"the reply has {1 + more_tags} tool calls; give exactly one action per reply.")
    if any(m.group(1).lower() in ("action", "action input") for m in _SECTION_RE.finditer(rest)):
        raise ActionParseError(
            "the reply has both a JSON tool call and an 'Action:' line; it is ambiguous. " + FORMAT_HINT
        )
    return parsed


def _split_sections(text: str) -> list[tuple[str, str]]:
    matches = list(_SECTION_RE.finditer(text))
    out = []
    for i, m in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        out.append((m.group(1).lower(), text[m.end() : end].strip()))
    return out


def _parse_mlab(sections: list[tuple[str, str]], input_text: str | None) -> ParsedReply:
    names = {_clean_name(body) for name, body in sections if name == "action"}
    if len(names) > 1:
        raise ActionParseError(f"the reply names {len(names)} actions; give exactly one Action and one Action Input.")
    name = names.pop()
    if not name:
        raise ActionParseError("the 'Action:' line is empty; name one action. " + FORMAT_HINT)
    cls = _lookup(name)
    if input_text is None:
        if all(not f.is_required() for f in cls.model_fields.values()):
            args: Any = {}
        else:
            raise ActionParseError(f"the reply has no 'Action Input:' for {cls.name}.\n{_usage_hint(cls)}")
    else:
        args, end = _decode_json(input_text, what=f"the Action Input of {cls.name}", cls=cls)
        rest = input_text[end:]
        if any(m.group(1).lower() in ("action", "action input") for m in _SECTION_RE.finditer(rest)):
            raise ActionParseError("the reply has more than one action; give exactly one Action and one Action Input.")
        if _TOOL_CALL_OPEN_RE.search(rest):
            raise ActionParseError(
                "the reply has both an 'Action:' line and a <tool_call>; it is ambiguous. " + FORMAT_HINT
            )
    kept = {_SECTION_TITLES[n]: b for n, b in sections if n not in ("action", "action input")}
    return ParsedReply(action=_build(cls.name, args), form="mlagentbench", sections=kept)


_SECTION_TITLES = {n.lower(): n for n in _SECTION_NAMES}


def _parse_json_call(text: str) -> tuple[ParsedReply, int]:
    """The tool call whose JSON object is the first in ``text``, and the index just after it."""
    obj, end = _decode_json(text, what="the reply")
    if not isinstance(obj, dict):
        raise ActionParseError(f"the reply's JSON is not an object. {FORMAT_HINT}")
    if "function" in obj and isinstance(obj["function"], dict):  # OpenAI tool_calls entry
        obj = obj["function"]
    name_keys = [k for k in ("name", "action", "tool") if k in obj]
    if len(name_keys) != 1:
        raise ActionParseError(f"no action named in the JSON (expected a 'name' key). {FORMAT_HINT}")
    name = obj[name_keys[0]]
    arg_keys = [k for k in ("arguments", "action_input", "parameters", "args", "input") if k in obj]
    if len(arg_keys) > 1:
        raise ActionParseError(f"the JSON has several argument objects ({', '.join(arg_keys)}); give one 'arguments'.")
    extra = set(obj) - {name_keys[0], *arg_keys}
    if extra:
        raise ActionParseError(f"unexpected keys {sorted(extra)} in the tool call; use 'name' and 'arguments'.")
    if not isinstance(name, str):
        raise ActionParseError(f"the action name must be a string. {FORMAT_HINT}")
    cls = _lookup(_clean_name(name))
    args: Any = obj[arg_keys[0]] if arg_keys else {}
    if isinstance(args, str):
        args, _ = _decode_json(args, what=f"the arguments of {cls.name}", cls=cls)
    return ParsedReply(action=_build(cls.name, args), form="json"), end


def _clean_name(raw: str) -> str:
    first = raw.strip().splitlines()[0] if raw.strip() else ""
    return first.strip().strip("*_`'\"").strip()


def _lookup(name: str) -> type[Action]:
    cls = _BY_KEY.get(_key(name))
    if cls is None:
        known = ", ".join(ACTIONS)
        raise ActionParseError(f"unknown action {name!r}. The actions are: {known}.")
    return cls


def _usage_hint(cls: type[Action]) -> str:
    return f"Usage:\nAction: {cls.name}\nAction Input: {json.dumps(_usage(cls), indent=4)}"


def _build(name: str, args: Any) -> Action:
    cls = _lookup(name)
    if not isinstance(args, dict):
        raise ActionParseError(f"the arguments of {cls.name} must be a JSON object.\n{_usage_hint(cls)}")
    try:
        action = cls.model_validate(args)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "(arguments)"
            if err["type"] == "extra_forbidden":
                problems.append(f"unexpected argument {loc!r}")
            elif err["type"] == "missing":
                problems.append(f"missing argument {loc!r}")
            else:
                problems.append(f"argument {loc!r}: {err['msg']}")
        raise ActionParseError(f"bad arguments for {cls.name}: {'; '.join(problems)}.\n{_usage_hint(cls)}") from None
    for fname, value in action.model_dump().items():
        bad = _LONE_SURROGATE_RE.search(value) if isinstance(value, str) else None
        if bad:
            raise ActionParseError(
                f"bad arguments for {cls.name}: argument {fname!r} contains a lone surrogate "
                f"(U+{ord(bad.group()):04X}), which is not text; write valid UTF-8."
            )
    return action


_LONE_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def _decode_json(text: str, what: str, cls: type[Action] | None = None) -> tuple[Any, int]:
    """Decode the first JSON object in ``text``, forgiving fences, trailing text and trailing commas.
    Returns the value and the index in ``text`` just after the object."""
    span = _first_object(text)
    hint = ("\n" + _usage_hint(cls)) if cls else ("\n" + FORMAT_HINT)
    if span is None:
        raise ActionParseError(f"{what} is not a JSON object (no '{{' ... '}}' found).{hint}")
    body = text[span[0] : span[1]]
    for candidate in (body, _drop_trailing_commas(body)):
        try:
            return json.loads(candidate, strict=False), span[1]
        except json.JSONDecodeError:
            pass
        except ValueError:  # an integer past Python's digit limit (sys.get_int_max_str_digits)
            raise ActionParseError(f"{what} has a number too long to read (over "
                                   f"{sys.get_int_max_str_digits()} digits).{hint}") from None
    try:  # Python-literal dicts ({'a': 'b'}) are common from LLMs and unambiguous
        value = ast.literal_eval(body)
        if isinstance(value, dict):
            return value, span[1]
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        pass
    try:
        json.loads(_drop_trailing_commas(body), strict=False)
    except json.JSONDecodeError as exc:
        raise ActionParseError(f"{what} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}.{hint}") from None
    raise ActionParseError(f"{what} is not valid JSON.{hint}")  # pragma: no cover


def _first_object(text: str) -> tuple[int, int] | None:
    """Span of the first balanced {...} in text, aware of strings; None if there is no '{'."""
    start = text.find("{")
    if start < 0:
        return None
    depth = 0
    in_str: str | None = None
    esc = False
    for i in range(start, len(text)):
        c = text[i]
        if in_str:
            if esc:
                esc = False
            elif c == "\\":
                esc = True
            elif c == in_str:
                in_str = None
        elif c in "\"'":
            in_str = c if c == '"' or _single_quote_opens(text, i) else None
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return start, i + 1
    return start, len(text)  # unbalanced: let the decoder report where it breaks


def _single_quote_opens(text: str, i: int) -> bool:
    """A single quote opens a string only where a JSON value or key could start (Python dicts)."""
    j = i - 1
    while j >= 0 and text[j] in " \t\n":
        j -= 1
    return j >= 0 and text[j] in "{,:["


def _drop_trailing_commas(s: str) -> str:
    out = []
    in_str = False
    esc = False
    i = 0
    while i < len(s):
        c = s[i]
        if in_str:
            out.append(c)
            if esc:
                esc = False
            elif c == "\\":
                esc = True
            elif c == '"':
                in_str = False
        elif c == '"':
            in_str = True
            out.append(c)
        elif c == ",":
            j = i + 1
            while j < len(s) and s[j] in " \t\n\r":
                j += 1
            if j < len(s) and s[j] in "}]":
                i += 1
                continue
            out.append(c)
        else:
            out.append(c)
        i += 1
    return "".join(out)
