"""A small synthetic graph in the exact raw layout of OGB's ogbn-arxiv download, for tests only.

It writes, under ``ogbn_arxiv/``, the header-less gzip CSVs ``raw/edge.csv.gz``,
``raw/node-feat.csv.gz`` (128 floats per node), ``raw/node-label.csv.gz`` (40 classes),
``raw/node_year.csv.gz``, ``raw/num-node-list.csv.gz``, ``raw/num-edge-list.csv.gz``,
``split/time/{train,valid,test}.csv.gz`` (a time split: up to 2017, 2018, from 2019), the two
``mapping/`` files, an empty ``processed/`` folder (ogb's loader writes there) and
``RELEASE_v1.txt`` (without it, ogb's loader would stop to ask whether to update), plus the
fixture marker; ogb 1.3.6's ``NodePropPredDataset`` loads it. Features are noisy class centroids
and most citations stay within a class, so both feature-only and graph models can learn
something. It is a random graph, not arXiv.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from mlagent_env.tasks.data import FIXTURE_MARKER

N_NODES = 600
N_CLASSES = 40
N_FEATURES = 128

SAMPLE_SUBMISSION_SCORE: float = 0.111111
"""Accuracy of the public sample submission (class 0 everywhere) on all fixture answers, seed 0."""


def _write_gz(path: Path, lines: list[str]) -> None:
    """A gzip text file whose bytes depend only on its content (no name or time in the header)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as raw_file, gzip.GzipFile(filename="", mode="wb", fileobj=raw_file, mtime=0) as gz:
        gz.write("".join(line + "\n" for line in lines).encode())


def make_fixture(raw: Path, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    weights = 1.0 / (np.arange(N_CLASSES) + 3.0)
    labels = rng.choice(N_CLASSES, size=N_NODES, p=weights / weights.sum())
    years = rng.choice(np.arange(2005, 2021), size=N_NODES, p=np.linspace(1, 4, 16) / np.linspace(1, 4, 16).sum())
    centroids = rng.normal(0.0, 0.05, (N_CLASSES, N_FEATURES))
    features = centroids[labels] + rng.normal(0.0, 0.3, (N_NODES, N_FEATURES))

    by_class = [np.flatnonzero(labels == c) for c in range(N_CLASSES)]
    edges = set()
    for node in range(N_NODES):
        for _ in range(1 + rng.poisson(4)):
            same = by_class[labels[node]]
            target = int(rng.choice(same)) if rng.random() < 0.6 and len(same) > 1 else int(rng.integers(N_NODES))
            if target != node:
                edges.add((node, target))
    edge_list = sorted(edges)

    root = raw / "ogbn_arxiv"
    _write_gz(root / "raw" / "edge.csv.gz", [f"{s},{t}" for s, t in edge_list])
    _write_gz(root / "raw" / "node-feat.csv.gz", [",".join(f"{v:.6f}" for v in row) for row in features])
    _write_gz(root / "raw" / "node-label.csv.gz", [str(v) for v in labels])
    _write_gz(root / "raw" / "node_year.csv.gz", [str(v) for v in years])
    _write_gz(root / "raw" / "num-node-list.csv.gz", [str(N_NODES)])
    _write_gz(root / "raw" / "num-edge-list.csv.gz", [str(len(edge_list))])
    for split, mask in (("train", years <= 2017), ("valid", years == 2018), ("test", years >= 2019)):
        _write_gz(root / "split" / "time" / f"{split}.csv.gz", [str(v) for v in np.flatnonzero(mask)])
    _write_gz(
        root / "mapping" / "labelidx2arxivcategeory.csv.gz",
        ["label idx,arxiv category", *[f"{c},arxiv cs fixture{c}" for c in range(N_CLASSES)]],
    )
    _write_gz(
        root / "mapping" / "nodeidx2paperid.csv.gz",
        ["node idx,paper id", *[f"{i},{1000000 + 7 * i}" for i in range(N_NODES)]],
    )
    (root / "processed").mkdir(exist_ok=True)
    (root / "RELEASE_v1.txt").write_text("ogbn-arxiv fixture (synthetic test data), release v1\n", encoding="utf-8")
    (raw / FIXTURE_MARKER).touch()
