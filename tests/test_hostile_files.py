"""Hostile files and replies against the host side of ``step``, in every isolation: FIFOs,
sparse giants, 1,100 nested folders, non-UTF-8 names, lone surrogates, over-long paths, deep
JSON, links and special files in snapshots, huge folders. Each step returns an observation with
the right reward kind (``format_error`` for bad replies, ``error`` for bad files), and the next
step works. One env per isolation serves the whole module (each test starts with a reset)."""

from __future__ import annotations

import io
import json
import os
import shutil
import tarfile
from pathlib import Path
from typing import Any, Iterator

import gymnasium as gym
import pytest

from mlagent_env import actions as A
from mlagent_env.env import EnvState
from mlagent_env.errors import PathEscapeError
from mlagent_env.sandbox.archive import UnsafeArchive
from mlagent_env.sandbox.docker.container import WORKSPACE_DIR
from mlagent_env.trajectory import RecordEpisode, read_records

FORMAT, ERROR, NON_EDIT = "format_error", "error", "non_edit"


def _make_env(isolation: str, data_dir: Path) -> gym.Env:
    options: dict[str, Any] = {"isolation": isolation}
    kind = "local"
    if isolation == "docker":
        from docker_support import ensure_slim_image

        options, kind = {"image": ensure_slim_image()}, "docker"
    return gym.make("mlagent/digits", sandbox=kind, data_dir=data_dir, exec_timeout_s=60, memory_mb=512,
                    max_steps=1000, sandbox_options=options)


@pytest.fixture(scope="module", params=["process", "bwrap", pytest.param("docker", marks=pytest.mark.docker)])
def isolation(request: pytest.FixtureRequest) -> str:
    if request.param == "bwrap" and shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed (apt-get install bubblewrap)")
    return request.param


@pytest.fixture(scope="module")
def shared_env(isolation: str, data_dir: Path) -> Iterator[gym.Env]:
    env = _make_env(isolation, data_dir)
    yield env
    env.close()


@pytest.fixture()
def env(shared_env: gym.Env) -> gym.Env:
    shared_env.reset(seed=0)
    return shared_env


def step(env: gym.Env, reply: str | A.Action, kind: str, text: str = "") -> tuple[str, dict[str, Any]]:
    """One step that must return an observation of reward kind ``kind`` containing ``text``."""
    obs, reward, terminated, truncated, info = env.step(reply)
    assert info["reward_kind"] == kind, obs[:2000]
    assert text in obs, obs[:2000]
    assert env.observation_space.contains(obs) and not terminated and not truncated
    return obs, info


def run_script(env: gym.Env, code: str, kind: str = NON_EDIT) -> str:
    step(env, A.WriteFile(file_name="mk.py", content=code), NON_EDIT)
    obs, info = step(env, A.ExecuteScript(script_name="mk.py"), kind)
    assert info["exec"]["exit_code"] == 0, obs
    return obs


def remove_submission(env: gym.Env) -> None:
    """While the submission is invalid every run is an error (the reward's rule): remove it first."""
    run_script(env, "import os\nos.remove('submission.csv')\n")


def still_works(env: gym.Env) -> None:
    """The next steps work: list, write, run, snapshot to JSON."""
    step(env, A.ListFiles(), NON_EDIT)
    step(env, A.WriteFile(file_name="ok.py", content="print('still alive')\n"), NON_EDIT)
    step(env, A.ExecuteScript(script_name="ok.py"), NON_EDIT, "still alive")
    json.loads(env.unwrapped.snapshot().model_dump_json())


def test_fifo_named_like_a_file_is_an_error(env: gym.Env) -> None:
    run_script(env, "import os\nos.mkfifo('notes.txt')\nos.mkfifo('pipe.py')\n")
    for action in (
        A.ReadFile(file_name="notes.txt"),
        A.InspectScriptLines(script_name="pipe.py", start_line_number=1, end_line_number=5),
        A.CopyFile(source="notes.txt", destination="copy.txt"),
        A.EditScriptSegment(script_name="pipe.py", start_line_number=1, end_line_number=1, new_content="x = 1"),
    ):
        step(env, action, ERROR, "FIFO")
    step(env, A.WriteFile(file_name="notes.txt", content="replaced"), NON_EDIT)  # replaced, never opened
    step(env, A.ReadFile(file_name="notes.txt"), NON_EDIT, "replaced")
    still_works(env)


def test_fifo_as_submission_is_an_error(env: gym.Env) -> None:
    obs = run_script(env, "import os\nos.mkfifo('submission.csv')\n", kind=ERROR)
    assert "FIFO" in obs
    step(env, A.ValidateSubmission(), NON_EDIT, "FIFO")
    remove_submission(env)
    still_works(env)
    assert env.unwrapped.final_score()["final_score"] is None


@pytest.mark.parametrize("plant", ["os.mkfifo('submission.csv')", "os.symlink('/etc/passwd', 'submission.csv')",
                                   "os.symlink('../../../../../../etc/hostname', 'submission.csv')"])
def test_validate_submission_on_a_fifo_or_a_link_out_is_an_invalid_submission(env: gym.Env, plant: str) -> None:
    run_script(env, f"import os\nos.remove('submission.csv') if os.path.lexists('submission.csv') else None\n{plant}\n",
               kind=ERROR)  # the run that plants it changed the submission: graded, invalid
    obs, _ = step(env, A.ValidateSubmission(), NON_EDIT, "The submission submission.csv is invalid: cannot read")
    assert ("FIFO" in obs) if "mkfifo" in plant else ("outside the workspace" in obs), obs
    step(env, A.ValidateSubmission(submission_path="../x.csv"), ERROR, "leaves the workspace")  # a bad argument
    step(env, A.ValidateSubmission(submission_path="none.csv"), ERROR, "there is no file")
    remove_submission(env)
    still_works(env)


@pytest.mark.parametrize("size_gb", [2, 64])
def test_sparse_submission_is_capped(env: gym.Env, size_gb: int) -> None:
    obs = run_script(env, f"with open('submission.csv', 'wb') as f:\n    f.truncate({size_gb} << 30)\n", kind=ERROR)
    assert f"{size_gb << 30} bytes" in obs
    step(env, A.ReadFile(file_name="submission.csv"), ERROR, "more than")
    state = env.unwrapped.snapshot()
    assert len(state.workspace) < 10 << 20  # left out of the snapshot, not read
    remove_submission(env)
    still_works(env)


def test_nested_folders_list_snapshot_and_close(env: gym.Env) -> None:
    first = env.unwrapped._sandbox.workspace
    run_script(env, "import os\nfor _ in range(1100):\n    os.mkdir('n')\n    os.chdir('n')\nopen('deep.txt', 'w').write('x')\n")
    _, info = step(env, A.ListFiles(dir_path="n/n"), NON_EDIT, "n/")
    assert "n/n/n/n/" in info["prompt"] and "+ more" in info["prompt"]  # the depth cap, said
    state = EnvState.model_validate_json(env.unwrapped.snapshot().model_dump_json())
    env.reset(options={"state": state})  # closes the first sandbox
    assert not first.exists(), f"close() left {first}"
    second = env.unwrapped._sandbox.workspace
    step(env, A.ReadFile(file_name="/".join(["n"] * 1100) + "/deep.txt"), NON_EDIT, "x")
    still_works(env)
    env.unwrapped.close()
    assert not second.exists(), f"close() left {second}"
    env.reset(seed=0)


@pytest.mark.parametrize("form", ["mlagentbench", "tool-call"])
def test_deeply_nested_json_reply_is_a_format_error(env: gym.Env, form: str) -> None:
    deep = "[" * 200_000 + "]" * 200_000
    reply = (f'Action: List Files\nAction Input: {{"dir_path": {deep}}}' if form == "mlagentbench"
             else f'{{"name": "List Files", "arguments": {{"dir_path": {deep}}}}}')
    step(env, reply, FORMAT)
    still_works(env)


def test_lone_surrogate_in_write_file_is_a_format_error(env: gym.Env) -> None:
    raw = 'Action: Write File\nAction Input: {"file_name": "s.py", "content": "x = \'\ud800\'"}'
    escaped = 'Action: Write File\nAction Input: {"file_name": "\\udcff.py", "content": "y = 1"}'
    step(env, raw, FORMAT, "lone surrogate")
    step(env, escaped, FORMAT, "lone surrogate")
    step(env, A.WriteFile(file_name="s.py", content="x = '\udfff'"), FORMAT, "lone surrogate")
    still_works(env)


def test_path_over_255_bytes_is_an_error_in_every_action(env: gym.Env) -> None:
    long = "x" * 300
    actions = [
        A.ListFiles(dir_path=long),
        A.ReadFile(file_name=long),
        A.InspectScriptLines(script_name=long, start_line_number=1, end_line_number=2),
        A.WriteFile(file_name=long, content="x"),
        A.CopyFile(source="train.py", destination=long),
        A.EditScriptSegment(script_name=long, start_line_number=1, end_line_number=1, new_content="x"),
        A.UndoEditScript(script_name=long),
        A.ExecuteScript(script_name=long + ".py"),
        A.ValidateSubmission(submission_path=long),
    ]
    for action in actions:
        step(env, action, ERROR, "at most 255 bytes")
    step(env, A.ReadFile(file_name="a/" * 2100 + "b"), ERROR, "at most 4000 bytes")
    still_works(env)


def test_non_utf8_name_and_surrogates_serialise_in_records(isolation: str, data_dir: Path, tmp_path: Path) -> None:
    env = RecordEpisode(_make_env(isolation, data_dir), tmp_path / "traj.jsonl")
    try:
        env.reset(seed=0)
        run_script(env, "open(b'bad-\\xff\\xfe.txt', 'wb').write(b'content')\n")
        step(env, A.ListFiles(), NON_EDIT, '"bad-\\xff\\xfe.txt"')  # its bytes, escaped
        state = EnvState.model_validate_json(env.unwrapped.snapshot().model_dump_json())
        env.reset(options={"state": state})
        step(env, A.ListFiles(), NON_EDIT, '"bad-\\xff\\xfe.txt"')
        step(env, 'Action: Write File\nAction Input: {"file_name": "s.py", "content": "\ud800"}', FORMAT, "lone surrogate")
        step(env, "\udcff not an action", FORMAT)
        still_works(env)
    finally:
        env.close()
    records = read_records(tmp_path / "traj.jsonl")
    assert len(records) >= 6 and all(r.state is not None for r in records)
    assert records[-4].reply == "\ufffd not an action"


def test_names_with_a_newline_list_as_one_escaped_entry(env: gym.Env) -> None:
    run_script(env, "import os\nos.mkdir('d\\tir')\nfor n in ('a\\nb.csv', 'd\\tir/x\\ny', 'a', 'b.csv', '\"q\"'):\n"
                    "    open(n, 'w').close()\n")
    obs, info = step(env, A.ListFiles(), NON_EDIT)
    lines = obs.splitlines()
    assert '"a\\nb.csv"' in lines and '"d\\tir"/' in lines and '"\\"q\\""' in lines  # one line each, escaped
    assert "a" in lines and "b.csv" in lines and len([ln for ln in lines if "b.csv" in ln]) == 2  # the real b.csv too
    obs, _ = step(env, A.ListFiles(dir_path="d\tir"), NON_EDIT)
    assert obs.splitlines() == ['"x\\ny"']
    prompt = info["prompt"].splitlines()
    assert '"a\\nb.csv" (0 B)' in prompt and '"d\\tir/x\\ny" (0 B)' in prompt and "b.csv (0 B)" in prompt
    still_works(env)


def test_absolute_symlink_and_fifo_survive_restore(env: gym.Env) -> None:
    run_script(env, "import os\nos.symlink(os.path.abspath('train.py'), 'abs.py')\nos.mkfifo('pipe')\n"
                    "os.symlink('/etc/passwd', 'out')\nos.symlink('../../..', 'up')\n")
    state = env.unwrapped.snapshot()
    env.reset(options={"state": EnvState.model_validate_json(state.model_dump_json())})
    obs, _ = step(env, A.ListFiles(), NON_EDIT, "abs.py")
    assert "pipe" not in obs and "out" not in obs.split() and "up" not in obs.split()
    step(env, A.ReadFile(file_name="abs.py"), NON_EDIT, "import")
    obs = run_script(env, "import os\nprint(os.readlink('abs.py'), os.path.exists('pipe'), os.path.lexists('out'))\n")
    assert "train.py False False" in obs and "/" not in obs.split("output:")[1].split()[0]
    still_works(env)


def test_many_files_listing_is_capped(env: gym.Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mlagent_env.tools.LIST_FILES_MAX", 500)  # the cap is 10,000: fewer files, same code
    run_script(env, "import os\nos.mkdir('many')\nfor i in range(1_050):\n    open(f'many/f{i:05d}', 'w').close()\n")
    obs, info = step(env, A.ListFiles(dir_path="many"), NON_EDIT, "only the first 500 entries")
    assert len(obs.splitlines()) == 501
    assert "+ more" in info["prompt"]  # the prompt's listing stops at 1,000 entries and says so
    still_works(env)


def _archive(*members: tuple[str, str, str]) -> bytes:
    """A tar of (name, "file" | "sym" | "hard", content or link target) members."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, kind, arg in members:
            info = tarfile.TarInfo(name)
            if kind == "sym":
                info.type, info.linkname = tarfile.SYMTYPE, arg
                tar.addfile(info)
            elif kind == "hard":
                info.type, info.linkname = tarfile.LNKTYPE, arg
                tar.addfile(info)
            else:
                info.size = len(arg)
                tar.addfile(info, io.BytesIO(arg.encode()))
    return buf.getvalue()


def test_restore_refuses_archives_that_leave_the_workspace(env: gym.Env, isolation: str, tmp_path: Path) -> None:
    sb = env.unwrapped._sandbox
    target = tmp_path / "outside"
    target.mkdir()
    hostile = {
        "through a link": _archive(("esc", "sym", str(target)), ("esc/pwned", "file", "x")),
        "relative link out": _archive(("up", "sym", "../../.."), ("ok.txt", "file", "x")),
        "dotdot name": _archive((f"../../../../../../..{target}/pwned", "file", "x")),
        "absolute name": _archive((f"{target}/pwned", "file", "x")),
        "hard link out": _archive(("h", "hard", "/etc/passwd")),
    }
    for why, data in hostile.items():
        with pytest.raises(tarfile.TarError):
            sb.restore(data)
        assert list(target.iterdir()) == [], why
    assert isinstance(UnsafeArchive("x"), PathEscapeError)
    inner = WORKSPACE_DIR if isolation == "docker" else str(sb.workspace)  # where the agent sees it
    sb.restore(_archive(("d/a.txt", "file", "a"), ("d/l", "sym", f"{inner}/d/a.txt"), ("data/x", "file", "no")))
    assert sb.read_file("d/l") == b"a" and os.readlink(sb.workspace / "d" / "l") == "a.txt"
    assert not (Path(os.path.realpath(sb.workspace / "data")) / "x").exists()
    step(env, A.ReadFile(file_name="d/l"), NON_EDIT, "a")
    still_works(env)
