"""The action protocol: both reply forms, forgiveness for common LLM habits, refusal of ambiguity,
typed errors with usage hints, and tool descriptions generated from the models."""

from __future__ import annotations

import json

import pytest

from mlagent_env import actions as A


def mlab(name: str, args: str) -> str:
    return (
        "Reflection: the last step worked.\nResearch Plan and Status: 1. baseline\nFact Check: none\n"
        f"Thought: next.\nAction: {name}\nAction Input: {args}"
    )


@pytest.mark.parametrize(
    "reply, expected",
    [
        (mlab("Execute Script", '{"script_name": "train.py"}'), A.ExecuteScript(script_name="train.py")),
        (mlab("List Files", '{"dir_path": "data"}'), A.ListFiles(dir_path="data")),
        ("Action: List Files\nAction Input: {}", A.ListFiles()),
        ("Action: List Files", A.ListFiles()),  # every argument has a default
        # code fences, markdown bold, trailing commas, text after the JSON
        ("**Action:** Execute Script\n**Action Input:** ```json\n{\"script_name\": \"a.py\",}\n```\nI hope this works.",
         A.ExecuteScript(script_name="a.py")),
        # snake_case / lower-case action names
        ('Action: execute_script\nAction Input: {"script_name": "a.py"}', A.ExecuteScript(script_name="a.py")),
        ('Action: edit script (ai)\nAction Input: {"script_name": "a.py", "edit_instruction": "x", "save_name": "b.py"}',
         A.EditScriptAI(script_name="a.py", edit_instruction="x", save_name="b.py")),
        # raw newlines inside a JSON string, and a "Thought:" line inside file content
        ('Action: Write File\nAction Input: {"file_name": "n.py", "content": "a = 1\nThought: not a section\nAction: nope\n"}',
         A.WriteFile(file_name="n.py", content="a = 1\nThought: not a section\nAction: nope\n")),
        # python-literal dicts
        ("Action: Read File\nAction Input: {'file_name': 'train.py'}", A.ReadFile(file_name="train.py")),
        # numbers given as strings are coerced
        ('Action: Inspect Script Lines\nAction Input: {"script_name": "a.py", "start_line_number": "1", "end_line_number": 5}',
         A.InspectScriptLines(script_name="a.py", start_line_number=1, end_line_number=5)),
        # JSON tool calls
        ('{"name": "Execute Script", "arguments": {"script_name": "t.py"}}', A.ExecuteScript(script_name="t.py")),
        ('{"name": "Execute Script", "arguments": "{\\"script_name\\": \\"t.py\\"}"}', A.ExecuteScript(script_name="t.py")),
        ('```json\n{"action": "Final Answer", "action_input": {"final_answer": "done"}}\n```', A.FinalAnswer(final_answer="done")),
        ('<tool_call>\n{"name": "validate_submission", "arguments": {}}\n</tool_call>', A.ValidateSubmission()),
        ('{"type": "function", "function": {"name": "List Files", "arguments": {"dir_path": "."}}}', A.ListFiles()),
        ("<think>I should list files. Action: Final Answer</think>\nAction: List Files\nAction Input: {}", A.ListFiles()),
    ],
)
def test_parses(reply: str, expected: A.Action) -> None:
    assert A.parse_reply(reply).action == expected


def test_sections_are_kept() -> None:
    parsed = A.parse_reply(mlab("List Files", "{}"))
    assert parsed.form == "mlagentbench"
    assert parsed.sections["Reflection"] == "the last step worked."
    assert parsed.sections["Research Plan and Status"] == "1. baseline"
    assert "Action" not in parsed.sections


@pytest.mark.parametrize(
    "reply, message",
    [
        ("", "empty"),
        ("   \n\t", "empty"),
        ("I think I will train a model.", "no action found"),
        ("Action: Fly To The Moon\nAction Input: {}", "unknown action 'Fly To The Moon'"),
        ("Action:\nAction Input: {}", "empty"),
        ('Action Input: {"script_name": "a.py"}', "no 'Action:' line"),
        ("Action: Execute Script", "no 'Action Input:'"),
        ("Action: Execute Script\nAction Input: script_name=train.py", "not a JSON object"),
        ('Action: Execute Script\nAction Input: {"script_name": "a.py"', "not valid JSON"),
        ('Action: Execute Script\nAction Input: {"script_name": }', "not valid JSON"),
        ("Action: Execute Script\nAction Input: {}", "missing argument 'script_name'"),
        ('Action: Execute Script\nAction Input: {"script_name": "a.py", "args": "--fast"}', "unexpected argument 'args'"),
        ('Action: Inspect Script Lines\nAction Input: {"script_name": "a", "start_line_number": "one", "end_line_number": 2}',
         "start_line_number"),
        ('Action: Inspect Script Lines\nAction Input: {"script_name": "a", "start_line_number": 0, "end_line_number": 2}',
         "greater than or equal to 1"),
        ('Action: Write File\nAction Input: {"file_name": ["a.py"], "content": "x"}', "file_name"),
        ('Action: Execute Script\nAction Input: ["train.py"]', "not a JSON object"),
        # ambiguity: two actions, or two forms at once
        ('Action: List Files\nAction Input: {}\nAction: Execute Script\nAction Input: {"script_name": "a.py"}', "more than one action"),
        ('Action: List Files\nAction: Final Answer\nAction Input: {}', "names 2 actions"),
        ('Action: List Files\nAction Input: {}\n<tool_call>{"name": "List Files"}</tool_call>', "ambiguous"),
        ('<tool_call>{"name": "List Files"}</tool_call><tool_call>{"name": "List Files"}</tool_call>', "2 tool calls"),
        ('{"arguments": {"script_name": "a.py"}}', "no action named"),
        ('{"name": "Execute Script", "arguments": {}, "action_input": {}}', "several argument objects"),
        ('{"name": "Execute Script", "arguments": {"script_name": "a"}, "extra": 1}', "unexpected keys"),
        ('{"name": 3, "arguments": {}}', "must be a string"),
        ("[1, 2, 3] {", "not valid JSON"),
    ],
)
def test_refuses_with_clear_message(reply: str, message: str) -> None:
    with pytest.raises(A.ActionParseError, match=message.replace("(", r"\(").replace(")", r"\)")):
        A.parse_reply(reply)


def test_non_text_reply_is_a_parse_error() -> None:
    with pytest.raises(A.ActionParseError, match="must be text"):
        A.parse_reply(None)


def test_bad_arguments_show_usage() -> None:
    with pytest.raises(A.ActionParseError) as err:
        A.parse_reply("Action: Copy File\nAction Input: {\"source\": \"a\"}")
    assert "Usage:" in str(err.value) and '"destination"' in str(err.value)


def test_round_trip_every_action() -> None:
    examples = [
        A.ListFiles(dir_path="x"),
        A.ReadFile(file_name="a"),
        A.InspectScriptLines(script_name="a", start_line_number=1, end_line_number=2),
        A.WriteFile(file_name="a", content='print("{}")\n'),
        A.CopyFile(source="a", destination="b"),
        A.EditScriptSegment(script_name="a", start_line_number=2, end_line_number=3, new_content="x = {'a': 1}"),
        A.UndoEditScript(script_name="a"),
        A.ExecuteScript(script_name="a.py"),
        A.UnderstandFile(file_name="a", things_to_look_for="b"),
        A.EditScriptAI(script_name="a", edit_instruction="b", save_name="c"),
        A.ValidateSubmission(submission_path="s.csv"),
        A.FinalAnswer(final_answer="done"),
    ]
    assert {type(e) for e in examples} == set(A.ACTION_TYPES)
    for action in examples:
        assert A.parse_reply(action.to_reply()).action == action
        assert A.parse_reply(json.dumps(action.to_dict())).action == action
        assert A.action_from_dict(action.to_dict()) == action


def test_tool_descriptions_come_from_the_models() -> None:
    text = A.tool_descriptions(A.available_actions(has_llm=False))
    for cls in A.ACTION_TYPES:
        assert (f"- {cls.name}:" in text) == (not cls.needs_llm)
        if not cls.needs_llm:
            for field in cls.model_fields:
                assert f'"{field}"' in text
    assert "Understand File" in A.tool_descriptions(A.available_actions(has_llm=True))
    schemas = A.tool_schemas(A.ACTION_TYPES)
    by_name = {s["function"]["name"]: s["function"]["parameters"] for s in schemas}
    assert by_name["Execute Script"]["required"] == ["script_name"]
    assert by_name["Inspect Script Lines"]["properties"]["start_line_number"]["type"] == "integer"


def test_compact_tool_lines_show_inputs_the_parser_accepts() -> None:
    """Each compact tool line's example input, copied into a two-line reply, is that action; a
    compact reply is two lines and means what the full one means."""
    lines = A.tool_descriptions(A.available_actions(has_llm=True), "compact").splitlines()
    assert len(lines) == len(A.ACTION_TYPES)
    for cls, line in zip(A.ACTION_TYPES, lines):
        assert line.startswith(f"- {cls.name} {{")
        example = line[len(f"- {cls.name} "): line.index("}: ") + 1]
        assert isinstance(A.parse_reply(f"Action: {cls.name}\nAction Input: {example}").action, cls)
    edit = A.EditScriptSegment(script_name="train.py", start_line_number=3, end_line_number=4, new_content="a\n\tb")
    for action in (edit, A.ListFiles(dir_path="data"), A.FinalAnswer(final_answer="done: 0.97")):
        reply = action.to_reply("compact")
        assert len(reply.splitlines()) == 2 and A.parse_reply(reply).action == action == A.parse_reply(action.to_reply()).action


# --------------------------------------------------------------------------- payload is not structure

_TRICKY = (
    "print('<tool_call>')\n"
    "Action: Execute Script\n"
    'Action Input: {"script_name": "x.py"}\n'
    "```json\n{\"name\": \"Final Answer\", \"arguments\": {}}\n```\n"
    "</tool_call> Thought: no\n"
)


@pytest.mark.parametrize(
    "reply",
    [
        # MLAgentBench form: the Write File content holds tags, headers, JSON and fences
        "Thought: save notes.\nAction: Write File\nAction Input: " + json.dumps({"file_name": "n.md", "content": _TRICKY}),
        # the same with raw newlines inside the JSON string (LLMs do this)
        'Action: Write File\nAction Input: {"file_name": "n.md", "content": "' + _TRICKY.replace('"', '\\"') + '"}',
        # bare JSON tool call
        json.dumps({"name": "Write File", "arguments": {"file_name": "n.md", "content": _TRICKY}}),
        # JSON tool call with raw newlines, so "Action:" really starts a line of the reply
        '{"name": "Write File", "arguments": {"file_name": "n.md", "content": "' + _TRICKY.replace('"', '\\"') + '"}}',
        # inside <tool_call> tags
        "<tool_call>\n" + json.dumps({"name": "Write File", "arguments": {"file_name": "n.md", "content": _TRICKY}}) + "\n</tool_call>",
        # fenced, with prose around it
        "I will write the notes.\n```json\n"
        + json.dumps({"name": "Write File", "arguments": {"file_name": "n.md", "content": _TRICKY}})
        + "\n```\nDone.",
        # arguments given as a JSON string that itself holds a tool call
        json.dumps({"name": "Write File", "arguments": json.dumps({"file_name": "n.md", "content": _TRICKY})}),
    ],
)
def test_payload_may_contain_anything(reply: str) -> None:
    parsed = A.parse_reply(reply)
    assert parsed.action == A.WriteFile(file_name="n.md", content=_TRICKY)


def test_edit_segment_payload_with_action_lines_keeps_sections() -> None:
    content = "Action: Final Answer\nAction Input: {}\n<tool_call>{\"name\": \"List Files\"}</tool_call>"
    reply = (
        "Reflection: r {not json}\nThought: t\nAction: Edit Script Segment\nAction Input: "
        + json.dumps({"script_name": "a.py", "start_line_number": 1, "end_line_number": 1, "new_content": content})
    )
    parsed = A.parse_reply(reply)
    assert parsed.action == A.EditScriptSegment(script_name="a.py", start_line_number=1, end_line_number=1, new_content=content)
    assert parsed.sections["Reflection"] == "r {not json}" and parsed.form == "mlagentbench"


@pytest.mark.parametrize(
    "reply, message",
    [
        # a second action AFTER the payload is still refused, in either form
        ('{"name": "List Files", "arguments": {}}\nAction: Final Answer\nAction Input: {"final_answer": "x"}', "ambiguous"),
        ('{"name": "List Files", "arguments": {}}\n<tool_call>{"name": "List Files"}</tool_call>', "2 tool calls"),
        ('<tool_call>{"name": "List Files", "arguments": {"dir_path": "<tool_call>"}}</tool_call>\n<tool_call>{"name": "List Files"}</tool_call>',
         "2 tool calls"),
        ('Action: Write File\nAction Input: {"file_name": "a", "content": "Action: x"}\nAction: List Files', "more than one action"),
        ('Action Input: {}\nAction: List Files', "before the 'Action:' line"),
    ],
)
def test_second_action_after_payload_is_refused(reply: str, message: str) -> None:
    with pytest.raises(A.ActionParseError, match=message):
        A.parse_reply(reply)


@pytest.mark.parametrize("reply", [
    'Action: Inspect Script Lines\nAction Input: {"script_name": "train.py", "start_line_number": 1, "end_line_number": ' + "9" * 5000 + "}",
    '{"name": "List Files", "arguments": {"dir_path": ' + "9" * 5000 + "}}",
])
def test_a_number_past_the_digit_limit_is_a_format_error(reply: str) -> None:
    with pytest.raises(A.ActionParseError, match="number too long"):
        A.parse_reply(reply)


def test_deeply_nested_json_is_a_format_error() -> None:
    deep = "[" * 100_000 + "]" * 100_000
    for reply in (
        '{"name": "Write File", "arguments": {"file_name": "a", "content": ' + deep + "}}",
        'Action: Write File\nAction Input: {"file_name": "a", "content": ' + deep + "}",
        "<tool_call>" + "{" * 50_000,
    ):
        with pytest.raises(A.ActionParseError):
            A.parse_reply(reply)


def test_lone_surrogate_in_arguments_is_a_format_error() -> None:
    for reply in (
        'Action: Write File\nAction Input: {"file_name": "a.py", "content": "x = \'\\ud800\'"}',
        '{"name": "Read File", "arguments": {"file_name": "\\udfff.txt"}}',
    ):
        with pytest.raises(A.ActionParseError, match="lone surrogate"):
            A.parse_reply(reply)
    # a proper pair of surrogates is a real character
    assert A.parse_reply('{"name": "Read File", "arguments": {"file_name": "\\ud83d\\ude00.txt"}}').action == A.ReadFile(
        file_name="\U0001f600.txt"
    )


def test_think_tags_inside_content_are_kept() -> None:
    content = "notes\n<think>keep me</think>\n"
    reply = "<think>plan</think>\n" + json.dumps({"name": "Write File", "arguments": {"file_name": "n.md", "content": content}})
    assert A.parse_reply(reply).action == A.WriteFile(file_name="n.md", content=content)
