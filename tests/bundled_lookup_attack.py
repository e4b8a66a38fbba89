"""The offline tasks' lookup attacks, as an agent script runs them INSIDE a sandbox: find the copy
of the dataset that an installed package bundles, undo the task's disguise, copy the labels.

``tests/test_offline_tasks.py`` writes this file and ``attack.json`` (``{"task": ...}``) into the
workspace and runs it. It prints one line ``LOOKUP <json>``:

- ``sources`` (unless ``"probe": false``): for every bundled copy an offline task is built
  from, ``"read"``, ``"not installed (...)"`` or the error that reading it raised;
- ``copies`` (likewise): the files named like one of those copies, anywhere in the
  interpreter's folders, that could be read;
- ``uncovered`` (likewise, tried first): what took a cover off a mount point inside the
  interpreter's folders (``umount2``, ``chmod``);
- ``bundled``: ``"read"``, or the error that loading this task's copy raised;

and writes one submission per attack, ``lookup_<attack>.csv``: the three naive joins (exact,
nearest neighbour, standardised nearest neighbour) and the red team's ``undo`` (digits: try the
eight orientations of the square and keep the one under which the train rows' nearest bundled
images carry their labels; diabetes: z-score every column, choose each column's sign by matching
its sorted quantiles, then nearest neighbour). When the copy cannot be read, every submission is
the sample submission: there is nothing to look up.

Also imported by the tests (the naive joins, in-process on every offline task).
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Callable

import numpy as np
import pandas as pd

BUNDLED_FILES = {
    "digits.csv.gz", "diabetes_data_raw.csv.gz", "breast_cancer.csv", "wine_data.csv", "fair.csv",
    "penguins.csv", "cars.json", "lfw_subset.npy", "data-v1-dl-21854866.arff.gz",
    "wine.csv", "autompg.csv.gz", "auto-mpg.csv", "Auto.csv",
}
"""The file names of the copies (scikit-learn's OpenML test copy of the penguins; mlxtend's, bokeh's
and ISLP's copies of wine and cars)."""


def _sklearn_file(relative: str) -> bytes:
    import sklearn  # noqa: PLC0415

    with open(os.path.join(os.path.dirname(sklearn.__file__), relative), "rb") as f:
        return f.read()


def _load(module: str, call: Callable[[Any], object]) -> Callable[[], object]:
    return lambda: call(__import__(module, fromlist=["_"]))


SOURCES: dict[str, Callable[[], object]] = {
    "sklearn digits": _load("sklearn.datasets", lambda m: m.load_digits()),
    "sklearn diabetes": _load("sklearn.datasets", lambda m: m.load_diabetes(scaled=False)),
    "sklearn breast_cancer": _load("sklearn.datasets", lambda m: m.load_breast_cancer()),
    "sklearn wine": _load("sklearn.datasets", lambda m: m.load_wine()),
    "sklearn openml penguins": lambda: _sklearn_file("datasets/tests/data/openml/id_42585/data-v1-dl-21854866.arff.gz"),
    "statsmodels fair": _load("statsmodels.datasets.fair", lambda m: m.load_pandas()),
    "palmerpenguins": _load("palmerpenguins", lambda m: m.load_penguins()),
    "vega_datasets cars": _load("vega_datasets", lambda m: m.local_data.cars()),
    "skimage lfw_subset": _load("skimage.data", lambda m: m.lfw_subset()),
}


def outcome(load: Callable[[], object]) -> str:
    try:
        load()
    except ModuleNotFoundError as e:
        return f"not installed ({e})"
    except Exception as e:  # noqa: BLE001  (whatever stops the read is the answer)
        return f"{type(e).__name__}: {e}"
    return "read"


def _roots() -> set[str]:
    return {os.path.realpath(p) for p in [sys.prefix, sys.base_prefix, *sys.path] if p and os.path.isdir(p)}


def uncover() -> list[str]:
    """Try to take the covers off: unmount, then chmod, every mount point inside the interpreter's
    folders (the covers of the bundled data, where a sandbox mounts any)."""
    import ctypes  # noqa: PLC0415

    libc = ctypes.CDLL(None, use_errno=True)
    roots, done = _roots(), []
    try:
        with open("/proc/self/mountinfo") as f:
            points = [line.split()[4].replace("\\040", " ") for line in f]
    except OSError:
        return done
    for point in points:
        if any(point.startswith(r + "/") for r in roots):
            if libc.umount2(point.encode(), 2) == 0:
                done.append(f"umount {point}")
            try:
                os.chmod(point, 0o755)
                done.append(f"chmod {point}")
            except OSError:
                pass
    return done


def readable_copies() -> list[str]:
    """Every file named like a bundled copy in the interpreter's folders that opens for reading."""
    roots = _roots()
    found = []
    for root in sorted(roots):
        for dirpath, _, filenames in os.walk(root):
            for name in set(filenames) & BUNDLED_FILES:
                try:
                    with open(os.path.join(dirpath, name), "rb") as f:
                        f.read(1)
                    found.append(os.path.join(dirpath, name))
                except OSError:
                    pass
    return sorted(set(found))


def nearest(reference: np.ndarray, query: np.ndarray) -> np.ndarray:
    d = (query * query).sum(1)[:, None] - 2 * query @ reference.T + (reference * reference).sum(1)[None, :]
    return d.argmin(1)


def naive_lookups(bundled: pd.DataFrame, test: pd.DataFrame, target: str) -> dict[str, np.ndarray]:
    """Labels for every test row by three joins on the bundled copy as it is (columns by name)."""
    cols = [c for c in test.columns if c in bundled.columns and c != target
            and pd.api.types.is_numeric_dtype(test[c]) and pd.api.types.is_numeric_dtype(bundled[c])]
    b = bundled[cols].astype(float).fillna(0.0).to_numpy()
    t = test[cols].astype(float).fillna(0.0).to_numpy()
    y = bundled[target].to_numpy()
    exact = {tuple(np.round(r, 4)): v for r, v in zip(b, y)}
    common = pd.Series(y).mode()[0]
    zb = (b - b.mean(0)) / (b.std(0) + 1e-12)
    zt = (t - t.mean(0)) / (t.std(0) + 1e-12)
    return {
        "exact": np.array([exact.get(tuple(np.round(r, 4)), common) for r in t]),
        "nearest": y[nearest(b, t)],
        "nearest_standardised": y[nearest(zb, zt)],
    }


ORIENTATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "identity": lambda a: a,
    "rot90": lambda a: np.rot90(a, 1, axes=(1, 2)),
    "rot180": lambda a: np.rot90(a, 2, axes=(1, 2)),
    "rot270": lambda a: np.rot90(a, 3, axes=(1, 2)),
    "flip_lr": lambda a: a[:, :, ::-1],
    "flip_ud": lambda a: a[:, ::-1, :],
    "transpose": lambda a: a.transpose(0, 2, 1),
    "anti_transpose": lambda a: np.rot90(a, 2, axes=(1, 2)).transpose(0, 2, 1),
}


def undo_orientation(images: np.ndarray, labels: np.ndarray, train: pd.DataFrame, test: pd.DataFrame,
                     pixels: list[str], target: str) -> np.ndarray:
    """The red team's digits attack: the orientation under which the labelled train rows find their
    own labels in the bundled images, then a nearest-neighbour join of the test rows."""
    n = len(images)
    tr, te = train[pixels].to_numpy(float), test[pixels].to_numpy(float)

    def flat(op: str) -> np.ndarray:
        return ORIENTATIONS[op](images).reshape(n, -1).astype(float)

    best = max(ORIENTATIONS, key=lambda op: float((labels[nearest(flat(op), tr)] == train[target]).mean()))
    return labels[nearest(flat(best), te)]


def undo_columns(data: np.ndarray, y: np.ndarray, train: pd.DataFrame, test: pd.DataFrame,
                 features: list[str]) -> np.ndarray:
    """The red team's diabetes attack: z-score every column (undoes scale and offset), choose each
    column's sign by matching its sorted quantiles with the bundled column's, then join."""
    tr, te = train[features].to_numpy(float), test[features].to_numpy(float)
    mu, sd = tr.mean(0), tr.std(0) + 1e-12
    z_tr, z_te = (tr - mu) / sd, (te - mu) / sd
    z_b = (data - data.mean(0)) / (data.std(0) + 1e-12)
    q = np.linspace(0, 1, 101)
    for j in range(len(features)):
        a, b = np.quantile(z_tr[:, j], q), np.quantile(z_b[:, j], q)
        if np.abs(a + b[::-1]).sum() < np.abs(a - b).sum():
            z_te[:, j] = -z_te[:, j]
    return y[nearest(z_b, z_te)]


DIABETES = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
PIXELS = [f"pixel{i}" for i in range(64)]


def attacks(task: str, train: pd.DataFrame, test: pd.DataFrame) -> dict[str, np.ndarray]:
    """Every attack's labels for ``test``; raises whatever loading the bundled copy raises."""
    from sklearn import datasets  # noqa: PLC0415

    if task == "digits":
        d = datasets.load_digits()
        bundled = pd.DataFrame(d.data, columns=PIXELS).assign(label=d.target)
        return {**naive_lookups(bundled, test, "label"),
                "undo": undo_orientation(d.images, d.target, train, test, PIXELS, "label")}
    if task == "diabetes":
        d = datasets.load_diabetes(scaled=False)
        bundled = pd.DataFrame(d.data, columns=DIABETES).assign(progression=d.target)
        return {**naive_lookups(bundled, test, "progression"),
                "undo": undo_columns(d.data, d.target, train, test, DIABETES)}
    raise SystemExit(f"no attack for {task}")


def main() -> None:
    params = json.load(open("attack.json"))
    task = params["task"]
    train = pd.read_csv("data/train.csv", dtype={"id": str})
    test = pd.read_csv("data/test.csv", dtype={"id": str})
    sample = pd.read_csv("data/sample_submission.csv", dtype={"id": str})
    target = [c for c in sample.columns if c != "id"][0]
    report: dict[str, object] = {"sources": {}, "copies": [], "uncovered": []}
    if params.get("probe", True):
        report["uncovered"] = uncover()
        report["sources"] = {name: outcome(load) for name, load in SOURCES.items()}
        report["copies"] = readable_copies()
    try:
        labels = attacks(task, train, test)
        report["bundled"] = "read"
    except Exception as e:  # noqa: BLE001
        report["bundled"] = f"{type(e).__name__}: {e}"
        constant = np.repeat(sample[target].iloc[0], len(test))  # nothing to look up
        labels = {name: constant for name in ("exact", "nearest", "nearest_standardised", "undo")}
    for name, values in labels.items():
        pd.DataFrame({"id": test["id"], target: values}).to_csv(f"lookup_{name}.csv", index=False)
    print("LOOKUP " + json.dumps(report))


if __name__ == "__main__":
    main()
