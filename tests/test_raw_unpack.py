"""The unpack step on real nestings: each task's fixture packed the way the real download arrives
(the outer competition zip, the archives inside it), prepared through --raw-dir and through the
automatic route, gives the same prepared data as the extracted fixture; truncated archives are a
clear error naming the file; a missing py7zr names the data extra."""

from __future__ import annotations

import json
import shutil
import sys
import tarfile
import types
import zipfile
from pathlib import Path

import pytest

from mlagent_env.errors import DataUnavailable
from mlagent_env.tasks import get_task
from mlagent_env.tasks.data import DOWNLOADED, TaskPaths, is_prepared, prepare_task
from task_support import make_raw

py7zr = pytest.importorskip("py7zr")

STATOIL = "statoil-iceberg-classifier-challenge"


def _manifest(paths: TaskPaths) -> dict[str, object]:
    manifest = json.loads(paths.manifest.read_text())
    return {k: manifest[k] for k in ("public", "private", "n_reward", "n_final")}


def _expected(task_id: str, base: Path) -> dict[str, object]:
    """The manifest of the task prepared from its already extracted fixture."""
    raw = make_raw(task_id, base / "flat")
    return _manifest(prepare_task(get_task(task_id), base / "flat-root", raw_dir=raw))


def _zip_tree(archive: Path, files: dict[str, Path]) -> None:
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, path in files.items():
            for file in [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file()):
                zf.write(file, name if path.is_file() else f"{name}/{file.relative_to(path)}")


def _seven_zip(archive: Path, files: dict[str, Path]) -> None:
    """A 7z archive with LZMA2 at its fastest preset (the default one takes half a minute per 8 MB here)."""
    with py7zr.SevenZipFile(archive, "w", filters=[{"id": py7zr.FILTER_LZMA2, "preset": 0}]) as z:
        for name, path in files.items():
            z.write(path, name)


def _statoil_competition_zip(src: Path, dest: Path) -> Path:
    """As Kaggle serves it: one zip holding train.json.7z, test.json.7z and sample_submission.csv.7z,
    each unpacking under data/processed/."""
    inner = dest / "inner"
    inner.mkdir(parents=True)
    (inner / "sample_submission.csv").write_text("id,is_iceberg\nabc,0.5\n")
    for name, path in (("train.json", src / "train.json"), ("test.json", src / "test.json"),
                       ("sample_submission.csv", inner / "sample_submission.csv")):
        _seven_zip(inner / f"{name}.7z", {f"data/processed/{name}": path})
    archive = dest / f"{STATOIL}.zip"
    _zip_tree(archive, {p.name: p for p in sorted(inner.glob("*.7z"))})
    return archive


@pytest.fixture(scope="module")
def statoil(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, object], Path]:
    """The manifest of the extracted statoil fixture, and the fixture as Kaggle's competition zip."""
    base = tmp_path_factory.mktemp("statoil")
    return _expected(STATOIL, base), _statoil_competition_zip(base / "flat", base / "pack")


def test_statoil_competition_zip_with_inner_7z_prepares_through_raw_dir(
    statoil: tuple[dict[str, object], Path], tmp_path: Path
) -> None:
    expected, archive = statoil
    raw = tmp_path / "download"
    raw.mkdir()
    shutil.copyfile(archive, raw / archive.name)
    paths = prepare_task(get_task(STATOIL), tmp_path / "root", raw_dir=raw)
    assert _manifest(paths) == expected
    assert (raw / f"{STATOIL}.zip").is_file() and (raw / "train.json.7z").is_file(), "the user's archives are kept"
    assert (raw / "train.json").is_file()


def test_statoil_automatic_route_unpacks_and_a_failed_download_leaves_nothing(
    statoil: tuple[dict[str, object], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kaggle package is the network boundary: a stand-in that writes what Kaggle serves."""
    expected, archive = statoil
    calls: list[str] = []

    def competition_download_files(competition: str, path: str, quiet: bool) -> None:
        calls.append(competition)
        target = Path(path) / f"{competition}.zip"
        target.write_bytes(archive.read_bytes()[: 1000 if len(calls) == 1 else None])
        if len(calls) == 1:
            raise ConnectionError("connection reset")

    fake = types.ModuleType("kaggle")
    fake.api = types.SimpleNamespace(competition_download_files=competition_download_files)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "kaggle", fake)
    root = tmp_path / "root"
    with pytest.raises(DataUnavailable, match="connection reset"):
        prepare_task(get_task(STATOIL), root)
    assert not (root / "raw" / STATOIL).exists(), "the half-downloaded zip is not kept"
    paths = prepare_task(get_task(STATOIL), root)
    assert calls == [STATOIL, STATOIL]
    assert _manifest(paths) == expected
    left = sorted(p.name for p in paths.raw.iterdir())
    assert left == sorted(["train.json", "data", "test.json.7z", "sample_submission.csv.7z", DOWNLOADED]), left


def test_arxiv_zip_unzips_to_arxiv_and_is_accepted(tmp_path: Path) -> None:
    expected = _expected("ogbn-arxiv", tmp_path)
    raw = tmp_path / "download"
    raw.mkdir()
    _zip_tree(raw / "arxiv.zip", {"arxiv": tmp_path / "flat" / "ogbn_arxiv"})  # as snap.stanford.edu serves it
    paths = prepare_task(get_task("ogbn-arxiv"), tmp_path / "root", raw_dir=raw)
    assert _manifest(paths) == expected
    assert (raw / "ogbn_arxiv" / "raw" / "edge.csv.gz").is_file() and not (raw / "arxiv").exists()


def test_cifar_tarball_is_extracted(tmp_path: Path) -> None:
    expected = _expected("cifar-10", tmp_path)
    raw = tmp_path / "download"
    raw.mkdir()
    with tarfile.open(raw / "cifar-10-python.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "flat" / "cifar-10-batches-py", "cifar-10-batches-py")
    paths = prepare_task(get_task("cifar-10"), tmp_path / "root", raw_dir=raw)
    assert _manifest(paths) == expected


@pytest.mark.parametrize("has_data_filter", [True, False])
def test_tar_extraction_refuses_what_leaves_the_folder_with_or_without_tarfiles_filter(
    has_data_filter: bool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Python < 3.11.4 (Debian 12's 3.11.2) has no filter="data": the same rules apply by hand."""
    from mlagent_env.tasks.acquire import extract

    if not has_data_filter:
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    (tmp_path / "f.txt").write_text("ok")
    good = tmp_path / "good.tar.gz"
    with tarfile.open(good, "w:gz") as tar:
        tar.add(tmp_path / "f.txt", "d/f.txt")
    (tmp_path / "out").mkdir()
    (tmp_path / "out2").mkdir()
    extract(good, tmp_path / "out")
    assert (tmp_path / "out" / "d" / "f.txt").read_text() == "ok"
    for bad_name, link in (("../escape.txt", None), ("/tmp/abs-escape.txt", None), ("l", "/etc/passwd")):
        bad = tmp_path / "bad.tar"
        with tarfile.open(bad, "w") as tar:
            info = tarfile.TarInfo(bad_name)
            if link:
                info.type, info.linkname = tarfile.SYMTYPE, link
                tar.addfile(info)
            else:
                info.size = 2
                tar.addfile(info, __import__("io").BytesIO(b"no"))
        try:  # refused, or (filter="data" with an absolute name) extracted inside the folder
            extract(bad, tmp_path / "out2")
        except DataUnavailable:
            pass
        assert not (tmp_path / "escape.txt").exists() and not Path("/tmp/abs-escape.txt").exists()
        assert not (tmp_path / "out2" / "l").is_symlink()


@pytest.mark.parametrize("name", ["spaceship-titanic.zip", "cifar-10-python.tar.gz", "train.json.7z"])
def test_a_truncated_archive_names_the_file_and_says_to_download_again(name: str, tmp_path: Path) -> None:
    task_id = {".zip": "spaceship-titanic", ".gz": "cifar-10", ".7z": STATOIL}[Path(name).suffix]
    src = make_raw(task_id, tmp_path / "flat")
    full = tmp_path / name
    if name.endswith(".zip"):
        _zip_tree(full, {p.name: p for p in src.iterdir()})
    elif name.endswith(".tar.gz"):
        with tarfile.open(full, "w:gz") as tar:
            tar.add(src / "cifar-10-batches-py", "cifar-10-batches-py")
    else:
        _seven_zip(full, {"data/processed/train.json": src / "train.json"})
    raw = tmp_path / "download"
    raw.mkdir()
    (raw / name).write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    with pytest.raises(DataUnavailable) as err:
        prepare_task(get_task(task_id), tmp_path / "root", raw_dir=raw)
    message = str(err.value)
    assert str(raw / name) in message and "truncated or corrupt" in message and "delete it" in message
    assert not is_prepared(task_id, tmp_path / "root")
    assert [p.name for p in raw.iterdir()] == [name], "no half-extracted files are left"


def test_a_7z_without_py7zr_names_the_data_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = tmp_path / "download"
    raw.mkdir()
    (raw / "train.json.7z").write_bytes(b"7z\xbc\xaf\x27\x1c")
    monkeypatch.setitem(sys.modules, "py7zr", None)  # import py7zr raises ImportError
    with pytest.raises(DataUnavailable, match=r"mlagent\[data\]"):
        prepare_task(get_task(STATOIL), tmp_path / "root", raw_dir=raw)
