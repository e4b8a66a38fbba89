"""Evaluation metrics: pure numpy functions and the ``METRICS`` registry that tasks name.

Every function takes arrays and returns a float; each docstring gives the formula. They raise
``ValueError`` on inputs that the metric is not defined for (wrong shapes, a label that is not
0/1, a single class for ROC-AUC, ...). The agent's submission is checked earlier by
``grading.validate_submission``, so a ``ValueError`` from here means the *answers* or the task
spec are wrong, which is our bug rather than the agent's.

Only numpy and pandas are imported, so that the environment package stays light; scikit-learn
and scipy serve as test oracles only (``tests/test_metrics.py``).

The registry ``METRICS`` maps a metric id (``TaskSpec.metric.name``) to a :class:`Metric`, whose
``score(answers, submission, spec)`` receives two frames that are already validated and aligned
row by row by id, and reads ``spec.target_columns`` from both.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from mlagent_env.tasks.spec import TaskSpec

LOG_LOSS_EPS = 1e-15
"""Probabilities are clipped to ``[LOG_LOSS_EPS, 1 - LOG_LOSS_EPS]`` before the log, as Kaggle does."""

ArrayLike = Any  # numpy arrays, pandas Series/DataFrames, lists


# --------------------------------------------------------------------------------------------
# Input helpers
# --------------------------------------------------------------------------------------------


def _float_array(x: ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=np.float64)
    if arr.size == 0:
        raise ValueError(f"{name} is empty")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return arr


def _same_shape(y_true: np.ndarray, y_pred: np.ndarray) -> None:
    if y_true.shape != y_pred.shape:
        raise ValueError(f"shape mismatch: y_true {y_true.shape} vs y_pred {y_pred.shape}")


def _as_2d(x: np.ndarray) -> np.ndarray:
    return x.reshape(-1, 1) if x.ndim == 1 else x


def _binary_labels(y_true: ArrayLike, name: str = "y_true") -> np.ndarray:
    arr = _float_array(y_true, name)
    if not np.all((arr == 0) | (arr == 1)):
        bad = np.unique(arr[(arr != 0) & (arr != 1)])[:5]
        raise ValueError(f"{name} must hold 0/1 labels; found {bad.tolist()}")
    return arr


def canonical_label(value: Any) -> str:
    """The string form under which two class labels are compared (used by :func:`accuracy`).

    Rule: booleans are the integers 1/0 (``True == 1`` as in Python), and so are the strings
    ``"true"``/``"false"`` in any case; numbers, and strings that parse as finite numbers, are
    written in one canonical form (integral values without a decimal point: ``1``, ``1.0``,
    ``"1"`` and ``"1.0"`` all become ``"1"``; others as Python's shortest ``repr``, so ``"0.50"``
    becomes ``"0.5"``); any other string is stripped of surrounding whitespace and otherwise kept
    as is (case-sensitive). Missing values (None/NaN) are an error.
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        raise ValueError("a label is missing (None/NaN)")
    if isinstance(value, (bool, np.bool_)):
        return "1" if value else "0"
    if isinstance(value, numbers.Integral):
        return str(int(value))
    if isinstance(value, numbers.Real):
        return _canonical_number(float(value))
    if isinstance(value, str):
        s = value.strip()
        low = s.lower()
        if low == "true":
            return "1"
        if low == "false":
            return "0"
        try:
            number = float(s)
        except ValueError:
            return s
        return _canonical_number(number) if math.isfinite(number) else s
    return str(value).strip()


def _canonical_number(x: float) -> str:
    if math.isnan(x):
        raise ValueError("a label is missing (NaN)")
    if math.isfinite(x) and x == int(x):
        return str(int(x))
    return repr(x)


def _canonical_labels(values: ArrayLike) -> np.ndarray:
    """Apply :func:`canonical_label` elementwise (once per distinct value)."""
    series = pd.Series(np.asarray(values, dtype=object).ravel())
    if series.isna().any():
        raise ValueError(f"{int(series.isna().sum())} label(s) are missing (None/NaN)")
    mapping = {v: canonical_label(v) for v in pd.unique(series)}
    return series.map(mapping).to_numpy(dtype=object)


def _average_ranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks of ``x``; tied values share the mean of the ranks they span."""
    n = x.shape[0]
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    starts = np.concatenate(([0], np.flatnonzero(xs[1:] != xs[:-1]) + 1))
    ends = np.concatenate((starts[1:], [n]))
    # ranks starts+1 .. ends (inclusive); their mean is (starts + 1 + ends) / 2
    group_rank = (starts + 1 + ends) / 2.0
    ranks = np.empty(n, dtype=np.float64)
    ranks[order] = np.repeat(group_rank, ends - starts)
    return ranks


# --------------------------------------------------------------------------------------------
# Metric functions
# --------------------------------------------------------------------------------------------


def accuracy(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Share of matching labels: ``mean_i [canon(y_true_i) == canon(y_pred_i)]``.

    Labels are compared through :func:`canonical_label` (so ``True``, ``"True"``, ``1`` and
    ``1.0`` are the same label). 2-D inputs are compared cell by cell (accuracy over all cells).
    """
    t = np.asarray(y_true, dtype=object)
    p = np.asarray(y_pred, dtype=object)
    _same_shape(t, p)
    if t.size == 0:
        raise ValueError("y_true is empty")
    return float(np.mean(_canonical_labels(t) == _canonical_labels(p)))


def roc_auc(y_true: ArrayLike, y_score: ArrayLike) -> float:
    """Binary ROC-AUC by the rank (Mann-Whitney) formula, ties averaged.

    ``AUC = (sum_{i: y_i=1} rank(s_i) - P(P+1)/2) / (P N)`` where ranks are 1-based ranks of all
    scores with tied scores given their average rank, P the number of positives and N of
    negatives. Equals the probability that a random positive scores above a random negative,
    ties counting one half. Needs both classes in ``y_true`` (``ValueError`` otherwise).
    """
    t = _binary_labels(y_true).ravel()
    s = _float_array(y_score, "y_score").ravel()
    _same_shape(t, s)
    n_pos = float(t.sum())
    n_neg = float(t.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        raise ValueError("ROC-AUC is undefined when y_true holds only one class")
    ranks = _average_ranks(s)
    return float((ranks[t == 1].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg))


def mean_column_roc_auc(y_true: ArrayLike, y_score: ArrayLike) -> float:
    """Mean column-wise ROC-AUC: ``(1/K) sum_k roc_auc(y_true[:, k], y_score[:, k])``.

    Kaggle's jigsaw / plant-pathology metric. 1-D inputs are one column, i.e. plain ROC-AUC.
    """
    t = _as_2d(np.asarray(y_true, dtype=np.float64))
    s = _as_2d(np.asarray(y_score, dtype=np.float64))
    _same_shape(t, s)
    return float(np.mean([roc_auc(t[:, k], s[:, k]) for k in range(t.shape[1])]))


def log_loss(y_true: ArrayLike, y_prob: ArrayLike, eps: float = LOG_LOSS_EPS) -> float:
    """Log loss (cross-entropy, natural log), as Kaggle computes it.

    Binary (1-D ``y_prob`` = P(class 1), ``y_true`` in {0, 1}):
    ``p = clip(p, eps, 1-eps)``; ``-(1/n) sum_i [y_i log p_i + (1-y_i) log(1-p_i)]``.

    Multiclass (2-D ``y_prob`` of shape (n, K), ``y_true`` one-hot of the same shape):
    ``p = clip(p, eps, 1-eps)``, then each row is divided by its sum;
    ``-(1/n) sum_i sum_k y_ik log p_ik``.
    """
    p = _float_array(y_prob, "y_prob")
    t = _binary_labels(y_true)
    _same_shape(t, p)
    p = np.clip(p, eps, 1.0 - eps)
    if p.ndim == 1:
        return float(-np.mean(t * np.log(p) + (1.0 - t) * np.log(1.0 - p)))
    if p.ndim != 2:
        raise ValueError(f"y_prob must be 1-D or 2-D, got shape {p.shape}")
    if not np.all(t.sum(axis=1) == 1):
        raise ValueError("multiclass y_true must be one-hot: exactly one 1 per row")
    p = p / p.sum(axis=1, keepdims=True)
    return float(-np.mean(np.sum(t * np.log(p), axis=1)))


def mae(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean absolute error over all cells: ``(1/n) sum |y - yhat|``."""
    t, p = _float_array(y_true, "y_true"), _float_array(y_pred, "y_pred")
    _same_shape(t, p)
    return float(np.mean(np.abs(t - p)))


def rmse(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Root mean squared error over all cells: ``sqrt((1/n) sum (y - yhat)^2)``."""
    t, p = _float_array(y_true, "y_true"), _float_array(y_pred, "y_pred")
    _same_shape(t, p)
    return float(np.sqrt(np.mean((t - p) ** 2)))


def rmsle(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean column-wise root mean squared logarithmic error (Kaggle nomad2018).

    Per column k: ``RMSLE_k = sqrt((1/n) sum_i (log(1 + yhat_ik) - log(1 + y_ik))^2)``; the result
    is ``(1/K) sum_k RMSLE_k`` (1-D inputs are one column). Values must be non-negative.
    """
    t = _as_2d(_float_array(y_true, "y_true"))
    p = _as_2d(_float_array(y_pred, "y_pred"))
    _same_shape(t, p)
    if np.any(t < 0) or np.any(p < 0):
        raise ValueError("RMSLE needs non-negative values")
    per_column = np.sqrt(np.mean((np.log1p(p) - np.log1p(t)) ** 2, axis=0))
    return float(np.mean(per_column))


def mcrmse(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Mean column-wise RMSE: ``(1/K) sum_k sqrt((1/n) sum_i (y_ik - yhat_ik)^2)``."""
    t = _as_2d(_float_array(y_true, "y_true"))
    p = _as_2d(_float_array(y_pred, "y_pred"))
    _same_shape(t, p)
    return float(np.mean(np.sqrt(np.mean((t - p) ** 2, axis=0))))


def split_ranked_labels(prediction: Any, k: int = 5) -> list[str]:
    """The first ``k`` whitespace-separated labels of one prediction cell (None/NaN/"" -> [])."""
    if prediction is None or (isinstance(prediction, float) and math.isnan(prediction)):
        return []
    return str(prediction).split()[:k]


def map_at_k(actual: Sequence[Any], predicted: Sequence[Any], k: int = 5) -> float:
    """Mean average precision at k with one true label per row (Kaggle whale / MAP@5).

    Per row: the prediction is split on whitespace and truncated to its first ``k`` labels;
    ``AP = 1 / r`` where ``r`` is the 1-based position of the first label equal to the true one,
    and ``AP = 0`` if it is absent. Later duplicates of the true label do not count again
    (duplicates still occupy positions). ``MAP@k = (1/n) sum AP``. Labels compare as stripped
    strings.
    """
    if len(actual) != len(predicted):
        raise ValueError(f"length mismatch: {len(actual)} actual vs {len(predicted)} predicted")
    if len(actual) == 0:
        raise ValueError("actual is empty")
    total = 0.0
    for truth, prediction in zip(actual, predicted):
        true_label = "" if truth is None else str(truth).strip()
        if not true_label or true_label == "nan":
            raise ValueError("every row needs one true label; found an empty one")
        labels = split_ranked_labels(prediction, k)
        if true_label in labels:
            total += 1.0 / (labels.index(true_label) + 1)
    return total / len(actual)


def _integer_ratings(x: ArrayLike, name: str) -> np.ndarray:
    arr = _float_array(x, name).ravel()
    if not np.all(arr == np.round(arr)):
        raise ValueError(f"{name} must hold integer ratings")
    return arr.astype(np.int64)


def quadratic_weighted_kappa(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Cohen's kappa with quadratic weights, for integer ratings (as sklearn computes it).

    Let ``L`` be the sorted set of ratings seen in either input (K of them), ``O`` the K x K
    confusion matrix (``O_ij`` = rows with true rating ``L_i`` and predicted ``L_j``),
    ``E = outer(row sums of O, column sums of O) / n`` and ``W_ij = (i - j)^2``. Then
    ``kappa = 1 - sum(W * O) / sum(W * E)``. Weights use positions in ``L``, as
    ``sklearn.metrics.cohen_kappa_score(weights="quadratic")`` does, which equals the rating
    difference whenever every rating between the extremes occurs. When ``sum(W * E) == 0`` (both
    inputs are the same constant) the agreement is perfect and the result is 1.0.
    """
    t = _integer_ratings(y_true, "y_true")
    p = _integer_ratings(y_pred, "y_pred")
    _same_shape(t, p)
    labels = np.union1d(t, p)
    k = labels.size
    observed = np.zeros((k, k), dtype=np.float64)
    np.add.at(observed, (np.searchsorted(labels, t), np.searchsorted(labels, p)), 1.0)
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / observed.sum()
    idx = np.arange(k, dtype=np.float64)
    weights = (idx[:, None] - idx[None, :]) ** 2
    denominator = float(np.sum(weights * expected))
    if denominator == 0.0:
        return 1.0
    return float(1.0 - np.sum(weights * observed) / denominator)


def pearson_r(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Pearson correlation ``r = sum(dx dy) / sqrt(sum(dx^2) sum(dy^2))``, ``dx = x - mean(x)``.

    Defined score for the degenerate case: if either input is constant (r is NaN, as in
    ``scipy.stats.pearsonr``), the result is 0.0 (no linear association), so that a constant
    prediction gets a finite, uninformative score. Needs at least 2 rows.
    """
    x = _float_array(y_true, "y_true").ravel()
    y = _float_array(y_pred, "y_pred").ravel()
    _same_shape(x, y)
    if x.size < 2:
        raise ValueError("Pearson r needs at least 2 rows")
    if np.all(x == x[0]) or np.all(y == y[0]):
        return 0.0
    dx = x - x.mean()
    dy = y - y.mean()
    denominator = math.sqrt(float(np.dot(dx, dx)) * float(np.dot(dy, dy)))
    if denominator == 0.0:
        return 0.0
    return float(np.clip(np.dot(dx, dy) / denominator, -1.0, 1.0))


# --------------------------------------------------------------------------------------------
# Registry
# --------------------------------------------------------------------------------------------

ValueKind = Literal["labels", "numbers", "non_negative", "probabilities", "integers", "ranked_labels"]
"""What a metric needs in the submission's target columns (checked by ``validate_submission``):
``labels`` any non-missing value; ``numbers`` finite numbers; ``non_negative`` finite numbers
>= 0; ``probabilities`` finite numbers in [0, 1]; ``integers`` finite integral numbers;
``ranked_labels`` strings of space-separated labels (empty allowed)."""

ScoreFn = Callable[[pd.DataFrame, pd.DataFrame, "TaskSpec"], float]


@dataclass(frozen=True)
class Metric:
    """One metric of the registry.

    ``score(answers, submission, spec)`` gets two frames validated and aligned row by row by id
    (same index, same order) that contain ``spec.target_columns``, and returns the metric value.
    """

    name: str
    higher_is_better: bool
    best: float
    """Best possible value (1.0 for accuracy/AUC/QWK/Pearson/MAP, 0.0 for the losses)."""
    score: ScoreFn
    values: ValueKind
    """What the submission's target columns must hold; see :data:`ValueKind`."""
    single_column: bool = False
    """Whether the metric is defined for exactly one target column."""


def _cells(frame: pd.DataFrame, spec: "TaskSpec") -> np.ndarray:
    return frame[spec.target_columns].to_numpy()


def _floats(frame: pd.DataFrame, spec: "TaskSpec") -> np.ndarray:
    return frame[spec.target_columns].to_numpy(dtype=np.float64)


def _one(frame: pd.DataFrame, spec: "TaskSpec") -> pd.Series:
    if len(spec.target_columns) != 1:
        raise ValueError(f"metric {spec.metric.name!r} needs exactly one target column, got {spec.target_columns}")
    return frame[spec.target_columns[0]]


def _score_log_loss(answers: pd.DataFrame, submission: pd.DataFrame, spec: "TaskSpec") -> float:
    if len(spec.target_columns) == 1:
        return log_loss(
            _one(answers, spec).to_numpy(dtype=np.float64), _one(submission, spec).to_numpy(dtype=np.float64)
        )
    return log_loss(_floats(answers, spec), _floats(submission, spec))


def _score_map_at_5(answers: pd.DataFrame, submission: pd.DataFrame, spec: "TaskSpec") -> float:
    return map_at_k(_one(answers, spec).tolist(), _one(submission, spec).tolist(), k=5)


def _float_metric(fn: Callable[[ArrayLike, ArrayLike], float], one_column: bool = False) -> ScoreFn:
    def score(answers: pd.DataFrame, submission: pd.DataFrame, spec: "TaskSpec") -> float:
        if one_column:
            return fn(_one(answers, spec).to_numpy(dtype=np.float64), _one(submission, spec).to_numpy(dtype=np.float64))
        return fn(_floats(answers, spec), _floats(submission, spec))

    score.__name__ = f"score_{fn.__name__}"
    return score


def _score_accuracy(answers: pd.DataFrame, submission: pd.DataFrame, spec: "TaskSpec") -> float:
    return accuracy(_cells(answers, spec), _cells(submission, spec))


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric("accuracy", True, 1.0, _score_accuracy, "labels"),
        Metric("roc_auc", True, 1.0, _float_metric(mean_column_roc_auc), "probabilities"),
        Metric("log_loss", False, 0.0, _score_log_loss, "probabilities"),
        Metric("mae", False, 0.0, _float_metric(mae), "numbers"),
        Metric("rmse", False, 0.0, _float_metric(rmse), "numbers"),
        Metric("rmsle", False, 0.0, _float_metric(rmsle), "non_negative"),
        Metric("mcrmse", False, 0.0, _float_metric(mcrmse), "numbers"),
        Metric("map_at_5", True, 1.0, _score_map_at_5, "ranked_labels", single_column=True),
        Metric(
            "qwk", True, 1.0, _float_metric(quadratic_weighted_kappa, one_column=True), "integers", single_column=True
        ),
        Metric("pearson", True, 1.0, _float_metric(pearson_r, one_column=True), "numbers", single_column=True),
    )
}
"""Every metric a task may name in ``metric.name``."""


def get_metric(name: str) -> Metric:
    """The registered metric ``name``; ``ValueError`` listing the known ids if there is none."""
    try:
        return METRICS[name]
    except KeyError:
        raise ValueError(f"unknown metric {name!r}; known metrics: {sorted(METRICS)}") from None
