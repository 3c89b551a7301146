"""Item-based k-nearest neighbours: cosine similarity with shrinkage, top-k neighbours per item.

Also home of a sparse helper shared with :mod:`equirec.models.ease`: :func:`cooccurrence_columns`
(blocks of ``XᵀX``).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import scipy.sparse as sp
import torch

from equirec.data.dataset import Dataset
from equirec.data.history import History
from equirec.errors import ConfigError
from equirec.models.base import Recommender
from equirec.models.registry import register

BLOCK_SIZE = 1024
"""Target items whose similarities are computed at once (memory ~ ``n_items * BLOCK_SIZE``)."""


def cooccurrence_columns(
    x: sp.csr_matrix, *, block_size: int = BLOCK_SIZE
) -> Iterator[tuple[int, np.ndarray]]:
    """Column blocks of the item co-occurrence matrix ``XᵀX``, densely.

    Yields:
        ``(start, block)`` where ``block`` is the dense float32 ``(n_items, stop - start)`` slice
        ``(XᵀX)[:, start:stop]``. Entries are counts of users, exact in float32 below 2**24 users.
    """
    x = x.astype(np.float32)
    xt = x.T.tocsr()
    xc = x.tocsc()
    n_items = x.shape[1]
    for start in range(0, n_items, block_size):
        stop = min(start + block_size, n_items)
        yield start, np.asarray((xt @ xc[:, start:stop]).toarray(), dtype=np.float32)


def cosine_topk(x: sp.csr_matrix, *, k: int, shrink: float) -> sp.csr_matrix:
    """Shrunk cosine similarity between the columns of ``x``, keeping the top ``k`` per column.

    ``sim(i, j) = x_i · x_j / (‖x_i‖ ‖x_j‖ + shrink)`` with self-similarity 0. For every target item
    ``j`` (a column of the result) the ``k`` most similar items ``i`` are kept; zero similarities
    are dropped. Ties at the ``k``-th place are cut arbitrarily (but deterministically).

    Args:
        x: ``(n_users, n_items)`` interaction matrix.
        k: Neighbours kept per target item.
        shrink: Added to the denominator; damps similarities supported by few users.

    Returns:
        ``(n_items, n_items)`` float32 CSR matrix ``W``; row = neighbour (history) item,
        column = target item, so that scores are ``X @ W``.
    """
    n_items = x.shape[1]
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=0), dtype=np.float64).ravel())
    keep = min(int(k), max(n_items - 1, 1))
    rows, cols, vals = [], [], []
    for start, dots in cooccurrence_columns(x):
        width = dots.shape[1]
        denom = norms[:, None] * norms[None, start : start + width] + shrink
        sim = np.divide(dots, denom, out=np.zeros(dots.shape), where=denom > 0)
        sim[start + np.arange(width), np.arange(width)] = 0.0
        if keep < n_items:
            top = np.argpartition(-sim, keep - 1, axis=0)[:keep]
        else:
            top = np.broadcast_to(np.arange(n_items)[:, None], sim.shape)
        values = np.take_along_axis(sim, top, axis=0)
        positive = values > 0
        rows.append(top[positive])
        cols.append(np.broadcast_to(start + np.arange(width), top.shape)[positive])
        vals.append(values[positive].astype(np.float32))
    w = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
        shape=(n_items, n_items),
        dtype=np.float32,
    )
    w.sort_indices()
    return w


@register
class ItemKNN(Recommender):
    """Item-based collaborative filtering (Sarwar et al. 2001) with shrunk cosine similarity.

    Interactions are binarised. The similarity of items ``i`` and ``j`` is
    ``|U_i ∩ U_j| / (sqrt(|U_i|) sqrt(|U_j|) + shrink)`` (``U_i``: users of ``i``); each target item
    keeps its ``k_neighbors`` most similar items, and a user's score for ``j`` is the sum of the
    similarities of ``j``'s neighbours found in the user's history (``X @ W``). Histories given at
    prediction time are used as they are, so later interactions change the scores without refitting.

    Args:
        k_neighbors: Neighbours kept per target item (RecBole's ``k``, default 100).
        shrink: Shrinkage term of the cosine denominator (RecBole's default is 0.0).

    Attributes:
        similarity_: ``(n_items, n_items)`` sparse ``W`` (row: history item, column: target item).
    """

    name = "itemknn"

    def __init__(self, *, k_neighbors: int = 100, shrink: float = 10.0) -> None:
        self.k_neighbors = k_neighbors
        self.shrink = shrink

    def _fit(self, train: History, *, valid: History | None, dataset: Dataset) -> None:
        if int(self.k_neighbors) < 1:
            raise ConfigError(f"itemknn: k_neighbors must be >= 1, not {self.k_neighbors!r}")
        if float(self.shrink) < 0:
            raise ConfigError(f"itemknn: shrink must be >= 0, not {self.shrink!r}")
        self.similarity_ = cosine_topk(
            train.csr(binary=True), k=int(self.k_neighbors), shrink=float(self.shrink)
        )

    def _score(self, users: np.ndarray, history: History) -> torch.Tensor:
        scores = (history.rows(users) @ self.similarity_).toarray()
        return torch.from_numpy(np.asarray(scores, dtype=np.float32))

    def _state(self) -> dict[str, torch.Tensor]:
        w = self.similarity_
        return {
            "similarity.indptr": torch.from_numpy(w.indptr.astype(np.int64)),
            "similarity.indices": torch.from_numpy(w.indices.astype(np.int64)),
            "similarity.data": torch.from_numpy(w.data.astype(np.float32)),
        }

    def _load_state(self, state: dict[str, torch.Tensor]) -> None:
        n = len(self.item_ids_)
        self.similarity_ = sp.csr_matrix(
            (
                state["similarity.data"].numpy(),
                state["similarity.indices"].numpy(),
                state["similarity.indptr"].numpy(),
            ),
            shape=(n, n),
        )
