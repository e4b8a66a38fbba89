"""The offline suite: its held-in / held-out groups, and that no task can be solved by looking its
answers up in the copy of the dataset that an installed package ships.

Two layers, each tested for what it stops:

- the per-install disguise (``mlagent_env/tasks/disguise.py``) stops the naive joins (exact and
  nearest neighbour, raw and standardised) on every task, in-process and in every sandbox;
- hiding the bundled copies from agent code (``mlagent_env/sandbox/bundled_data.py``) stops the
  red team's undo-the-disguise attacks (digits: the eight orientations of the square; diabetes:
  z-scores and signs from sorted quantiles), run as an agent script (``bundled_lookup_attack.py``)
  in the sandboxes that claim containment: local with bwrap, and Docker.

Plain local contains nothing: agent code there reads the bundled copy (and could read the
private answers too, which is why bench, explore and rl refuse it unless readable answers are
allowed), and the undo attack beats the starter. The test asserts exactly that.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import bundled_lookup_attack as attack
import gymnasium as gym
import pandas as pd
import pytest

import mlagent_env  # noqa: F401
from mlagent_env import actions as A
from mlagent_env.errors import TaskNotFound
from mlagent_env.sandbox.base import SandboxSpec
from mlagent_env.sandbox.bundled_data import IMAGE_LABEL, IMAGE_LABEL_VALUE
from mlagent_env.tasks import get_task, list_tasks, resolve_tasks, task_groups
from mlagent_env.tasks.data import TaskPaths, prepare_task, read_answers
from mlagent_env.tasks.disguise import KEY_FILE
from mlagent_env.tasks.grading import read_csv_submission

OFFLINE = [s.id for s in list_tasks() if s.source == "offline"]
CONTAINED = {"process": False, "bwrap": True, "docker": True}
ISOLATIONS = ["process", "bwrap", pytest.param("docker", marks=pytest.mark.docker)]
ATTACKS = ("exact", "nearest", "nearest_standardised", "undo")


def _score(task_id: str, paths: TaskPaths, submission: pd.DataFrame) -> float:
    task = get_task(task_id)
    expected = read_answers(paths.answers, task)[task.spec.id_column].tolist()
    return task.grade(submission, read_answers(paths.answers_final, task), expected)


def _lookups(bundled: pd.DataFrame, test: pd.DataFrame, target: str) -> dict[str, pd.DataFrame]:
    return {k: pd.DataFrame({"id": test["id"], target: v}) for k, v in attack.naive_lookups(bundled, test, target).items()}


@pytest.fixture(scope="module")
def offline_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every offline task prepared once, each with a fresh secret, in one data root."""
    root = tmp_path_factory.mktemp("offline-data")
    for task_id in OFFLINE:
        prepare_task(get_task(task_id), root)
    return root


def _bundled(task_id: str, tmp: Path) -> pd.DataFrame:
    """The dataset exactly as its package ships it (what ``download`` copies), in task columns."""
    raw = tmp / task_id
    raw.mkdir()
    get_task(task_id).prepare_module().download(raw)
    (csv,) = raw.glob("*.csv")
    return pd.read_csv(csv)


def test_suite_has_held_in_and_held_out_groups() -> None:
    groups = task_groups()
    held_in, held_out = groups["offline-held-in"], groups["offline-held-out"]
    assert len(OFFLINE) >= 8 and sorted(held_in + held_out) == sorted(OFFLINE) == sorted(groups["offline"])
    assert not set(held_in) & set(held_out) and "digits" in held_in
    kinds = lambda ids: {(get_task(t).spec.data_type, get_task(t).spec.task_type) for t in ids}  # noqa: E731
    for ids in (held_in, held_out):  # both groups hold images, tabular classification and regression
        assert {("image", "classification"), ("tabular", "classification"), ("tabular", "regression")} <= kinds(ids)
    assert resolve_tasks(["digits", "offline-held-in"]) == ["digits", *[t for t in held_in if t != "digits"]]
    assert not set(resolve_tasks(["held-in"])) & set(OFFLINE)
    with pytest.raises(TaskNotFound, match="offline-held-out"):
        resolve_tasks(["offline-held-on"])


def test_bench_cli_refuses_an_unknown_group(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from mlagent_env.cli import main

    assert main(["bench", "--tasks", "offline-held-on", "--output_dir", str(tmp_path / "b")]) == 2
    assert "offline-held-in" in capsys.readouterr().err


def test_disguise_is_secret_per_install_and_stable_on_reprepare(offline_root: Path, tmp_path: Path) -> None:
    task = get_task("diabetes")
    first = (offline_root / "prepared" / "diabetes" / "public" / "train.csv").read_bytes()
    other = prepare_task(task, tmp_path / "other")
    assert other.public.joinpath("train.csv").read_bytes() != first  # another install: another secret
    again = prepare_task(task, offline_root, force=True)
    assert again.public.joinpath("train.csv").read_bytes() == first  # same install: same data
    assert (offline_root / "raw" / "diabetes" / KEY_FILE).is_file()
    assert not any(KEY_FILE in p.name for p in again.public.rglob("*"))


@pytest.mark.parametrize("task_id", OFFLINE)
def test_naive_lookup_in_the_bundled_copy_scores_no_better_than_the_starter(task_id: str, offline_root: Path,
                                                                      tmp_path: Path) -> None:
    spec = get_task(task_id).spec
    paths = TaskPaths(task_id, offline_root)
    bundled = _bundled(task_id, tmp_path)
    target = spec.target_columns[0]
    test = pd.read_csv(paths.public / "test.csv", dtype={"id": str})
    for name, submission in _lookups(bundled, test, target).items():
        score = _score(task_id, paths, submission)
        assert spec.baseline_score is not None
        assert not spec.is_better(score, spec.baseline_score), f"{name} lookup scored {score} on {task_id}"


def test_the_lookup_attack_works_on_undisguised_data(tmp_path: Path) -> None:
    """Control: without the disguise (the bundled rows themselves as the test set), the same
    lookups label (nearly) every row, so the test above can fail."""
    bundled = _bundled("digits", tmp_path)
    test = bundled.drop(columns="label").iloc[:300].copy()
    test.insert(0, "id", [str(100000 + i) for i in range(len(test))])
    truth = bundled["label"].iloc[:300].to_numpy()
    for name, submission in _lookups(bundled, test, "label").items():
        hit = (submission["label"].to_numpy() == truth).mean()
        assert hit >= 0.95, name


def _env(task_id: str, isolation: str, root: Path) -> gym.Env:
    if isolation == "docker":
        from docker_support import ensure_slim_image

        return gym.make(f"mlagent/{task_id}", sandbox="docker", data_dir=root,
                        sandbox_options={"image": ensure_slim_image()})
    if isolation == "bwrap" and shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed (apt-get install bubblewrap)")
    return gym.make(f"mlagent/{task_id}", sandbox="local", data_dir=root, sandbox_options={"isolation": isolation})


def _run_attack(task_id: str, isolation: str, root: Path) -> tuple[dict[str, Any], dict[str, float]]:
    """Run ``bundled_lookup_attack.py`` as the agent: its report and the score of each submission.
    In a sandbox that hides the bundled data, digits' starter runs first: the packages still work."""
    env = _env(task_id, isolation, root)
    spec = get_task(task_id).spec
    try:
        env.reset(seed=0)
        if CONTAINED[isolation] and task_id == "digits":
            obs, _, _, _, info = env.step(A.ExecuteScript(script_name="train.py"))
            assert info["exec"]["exit_code"] == 0 and info["metric"] is not None, obs
        params = {"task": task_id, "probe": task_id == "digits"}  # every copy is probed once per sandbox
        env.step(A.WriteFile(file_name="attack.json", content=json.dumps(params)))
        env.step(A.WriteFile(file_name="lookup.py", content=Path(attack.__file__).read_text()))
        obs, _, _, _, info = env.step(A.ExecuteScript(script_name="lookup.py"))
        assert info["exec"]["exit_code"] == 0 and "LOOKUP " in obs, obs
        report = json.loads(obs.split("LOOKUP ", 1)[1].splitlines()[0])
        scores = {}
        for name in ATTACKS:
            local = root / f"lookup-{task_id}-{isolation}-{name}.csv"
            local.write_bytes(env.unwrapped._sandbox.read_file(f"lookup_{name}.csv"))  # type: ignore[attr-defined]
            scores[name] = _score(task_id, TaskPaths(task_id, root), read_csv_submission(local, spec))
    finally:
        env.close()
    return report, scores


@pytest.mark.parametrize("isolation", ISOLATIONS)
@pytest.mark.parametrize("task_id", ["digits", "diabetes"])
def test_bundled_copy_lookups_inside_every_sandbox(task_id: str, isolation: str, offline_root: Path) -> None:
    report, scores = _run_attack(task_id, isolation, offline_root)
    spec = get_task(task_id).spec
    starter = spec.baseline_score
    assert starter is not None
    for name in ATTACKS[:3]:  # the disguise, whatever the sandbox
        assert not spec.is_better(scores[name], starter), f"{name} lookup scored {scores[name]} in {isolation}"
    if CONTAINED[isolation]:
        assert report["bundled"].startswith("FileNotFoundError"), report["bundled"]
        read = [name for name, result in report["sources"].items() if result == "read"]
        assert not read and not report["copies"] and not report["uncovered"], report
        assert not spec.is_better(scores["undo"], starter), f"undo scored {scores['undo']} in {isolation}"
    else:  # plain local contains nothing: the copies are there, and undoing the disguise beats the starter
        assert report["bundled"] == "read"
        assert spec.is_better(scores["undo"], starter), f"the red team's undo scored only {scores['undo']}"
    if task_id == "digits":  # the probe ran: every package's copy, and any file named like one
        assert len(report["sources"]) == len(attack.SOURCES)
        assert CONTAINED[isolation] or (report["sources"]["sklearn diabetes"] == "read" and report["copies"])


def test_bundled_data_keeps_the_code_and_loses_the_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """What the image build runs (``--remove``, ``--check``) and what bwrap mounts (a code-only
    copy), on a package laid out like scikit-learn's, in a folder put on ``sys.path``."""
    from mlagent_env.sandbox import bundled_data

    site = tmp_path / "site"
    data = site / "sklearn" / "datasets" / "data"
    (data / "__pycache__").mkdir(parents=True)
    for name in ("__init__.py", "__pycache__/__init__.cpython-311.pyc", "digits.csv.gz", "iris.csv"):
        (data / name).write_text(name)
    (site / "palmerpenguins" / "data").mkdir(parents=True)
    (site / "palmerpenguins" / "data" / "penguins.csv").write_text("species\n")
    off_path = tmp_path / "base" / "lib" / "python3.11" / "site-packages"  # another interpreter's packages
    (off_path / "mlxtend" / "data" / "data").mkdir(parents=True)
    (off_path / "mlxtend" / "data" / "data" / "wine.csv").write_text("class\n")
    monkeypatch.setattr("sys.path", [str(site)])
    monkeypatch.setattr(bundled_data, "install_prefixes", lambda: {str(tmp_path / "base")})  # never the host's
    found = bundled_data.find()
    assert set(found.folders) == {str(data.resolve()), str((site / "palmerpenguins" / "data").resolve())}
    assert found.unused_site == (str(off_path.resolve()),)
    bundled_data.code_only_copy(str(data), tmp_path / "copy")
    assert sorted(str(p.relative_to(tmp_path / "copy")) for p in (tmp_path / "copy").rglob("*.py*")) == [
        "__init__.py", "__pycache__/__init__.cpython-311.pyc"]
    assert bundled_data.main(["--check"]) == 1
    assert {"digits.csv.gz", "wine.csv"} <= {line.rsplit("/", 1)[-1] for line in capsys.readouterr().err.splitlines()}
    assert bundled_data.main(["--remove"]) == 0 and bundled_data.main(["--check"]) == 0
    assert sorted(p.name for p in data.iterdir()) == ["__init__.py", "__pycache__"]
    assert not list((off_path / "mlxtend").rglob("*.csv"))


def test_the_runtime_image_recipe_removes_bundled_data_and_says_so() -> None:
    dockerfile = (Path(__file__).parents[1] / "docker" / "Dockerfile").read_text()
    assert f'{IMAGE_LABEL}="{IMAGE_LABEL_VALUE}"' in dockerfile
    assert "bundled_data.py --remove" in dockerfile and "bundled_data.py --check" in dockerfile


@pytest.mark.docker
def test_docker_refuses_an_image_that_may_hold_bundled_data(docker_client: Any, slim_image: str,
                                                              task_dirs: dict[str, Any]) -> None:
    from mlagent_env.sandbox.docker import DockerSandbox, ImageOutdated

    tag = "mlagent-test-outdated:bundled-data"
    recipe = f'FROM {slim_image}\nLABEL {IMAGE_LABEL}=""\n'.encode()
    list(docker_client.api.build(fileobj=io.BytesIO(recipe), tag=tag, rm=True, decode=True))
    try:
        with pytest.raises(ImageOutdated, match="rebuild it with `mlagent-env image build --offline`"):
            DockerSandbox(SandboxSpec(task_id="t", public_dir=task_dirs["public"]), image=tag, client=docker_client)
    finally:
        docker_client.images.remove(tag, force=True)


@pytest.mark.docker
def test_docker_refuses_a_derived_image_whose_packages_hold_bundled_data(
    docker_client: Any, slim_image: str, task_dirs: dict[str, Any]
) -> None:
    """An image built FROM the runtime image inherits its label: the first container of an image
    ID checks the contents (here a package outside the image's own list, mlxtend, adds wine.csv)."""
    from mlagent_env.sandbox.docker import DockerSandbox, ImageHoldsBundledData

    tag = "mlagent-test-derived:bundled-data"
    site = "/opt/venv/lib/python3.11/site-packages/mlxtend/data/data"
    recipe = f"FROM {slim_image}\nUSER root\nRUN mkdir -p {site} && echo class > {site}/wine.csv\nUSER agent\n"
    list(docker_client.api.build(fileobj=io.BytesIO(recipe.encode()), tag=tag, rm=True, decode=True))
    spec = SandboxSpec(task_id="t", public_dir=task_dirs["public"])
    try:
        with pytest.raises(ImageHoldsBundledData, match=f"{site}/wine.csv.*bundled_data.py --remove"):
            DockerSandbox(spec, image=tag, client=docker_client)
        assert docker_client.containers.list(all=True, filters={"ancestor": tag}) == []  # the checked one is gone
        DockerSandbox(spec, image=slim_image, client=docker_client).close()  # the runtime image itself passes
    finally:
        docker_client.images.remove(tag, force=True)


def test_bwrap_mounts_only_what_the_interpreter_needs_of_its_installation(tmp_path: Path) -> None:
    """A conda base keeps copies of its packages in ``pkgs/`` and whole installations in ``envs/``
    beside ``bin/`` and ``lib/``: agent code run by it reads neither (red team: digits 1.0)."""
    if shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed (apt-get install bubblewrap)")
    from mlagent_env.sandbox.local import LocalSandbox

    prefix = tmp_path / "conda"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(prefix)], check=True, timeout=120)
    data = "lib/python3.11/site-packages/sklearn/datasets/data/digits.csv.gz"
    copies = [prefix / "pkgs" / "scikit-learn-1.9.1" / data, prefix / "envs" / "other" / data,
              prefix / "lib" / "python3.11" / "site-packages" / "README.txt"]  # control: lib/ is there
    for path in copies:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("0,0,1\n")
    probe = "import sys\nfor p in sys.argv[1:]:\n    try: open(p).read(); print('read')\n    except OSError as e: print(type(e).__name__)"
    with LocalSandbox(SandboxSpec(task_id="t"), isolation="bwrap",
                      python=str(prefix / "bin" / "python")) as sb:
        res = sb.exec([sb.python, "-c", probe, *map(str, copies)], 60)
    assert res.stdout.split() == ["FileNotFoundError", "FileNotFoundError", "read"], res
