"""The offline suite: its held-in / held-out groups, and that no task can be solved by looking its
answers up in the copy of the dataset that the installed package ships (exact and
nearest-neighbour joins, raw and standardised), in-process over every task and inside every
sandbox (local, local with bwrap, Docker) on the tasks whose package the sandbox has."""

from __future__ import annotations

import shutil
from pathlib import Path

import gymnasium as gym
import pandas as pd
import pytest

import mlagent_env  # noqa: F401
from mlagent_env import actions as A
from mlagent_env.errors import TaskNotFound
from mlagent_env.tasks import get_task, list_tasks, resolve_tasks, task_groups
from mlagent_env.tasks.data import TaskPaths, prepare_task, read_answers
from mlagent_env.tasks.disguise import KEY_FILE
from mlagent_env.tasks.grading import read_csv_submission

OFFLINE = [s.id for s in list_tasks() if s.source == "offline"]

# The attack an agent script would run: join the test rows on the bundled copy. ``bundled`` is
# the dataset as the package ships it (feature columns named as in the task, plus the target).
ATTACK = '''
import numpy as np, pandas as pd

def lookups(bundled, test, target):
    """Predictions of the target for every test row, by three lookups in the bundled copy."""
    cols = [c for c in test.columns if c in bundled.columns and c != target
            and pd.api.types.is_numeric_dtype(test[c]) and pd.api.types.is_numeric_dtype(bundled[c])]
    B = bundled[cols].astype(float).fillna(0.0).to_numpy()
    T = test[cols].astype(float).fillna(0.0).to_numpy()
    y = bundled[target].to_numpy()
    common = pd.Series(y).mode()[0]
    exact = {tuple(np.round(r, 4)): v for r, v in zip(B, y)}
    out = {"exact": [exact.get(tuple(np.round(r, 4)), common) for r in T]}
    def nearest(b, t):
        d = (t * t).sum(1)[:, None] - 2 * t @ b.T + (b * b).sum(1)[None, :]
        return y[d.argmin(1)]
    out["nearest"] = nearest(B, T)
    zb = (B - B.mean(0)) / (B.std(0) + 1e-12)
    zt = (T - T.mean(0)) / (T.std(0) + 1e-12)
    out["nearest_standardised"] = nearest(zb, zt)
    return {k: pd.DataFrame({"id": test["id"], target: v}) for k, v in out.items()}
'''

# How a script inside the sandbox loads each sklearn dataset in the task's column names.
SANDBOX_LOADERS = {
    "digits": "from sklearn.datasets import load_digits\nd = load_digits()\n"
              "bundled = pd.DataFrame(d.data, columns=[f'pixel{i}' for i in range(64)]); bundled['label'] = d.target\n",
    "breast-cancer": "from sklearn.datasets import load_breast_cancer\nd = load_breast_cancer()\n"
                     "bundled = pd.DataFrame(d.data, columns=[n.replace(' ', '_') for n in d.feature_names])\n"
                     "bundled['malignant'] = (d.target == 0).astype(int)\n",
}


def _score(task_id: str, paths: TaskPaths, submission: pd.DataFrame) -> float:
    task = get_task(task_id)
    expected = read_answers(paths.answers, task)[task.spec.id_column].tolist()
    return task.grade(submission, read_answers(paths.answers_final, task), expected)


def _lookups(bundled: pd.DataFrame, test: pd.DataFrame, target: str) -> dict[str, pd.DataFrame]:
    namespace: dict[str, object] = {}
    exec(ATTACK, namespace)  # noqa: S102  (the test's own attack code)
    return namespace["lookups"](bundled, test, target)  # type: ignore[operator]


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
def test_lookup_in_the_bundled_copy_scores_no_better_than_the_starter(task_id: str, offline_root: Path,
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


def _cases() -> list[object]:
    """digits in every sandbox by default; breast-cancer too, marked slow (it runs in CI)."""
    out: list[object] = []
    for task_id in sorted(SANDBOX_LOADERS, key=lambda t: t != "digits"):
        for isolation in ("process", "bwrap", "docker"):
            marks = ([pytest.mark.docker] if isolation == "docker" else []) + (
                [pytest.mark.slow] if task_id != "digits" else [])
            out.append(pytest.param(task_id, isolation, marks=marks, id=f"{task_id}-{isolation}"))
    return out


@pytest.mark.parametrize(("task_id", "isolation"), _cases())
def test_lookup_fails_inside_every_sandbox(task_id: str, isolation: str, offline_root: Path) -> None:
    if isolation == "bwrap" and shutil.which("bwrap") is None:
        pytest.skip("bubblewrap is not installed (apt-get install bubblewrap)")
    if isolation == "docker":
        from docker_support import ensure_slim_image

        env = gym.make(f"mlagent/{task_id}", sandbox="docker", data_dir=offline_root,
                       sandbox_options={"image": ensure_slim_image()})
    else:
        env = gym.make(f"mlagent/{task_id}", sandbox="local", data_dir=offline_root,
                       sandbox_options={"isolation": isolation})
    spec = get_task(task_id).spec
    target = spec.target_columns[0]
    script = (
        "import pandas as pd\n" + ATTACK + SANDBOX_LOADERS[task_id]
        + "test = pd.read_csv('data/test.csv', dtype={'id': str})\n"
        + f"for name, sub in lookups(bundled, test, {target!r}).items():\n"
        + "    sub.to_csv(f'lookup_{name}.csv', index=False)\n"
        + "print('bundled rows', len(bundled), 'test rows', len(test))\n"
    )
    try:
        env.reset(seed=0)
        env.step(A.WriteFile(file_name="lookup.py", content=script))
        obs, _, _, _, info = env.step(A.ExecuteScript(script_name="lookup.py"))
        assert "bundled rows" in obs and info["exec"]["exit_code"] == 0, obs
        paths = TaskPaths(task_id, offline_root)
        for name in ("exact", "nearest", "nearest_standardised"):
            raw = env.unwrapped._sandbox.read_file(f"lookup_{name}.csv")  # type: ignore[attr-defined]
            local = offline_root / f"lookup-{task_id}-{isolation}-{name}.csv"
            local.write_bytes(raw)
            score = _score(task_id, paths, read_csv_submission(local, spec))
            assert spec.baseline_score is not None
            assert not spec.is_better(score, spec.baseline_score), f"{name} lookup scored {score} in {isolation}"
    finally:
        env.close()
