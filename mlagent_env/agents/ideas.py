"""Built-in improvement ideas per kind of task: the idea source that needs no model server.

``mlagent-train explore`` asks an LLM for ideas when a server is configured; without one it takes
these lists (``idea_source: builtin``). They are written per kind of task (classification or
regression, tables or small images), never per task, as one sentence each, in the words an
LLM's list would use, so that the expert policy (:mod:`mlagent_env.agents.expert`) reads them
the same way as a model's ideas.
"""

from __future__ import annotations

from mlagent_env.tasks.spec import TaskSpec

_TABULAR_CLASSIFICATION = [
    "Replace the model by gradient boosting (HistGradientBoosting) with 200 iterations and learning rate 0.05 on all columns.",
    "Train a random forest with 300 trees on all columns.",
    "Use logistic regression on all columns, standardised first, with C=1.",
    "Fit an RBF-kernel support vector machine (C=3) on standardised columns.",
    "Try k-nearest neighbours with k=9 and distance weighting on standardised columns.",
    "One-hot encode the categorical columns and fill missing values, so that every column can be used.",
    "Add pairwise interaction features (products of two columns) and fit a regularised logistic regression.",
    "Use extra trees (extremely randomized trees) with 400 trees.",
    "Average the predictions of gradient boosting, a random forest and a scaled logistic regression in a soft-voting ensemble.",
    "Train a small neural network (MLP with 64 hidden units) on standardised columns.",
    "Regularise more strongly: logistic regression with C=0.1 on standardised columns.",
    "Use shallower gradient boosting (max depth 3, 300 iterations, learning rate 0.03) to reduce overfitting.",
]

_TABULAR_REGRESSION = [
    "Replace the model by gradient boosting (HistGradientBoosting) with 200 iterations and learning rate 0.05 on all columns.",
    "Train a random forest regressor with 300 trees on all columns.",
    "Fit ridge regression (a regularised linear model) on all standardised columns.",
    "Fit a support vector regressor with an RBF kernel and C=30 on standardised columns.",
    "Try k-nearest neighbours regression with k=15 on standardised columns.",
    "One-hot encode the categorical columns and fill missing values, so that every column can be used.",
    "Add pairwise interaction features (products of two columns) before a ridge regression.",
    "Use extra trees (extremely randomized trees) with 400 trees and at least 3 samples per leaf.",
    "Average a gradient boosting model, a random forest and a ridge regression in a voting ensemble.",
    "Train a small neural network (MLP with 64 hidden units) on standardised columns.",
    "Use shallower gradient boosting (max depth 3, 300 iterations, learning rate 0.03) to reduce overfitting.",
    "Use a random forest with at least 5 samples per leaf to smooth its predictions.",
]

_IMAGE_CLASSIFICATION = [
    "Fit an RBF-kernel support vector machine (C=10) on the standardised pixels.",
    "Use logistic regression on the standardised pixels with C=0.5.",
    "Try k-nearest neighbours with k=3 and distance weighting on the pixels.",
    "Train a random forest with 400 trees on the raw pixels.",
    "Add histograms of oriented gradients (HOG-like edge features per image cell) to the pixels and fit logistic regression.",
    "Compute gradient histograms per cell of the image and train an RBF support vector machine on them.",
    "Train a small neural network (MLP with 128 hidden units) on the standardised pixels.",
    "Use extra trees (extremely randomized trees) with 500 trees on the pixels.",
    "Use gradient boosting (HistGradientBoosting) with 100 iterations on the pixels.",
    "Average the predictions of gradient boosting, a random forest and a scaled logistic regression (soft voting).",
    "Standardise the pixels and regularise less: logistic regression with C=5.",
    "Add oriented-gradient features and use k-nearest neighbours with k=5.",
]

_IMAGE_REGRESSION = [
    "Fit ridge regression on the standardised pixels.",
    "Fit a support vector regressor with an RBF kernel on the standardised pixels.",
    "Train a random forest regressor with 300 trees on the pixels.",
    "Add histograms of oriented gradients per image cell to the pixels and fit ridge regression.",
    "Try k-nearest neighbours regression with k=7 on the pixels.",
    "Train a small neural network (MLP with 128 hidden units) on the standardised pixels.",
    "Use gradient boosting (HistGradientBoosting) with 200 iterations on the pixels.",
    "Use extra trees (extremely randomized trees) with 400 trees on the pixels.",
]

IDEAS: dict[tuple[str, str], list[str]] = {
    ("tabular", "classification"): _TABULAR_CLASSIFICATION,
    ("tabular", "regression"): _TABULAR_REGRESSION,
    ("image", "classification"): _IMAGE_CLASSIFICATION,
    ("image", "regression"): _IMAGE_REGRESSION,
}


def builtin_ideas(spec: TaskSpec) -> list[str]:
    """The built-in ideas for a task's kind (its data type and task type); empty for kinds without a list."""
    return list(IDEAS.get((spec.data_type, spec.task_type), []))
