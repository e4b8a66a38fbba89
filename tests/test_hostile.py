"""Malformed and hostile replies against a live env. Each gets a clear observation, the right
reward kind and reward; the env keeps working; nothing outside the workspace changes."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import gymnasium as gym
import pytest

from mlagent_env import actions as A
from mlagent_env.text import sanitize_text

FORMAT, ERROR, NON_EDIT, CORNER = "format_error", "error", "non_edit", "corner_case"
REWARD = {FORMAT: 0.0, ERROR: 0.0, NON_EDIT: 0.5, CORNER: 0.5}


def script(name: str, code: str) -> list[str]:
    """Write a script, then run it."""
    return [A.WriteFile(file_name=name, content=code).to_reply(), A.ExecuteScript(script_name=name).to_reply()]


# (case id, replies, expected reward kind(s) of the last reply, text the observation must contain)
CASES: list[tuple[str, list[str] | list[object], str | tuple[str, ...], str]] = [
    ("empty", [""], FORMAT, "empty"),
    ("whitespace", [" \n\t "], FORMAT, "empty"),
    ("garbage", ["asdf qwer zxcv"], FORMAT, "no action found"),
    ("binary-garbage", ["\x00\x01\x02\x1b[31m\ud800"], FORMAT, "no action found"),
    ("not-a-string", [12345], FORMAT, "must be text"),
    ("huge-reply", ["a" * 1_000_000], FORMAT, "no action found"),
    ("missing-action-input", ["Action: Execute Script"], FORMAT, "no 'Action Input:'"),
    ("missing-field", ["Action: Copy File\nAction Input: {\"source\": \"train.py\"}"], FORMAT, "missing argument 'destination'"),
    ("broken-json", ['Action: Read File\nAction Input: {"file_name": "train.py"'], FORMAT, "not valid JSON"),
    ("unknown-action", ["Action: Run Shell\nAction Input: {\"cmd\": \"rm -rf /\"}"], FORMAT, "unknown action"),
    ("wrong-type", ['Action: Inspect Script Lines\nAction Input: {"script_name": "train.py", "start_line_number": "one", "end_line_number": 5}'], FORMAT, "start_line_number"),
    ("extra-argument", ['Action: Execute Script\nAction Input: {"script_name": "train.py", "python": "/bin/sh"}'], FORMAT, "unexpected argument 'python'"),
    ("two-actions", ['Action: List Files\nAction Input: {}\nAction: Final Answer\nAction Input: {"final_answer": "x"}'], FORMAT, "more than one action"),
    ("dotdot-read", [A.ReadFile(file_name="../../../../etc/passwd").to_reply()], ERROR, "leaves the workspace"),
    ("absolute-read", [A.ReadFile(file_name="/etc/passwd").to_reply()], ERROR, "absolute path"),
    ("home-read", [A.ReadFile(file_name="~/.bashrc").to_reply()], ERROR, "not allowed"),
    ("dotdot-write", [A.WriteFile(file_name="../escape.txt", content="x").to_reply()], ERROR, "leaves the workspace"),
    ("absolute-write", [A.WriteFile(file_name="/tmp/mlagent-escape.txt", content="x").to_reply()], ERROR, "absolute path"),
    ("absolute-copy", [A.CopyFile(source="/etc/passwd", destination="p.txt").to_reply()], ERROR, "absolute path"),
    ("dotdot-list", [A.ListFiles(dir_path="..").to_reply()], ERROR, "leaves the workspace"),
    ("write-data", [A.WriteFile(file_name="data/train.csv", content="id\n").to_reply()], ERROR, "read-only"),
    ("symlink-file-out", script("mk.py", "import os\nos.symlink('/etc/passwd', 'leak.txt')\n")
        + [A.ReadFile(file_name="leak.txt").to_reply()], ERROR, "outside the workspace"),
    ("symlink-dir-out", script("mk.py", "import os\nos.symlink('/', 'root')\n")
        + [A.WriteFile(file_name="root/tmp/mlagent-pwned.txt", content="x").to_reply()], ERROR, "outside the workspace"),
    ("symlink-list-out", script("mk.py", "import os\nos.symlink('/etc', 'etc')\n")
        + [A.ListFiles(dir_path="etc").to_reply()], ERROR, "outside the workspace"),
    ("missing-script", [A.ExecuteScript(script_name="nope.py").to_reply()], ERROR, "does not exist"),
    ("not-python", [A.WriteFile(file_name="run.sh", content="echo hi").to_reply(), A.ExecuteScript(script_name="run.sh").to_reply()], ERROR, "not a Python script"),
    ("script-raises", script("boom.py", "raise ValueError('kaboom')\n"), ERROR, "ValueError: kaboom"),
    ("never-ends", script("hang.py", "while True:\n    pass\n"), CORNER, "timed out"),
    ("sleeps-forever-with-children", script("kids.py", "import subprocess, time\nfor _ in range(3):\n    subprocess.Popen(['sleep', '1000'])\ntime.sleep(1000)\n"), CORNER, "timed out"),
    ("allocates-10gb", script("mem.py", "x = bytearray(10 * 1024**3)\nx[::4096] = b'1' * len(x[::4096])\n"), CORNER, "out of memory"),
    ("prints-100mb", script("spam.py", "import sys\nline = 'x' * 1023 + '\\n'\nfor _ in range(100 * 1024):\n    sys.stdout.write(line)\n"), NON_EDIT, "truncated"),
    ("fork-bomb", script("fork.py", "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"), CORNER, "timed out"),
    ("deletes-workspace", script("rm.py", "import os, shutil\nshutil.rmtree(os.getcwd(), ignore_errors=True)\nprint(sorted(os.listdir('.')) if os.path.exists('.') else 'gone')\n"), NON_EDIT, "executed"),
    ("background-daemon", script("daemon.py", "import subprocess\nsubprocess.Popen(['setsid', 'sleep', '4242'])\nprint('spawned')\n"), NON_EDIT, "spawned"),
    ("kills-its-parent", script("pk.py", "import os, signal, time\nos.kill(os.getppid(), signal.SIGKILL)\ntime.sleep(0.2)\nprint('done')\n"), (ERROR, NON_EDIT), "executed"),
    ("ansi-and-control-output", script("ansi.py", "print('\\x1b[31mred\\x1b[0m \\x07 bell \\x00 nul')\n"), NON_EDIT, "red"),
    ("bad-edit-range", [A.EditScriptSegment(script_name="train.py", start_line_number=500, end_line_number=501, new_content="x").to_reply()], ERROR, "past the end"),
    ("undo-without-edit", [A.UndoEditScript(script_name="train.py").to_reply()], ERROR, "no edit"),
    ("inspect-too-many", [A.InspectScriptLines(script_name="train.py", start_line_number=1, end_line_number=500).to_reply()], ERROR, "at most 100"),
    ("read-binary", script("bin.py", "open('b.bin', 'wb').write(bytes(range(256)))\n") + [A.ReadFile(file_name="b.bin").to_reply()], NON_EDIT, "binary file"),
    ("understand-without-llm", [A.UnderstandFile(file_name="train.py", things_to_look_for="model").to_reply()], ERROR, "unavailable"),
    ("validate-missing", [A.ValidateSubmission().to_reply()], ERROR, "no file submission.csv"),
    ("invalid-submission-run", script("bad.py", "open('submission.csv', 'w').write('id,label\\n1,2\\n')\n"), ERROR, "is invalid"),
    ("validate-invalid", [A.WriteFile(file_name="submission.csv", content="id,label\n1,2\n").to_reply(), A.ValidateSubmission().to_reply()], NON_EDIT, "invalid"),
]


def _tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*")):
        h.update(str(p.relative_to(root)).encode())
        if p.is_file() and not p.is_symlink():
            h.update(p.read_bytes())
    return h.hexdigest()


@pytest.fixture(params=["process", "bwrap", pytest.param("docker", marks=pytest.mark.docker)])
def isolation(request: pytest.FixtureRequest) -> str:
    if request.param == "bwrap" and shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed (apt-get install bubblewrap)")
    if request.param == "docker":
        from docker_support import ensure_slim_image

        ensure_slim_image()  # skips (or fails under MLAGENT_REQUIRE_DOCKER=1) with the reason
    return request.param


def _make(isolation: str, data_dir: Path, **kw: object) -> gym.Env:
    if isolation == "docker":
        from docker_support import ensure_slim_image

        return gym.make("mlagent/digits", sandbox="docker", data_dir=data_dir,
                        sandbox_options={"image": ensure_slim_image()}, **kw)
    return gym.make("mlagent/digits", sandbox="local", data_dir=data_dir, sandbox_options={"isolation": isolation}, **kw)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_hostile_reply(case, isolation: str, data_dir: Path, tmp_path: Path) -> None:
    name, replies, kind, text = case
    canary = tmp_path / "canary"
    canary.mkdir()
    (canary / "secret.txt").write_text("do not touch")
    before = _tree_digest(data_dir)
    env = _make(isolation, data_dir, exec_timeout_s=3, memory_mb=512)
    try:
        env.reset(seed=0)
        for reply in replies:
            obs, reward, terminated, truncated, info = env.step(reply)
        kinds = kind if isinstance(kind, tuple) else (kind,)  # some attacks land differently per backend
        assert info["reward_kind"] in kinds, obs[:2000]
        assert reward == REWARD[info["reward_kind"]]
        assert info["valid"] == (info["reward_kind"] != FORMAT)
        assert text in obs, obs[:2000]
        assert env.observation_space.contains(obs)
        assert not terminated and not truncated
        # the env still works
        obs, reward, *_ = env.step(A.ListFiles().to_reply())
        assert reward == 0.5 and "ActionParseError" not in obs
        obs, _, _, _, info = env.step(A.WriteFile(file_name="ok.py", content="print('still alive')\n").to_reply())
        obs, _, _, _, info = env.step(A.ExecuteScript(script_name="ok.py").to_reply())
        assert "still alive" in obs and info["exec"]["exit_code"] == 0
    finally:
        env.close()
    assert _tree_digest(data_dir) == before, "the prepared data changed"
    assert (canary / "secret.txt").read_text() == "do not touch"
    assert not Path("/tmp/mlagent-escape.txt").exists() and not Path("/tmp/mlagent-pwned.txt").exists()
    leftover = subprocess.run(["pgrep", "-f", "sleep (1000|4242)"], capture_output=True, text=True).stdout
    assert leftover.strip() == "", f"processes survived the episode: {leftover}"


DAEMON_THEN_KILL_PARENT = (
    "import os, signal, subprocess, time\n"
    "subprocess.Popen(['setsid', 'sleep', '4343'])\nsubprocess.Popen(['sleep', '4344'])\ntime.sleep(0.3)\n"
    "os.kill(os.getppid(), signal.SIGKILL)\ntime.sleep(0.3)\n"
)
LIST_SLEEPERS = (
    "import os\nleft = []\nfor p in os.listdir('/proc'):\n    try:\n"
    "        cmd = open(f'/proc/{p}/cmdline', 'rb').read().split(b'\\0')\n    except OSError:\n        continue\n"
    "    if cmd[:1] == [b'sleep'] and cmd[1:2] in ([b'4343'], [b'4344']):\n        left.append(p)\n"
    "print('sleepers left:', len(left))\n"
)


def test_a_script_that_kills_its_wrapper_leaves_no_daemon_for_the_next_step(isolation: str, data_dir: Path) -> None:
    env = _make(isolation, data_dir, exec_timeout_s=20)
    try:
        env.reset(seed=0)
        for reply in script("pk.py", DAEMON_THEN_KILL_PARENT) + script("ps.py", LIST_SLEEPERS):
            obs, *_ = env.step(reply)
        assert "sleepers left: 0" in obs, obs[:2000]
    finally:
        env.close()


def test_at_least_thirty_cases() -> None:
    assert len(CASES) >= 30


def test_bwrap_keeps_scripts_inside(data_dir: Path, tmp_path: Path) -> None:
    """With bubblewrap, a script cannot write outside the workspace or read the answers."""
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed")
    target = tmp_path / "outside.txt"
    private = data_dir / "prepared" / "digits" / "private" / "answers.csv"
    env = gym.make("mlagent/digits", sandbox="local", data_dir=data_dir, sandbox_options={"isolation": "bwrap"})
    try:
        env.reset(seed=0)
        code = (
            f"import os\n"
            f"try:\n    open({str(target)!r}, 'w').write('x'); print('WROTE')\nexcept OSError as e:\n    print('refused', e)\n"
            f"print('ANSWERS VISIBLE' if os.path.exists({str(private)!r}) else 'answers hidden')\n"
            f"print('public', sorted(os.listdir('data')))\n"
        )
        env.step(A.WriteFile(file_name="probe.py", content=code))
        obs, *_ = env.step(A.ExecuteScript(script_name="probe.py"))
    finally:
        env.close()
    assert "refused" in obs and "WROTE" not in obs and not target.exists()
    assert "answers hidden" in obs and "train.csv" in obs


def test_sanitize_text_keeps_the_space() -> None:
    assert sanitize_text("a\x1b[31mb\x1b[0m\x00c") == "ab\ufffdc"
    assert len(sanitize_text("x" * 100, limit=50)) <= 50
