"""Grading: read a submission, validate it, align it with the answers by id, score, rank.

``grade`` is what every task's ``Task.grade`` calls. An agent's mistake raises
``InvalidSubmission`` with a message that names the problem and what to do; a problem on our
side (unknown metric, malformed answers) raises ``ValueError``. Rows are always matched by id,
never by position; ids are compared as strings with surrounding whitespace removed.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import numbers
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlagent_env.errors import AnswersChanged, InvalidSubmission
from mlagent_env.tasks.data import TaskPaths, read_answers
from mlagent_env.tasks.metrics import Metric, canonical_label, get_metric
from mlagent_env.tasks.registry import Task
from mlagent_env.tasks.spec import TaskSpec

_EXAMPLES = 5
"""How many offending ids / values a message quotes."""


def _examples(values: Sequence[Any] | pd.Series | np.ndarray, n: int = _EXAMPLES) -> str:
    items = values.tolist() if isinstance(values, (np.ndarray, pd.Series)) else list(values)
    shown = ", ".join(repr(v) for v in items[:n])
    return shown + (", ..." if len(items) > n else "")


def _canonical_id(value: Any) -> str | None:
    """The string form of one id: strings stripped, integral numbers without ``.0``; None if missing."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (bool, np.bool_)):
        return str(value)
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real) and math.isfinite(float(value)) and float(value) == int(value):
        return str(int(value))
    return str(value).strip()


def _canonical_ids(values: Sequence[Any] | pd.Series) -> pd.Series:
    """Apply :func:`_canonical_id` to every id, vectorised for the common all-strings and integer
    cases; a column read as strings keeps its (Arrow-backed) string dtype, which is much faster."""
    if isinstance(values, (pd.Series, pd.Index)) and pd.api.types.is_string_dtype(values.dtype) \
            and values.dtype != object:
        return pd.Series(values.array).str.strip()
    arr = values.to_numpy(dtype=object) if isinstance(values, pd.Series) else np.asarray(list(values), dtype=object)
    kind = pd.api.types.infer_dtype(arr, skipna=False)
    if kind == "string":
        return pd.Series(arr, dtype=object).str.strip().astype(object)
    if kind == "integer":
        return pd.Series([str(v) for v in arr.tolist()], dtype=object)
    return pd.Series(arr, dtype=object).map(_canonical_id).astype(object)


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------


def read_csv_submission(source: str | PathLike[str] | bytes, spec: TaskSpec, name: str | None = None) -> pd.DataFrame:
    """Read a submission CSV (a path, or the file's bytes with its ``name``), the id column as
    strings and header names stripped of whitespace.

    Raises ``InvalidSubmission`` (naming the file) when the file is missing, empty, binary,
    not valid UTF-8 or not parseable as CSV. The content is checked by :func:`validate_submission`.
    """
    if isinstance(source, bytes):
        data, label = source, name or spec.submission_file
    else:
        path = Path(source)
        label = name or str(path)
        if not path.is_file():
            raise InvalidSubmission(f"no submission file at {label!r}; write the predictions to {spec.submission_file!r}")
        try:
            data = path.read_bytes()
        except OSError as e:
            raise InvalidSubmission(f"cannot read submission file {label!r}: {e}") from e
    head = data[:8192]
    if not head.strip():
        raise InvalidSubmission(
            f"submission file {label!r} is empty; write a CSV with header {','.join(spec.submission_columns)}"
        )
    if b"\x00" in head:
        raise InvalidSubmission(
            f"submission file {label!r} is not a CSV text file (it contains binary data); "
            f"write it with DataFrame.to_csv(..., index=False)"
        )
    try:
        header = pd.read_csv(io.BytesIO(data), nrows=0, encoding="utf-8").columns
        # the id column keeps its text ("007" stays "007"), even if its header has stray spaces
        id_names = [c for c in header if str(c).strip() == spec.id_column] or [spec.id_column]
        frame = pd.read_csv(io.BytesIO(data), dtype={n: str for n in id_names}, encoding="utf-8")
    except (pd.errors.EmptyDataError, pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as e:
        raise InvalidSubmission(
            f"submission file {label!r} could not be read as CSV ({type(e).__name__}: {e}); "
            f"write a UTF-8 CSV with header {','.join(spec.submission_columns)}"
        ) from e
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------


def _metric_for(spec: TaskSpec) -> Metric:
    metric = get_metric(spec.metric.name)
    if metric.higher_is_better != spec.metric.higher_is_better:
        raise ValueError(
            f"task {spec.id!r}: metric {metric.name!r} has higher_is_better={metric.higher_is_better}, "
            f"but the task spec says {spec.metric.higher_is_better}"
        )
    if metric.single_column and len(spec.target_columns) != 1:
        raise ValueError(
            f"task {spec.id!r}: metric {metric.name!r} needs exactly one target column, got {spec.target_columns}"
        )
    return metric


def _numeric_column(series: pd.Series, column: str, metric: Metric) -> pd.Series:
    """The column as float64, or ``InvalidSubmission`` naming non-numeric / NaN / inf / out-of-range values."""
    if pd.api.types.is_bool_dtype(series.dtype):
        values = series.astype(np.float64)
    else:
        values = pd.to_numeric(series, errors="coerce").astype(np.float64)
        non_numeric = values.isna() & series.notna()
        if non_numeric.any():
            raise InvalidSubmission(
                f"column {column!r} has {int(non_numeric.sum())} non-numeric value(s) "
                f"(e.g. {_examples(series[non_numeric].unique())}); metric {metric.name!r} needs a number in every row"
            )
    missing = values.isna()
    if missing.any():
        raise InvalidSubmission(
            f"column {column!r} has {int(missing.sum())} empty or NaN value(s); "
            f"predict a finite number for every row (metric {metric.name!r})"
        )
    infinite = ~np.isfinite(values.to_numpy())
    if infinite.any():
        raise InvalidSubmission(
            f"column {column!r} has {int(infinite.sum())} infinite value(s); predict a finite number for every row"
        )
    arr = values.to_numpy()
    if metric.values == "probabilities":
        bad = (arr < 0) | (arr > 1)
        if bad.any():
            raise InvalidSubmission(
                f"column {column!r} has {int(bad.sum())} value(s) outside [0, 1] (e.g. {_examples(arr[bad])}); "
                f"metric {metric.name!r} needs probabilities: apply a sigmoid/softmax or clip to [0, 1]"
            )
    elif metric.values == "non_negative":
        bad = arr < 0
        if bad.any():
            raise InvalidSubmission(
                f"column {column!r} has {int(bad.sum())} negative value(s) (e.g. {_examples(arr[bad])}); "
                f"metric {metric.name!r} needs values >= 0: clip the predictions at 0"
            )
    elif metric.values == "integers":
        bad = arr != np.round(arr)
        if bad.any():
            raise InvalidSubmission(
                f"column {column!r} has {int(bad.sum())} non-integer value(s) (e.g. {_examples(arr[bad])}); "
                f"metric {metric.name!r} needs integer ratings: round the predictions"
            )
    return values


def _label_list_column(series: pd.Series, column: str) -> pd.Series:
    """Space-separated label strings; empty/NaN becomes "", integral numbers their integer form."""

    def convert(value: Any) -> str | None:
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            return ""
        if isinstance(value, str):
            return value.strip()
        if isinstance(value, (bool, np.bool_)):
            return None
        if isinstance(value, numbers.Integral):
            return str(int(value))
        if isinstance(value, numbers.Real) and math.isfinite(float(value)) and float(value) == int(value):
            return str(int(value))
        return None

    converted = series.map(convert).astype(object)
    bad = converted.isna()
    if bad.any():
        raise InvalidSubmission(
            f"column {column!r} has {int(bad.sum())} value(s) that are not label strings "
            f"(e.g. {_examples(series[bad].tolist())}); write up to 5 space-separated labels per row, e.g. 'a b c'"
        )
    return converted


def validate_submission(
    spec: TaskSpec, submission: pd.DataFrame, expected_ids: "Sequence[Any] | AnswerKey"
) -> pd.DataFrame:
    """Check a submission against the task and the ids it must cover; return it in ``expected_ids`` order.

    ``expected_ids`` is the list of test ids, or an :class:`AnswerKey` (ids indexed once, and for
    label metrics the task's classes: a label outside them is invalid, naming the allowed ones).

    Checks, in order (the first failure raises ``InvalidSubmission`` naming the problem):
    the id column is present; every target column is present; there are no other columns and
    no duplicated column names; no id is empty or duplicated; no expected id is missing; no id
    is unexpected; the row count matches; then the values the metric needs (``Metric.values``): no missing label
    (``labels``), finite numbers (``numbers``), also >= 0 (``non_negative``), in [0, 1]
    (``probabilities``), integral (``integers``), or strings of space-separated labels where
    empty is allowed (``ranked_labels``).

    Returns a new frame with exactly ``spec.submission_columns``, rows in the order of
    ``expected_ids``, a fresh RangeIndex, the id column as stripped strings, and target columns as
    float64 for numeric metrics or as strings for ``ranked_labels`` (``labels`` are left as given).
    ``ValueError`` if the metric is unknown or ``expected_ids`` has duplicates (our bug).
    """
    metric = _metric_for(spec)
    if isinstance(expected_ids, AnswerKey):
        expected_index, classes = expected_ids.ids, expected_ids.classes
    else:
        expected_index, classes = _expected_index(expected_ids), {}
    if not isinstance(submission, pd.DataFrame):
        raise InvalidSubmission(f"a submission must be a table (pandas DataFrame), got {type(submission).__name__}")

    frame = submission.copy(deep=False)
    frame.columns = [str(c).strip() for c in frame.columns]
    columns = list(frame.columns)
    id_col = spec.id_column
    header = ",".join(spec.submission_columns)

    if id_col not in columns:
        raise InvalidSubmission(
            f"submission has no id column {id_col!r} (its columns are {columns}); the header must be {header}"
        )
    missing_cols = [c for c in spec.target_columns if c not in columns]
    if missing_cols:
        raise InvalidSubmission(
            f"submission lacks the target column(s) {missing_cols} (its columns are {columns}); "
            f"the header must be {header}"
        )
    extra_cols = [c for c in columns if c not in spec.submission_columns]
    if extra_cols:
        hint = " (an 'Unnamed: 0' column comes from writing the index: use to_csv(..., index=False))" if any(
            c.startswith("Unnamed") for c in extra_cols
        ) else ""
        raise InvalidSubmission(
            f"submission has extra column(s) {extra_cols}{hint}; remove them, the header must be {header}"
        )

    duplicated_columns = sorted(set(pd.Index(columns)[pd.Index(columns).duplicated()]))
    if duplicated_columns:
        raise InvalidSubmission(
            f"submission has duplicated column(s) {duplicated_columns}; the header must be {header}"
        )
    ids = _canonical_ids(frame[id_col])
    positions_in_expected: np.ndarray | None = None  # None: the submission lists the test ids in order
    if not _same_ids(ids, expected_index):
        empty = ids.isna() | (ids == "")
        if empty.any():
            raise InvalidSubmission(
                f"{int(empty.sum())} row(s) have an empty {id_col!r}; every row needs the id of a test row"
            )
        duplicated = ids[ids.duplicated()].unique()
        if len(duplicated):
            raise InvalidSubmission(
                f"{len(duplicated)} id(s) appear more than once in {id_col!r} (e.g. {_examples(duplicated)}); "
                f"write exactly one row per test id"
            )
        # expected ids are distinct and so (from here) are the submitted ones: one hash lookup
        positions_in_expected = expected_index.get_indexer(ids)
        covered = np.zeros(len(expected_index), dtype=bool)
        covered[positions_in_expected[positions_in_expected >= 0]] = True
        if not covered.all():
            missing_ids = expected_index[~covered].tolist()
            extra = ids[positions_in_expected < 0]
            floaty = extra[extra.str.fullmatch(r"[+-]?\d+\.0*", na=False)] if len(extra) else extra
            if len(floaty) and (expected_index.get_indexer(floaty.str.replace(r"\.0*$", "", regex=True)) >= 0).any():
                raise InvalidSubmission(
                    f"{len(floaty)} id(s) in {id_col!r} look like floats (e.g. {_examples(floaty.tolist())}) while the "
                    f"test ids are integers (e.g. {_examples(missing_ids)}): write the ids unchanged, as integers "
                    f"(e.g. df[{id_col!r}] = df[{id_col!r}].astype(int) before to_csv)"
                )
            raise InvalidSubmission(
                f"{len(missing_ids)} of {len(expected_index)} test id(s) are missing from {id_col!r} "
                f"(e.g. {_examples(missing_ids)}); "
                f"predict every row of the test set"
            )
        if (positions_in_expected < 0).any():
            extra_ids = ids[positions_in_expected < 0].tolist()
            raise InvalidSubmission(
                f"{len(extra_ids)} id(s) in {id_col!r} are not test ids (e.g. {_examples(extra_ids)}); "
                f"predict only the rows of the test set, with their ids unchanged"
            )
        if len(frame) != len(expected_index):
            raise InvalidSubmission(f"submission has {len(frame)} rows, expected {len(expected_index)} (one per test id)")

    frame[id_col] = ids.array
    for column in spec.target_columns:
        series = frame[column]
        if metric.values == "labels":
            missing = series.isna()
            if missing.any():
                raise InvalidSubmission(
                    f"column {column!r} has {int(missing.sum())} empty value(s); predict a label for every row"
                )
            if column in classes:
                _check_classes(series, column, classes[column])
        elif metric.values == "ranked_labels":
            frame[column] = _label_list_column(series, column).to_numpy()
        else:
            frame[column] = _numeric_column(series, column, metric).to_numpy()

    if positions_in_expected is None:
        return frame[spec.submission_columns].reset_index(drop=True)
    order = np.empty(len(expected_index), dtype=np.int64)
    order[positions_in_expected] = np.arange(len(expected_index))
    return frame[spec.submission_columns].iloc[order].reset_index(drop=True)


def _expected_index(expected_ids: Sequence[Any] | pd.Series) -> pd.Index:
    """The canonical test ids as a hash index (built once; :meth:`pd.Index.get_indexer` reuses it)."""
    index = pd.Index(_canonical_ids(expected_ids))
    if index.hasnans or not index.is_unique:
        raise ValueError("expected_ids must be distinct, non-missing ids")
    return index


def _same_ids(ids: pd.Series, expected: pd.Index) -> bool:
    """Whether ``ids`` are exactly ``expected``, in order: one vectorised comparison, no hashing."""
    if len(ids) != len(expected):
        return False
    equal = pd.Series(ids.array == expected.array)
    return bool(equal.fillna(False).all())


def _check_classes(series: pd.Series, column: str, allowed: dict[str, str]) -> None:
    """``InvalidSubmission`` naming the allowed labels when a label is outside the task's classes."""
    distinct = series.unique()
    bad = [v.item() if isinstance(v, np.generic) else v for v in distinct if canonical_label(v) not in allowed]
    if bad:
        names = sorted(allowed.values())
        shown = ", ".join(repr(n) for n in names[:20]) + (f", ... ({len(names)} in all)" if len(names) > 20 else "")
        count = int(series.isin(bad).sum())
        raise InvalidSubmission(
            f"column {column!r} has {count} label(s) outside the task's classes (e.g. {_examples(bad)}); "
            f"the allowed labels are {shown}"
        )


@dataclass(frozen=True)
class AnswerKey:
    """A task's answers for all test ids, validated and indexed once (per env, or per prepared
    data): the canonical test ids as a hash index, and for label metrics the classes (canonical
    label -> the label as the answers write it). :meth:`split` prepares a subset of the answers
    (the reward rows, the held-back rows) for repeated grading with :func:`grade`."""

    spec: TaskSpec
    ids: pd.Index
    classes: dict[str, dict[str, str]]

    @classmethod
    def build(cls, spec: TaskSpec, answers: pd.DataFrame, public_dir: str | PathLike[str] | None = None) -> "AnswerKey":
        """The key of the answers for *all* test ids. For label metrics the task's classes are the
        labels of the answers and of the target column in ``public_dir``'s CSV files (the training
        labels: a class absent from the test rows is still a class)."""
        truth, index, _ = _validated_answers(spec, answers)  # the index keeps its hash table for get_indexer
        classes = _classes(spec, [truth, *_public_label_frames(spec, public_dir)]) if public_dir else \
            _classes(spec, [truth])
        return cls(spec=spec, ids=index, classes=classes)

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids)

    def split(self, answers: pd.DataFrame) -> "AnswerSplit":
        truth, _, positions = _validated_answers(self.spec, answers, key=self)
        return AnswerSplit(key=self, truth=truth, positions=positions)  # type: ignore[arg-type]


@dataclass(frozen=True)
class AnswerSplit:
    """Some rows of the answers, validated, with their positions among the key's test ids."""

    key: AnswerKey
    truth: pd.DataFrame
    positions: np.ndarray


# --------------------------------------------------------------------------------------------
# Grading
# --------------------------------------------------------------------------------------------


def _validated_answers(
    spec: TaskSpec, answers: pd.DataFrame, key: "AnswerKey | None" = None
) -> tuple[pd.DataFrame, pd.Index, np.ndarray | None]:
    """The answers as a validated frame, their ids as an index, and (with ``key``) the ids'
    positions among the key's. Without ``key`` the ids must be distinct (one hash table, kept in
    the index); with it they must be distinct ids of ``key`` (checked by position)."""
    if not isinstance(answers, pd.DataFrame):
        raise ValueError(f"answers must be a DataFrame, got {type(answers).__name__}")
    columns = [str(c).strip() for c in answers.columns]
    missing = [c for c in spec.submission_columns if c not in columns]
    if missing:
        raise ValueError(f"task {spec.id!r}: the answers lack column(s) {missing} (they have {columns})")
    answers = answers.copy(deep=False)
    answers.columns = columns
    answers = answers[spec.submission_columns]
    try:
        positions = None
        if key is None:
            own = _expected_index(answers[spec.id_column])
        else:
            own = pd.Index(_canonical_ids(answers[spec.id_column]))
            positions = key.ids.get_indexer(own)
            if (positions < 0).any():
                outside = own[positions < 0].tolist()
                raise ValueError(f"{len(outside)} answer id(s) are not among the expected ids (e.g. {_examples(outside)})")
            if len(positions) and np.bincount(positions).max() > 1:
                raise ValueError("answer ids are duplicated")
        truth = validate_submission(spec, answers, AnswerKey(spec=spec, ids=own, classes={}))
        return truth, own, positions
    except (InvalidSubmission, ValueError) as e:
        raise ValueError(f"task {spec.id!r}: the answers are malformed: {e}") from e


def grade(
    spec: TaskSpec,
    submission: pd.DataFrame,
    answers: "pd.DataFrame | AnswerSplit",
    expected_ids: Sequence[Any] | None = None,
) -> float:
    """Score ``submission`` against ``answers`` with ``METRICS[spec.metric.name]``.

    The submission must cover exactly ``expected_ids`` (default: the ids of ``answers``), which
    lets the agent write one submission for all test rows while ``answers`` holds only the rows
    graded now (the reward subset or the held-back subset). Only the rows whose id is in
    ``answers`` are scored, matched by id. ``answers`` may be an :class:`AnswerSplit`, prepared
    once (then ``expected_ids`` is its key's and is ignored): the way to grade often. Raises
    ``InvalidSubmission`` for the agent's mistakes and ``ValueError`` for ours (unknown metric,
    malformed answers, answer ids outside ``expected_ids``, a metric undefined on these answers).
    """
    metric = _metric_for(spec)
    if not isinstance(answers, AnswerSplit):
        if expected_ids is None:
            key = AnswerKey.build(spec, answers)
        else:  # only some rows' answers: their labels need not cover the classes, so none are checked
            key = AnswerKey(spec=spec, ids=_expected_index(expected_ids), classes={})
        answers = key.split(answers)
    checked = validate_submission(spec, submission, answers.key)
    aligned = checked.iloc[answers.positions].reset_index(drop=True)
    value = metric.score(answers.truth, aligned, spec)
    return float(value)


def _classes(spec: TaskSpec, frames: list[pd.DataFrame]) -> dict[str, dict[str, str]]:
    """For label metrics, per target column: canonical label -> the label as the data write it
    (the task's declared ``classes`` when it has them, else every label of ``frames``)."""
    if _metric_for(spec).values != "labels":
        return {}
    classes: dict[str, dict[str, str]] = {}
    for column in spec.target_columns:
        labels: dict[str, str] = {}
        if spec.classes is not None:
            classes[column] = {canonical_label(v): v for v in spec.classes}
            continue
        for frame in frames:
            if column in frame.columns:
                for v in frame[column].dropna().unique():
                    labels.setdefault(canonical_label(v), str(v).strip())
        classes[column] = labels
    return classes


def _public_label_frames(spec: TaskSpec, public_dir: str | PathLike[str]) -> list[pd.DataFrame]:
    """The target columns of the public CSV files that have them (train.csv, valid.csv, ...),
    except the sample submission, whose labels are placeholders."""
    if _metric_for(spec).values != "labels":
        return []
    frames = []
    for path in sorted(Path(public_dir).glob("*.csv")):
        if path.name == "sample_submission.csv":
            continue
        try:
            header = [str(c).strip() for c in pd.read_csv(path, nrows=0).columns]
            wanted = [c for c in spec.target_columns if c in header]
            if wanted:
                frames.append(pd.read_csv(path, usecols=lambda c: str(c).strip() in wanted, dtype=str)
                              .rename(columns=lambda c: str(c).strip()))
        except (OSError, ValueError, pd.errors.ParserError):
            continue  # not a table: no labels from it
    return frames


# --------------------------------------------------------------------------------------------
# Answers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answers:
    """A task's prepared answers, checked against the manifest, then validated and indexed once:
    the key (every test id, which a submission must cover, and the task's classes), the reward
    rows and the held-back rows, each ready for repeated :func:`grade` calls."""

    key: AnswerKey
    reward: AnswerSplit
    final: AnswerSplit


def load_answers(task: Task, paths: TaskPaths) -> Answers:
    """Read the prepared answers, each file checked against the sha256 that ``manifest.json``
    recorded when the task was prepared. Each file is read once and its checksum taken over the
    very bytes that are parsed. Raises ``AnswersChanged`` naming the file and the command to run
    when a file differs (or the manifest has no checksum for it): never a reward from changed answers."""
    redo = f"prepare the task again: mlagent-env --data-dir {paths.root} prepare {task.id} --force"
    try:
        recorded = json.loads(paths.manifest.read_text(encoding="utf-8")).get("private", {})
    except (OSError, ValueError, AttributeError) as exc:
        raise AnswersChanged(f"cannot read the checksums of {task.id}'s answers in {paths.manifest} ({exc}); {redo}") from exc
    frames = []
    for path in (paths.answers, paths.answers_reward, paths.answers_final):
        name = path.relative_to(paths.private).as_posix()
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise AnswersChanged(f"cannot read the answer file {path} ({exc}); {redo}") from exc
        want = recorded.get(name) if isinstance(recorded, dict) else None
        if want is None:
            raise AnswersChanged(f"{path}: {paths.manifest} records no checksum for this answer file; {redo}")
        if hashlib.sha256(data).hexdigest() != want:
            raise AnswersChanged(
                f"{path} was changed after {task.id} was prepared (its sha256 differs from {paths.manifest}); {redo}"
            )
        frames.append(read_answers(io.BytesIO(data), task))
    every, reward, final = frames
    key = AnswerKey.build(task.spec, every, paths.public)
    return Answers(key=key, reward=key.split(reward), final=key.split(final))


# --------------------------------------------------------------------------------------------
# Ranking
# --------------------------------------------------------------------------------------------


def medal(spec: TaskSpec, score: float) -> str | None:
    """The best medal ("gold", "silver", "bronze") whose threshold ``score`` reaches, else None.

    Thresholds are inclusive (Kaggle's rule): ``score >= threshold`` when higher is better,
    ``score <= threshold`` when lower is better. A medal whose threshold is unknown (None) is
    skipped; None if no threshold is known or reached, or the score is NaN.
    """
    if score is None or math.isnan(float(score)):
        return None
    for name in ("gold", "silver", "bronze"):
        threshold = getattr(spec.medals, name)
        if threshold is None:
            continue
        reached = score >= threshold if spec.metric.higher_is_better else score <= threshold
        if reached:
            return name
    return None


def relative_gain(spec: TaskSpec, score: float, baseline: float) -> float:
    """Relative improvement over a baseline, as MLAgentBench reports it (0.1 = 10 % better).

    ``(score - baseline) / |baseline|`` when higher is better, ``(baseline - score) / |baseline|``
    when lower is better, so a positive value always means an improvement. ``ValueError`` if the
    baseline is 0 or not finite.
    """
    if not math.isfinite(baseline) or baseline == 0:
        raise ValueError(f"relative gain needs a finite, non-zero baseline, got {baseline}")
    delta = score - baseline if spec.metric.higher_is_better else baseline - score
    return float(delta / abs(baseline))
