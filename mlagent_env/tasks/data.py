"""Data acquisition and preparation: raw data -> ``public/`` (what the agent sees) + ``private/``.

Layout under the data root (``$MLAGENT_DATA_DIR``, default ``~/.cache/mlagent``)::

    raw/<task>/                      as downloaded (or as --raw-dir gave it)
    prepared/<task>/public/          train/test files and sample_submission.csv: mounted read-only
    prepared/<task>/private/
        answers.csv                  every test id with its answer (the submission's columns)
        answers_reward.csv           the rows graded by the per-step reward
        answers_final.csv            the held-back rows graded once, at the end
    prepared/<task>/manifest.json    checksums of every prepared file, counts, seed
    .locks/<task>.lock               held while the task is being prepared (one preparer at a time)

The task's ``prepare.py`` writes ``public/`` and ``private/answers.csv``; this module checks the
result (columns, unique ids, sample submission == answer ids, no answer in ``public/``), splits
the answers with a seeded shuffle (by unit when the task's ``answer_units`` groups its rows), writes
checksums, and moves everything into place atomically, under the task's lock.
"""

from __future__ import annotations

import io

import fcntl
import hashlib
import itertools
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mlagent_env.errors import DataUnavailable, MLAgentError, TaskNotPrepared
from mlagent_env.tasks.acquire import RawLayout, unpack
from mlagent_env.tasks.raw_errors import invalid_raw_data
from mlagent_env.tasks.registry import Task

MANIFEST_VERSION = 2
"""Bumped when prepared data changes meaning (2: offline tasks disguised, answers split by unit):
older preparations count as not prepared and are made again."""
SAMPLE_SUBMISSION = "sample_submission.csv"
FIXTURE_MARKER = "MLAGENT_FIXTURE"
"""A file that fixture generators write into the raw folder: data prepared from it is marked
``"fixture": true`` in the manifest, and benchmarks refuse it."""


def data_root(data_dir: str | Path | None = None) -> Path:
    """The data root: ``data_dir``, else ``$MLAGENT_DATA_DIR``, else ``~/.cache/mlagent``."""
    if data_dir is not None:
        return Path(data_dir).expanduser().resolve()
    env = os.environ.get("MLAGENT_DATA_DIR")
    return Path(env).expanduser().resolve() if env else Path.home() / ".cache" / "mlagent"


@dataclass(frozen=True)
class TaskPaths:
    task_id: str
    root: Path

    @property
    def raw(self) -> Path:
        return self.root / "raw" / self.task_id

    @property
    def prepared(self) -> Path:
        return self.root / "prepared" / self.task_id

    @property
    def public(self) -> Path:
        return self.prepared / "public"

    @property
    def private(self) -> Path:
        return self.prepared / "private"

    @property
    def manifest(self) -> Path:
        return self.prepared / "manifest.json"

    @property
    def answers(self) -> Path:
        return self.private / "answers.csv"

    @property
    def answers_reward(self) -> Path:
        return self.private / "answers_reward.csv"

    @property
    def answers_final(self) -> Path:
        return self.private / "answers_final.csv"

    @property
    def hidden(self) -> list[Path]:
        """Host folders that hold answers: never visible to the agent."""
        return [self.private, self.raw]


def task_paths(task_id: str, data_dir: str | Path | None = None) -> TaskPaths:
    return TaskPaths(task_id=task_id, root=data_root(data_dir))


def is_prepared(task_id: str, data_dir: str | Path | None = None) -> bool:
    p = task_paths(task_id, data_dir)
    if not (p.manifest.is_file() and p.answers_reward.is_file() and p.answers_final.is_file()):
        return False
    try:
        return json.loads(p.manifest.read_text(encoding="utf-8")).get("version") == MANIFEST_VERSION
    except (OSError, ValueError, AttributeError):
        return False


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _checksums(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): sha256_file(p) for p in sorted(folder.rglob("*")) if p.is_file()
    }


def read_answers(path: Path | io.BytesIO, task: Task) -> pd.DataFrame:
    """A table of the task's submission columns (answers, sample submission) with its ids as text
    and only empty cells missing. ``path`` is a file or the file's bytes in a BytesIO."""
    id_column = task.spec.id_column
    frame = pd.read_csv(path, keep_default_na=False, na_values=[""])
    if id_column in frame.columns and not pd.api.types.is_string_dtype(frame[id_column]):
        # ids that read as numbers ("007"): read again as text, slower (pandas converts cell by cell)
        if isinstance(path, io.BytesIO):
            path.seek(0)
        frame = pd.read_csv(path, dtype={id_column: str}, keep_default_na=False, na_values=[""])
    return frame


DOWNLOADING = ".mlagent-downloading"
"""In ``raw/<task>`` while ``download(raw)`` runs: a folder that still holds it was interrupted and is
downloaded again."""
DOWNLOADED = ".mlagent-downloaded"
"""In ``raw/<task>`` once ``download(raw)`` filled it: its archives are removed once extracted (a
folder the user filled keeps them)."""


def _raw_is_present(raw: Path) -> bool:
    return raw.is_dir() and any(p.name != DOWNLOADING for p in raw.iterdir())


def acquire(task: Task, paths: TaskPaths, raw_dir: str | Path | None = None) -> Path:
    """Make the raw data available and return its folder: ``raw_dir`` if given, else the data
    root's ``raw/<task>``, else the task's ``download(raw)``; then unpack it (every zip, and the
    archives and renames of the task's ``RAW_LAYOUT``) and check the expected raw files. Raises
    DataUnavailable with what to do."""
    if raw_dir is not None:
        raw = Path(raw_dir).expanduser().resolve()
        if not _raw_is_present(raw):
            raise DataUnavailable(f"--raw-dir {raw} is empty or missing")
    else:
        raw = paths.raw
        if (raw / DOWNLOADING).exists():
            shutil.rmtree(raw)
        if not _raw_is_present(raw):
            _download(task, raw)
    layout = getattr(task.prepare_module(), "RAW_LAYOUT", RawLayout())
    unpack(raw, layout, keep_archives=not (raw / DOWNLOADED).exists())
    _verify_raw_checksums(task, raw)
    return raw


def _download(task: Task, raw: Path) -> None:
    """Run the task's ``download(raw)`` into an empty ``raw``; a failed download leaves nothing behind."""
    download = getattr(task.prepare_module(), "download", None)
    if download is None:
        raise DataUnavailable(_manual_instructions(task, raw))
    raw.mkdir(parents=True, exist_ok=True)
    (raw / DOWNLOADING).touch()
    try:
        download(raw)
    except BaseException as exc:
        shutil.rmtree(raw, ignore_errors=True)
        if isinstance(exc, DataUnavailable) or not isinstance(exc, Exception):
            raise
        raise DataUnavailable(f"download of {task.id} failed: {exc}\n{_manual_instructions(task, raw)}") from exc
    (raw / DOWNLOADING).replace(raw / DOWNLOADED)


def _manual_instructions(task: Task, raw: Path) -> str:
    src = task.spec.data_source
    files = ", ".join(f.name for f in src.raw_files) or "the files of the source"
    how = src.instructions or f"download {files} from {src.kind} '{src.name}'"
    return f"the raw data of {task.id} is not here. {how}, and put the files in {raw} (or pass --raw-dir DIR)."


def _verify_raw_checksums(task: Task, raw: Path) -> None:
    for f in task.spec.data_source.raw_files:
        path = raw / f.name
        if not path.exists():
            raise DataUnavailable(f"{task.id}: expected raw file {f.name} in {raw}; {_manual_instructions(task, raw)}")
        if f.sha256 and sha256_file(path) != f.sha256:
            raise DataUnavailable(f"{task.id}: {path} has a different checksum than expected; download it again.")


def prepare_task(
    task: Task,
    data_dir: str | Path | None = None,
    raw_dir: str | Path | None = None,
    force: bool = False,
) -> TaskPaths:
    """Acquire and prepare a task's data (idempotent unless ``force``). Returns its paths.

    Safe to call from several threads and processes at once: one preparer holds the task's lock
    while the others wait and then reuse its result, and the prepared folder appears whole (built
    in a staging folder, renamed into place)."""
    paths = task_paths(task.id, data_dir)
    if is_prepared(task.id, data_dir) and not force:
        return paths
    with _preparation_lock(paths):
        if is_prepared(task.id, data_dir) and not force:
            return paths
        raw = acquire(task, paths, raw_dir)
        prepared_root = paths.root / "prepared"
        prepared_root.mkdir(parents=True, exist_ok=True)
        for stale in prepared_root.glob(f".{task.id}.*"):  # left by a killed preparation
            shutil.rmtree(stale, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{task.id}.staging-", dir=prepared_root))
        try:
            public, private = staging / "public", staging / "private"
            public.mkdir()
            private.mkdir()
            try:
                task.prepare_module().prepare(raw, public, private)
            except (ValueError, KeyError) as exc:  # a raw file that is not what prepare.py reads (decoding, parsing)
                if isinstance(exc, MLAgentError):
                    raise
                raise invalid_raw_data(task.id, raw, exc) from exc
            manifest = _finalise(task, public, private)
            manifest["fixture"] = (raw / FIXTURE_MARKER).exists()
            (staging / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
            _replace_dir(staging, paths.prepared)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return paths


@contextmanager
def _preparation_lock(paths: TaskPaths) -> Iterator[None]:
    """An exclusive lock per task (``fcntl.flock`` on ``<root>/.locks/<task>.lock``), held across
    threads and processes alike; a caller that must wait says so."""
    folder = paths.root / ".locks"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f"{paths.task_id}.lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"{paths.task_id}: waiting for another preparation ({handle.name})", file=sys.stderr, flush=True)
            fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _replace_dir(new: Path, target: Path) -> None:
    """Put folder ``new`` at ``target`` by renames only: a reader sees the old folder or the new one."""
    if target.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.replace(target, old)
        os.replace(new, target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(new, target)


def reward_rows(answers: pd.DataFrame, task: Task) -> np.ndarray:
    """Which answer rows the per-step reward grades (a boolean mask; the rest is held back), drawn
    with a seed of the task.

    When the task's ``prepare.py`` defines ``answer_units(ids: pd.Series) -> pd.Series`` (rows that are
    parts of larger units, such as the pixels of a page), whole units are drawn, so that the final
    score comes from units the step reward never graded. Otherwise rows are drawn, stratified by the
    answer when it takes few distinct values (classification), so that both halves hold every class
    that has two rows or more (ROC-AUC and log loss need that)."""
    spec = task.spec
    seed = int.from_bytes(hashlib.sha256(f"mlagent-split:{task.id}".encode()).digest()[:8], "little")
    rng = np.random.default_rng(seed)
    units = getattr(task.prepare_module(), "answer_units", None)
    if units is not None:
        codes, names = pd.factorize(pd.Series(units(answers[spec.id_column])).astype(str), sort=True)
        if len(names) < 2:
            raise RuntimeError(f"{task.id}: the answers hold {len(names)} unit(s); need at least 2 to split by unit")
        chosen = rng.permutation(len(names))[: _share(len(names), spec.reward_fraction, rng)]
        return np.isin(codes, chosen)

    targets = answers[spec.target_columns].astype(str)
    keys = targets.iloc[:, 0].str.cat(targets.iloc[:, 1:], sep="|") if targets.shape[1] > 1 else targets.iloc[:, 0]
    codes, names = pd.factorize(keys, sort=True)
    n_rows = len(answers)
    if len(names) <= max(2, min(50, n_rows // 4)):
        strata = [np.flatnonzero(codes == k) for k in range(len(names))]
    else:
        strata = [np.arange(n_rows)]
    mask = np.zeros(n_rows, dtype=bool)
    for members in strata:
        members = rng.permutation(members)
        n = _share(len(members), spec.reward_fraction, rng) if len(members) >= 2 else int(rng.random() < spec.reward_fraction)
        mask[members[:n]] = True
    if not mask.any() or mask.all():  # degenerate: fall back to one row on each side
        mask[:] = False
        order = rng.permutation(n_rows)
        mask[order[: max(1, min(n_rows - 1, int(round(n_rows * spec.reward_fraction))))]] = True
    return mask


def _share(n: int, fraction: float, rng: np.random.Generator) -> int:
    """``round(n * fraction)`` by seeded random rounding, kept within [1, n - 1]."""
    take = n * fraction
    return min(max(int(np.floor(take)) + (1 if rng.random() < take - np.floor(take) else 0), 1), n - 1)


def _finalise(task: Task, public: Path, private: Path) -> dict[str, object]:
    spec = task.spec
    answers_path = private / "answers.csv"
    if not answers_path.is_file():
        raise RuntimeError(f"{task.id}/prepare.py did not write private/answers.csv")
    answers = read_answers(answers_path, task)
    if list(answers.columns) != spec.submission_columns:
        raise RuntimeError(f"{task.id}: answers.csv columns {list(answers.columns)} != {spec.submission_columns}")
    ids = answers[spec.id_column].astype(str)
    if ids.duplicated().any():
        raise RuntimeError(f"{task.id}: answers.csv has duplicate ids")
    if len(ids) < 2:
        raise RuntimeError(f"{task.id}: need at least 2 test rows to split answers")
    sample_path = public / SAMPLE_SUBMISSION
    if not sample_path.is_file():
        raise RuntimeError(f"{task.id}/prepare.py did not write public/{SAMPLE_SUBMISSION}")
    sample = read_answers(sample_path, task)
    if list(sample.columns) != spec.submission_columns:
        raise RuntimeError(f"{task.id}: sample submission columns {list(sample.columns)} != {spec.submission_columns}")
    sample_ids = sample[spec.id_column].astype(str)
    if not sample_ids.equals(ids) and (len(sample_ids) != len(ids) or set(sample_ids) != set(ids)):
        raise RuntimeError(f"{task.id}: sample submission ids differ from the answer ids")
    check_no_leak(task, public, answers)

    reward = reward_rows(answers, task)
    lines = answers_path.read_bytes().splitlines(keepends=True)
    if len(lines) != len(answers) + 1:
        raise RuntimeError(f"{task.id}: private/answers.csv must hold a header line and one line per answer row")
    for name, rows in (("answers_reward.csv", reward), ("answers_final.csv", ~reward)):
        with open(private / name, "wb") as f:  # the lines as prepare wrote them, not re-serialised
            f.write(lines[0])
            f.writelines(itertools.compress(lines[1:], rows.tolist()))
    return {
        "version": MANIFEST_VERSION,
        "task": task.id,
        "n_test": len(ids),
        "n_reward": int(reward.sum()),
        "n_final": int((~reward).sum()),
        "public": _checksums(public),
        "private": _checksums(private),
    }


def check_no_leak(task: Task, public: Path, answers: pd.DataFrame) -> None:
    """Refuse a preparation where an answer reaches ``public/``: no file named like the answers,
    and no public table that holds a test id together with a target column."""
    spec = task.spec
    test_ids: set[str] | None = None  # built only when a public table could hold answers
    for path in sorted(public.rglob("*")):
        if not path.is_file():
            continue
        if "answer" in path.name.lower():
            raise RuntimeError(f"{task.id}: public file {path.name} looks like an answers file")
        if path.suffix.lower() != ".csv" or path.name == SAMPLE_SUBMISSION:
            continue
        header = pd.read_csv(path, nrows=0).columns.tolist()
        if spec.id_column not in header or not (set(spec.target_columns) & set(header)):
            continue
        frame = pd.read_csv(path, usecols=[spec.id_column], dtype={spec.id_column: str})
        test_ids = set(answers[spec.id_column].astype(str)) if test_ids is None else test_ids
        leaked = test_ids & set(frame[spec.id_column].astype(str))
        if leaked:
            raise RuntimeError(
                f"{task.id}: public/{path.relative_to(public)} has target columns and {len(leaked)} test ids"
            )


def is_fixture(task_id: str, data_dir: str | Path | None = None) -> bool:
    """Whether the prepared data of a task came from a synthetic fixture, not the real source."""
    manifest = task_paths(task_id, data_dir).manifest
    return manifest.is_file() and bool(json.loads(manifest.read_text()).get("fixture", False))


def require_prepared(task: Task, data_dir: str | Path | None = None) -> TaskPaths:
    """The prepared paths, or TaskNotPrepared with the command that prepares them."""
    if not is_prepared(task.id, data_dir):
        flag = f" --data-dir {data_dir}" if data_dir else ""
        raise TaskNotPrepared(f"task {task.id} is not prepared; run: mlagent-env prepare {task.id}{flag}")
    return task_paths(task.id, data_dir)
