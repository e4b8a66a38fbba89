"""Sentence embeddings for idea selection, and the greedy max-min (farthest-point) pick.

An :class:`Embedder` is anything with ``embed(texts) -> np.ndarray`` of shape (n, d).
:func:`build_embedder` picks one from a model name or path:

* ``backend="sentence-transformers"``: ``sentence_transformers.SentenceTransformer(model)``;
* ``backend="transformers"``: any ``transformers`` encoder (or decoder), mean-pooled over the
  attention mask and L2-normalised;
* ``backend="auto"``: sentence-transformers when it is installed, else transformers;
* ``backend="tfidf"``: no model at all: word 1-2-gram TF-IDF vectors of the texts themselves
  (scikit-learn), L2-normalised; distances then measure shared wording, not meaning, which is
  enough to spread a short curated list offline (``model`` is ignored);
* ``backend="module:factory"``: your own, ``factory(model) -> Embedder``.

``model`` is a local folder or a hub id (a hub id needs network access the first time).
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np

from mlagent_env.errors import MLAgentError


@runtime_checkable
class Embedder(Protocol):
    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class SentenceTransformerEmbedder:
    def __init__(self, model: str, device: str | None = None, batch_size: int = 64) -> None:
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(model, device=device)
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        out = self.model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                                convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(out, dtype=np.float32)


class TransformersEmbedder:
    """Mean pooling of the last hidden state over the real (non-padding) tokens, L2-normalised."""

    def __init__(self, model: str, device: str | None = None, batch_size: int = 32, max_length: int = 256) -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        self.torch = torch
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.tokenizer = AutoTokenizer.from_pretrained(model)
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.model = AutoModel.from_pretrained(model).to(self.device).eval()
        self.batch_size = batch_size
        self.max_length = max_length

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        torch = self.torch
        chunks = []
        with torch.no_grad():
            for start in range(0, len(texts), self.batch_size):
                batch = self.tokenizer(list(texts[start:start + self.batch_size]), padding=True, truncation=True,
                                       max_length=self.max_length, return_tensors="pt").to(self.device)
                hidden = self.model(**batch).last_hidden_state.float()
                mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
                chunks.append(torch.nn.functional.normalize(pooled, dim=-1).cpu().numpy())
        if not chunks:
            return np.zeros((0, 0), dtype=np.float32)
        return np.concatenate(chunks).astype(np.float32)


class TfidfEmbedder:
    """TF-IDF of word 1-2-grams, fitted on the texts of each call (no model, no network)."""

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        from sklearn.feature_extraction.text import TfidfVectorizer

        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        vectors = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True).fit_transform(list(texts))
        return np.asarray(vectors.toarray(), dtype=np.float32)


def build_embedder(model: str, backend: str = "auto", device: str | None = None) -> Embedder:
    if ":" in backend:
        module, _, name = backend.partition(":")
        factory: Any = getattr(importlib.import_module(module), name)
        return factory(model)
    if backend == "auto":
        backend = "sentence-transformers" if importlib.util.find_spec("sentence_transformers") else "transformers"
    if backend == "sentence-transformers":
        return SentenceTransformerEmbedder(model, device=device)
    if backend == "transformers":
        return TransformersEmbedder(model, device=device)
    if backend == "tfidf":
        return TfidfEmbedder()
    raise MLAgentError(f"unknown embedder backend {backend!r}; use auto, sentence-transformers, transformers, tfidf "
                       "or module:factory")


def farthest_point_selection(points: np.ndarray, k: int, metric: str = "euclidean") -> list[int]:
    """Greedy max-min selection of ``k`` row indices of ``points``.

    The first pick is the point farthest from the centroid; every next pick is the point whose
    distance to its nearest already-picked point is largest (ties: the lowest index). This is the
    standard 2-approximation of the k-centre / max-min dispersion problem."""
    x = np.asarray(points, dtype=np.float64)
    n = len(x)
    if k >= n:
        return list(range(n))
    if k <= 0:
        return []
    if metric == "cosine":
        x = x / np.clip(np.linalg.norm(x, axis=1, keepdims=True), 1e-12, None)
    elif metric != "euclidean":
        raise ValueError(f"unknown metric {metric!r}; use euclidean or cosine")

    def dist(i: int) -> np.ndarray:
        if metric == "cosine":
            return 1.0 - x @ x[i]
        return np.linalg.norm(x - x[i], axis=1)

    centre = x.mean(axis=0)
    first = int(np.argmax(np.linalg.norm(x - centre, axis=1) if metric == "euclidean" else 1.0 - x @ centre))
    picked = [first]
    nearest = dist(first)
    nearest[first] = -np.inf
    while len(picked) < k:
        nxt = int(np.argmax(nearest))
        picked.append(nxt)
        nearest = np.minimum(nearest, dist(nxt))
        nearest[picked] = -np.inf
    return picked


def min_pairwise_distance(points: np.ndarray) -> float:
    """The smallest distance between two rows (the quantity max-min selection maximises)."""
    x = np.asarray(points, dtype=np.float64)
    d = np.linalg.norm(x[:, None, :] - x[None, :, :], axis=-1)
    d[np.diag_indices(len(x))] = np.inf
    return float(d.min())
