"""Data acquisition and preparation: hand-supplied zips, clear instructions when data is missing,
the leak check, the stratified answer split, atomic preparation."""

from __future__ import annotations

import tarfile
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from mlagent_env.errors import DataUnavailable
from mlagent_env.tasks import get_task
from mlagent_env.tasks.data import check_no_leak, is_prepared, prepare_task, split_answer_ids


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
    reward, final = split_answer_ids(answers, task)
    assert split_answer_ids(answers, task) == (reward, final)
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
