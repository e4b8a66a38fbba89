"""ogbn-arxiv (MLAgentBench): 40-way subject classification of arXiv CS papers in their
citation graph, accuracy on OGB's test papers.

Raw layout, as OGB's download leaves it under the dataset root (header-less gzip CSVs; a hand-unzipped
``arxiv.zip`` gives ``arxiv/``, which the unpack step renames to ``ogbn_arxiv/``)::

    ogbn_arxiv/raw/edge.csv.gz          E rows "source,target" (the source paper cites the target)
    ogbn_arxiv/raw/node-feat.csv.gz     N rows of 128 floats
    ogbn_arxiv/raw/node-label.csv.gz    N rows, the subject area 0..39
    ogbn_arxiv/raw/node_year.csv.gz     N rows, the publication year
    ogbn_arxiv/raw/num-node-list.csv.gz one row, N
    ogbn_arxiv/split/time/{train,valid,test}.csv.gz   node ids of OGB's time split

The split is OGB's (papers up to 2017 / 2018 / from 2019). The labels of every paper are public
on OGB, so the node ids are renumbered with a seeded permutation, consistently in the edges, the
feature matrix and the split files: a test node id cannot be looked up in OGB's labels. The
public folder holds the whole graph, every node's features and year, and the labels of the
train and valid papers; the test papers' labels go to ``private/answers.csv`` only.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from mlagent_env.errors import DataUnavailable
from mlagent_env.tasks.acquire import RawLayout

DATASET = "ogbn_arxiv"
ID = "node_id"
TARGET = "label"
N_FEATURES = 128
ID_SEED = 20261201
INSTRUCTIONS = (
    "download http://snap.stanford.edu/ogb/data/nodeproppred/arxiv.zip (about 80 MB) into {raw} and prepare again "
    "(it is unzipped for you), or `pip install 'mlagent[data]'` (ogb) and prepare again, which downloads it"
)
RAW_LAYOUT = RawLayout(renames={"arxiv": DATASET})
"""OGB's arxiv.zip unzips to arxiv/; ogb's own download renames it to ogbn_arxiv/, which prepare reads."""


def download(raw: Path) -> None:
    """OGB's own download (``pip install ogb``); without ogb, say how to get the files by hand."""
    try:
        from ogb.nodeproppred import NodePropPredDataset  # noqa: PLC0415
    except ImportError:
        raise DataUnavailable("the ogb package is not installed; " + INSTRUCTIONS.format(raw=raw)) from None
    # ogb 1.3.6 calls torch.load without weights_only=False, which torch >= 2.6 refuses
    previous = os.environ.get("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD")
    os.environ["TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"] = "1"
    try:
        NodePropPredDataset(name="ogbn-arxiv", root=str(raw))
    except Exception as exc:
        raise DataUnavailable(f"ogb could not download ogbn-arxiv ({exc}); " + INSTRUCTIONS.format(raw=raw)) from None
    finally:
        if previous is None:
            os.environ.pop("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", None)
        else:
            os.environ["TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD"] = previous


def _column(path: Path, dtype: type) -> np.ndarray:
    return pd.read_csv(path, header=None, dtype=dtype).to_numpy()[:, 0]


def prepare(raw: Path, public: Path, private: Path) -> None:
    root = raw / DATASET
    print("reading the OGB files", flush=True)
    n_nodes = int(_column(root / "raw" / "num-node-list.csv.gz", np.int64)[0])
    edges = pd.read_csv(root / "raw" / "edge.csv.gz", header=None, dtype=np.int64).to_numpy()
    labels = _column(root / "raw" / "node-label.csv.gz", np.int64)
    years = _column(root / "raw" / "node_year.csv.gz", np.int64)
    features = pd.read_csv(root / "raw" / "node-feat.csv.gz", header=None, dtype=np.float32).to_numpy()
    splits = {s: _column(root / "split" / "time" / f"{s}.csv.gz", np.int64) for s in ("train", "valid", "test")}
    if features.shape != (n_nodes, N_FEATURES) or len(labels) != n_nodes or len(years) != n_nodes:
        raise ValueError(
            f"{root}: expected {n_nodes} nodes with {N_FEATURES} features, a label and a year each; got features "
            f"{features.shape}, {len(labels)} labels, {len(years)} years"
        )
    if edges.shape[1] != 2 or edges.min() < 0 or edges.max() >= n_nodes:
        raise ValueError(f"{root}/raw/edge.csv.gz must hold pairs of node ids in [0, {n_nodes})")

    # new_id[old] is the public id of OGB node `old`; row new_id[old] of the matrix is its features
    new_id = np.random.default_rng(ID_SEED).permutation(n_nodes)
    print(f"writing {n_nodes} nodes and {len(edges)} edges", flush=True)
    ordered = np.empty_like(features)
    ordered[new_id] = features
    np.save(public / "node_features.npy", ordered)
    renamed = new_id[edges]
    renamed = renamed[np.lexsort((renamed[:, 1], renamed[:, 0]))]
    pd.DataFrame(renamed, columns=["source", "target"]).to_csv(public / "edges.csv", index=False)

    for split, old in splits.items():
        table = pd.DataFrame({ID: new_id[old], "year": years[old], TARGET: labels[old]}).sort_values(ID)
        if split == "test":
            table[[ID, "year"]].to_csv(public / "test.csv", index=False)
            table[[ID, TARGET]].to_csv(private / "answers.csv", index=False)
            pd.DataFrame({ID: table[ID], TARGET: 0}).to_csv(public / "sample_submission.csv", index=False)
        else:
            table.to_csv(public / f"{split}.csv", index=False)
