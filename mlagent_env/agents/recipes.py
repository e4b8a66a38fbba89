"""Modelling recipes for the scripted expert: what one idea means as code, and the script it gives.

A :class:`Recipe` is a model family with its hyper-parameters and a few feature switches
(scaling, one-hot encoding, pairwise interactions, gradient histograms of images).
:func:`apply_idea` reads an idea written in plain words ("a random forest with 300 trees",
"standardise the features", "one-hot encode the categorical columns") and changes a recipe
accordingly; :func:`render_script` writes the whole training script for a task from its
``task.yaml`` facts alone (metric, task type, id and target columns): the script finds its
numeric and categorical columns in the data when it runs, scores itself by k-fold
cross-validation on the training rows only, prints ``validation <metric>: <value>``, refits on
all training rows and writes the submission. Nothing here reads answers or knows task ids.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from mlagent_env.tasks.spec import TaskSpec


class UnsupportedTask(Exception):
    """The recipes cannot write a script for this task (several targets, or a metric they do not score)."""


@dataclass(frozen=True)
class Scoring:
    """How a script scores itself and what it submits, for one metric."""

    scorer: str
    """scikit-learn scorer name"""
    sign: int
    """+1 when the scorer is the metric, -1 when it is the metric negated (losses)"""
    predict: str
    """labels | probability (of the positive class) | values | non_negative"""


SCORINGS: dict[str, Scoring] = {
    "accuracy": Scoring("accuracy", 1, "labels"),
    "roc_auc": Scoring("roc_auc", 1, "probability"),
    "log_loss": Scoring("neg_log_loss", -1, "probability"),
    "mae": Scoring("neg_mean_absolute_error", -1, "values"),
    "rmse": Scoring("neg_root_mean_squared_error", -1, "values"),
    "rmsle": Scoring("neg_root_mean_squared_log_error", -1, "non_negative"),
}


@dataclass(frozen=True)
class TaskKind:
    """The facts of a task that decide how a script looks."""

    classification: bool
    image: bool
    metric: str
    higher_is_better: bool
    id_column: str
    target: str
    scoring: Scoring

    @classmethod
    def of(cls, spec: TaskSpec) -> "TaskKind":
        if len(spec.target_columns) != 1:
            raise UnsupportedTask(f"{spec.id} has {len(spec.target_columns)} target columns; the recipes write one")
        if spec.metric.name not in SCORINGS or spec.data_type not in ("tabular", "image"):
            raise UnsupportedTask(f"no recipe scores {spec.metric.name} on {spec.data_type} data")
        return cls(classification=spec.task_type == "classification", image=spec.data_type == "image",
                   metric=spec.metric.name, higher_is_better=spec.metric.higher_is_better,
                   id_column=spec.id_column, target=spec.target_columns[0], scoring=SCORINGS[spec.metric.name])

    @property
    def needs_probability(self) -> bool:
        return self.scoring.predict == "probability"


@dataclass(frozen=True)
class Family:
    """One model family: its classifier and regressor (module.Class of scikit-learn), default
    hyper-parameters, and whether it wants standardised inputs."""

    label: str
    classifier: str
    regressor: str
    defaults: dict[str, Any]
    scaled: bool


FAMILIES: dict[str, Family] = {
    "gbm": Family("gradient boosting", "ensemble.HistGradientBoostingClassifier", "ensemble.HistGradientBoostingRegressor",
                  {"max_iter": 100, "learning_rate": 0.1, "max_depth": None}, False),
    "rf": Family("random forest", "ensemble.RandomForestClassifier", "ensemble.RandomForestRegressor",
                 {"n_estimators": 300, "min_samples_leaf": 1}, False),
    "extra": Family("extra trees", "ensemble.ExtraTreesClassifier", "ensemble.ExtraTreesRegressor",
                    {"n_estimators": 400, "min_samples_leaf": 1}, False),
    "linear": Family("regularised linear model", "linear_model.LogisticRegression", "linear_model.Ridge",
                     {"C": 1.0}, True),
    "svm": Family("RBF support vector machine", "svm.SVC", "svm.SVR", {"C": 3.0}, True),
    "knn": Family("k-nearest neighbours", "neighbors.KNeighborsClassifier", "neighbors.KNeighborsRegressor",
                  {"n_neighbors": 7}, True),
    "mlp": Family("small neural network", "neural_network.MLPClassifier", "neural_network.MLPRegressor",
                  {"hidden_layer_sizes": 64, "alpha": 0.001}, True),
    "vote": Family("soft-voting ensemble of boosting, a forest and a linear model", "ensemble.VotingClassifier",
                   "ensemble.VotingRegressor", {}, False),
}

_FAMILY_WORDS: list[tuple[str, tuple[str, ...]]] = [
    ("vote", ("ensembl", "voting", "average the predictions", "stacking", "blend")),
    ("gbm", ("gradient boost", "gradient-boost", "boosting", "xgboost", "lightgbm", "catboost", "histgradient", "gbm")),
    ("extra", ("extra trees", "extra-trees", "extremely randomi")),
    ("rf", ("random forest", "random-forest", "bagged trees")),
    ("svm", ("support vector", "svm", "svc", "svr", "rbf kernel", "kernel machine")),
    ("knn", ("nearest neighbo", "knn", "k-nn", "k nn")),
    ("mlp", ("neural net", "mlp", "perceptron", "multilayer", "multi-layer")),
    ("linear", ("logistic", "linear regression", "linear model", "ridge", "lasso", "elastic net", "linear classifier")),
]
_SWITCH_WORDS: dict[str, tuple[str, ...]] = {
    "scale": ("standardi", "standard scal", "scale the", "scaling", "normali", "z-score"),
    "one_hot": ("one-hot", "one hot", "categorical", "dummy", "dummies", "encode"),
    "interactions": ("interaction", "polynomial", "pairwise product", "products of"),
    "gradients": ("oriented gradient", "hog", "gradient histogram", "histograms of gradient", "edge feature",
                  "edge orientation", "image gradient"),
}
_TUNE_WORDS = ("tune", "tuning", "hyper", "grid search", "regulari", "smaller learning rate", "more trees", "shallower",
               "deeper", "depth", "iterations", "trees", "learning rate", " c=", "neighbo", "estimators")
_NUMBER = r"(\d+(?:\.\d+)?(?:e-?\d+)?)"
_PARAM_PATTERNS: list[tuple[str, str, type]] = [
    ("n_estimators", rf"{_NUMBER}\s*(?:trees|estimators)|n_estimators\s*=?\s*{_NUMBER}", int),
    ("max_iter", rf"{_NUMBER}\s*(?:boosting )?(?:iterations|rounds)|max_iter\s*=?\s*{_NUMBER}", int),
    ("learning_rate", rf"learning[ _]rate(?: of)?\s*=?\s*{_NUMBER}", float),
    ("max_depth", rf"(?:max(?:imum)?[ _]depth|depth)(?: of)?\s*=?\s*{_NUMBER}|depth[- ]{_NUMBER}", int),
    ("C", rf"\bc\s*=\s*{_NUMBER}|\bc of {_NUMBER}", float),
    ("n_neighbors", rf"\bk\s*=\s*{_NUMBER}|{_NUMBER}\s*(?:nearest )?neighbo", int),
    ("alpha", rf"\balpha\s*=?\s*{_NUMBER}", float),
    ("hidden_layer_sizes", rf"{_NUMBER}\s*hidden", int),
    ("min_samples_leaf", rf"min(?:imum)?[ _]samples[ _](?:per[ _])?leaf\s*=?\s*{_NUMBER}|{_NUMBER}\s*samples per leaf", int),
]


@dataclass(frozen=True)
class Recipe:
    """A model family with its hyper-parameters and feature switches."""

    family: str = "gbm"
    params: dict[str, Any] = field(default_factory=dict)
    scale: bool = False
    one_hot: bool = False
    interactions: bool = False
    gradients: bool = False

    def settings(self) -> dict[str, Any]:
        """The family's defaults overridden by this recipe's parameters."""
        return {**FAMILIES[self.family].defaults, **self.params}

    def describe(self) -> str:
        fam = FAMILIES[self.family]
        params = ", ".join(f"{k}={v}" for k, v in self.settings().items())
        extras = [name for name, on in (("standardised inputs", self.scaled), ("one-hot categories", self.one_hot),
                                        ("pairwise interactions", self.interactions),
                                        ("gradient-histogram image features", self.gradients)) if on]
        return fam.label + (f" ({params})" if params else "") + ("" if not extras else " with " + ", ".join(extras))

    @property
    def scaled(self) -> bool:
        return self.scale or FAMILIES[self.family].scaled or self.interactions

    def key(self) -> tuple[Any, ...]:
        return (self.family, tuple(sorted(self.settings().items())), self.scaled, self.one_hot, self.interactions,
                self.gradients)


def base_recipe(kind: TaskKind) -> Recipe:
    """Where ideas that name no model start from: boosting for tables, a linear model for images."""
    return Recipe(family="linear") if kind.image else Recipe(family="gbm")


def apply_idea(recipe: Recipe, idea: str, kind: TaskKind) -> tuple[Recipe, bool]:
    """The recipe changed as ``idea`` says, and whether any word of the idea was understood. An
    idea that names a model family replaces the family (its hyper-parameters start from the
    family's defaults); switches and numbers the idea names are applied on top."""
    text = " " + idea.lower() + " "
    understood = False
    family = next((name for name, words in _FAMILY_WORDS if any(w in text for w in words)), None)
    if family is not None and family != recipe.family:
        recipe = replace(recipe, family=family, params={})
        understood = True
    elif family is not None:
        understood = True
    switches = {name: True for name, words in _SWITCH_WORDS.items() if any(w in text for w in words)}
    if not kind.image:
        switches.pop("gradients", None)
    if kind.image:
        switches.pop("interactions", None)  # pairs of hundreds of pixels are too many
        switches.pop("one_hot", None)
    if switches:
        recipe = replace(recipe, **switches)
        understood = True
    params = dict(recipe.params)
    allowed = FAMILIES[recipe.family].defaults
    for name, pattern, cast in _PARAM_PATTERNS:
        m = re.search(pattern, text)
        if m and name in allowed:
            value = cast(float(next(g for g in m.groups() if g is not None)))
            params[name] = value
            understood = True
    recipe = replace(recipe, params=params)
    if not understood and any(w in text for w in _TUNE_WORDS):
        return tune(recipe, 0), True
    return recipe, understood


def tune(recipe: Recipe, step: int) -> Recipe:
    """A neighbour of ``recipe`` in its hyper-parameters (``step`` picks which one)."""
    s = recipe.settings()
    moves: dict[str, list[dict[str, Any]]] = {
        "gbm": [{"learning_rate": s.get("learning_rate", 0.1) / 2, "max_iter": int(s.get("max_iter", 100) * 2)},
                {"max_depth": 3, "max_iter": int(s.get("max_iter", 100) * 1.5)}],
        "rf": [{"n_estimators": int(s.get("n_estimators", 300) * 2)}, {"min_samples_leaf": 3}],
        "extra": [{"n_estimators": int(s.get("n_estimators", 400) * 2)}, {"min_samples_leaf": 2}],
        "linear": [{"C": s.get("C", 1.0) * 10}, {"C": s.get("C", 1.0) / 10}],
        "svm": [{"C": s.get("C", 3.0) * 3}, {"C": s.get("C", 3.0) / 3}],
        "knn": [{"n_neighbors": max(1, int(s.get("n_neighbors", 7)) - 4)}, {"n_neighbors": int(s.get("n_neighbors", 7)) + 6}],
        "mlp": [{"hidden_layer_sizes": int(s.get("hidden_layer_sizes", 64)) * 2}, {"alpha": s.get("alpha", 0.001) * 10}],
        "vote": [{}],
    }
    options = moves[recipe.family]
    return replace(recipe, params={**recipe.params, **options[step % len(options)]})


# ------------------------------------------------------------------------------------ scripts

HEADER = '''\
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # small data: one thread per fit beats oversubscribed cores
import numpy as np
import pandas as pd
from sklearn import compose, ensemble, impute, linear_model, model_selection, neighbors, neural_network, pipeline, preprocessing, svm

train = pd.read_csv("data/train.csv", dtype={{"{id}": str}})
test = pd.read_csv("data/test.csv", dtype={{"{id}": str}})
target = "{target}"
columns = [c for c in train.columns if c not in ("{id}", target)]
numeric = [c for c in columns if pd.api.types.is_numeric_dtype(train[c])]
categorical = [c for c in columns if c not in numeric]
'''

GRADIENTS = '''\
side = int(round(len(numeric) ** 0.5))


def gradient_histograms(x, bins=8):
    """The pixels plus, per cell of the image, a histogram of gradient orientations weighted by magnitude."""
    x = np.asarray(x, dtype=float)
    images = x.reshape(len(x), side, side)
    gy, gx = np.gradient(images, axis=(1, 2))
    magnitude, angle = np.hypot(gx, gy), np.mod(np.arctan2(gy, gx), np.pi)
    which = np.minimum((angle / np.pi * bins).astype(int), bins - 1)
    cell = max(side // 4, 2)
    out = [x]
    for i in range(0, side - cell + 1, cell):
        for j in range(0, side - cell + 1, cell):
            m, w = magnitude[:, i:i + cell, j:j + cell], which[:, i:i + cell, j:j + cell]
            out.append(np.stack([(m * (w == b)).sum(axis=(1, 2)) for b in range(bins)], axis=1))
    return np.hstack(out)

'''

FOOTER = '''\
X, y = train[columns], train[target]
cv = model_selection.{cv}(5, shuffle=True, random_state=0)
scores = {sign}model_selection.cross_val_score(model, X, y, cv=cv, scoring="{scorer}")
print(f"validation {metric}: {{scores.mean():.4f}} (5-fold cross-validation, std {{scores.std():.4f}})")
model.fit(X, y)
prediction = {predict}
pd.DataFrame({{"{id}": test["{id}"], target: prediction}}).to_csv("submission.csv", index=False)
print(f"wrote submission.csv with {{len(test)}} rows")
'''

_PREDICT = {
    "labels": "model.predict(test[columns])",
    "probability": "model.predict_proba(test[columns])[:, 1]",
    "values": "model.predict(test[columns])",
    "non_negative": "np.clip(model.predict(test[columns]), 0, None)",
}


def _estimator(recipe: Recipe, kind: TaskKind) -> str:
    fam = FAMILIES[recipe.family]
    cls = fam.classifier if kind.classification else fam.regressor
    s = recipe.settings()
    if recipe.family == "vote":
        gbm, rf, lin = (FAMILIES[f].classifier if kind.classification else FAMILIES[f].regressor
                        for f in ("gbm", "rf", "linear"))
        lin_args = "max_iter=2000" if kind.classification else ""
        voting = ', voting="soft"' if kind.classification else ""
        return (f"{cls}([\n"
                f'    ("boosting", {gbm}(max_iter=100, random_state=0)),\n'
                f'    ("forest", {rf}(n_estimators=200, random_state=0)),\n'
                f'    ("linear", pipeline.make_pipeline(preprocessing.StandardScaler(), {lin}({lin_args}))),\n'
                f"]{voting})")
    args = dict(s)
    if recipe.family == "linear":
        if kind.classification:
            args["max_iter"] = 5000
        else:
            args = {"alpha": 1.0 / float(args.pop("C"))}
    if recipe.family == "svm" and kind.classification and kind.needs_probability:
        args["probability"] = True
    if recipe.family == "knn":
        args["weights"] = "distance"
    if recipe.family == "mlp":
        args["hidden_layer_sizes"] = (int(args["hidden_layer_sizes"]),)
        args["max_iter"] = 1000
    if recipe.family in ("gbm", "rf", "extra", "mlp") or (recipe.family == "linear" and not kind.classification):
        args["random_state"] = 0
    if recipe.family == "svm" and kind.classification:
        args["random_state"] = 0
    return f"{cls}({', '.join(f'{k}={_literal(v)}' for k, v in args.items())})"


def _literal(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return repr(v)


def model_block(recipe: Recipe, kind: TaskKind) -> str:
    """The lines that build ``model``: column preparation, optional feature steps, the estimator."""
    numeric = 'pipeline.make_pipeline(impute.SimpleImputer(strategy="median")'
    if recipe.gradients and kind.image:
        numeric += ", preprocessing.FunctionTransformer(gradient_histograms)"
    numeric += ")"
    lines = ["parts = [(" + numeric + ", numeric)]"]
    if recipe.one_hot:
        lines.append('parts.append((pipeline.make_pipeline(impute.SimpleImputer(strategy="most_frequent"), '
                     'preprocessing.OneHotEncoder(handle_unknown="ignore", sparse_output=False)), categorical))')
    steps = ["compose.make_column_transformer(*parts)"]
    if recipe.interactions and not kind.image:
        steps.append("preprocessing.PolynomialFeatures(2, interaction_only=True, include_bias=False)")
    if recipe.scaled:
        steps.append("preprocessing.StandardScaler()")
    steps.append(_estimator(recipe, kind))
    lines.append("model = pipeline.make_pipeline(\n" + "".join(f"    {s},\n" for s in steps) + ")")
    return "\n".join(lines) + "\n"


def render_script(recipe: Recipe, kind: TaskKind, title: str) -> str:
    """The whole training script for ``recipe`` on a task of ``kind``."""
    doc = f'"""{title}: the model below, scored by 5-fold cross-validation on the training rows."""\n\n'
    head = HEADER.format(id=kind.id_column, target=kind.target)
    gradients = ("\n" + GRADIENTS) if recipe.gradients and kind.image else "\n"
    gradients += f"# model: {recipe.describe()}\n"
    foot = FOOTER.format(
        cv="StratifiedKFold" if kind.classification else "KFold",
        sign="" if kind.scoring.sign > 0 else "-",
        scorer=kind.scoring.scorer,
        metric=kind.metric,
        predict=_PREDICT[kind.scoring.predict],
        id=kind.id_column,
    )
    return doc + head + gradients + model_block(recipe, kind) + "\n" + foot
