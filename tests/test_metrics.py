"""Every metric against scikit-learn / scipy (or a written-out reference), plus edge cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import pearsonr
from sklearn import metrics as skm

from mlagent_env.tasks import metrics as M
from mlagent_env.tasks.spec import TaskSpec

SEEDS = [0, 1, 2, 3, 4]
TIGHT = dict(rel=1e-12, abs=1e-12)


def _spec(metric: str, higher: bool, targets: list[str]) -> TaskSpec:
    return TaskSpec.model_validate(
        {
            "id": "toy",
            "title": "Toy",
            "source": "offline",
            "split": "offline",
            "data_type": "tabular",
            "task_type": "regression",
            "metric": {"name": metric, "higher_is_better": higher},
            "target_columns": targets,
            "data_source": {"kind": "manual", "name": "toy"},
        }
    )


# ------------------------------------------------------------------------------ accuracy


@pytest.mark.parametrize("seed", SEEDS)
def test_accuracy_matches_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y, p = rng.integers(0, 4, 200), rng.integers(0, 4, 200)
    assert M.accuracy(y, p) == pytest.approx(skm.accuracy_score(y, p), **TIGHT)
    # several columns: accuracy over all cells
    y2, p2 = rng.integers(0, 3, (50, 3)), rng.integers(0, 3, (50, 3))
    assert M.accuracy(y2, p2) == pytest.approx(float(np.mean(y2 == p2)), **TIGHT)


def test_accuracy_label_normalisation() -> None:
    truth = [True, False, True, 1, 2, "cat", "3", 0.5]
    pred = ["True", 0, 1.0, " true ", "2.0", " cat", 3, "0.50"]
    assert M.accuracy(truth, pred) == 1.0
    assert M.accuracy(["cat"], ["Cat"]) == 0.0  # other strings are case-sensitive
    assert M.canonical_label(np.int64(7)) == "7"
    assert M.canonical_label(np.float64(7.0)) == "7"
    assert M.canonical_label(np.bool_(True)) == "1"
    with pytest.raises(ValueError):
        M.accuracy([1, 2], [1, None])


# ------------------------------------------------------------------------------ ROC-AUC


@pytest.mark.parametrize("seed", SEEDS)
def test_roc_auc_matches_sklearn_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 300
    y = rng.integers(0, 2, n)
    continuous = rng.normal(size=n) + y
    tied = np.round(rng.uniform(size=n) + 0.3 * y, 1)  # many ties
    for s in (continuous, tied):
        assert M.roc_auc(y, s) == pytest.approx(skm.roc_auc_score(y, s), rel=1e-12)
    # several label columns: mean of per-column AUCs
    Y = rng.integers(0, 2, (n, 4))
    S = np.round(rng.uniform(size=(n, 4)) + 0.5 * Y, 2)
    expected = float(np.mean([skm.roc_auc_score(Y[:, k], S[:, k]) for k in range(4)]))
    assert M.mean_column_roc_auc(Y, S) == pytest.approx(expected, rel=1e-12)
    assert M.mean_column_roc_auc(Y, S) == pytest.approx(skm.roc_auc_score(Y, S, average="macro"), rel=1e-12)


def test_roc_auc_edges() -> None:
    assert M.roc_auc([0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8]) == 1.0
    assert M.roc_auc([0, 1, 0, 1], [0.9, 0.1, 0.8, 0.2]) == 0.0
    assert M.roc_auc([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5]) == 0.5
    with pytest.raises(ValueError, match="one class"):
        M.roc_auc([1, 1, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="0/1"):
        M.roc_auc([0, 2, 1], [0.1, 0.2, 0.3])


# ------------------------------------------------------------------------------ log loss


def _clip_normalise(p: np.ndarray, eps: float = 1e-15) -> np.ndarray:
    p = np.clip(p, eps, 1 - eps)
    return p / p.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("seed", SEEDS)
def test_binary_log_loss_matches_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 200)
    p = rng.uniform(size=200)
    p[:5] = 0.0
    p[5:10] = 1.0
    clipped = np.clip(p, 1e-15, 1 - 1e-15)
    assert M.log_loss(y, p) == pytest.approx(skm.log_loss(y, y_proba=clipped, labels=[0, 1]), rel=1e-10)


@pytest.mark.parametrize("seed", SEEDS)
def test_multiclass_log_loss_matches_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, k = 150, 5
    labels = rng.integers(0, k, n)
    onehot = np.eye(k)[labels]
    p = rng.uniform(size=(n, k)) * rng.uniform(0.2, 3.0, size=(n, 1))  # rows do not sum to 1
    p[0] = 0.0  # an all-zero row becomes uniform
    p[1, :] = 0.0
    p[1, labels[1]] = 1.0  # a confident correct row
    p[2, :] = 0.0
    p[2, (labels[2] + 1) % k] = 1.0  # a confident wrong row: clipped, not infinite
    expected = skm.log_loss(labels, y_proba=_clip_normalise(p), labels=list(range(k)))
    assert M.log_loss(onehot, p) == pytest.approx(expected, rel=1e-10)
    assert math.isfinite(M.log_loss(onehot, p))


def test_log_loss_edges() -> None:
    assert M.log_loss([0, 1], [0.0, 1.0]) == pytest.approx(0.0, abs=1e-14)
    assert M.log_loss([[1, 0], [0, 1]], [[1.0, 0.0], [0.0, 1.0]]) == pytest.approx(0.0, abs=1e-14)
    assert M.log_loss([0, 1], [0.5, 0.5]) == pytest.approx(math.log(2), rel=1e-12)
    with pytest.raises(ValueError, match="one-hot"):
        M.log_loss([[1, 1], [0, 1]], [[0.5, 0.5], [0.5, 0.5]])


# ------------------------------------------------------------------------------ regression


@pytest.mark.parametrize("seed", SEEDS)
def test_regression_metrics_match_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.normal(size=(120, 3)) * 10
    p = y + rng.normal(size=(120, 3))
    assert M.mae(y, p) == pytest.approx(skm.mean_absolute_error(y.ravel(), p.ravel()), rel=1e-12)
    assert M.rmse(y, p) == pytest.approx(math.sqrt(skm.mean_squared_error(y.ravel(), p.ravel())), rel=1e-12)
    per_col = [math.sqrt(skm.mean_squared_error(y[:, k], p[:, k])) for k in range(3)]
    assert M.mcrmse(y, p) == pytest.approx(float(np.mean(per_col)), rel=1e-12)
    assert M.mae(y[:, 0], p[:, 0]) == pytest.approx(skm.mean_absolute_error(y[:, 0], p[:, 0]), rel=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
def test_rmsle_is_mean_over_columns(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.exponential(2.0, size=(80, 2))
    p = rng.exponential(2.0, size=(80, 2))
    p[0, 0] = 0.0
    per_col = [math.sqrt(skm.mean_squared_log_error(y[:, k], p[:, k])) for k in range(2)]
    assert M.rmsle(y, p) == pytest.approx(float(np.mean(per_col)), rel=1e-12)
    assert M.rmsle(y[:, 1], p[:, 1]) == pytest.approx(per_col[1], rel=1e-12)
    with pytest.raises(ValueError, match="non-negative"):
        M.rmsle([1.0, 2.0], [1.0, -0.5])


# ------------------------------------------------------------------------------ MAP@5


def _reference_map5(actual: list[str], predicted: list[str]) -> float:
    """Kaggle's apk with k=5 and a one-element actual set, written out."""
    total = 0.0
    for truth, pred in zip(actual, predicted):
        labels = pred.split()[:5]
        hits, score = 0, 0.0
        for i, label in enumerate(labels):
            if label == truth and label not in labels[:i]:
                hits += 1
                score += hits / (i + 1.0)
        total += score / min(1, 5)
    return total / len(actual)


@pytest.mark.parametrize("seed", SEEDS)
def test_map_at_5_matches_reference(seed: int) -> None:
    rng = np.random.default_rng(seed)
    vocab = [f"w_{i}" for i in range(8)]
    actual = [str(rng.choice(vocab)) for _ in range(300)]
    predicted = [" ".join(rng.choice(vocab, size=rng.integers(0, 8))) for _ in range(300)]  # duplicates, >5, empty
    assert M.map_at_k(actual, predicted) == pytest.approx(_reference_map5(actual, predicted), **TIGHT)


def test_map_at_5_rules() -> None:
    assert M.map_at_k(["a"], ["a a a"]) == 1.0  # duplicates do not count twice
    assert M.map_at_k(["b"], ["a a b"]) == pytest.approx(1 / 3)  # but they take positions
    assert M.map_at_k(["f"], ["a b c d e f"]) == 0.0  # only the first 5 count
    assert M.map_at_k(["a", "b"], ["", None]) == 0.0  # empty predictions score 0
    assert M.map_at_k(["a"], ["  x   a "]) == 0.5


# ------------------------------------------------------------------------------ QWK, Pearson


@pytest.mark.parametrize("seed", SEEDS)
def test_qwk_matches_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(1, 7, 300)
    p = np.clip(y + rng.integers(-2, 3, 300), 1, 6)
    assert M.quadratic_weighted_kappa(y, p) == pytest.approx(
        skm.cohen_kappa_score(y, p, weights="quadratic"), rel=1e-12
    )
    # ratings with gaps: weights use positions in the sorted label set, as sklearn does
    y, p = rng.choice([1, 3, 6], 100), rng.choice([1, 2, 6], 100)
    expected = skm.cohen_kappa_score(y, p, weights="quadratic")
    assert M.quadratic_weighted_kappa(y, p) == pytest.approx(expected, rel=1e-12)


def test_qwk_edges() -> None:
    assert M.quadratic_weighted_kappa([1, 2, 3], [1, 2, 3]) == 1.0
    assert M.quadratic_weighted_kappa([4, 4], [4, 4]) == 1.0  # constant and equal: perfect
    assert M.quadratic_weighted_kappa([1.0, 2.0], [2.0, 1.0]) == pytest.approx(-1.0)
    with pytest.raises(ValueError, match="integer"):
        M.quadratic_weighted_kappa([1, 2], [1.5, 2])


@pytest.mark.parametrize("seed", SEEDS)
def test_pearson_matches_scipy(seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=200)
    y = 0.3 * x + rng.normal(size=200)
    assert M.pearson_r(x, y) == pytest.approx(pearsonr(x, y)[0], rel=1e-12)


def test_pearson_constant_prediction_scores_zero() -> None:
    assert M.pearson_r([0.1, 0.5, 0.9], [0.3, 0.3, 0.3]) == 0.0
    assert M.pearson_r([0.1, 0.1, 0.1], [0.3, 0.2, 0.1]) == 0.0
    assert M.pearson_r([1, 2, 3], [2, 4, 6]) == pytest.approx(1.0)
    assert M.pearson_r([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)


# ------------------------------------------------------------------------------ registry


def test_registry_ids_and_directions() -> None:
    assert set(M.METRICS) == {
        "accuracy", "roc_auc", "log_loss", "mae", "rmse", "rmsle", "mcrmse", "map_at_5", "qwk", "pearson"
    }
    for name, metric in M.METRICS.items():
        assert metric.name == name
        assert metric.best == (1.0 if metric.higher_is_better else 0.0)
    with pytest.raises(ValueError, match="unknown metric"):
        M.get_metric("f1")


def _perfect_frames(name: str, rng: np.random.Generator) -> tuple[list[str], pd.DataFrame]:
    n = 40
    if name == "accuracy":
        return ["a", "b"], pd.DataFrame({"a": rng.choice(["x", "y"], n), "b": rng.integers(0, 3, n)})
    if name == "roc_auc":
        return ["a", "b"], pd.DataFrame({"a": np.tile([0, 1], n // 2), "b": np.tile([1, 0], n // 2)})
    if name == "log_loss":
        return ["a", "b", "c"], pd.DataFrame(np.eye(3)[rng.integers(0, 3, n)], columns=["a", "b", "c"])
    if name == "map_at_5":
        return ["a"], pd.DataFrame({"a": rng.choice(["w1", "w2", "new_whale"], n)})
    if name == "qwk":
        return ["a"], pd.DataFrame({"a": rng.integers(1, 7, n)})
    if name == "pearson":
        return ["a"], pd.DataFrame({"a": rng.normal(size=n)})
    return ["a", "b"], pd.DataFrame({"a": rng.uniform(0, 5, n), "b": rng.uniform(0, 5, n)})


@pytest.mark.parametrize("name", sorted(M.METRICS))
def test_perfect_predictions_score_best(name: str) -> None:
    metric = M.METRICS[name]
    targets, frame = _perfect_frames(name, np.random.default_rng(0))
    spec = _spec(name, metric.higher_is_better, targets)
    assert metric.score(frame, frame.copy(), spec) == pytest.approx(metric.best, abs=1e-12)
