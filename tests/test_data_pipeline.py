"""Data acquisition and preparation: hand-supplied zips, clear instructions when data is missing,
the leak check, the stratified answer split, atomic preparation."""

from __future__ import annotations

import shutil
import tarfile
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from mlagent_env.errors import DataUnavailable
from mlagent_env.tasks import get_task
from mlagent_env.tasks.data import check_no_leak, is_prepared, prepare_task, reward_rows


def test_a_zip_dropped_into_raw_is_extracted(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    get_task("digits").prepare_module().download(raw)
    with zipfile.ZipFile(raw / "download.zip", "w") as zf:
        zf.write(raw / "digits.csv", "digits.csv")
    (raw / "digits.csv").unlink()
    prepare_task(get_task("digits"), tmp_path / "root", raw_dir=raw)
    assert is_prepared("digits", tmp_path / "root")
    assert (raw / "download.zip").exists(), "a hand-supplied archive is kept"
    prepare_task(get_task("digits"), tmp_path / "root", raw_dir=raw, force=True)  # not extracted twice


def test_zip_and_tar_slip_are_refused(tmp_path: Path) -> None:
    from mlagent_env.tasks.acquire import RawLayout, unpack

    raw = tmp_path / "raw"
    raw.mkdir()
    with zipfile.ZipFile(raw / "evil.zip", "w") as zf:
        zf.writestr("../outside.txt", "x")
    with pytest.raises(DataUnavailable, match="outside the data folder"):
        unpack(raw)
    (raw / "evil.zip").unlink()
    with tarfile.open(raw / "evil.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo("link")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(info)
    with pytest.raises(DataUnavailable, match="not a plain file inside"):
        unpack(raw, RawLayout(archives=("evil.tar.gz",)))
    assert not (tmp_path / "outside.txt").exists() and not (raw / "link").exists()
    assert [p.name for p in raw.iterdir()] == ["evil.tar.gz"]


@pytest.mark.parametrize("task_id", ["spaceship-titanic", "cifar-10", "ogbn-arxiv", "whale-categorization-playground"])
def test_missing_real_data_says_what_to_do(task_id: str, tmp_path: Path) -> None:
    with pytest.raises(DataUnavailable) as err:
        prepare_task(get_task(task_id), tmp_path)
    message = str(err.value)
    assert str(tmp_path / "raw" / task_id) in message
    assert "download" in message.lower()
    assert not is_prepared(task_id, tmp_path)


def test_a_non_utf8_csv_in_raw_dir_is_a_clear_error_naming_the_file(tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    from mlagent_env.cli import main

    raw = tmp_path / "raw"
    raw.mkdir()
    header = b"PassengerId,HomePlanet,Transported\n"
    (raw / "train.csv").write_bytes(header + b"0001_01,Europ\xe9,True\n0002_01,Earth,False\n")  # Latin-1
    assert main(["--data-dir", str(tmp_path / "root"), "prepare", "spaceship-titanic", "--raw-dir", str(raw)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mlagent-env prepare: InvalidRawData: spaceship-titanic: raw file ") and "Traceback" not in err
    assert f"{raw / 'train.csv'} is not UTF-8 text (first bad byte at offset {len(header) + 13})" in err
    assert not is_prepared("spaceship-titanic", tmp_path / "root")
    (raw / "train.csv").write_bytes(header + b'"0001_01,Europa\n')  # not a CSV pandas can parse
    assert main(["--data-dir", str(tmp_path / "root"), "prepare", "spaceship-titanic", "--raw-dir", str(raw)]) == 2
    assert f"the raw data in {raw} cannot be prepared (ParserError" in capsys.readouterr().err


def test_leak_check_refuses_answers_in_public(tmp_path: Path) -> None:
    task = get_task("digits")
    answers = pd.DataFrame({"id": ["1", "2"], "label": [3, 4]})
    (tmp_path / "test.csv").write_text("id,pixel0,label\n1,0,3\n")
    with pytest.raises(RuntimeError, match="test ids"):
        check_no_leak(task, tmp_path, answers)
    (tmp_path / "test.csv").write_text("id,pixel0\n1,0\n")
    (tmp_path / "my_answers.csv").write_text("id\n")
    with pytest.raises(RuntimeError, match="answers file"):
        check_no_leak(task, tmp_path, answers)


def test_answer_split_is_stratified_and_seeded() -> None:
    task = get_task("breast-cancer")
    answers = pd.DataFrame({"id": [str(i) for i in range(40)], "malignant": [1] * 3 + [0] * 37})
    mask = reward_rows(answers, task)
    assert (reward_rows(answers, task) == mask).all()
    reward, final = answers["id"][mask].tolist(), answers["id"][~mask].tolist()
    by_id = answers.set_index("id")["malignant"]
    assert by_id[reward].nunique() == 2 and by_id[final].nunique() == 2
    assert set(reward).isdisjoint(final) and len(reward) + len(final) == 40
    assert 15 <= len(reward) <= 25


def test_a_failing_prepare_leaves_nothing(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "digits.csv").write_text("not,the,right,columns\n1,2,3,4\n")
    with pytest.raises(Exception):
        prepare_task(get_task("digits"), tmp_path / "root", raw_dir=raw)
    assert not is_prepared("digits", tmp_path / "root")
    assert not (tmp_path / "root" / "prepared" / "digits").exists()
    assert [p.name for p in (tmp_path / "root" / "prepared").iterdir()] == []


COUNTING_PREPARE = '''
import os as _os
import time as _time

_download, _prepare = download, prepare


def _count(what):
    with open(_os.environ["MLAGENT_TEST_COUNT"], "a") as f:
        f.write(what + "\\n")
    _time.sleep(0.3)  # long enough for every other preparer to arrive meanwhile


def download(raw):
    _count("download")
    _download(raw)


def prepare(raw, public, private):
    _count("prepare")
    _prepare(raw, public, private)
'''

PROCESS_PREPARER = """
import sys, time
from pathlib import Path
from mlagent_env.tasks import get_task
from mlagent_env.tasks.data import prepare_task
from mlagent_env.tasks.registry import Task
task_root, data_root, ready, go = map(Path, sys.argv[1:])
ready.touch()
while not go.exists():
    time.sleep(0.01)
prepare_task(Task(spec=get_task("digits").spec, root=task_root), data_root)
"""


def test_first_preparation_from_8_threads_and_2_processes_happens_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fresh data root, ten preparers of one task at once: all succeed, one download and one
    preparation ran, and the prepared data matches its manifest."""
    import json
    import os
    import subprocess
    import sys
    import threading

    from mlagent_env.tasks.data import sha256_file
    from mlagent_env.tasks.registry import Task

    digits = get_task("digits")
    task_root = tmp_path / "task"
    shutil.copytree(digits.root, task_root)
    with open(task_root / "prepare.py", "a") as f:
        f.write(COUNTING_PREPARE)
    task = Task(spec=digits.spec, root=task_root)
    count, root, go = tmp_path / "count.txt", tmp_path / "root", tmp_path / "go"
    monkeypatch.setenv("MLAGENT_TEST_COUNT", str(count))

    readies = [tmp_path / f"ready{i}" for i in range(2)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs = [
        subprocess.Popen([sys.executable, "-c", PROCESS_PREPARER, str(task_root), str(root), str(r), str(go)], env=env)
        for r in readies
    ]
    try:
        while not all(r.exists() for r in readies) and all(p.poll() is None for p in procs):
            threading.Event().wait(0.05)
        errors: list[BaseException] = []
        barrier = threading.Barrier(8)

        def run() -> None:
            barrier.wait()
            try:
                prepare_task(task, root)
            except BaseException as exc:  # noqa: BLE001  (collected and asserted below)
                errors.append(exc)

        threads = [threading.Thread(target=run) for _ in range(8)]
        go.touch()
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        codes = [p.wait(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    assert errors == [] and codes == [0, 0]
    assert sorted(count.read_text().split()) == ["download", "prepare"]
    assert is_prepared("digits", root)
    prepared = root / "prepared" / "digits"
    manifest = json.loads((prepared / "manifest.json").read_text())
    for part in ("public", "private"):
        files = {str(p.relative_to(prepared / part)) for p in (prepared / part).rglob("*") if p.is_file()}
        assert files == set(manifest[part])
        assert all(sha256_file(prepared / part / name) == digest for name, digest in manifest[part].items())
    assert [p.name for p in (root / "prepared").iterdir()] == ["digits"], "no staging folder is left"


def test_denoising_reward_and_final_answers_come_from_different_pages(tmp_path: Path) -> None:
    """The answers are pixels of a few pages: the step reward and the final score grade whole,
    different pages, never two halves of the same ones."""
    from task_support import make_raw, prepare_from_raw

    from mlagent_env.tasks.data import read_answers

    task = get_task("denoising-dirty-documents")
    paths = prepare_from_raw(task.id, make_raw(task.id, tmp_path / "raw"), tmp_path / "root")
    pages = {}
    for part, path in (("reward", paths.answers_reward), ("final", paths.answers_final)):
        pages[part] = {i.split("_")[0] for i in read_answers(path, task)["id"]}
    assert pages["reward"] and pages["final"] and pages["reward"].isdisjoint(pages["final"])
    test_pages = {p.stem for p in (paths.public / "test").glob("*.png")}
    assert pages["reward"] | pages["final"] == test_pages
