"""Vectorised per-user accuracy metrics computed from top-K lists.

Notation: ``L_u`` the ranked list of user ``u`` (internal item indices, ``-1`` pads a short list),
``T_u`` the user's relevant (held-out) items, duplicates counted once. Every function works on
whole ``(U, K)`` arrays at once; nothing loops over users.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import numpy as np
import pandas as pd
import scipy.sparse as sp

from equirec.data.history import History

ACCURACY_METRICS = ("ndcg", "recall", "hit", "precision", "mrr", "map")
"""Per-user accuracy metrics, in the order of the columns of :func:`accuracy_metrics`."""

Relevant: TypeAlias = "History | sp.spmatrix | sp.sparray"
"""Each user's relevant items: a :class:`History` or a sparse users x items matrix (non-zero =
relevant)."""


def relevant_matrix(relevant: Relevant, users: np.ndarray | None = None) -> sp.csr_matrix:
    """Binary ``(len(users), n_items)`` CSR matrix of relevant items, duplicates collapsed.

    Args:
        relevant: Relevant items of every user.
        users: Rows of ``relevant`` to keep, in this order (default: all).

    Returns:
        A CSR matrix with sorted column indices and ones as data.
    """
    m = relevant.csr(binary=True) if isinstance(relevant, History) else sp.csr_matrix(relevant)
    if users is not None:
        m = m[np.asarray(users, dtype=np.int64)]
    m = sp.csr_matrix(m, dtype=np.float32, copy=True)
    m.eliminate_zeros()
    m.sum_duplicates()  # also sorts the column indices of every row
    m.data[:] = 1.0
    return m


def hit_matrix(
    top_items: np.ndarray, relevant: Relevant, users: np.ndarray | None = None
) -> np.ndarray:
    """``(U, K)`` booleans: whether each recommended item is relevant to its user.

    Args:
        top_items: ``(U, K)`` internal item indices, ``-1`` for padding (never a hit).
        relevant: Relevant items; row ``users[r]`` (or ``r``) belongs to row ``r`` of
            ``top_items``.
        users: Rows of ``relevant`` matching the rows of ``top_items`` (default: the same rows).

    Returns:
        The boolean hit matrix, shaped like ``top_items``.
    """
    top = np.asarray(top_items, dtype=np.int64)
    rel = relevant_matrix(relevant, users)
    if rel.shape[0] != top.shape[0]:
        raise ValueError(f"{top.shape[0]} ranked lists but {rel.shape[0]} users of relevant items")
    if top.ndim != 2:
        raise ValueError(f"top_items must be a (U, K) array, got shape {top.shape}")
    if top.size and top.max() >= rel.shape[1]:
        raise ValueError(f"item index {top.max()} is outside the catalogue of {rel.shape[1]}")
    n_items = max(rel.shape[1], 1)
    # Every (row, item) pair as one sorted int64 key: membership is one binary search per cell.
    keys = np.repeat(np.arange(rel.shape[0], dtype=np.int64), np.diff(rel.indptr)) * n_items
    keys += rel.indices
    if len(keys) == 0:
        return np.zeros(top.shape, dtype=bool)
    query = np.arange(top.shape[0], dtype=np.int64)[:, None] * n_items + top
    pos = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
    return (keys[pos] == query) & (top >= 0)


def accuracy_metrics(
    hits: np.ndarray, n_relevant: np.ndarray, *, ks: Sequence[int]
) -> pd.DataFrame:
    """Per-user NDCG, Recall, Hit, Precision, MRR and MAP at each ``k``, from a hit matrix.

    Definitions (binary relevance; a list shorter than ``k`` is padded with misses):

    - ``ndcg@k``: ``Σ_{r≤k} hit_r / log2(r + 1)`` divided by the ideal DCG of
      ``min(|T_u|, k)`` hits.
    - ``recall@k``: ``|hits| / |T_u|`` (the hit rate under leave-one-out).
    - ``hit@k``: 1 if any of the first ``k`` items is relevant, else 0.
    - ``precision@k``: ``|hits| / k`` (``k``, not the list length, even for short lists).
    - ``mrr@k``: ``1 / rank`` of the first hit within ``k``, 0 without one.
    - ``map@k``: ``Σ_{r≤k} P@r · hit_r / min(|T_u|, k)``.

    Args:
        hits: ``(U, K)`` hit matrix of the ranked lists; ``K`` may be below ``max(ks)``.
        n_relevant: ``|T_u|`` per user (distinct items), every value at least 1.
        ks: Positive cut-offs.

    Returns:
        One row per user, columns ``{metric}@{k}`` for every metric of :data:`ACCURACY_METRICS`
        (outer) and every ``k`` (inner).
    """
    ks = _check_ks(ks)
    n_rel = np.asarray(n_relevant, dtype=np.float64)
    h = np.asarray(hits, dtype=bool)
    if h.ndim != 2 or len(n_rel) != h.shape[0]:
        raise ValueError("hits must be (U, K) with one n_relevant value per row")
    if len(n_rel) and n_rel.min() < 1:
        raise ValueError("every evaluated user needs at least one relevant item")
    if h.shape[1] < ks[-1]:
        h = np.pad(h, ((0, 0), (0, ks[-1] - h.shape[1])))
    h = h[:, : ks[-1]]
    hf = h.astype(np.float64)
    positions = np.arange(1, ks[-1] + 1, dtype=np.float64)
    discounts = 1.0 / np.log2(positions + 1.0)
    ideal = np.cumsum(discounts)
    cum_hits = np.cumsum(hf, axis=1)
    dcg = np.cumsum(hf * discounts, axis=1)
    ap_sum = np.cumsum(hf * cum_hits / positions, axis=1)
    first = np.where(h.any(axis=1), h.argmax(axis=1) + 1, np.iinfo(np.int64).max)
    out: dict[str, np.ndarray] = {}
    for k in ks:
        n_hits = cum_hits[:, k - 1]
        denom = np.minimum(n_rel, k)
        out[f"ndcg@{k}"] = dcg[:, k - 1] / ideal[denom.astype(np.int64) - 1]
        out[f"recall@{k}"] = n_hits / n_rel
        out[f"hit@{k}"] = (n_hits > 0).astype(np.float64)
        out[f"precision@{k}"] = n_hits / k
        out[f"mrr@{k}"] = np.where(first <= k, 1.0 / np.minimum(first, k), 0.0)
        out[f"map@{k}"] = ap_sum[:, k - 1] / denom
    return pd.DataFrame({f"{m}@{k}": out[f"{m}@{k}"] for m in ACCURACY_METRICS for k in ks})


def ranking_metrics(
    top_items: np.ndarray,
    *,
    relevant: Relevant,
    ks: Sequence[int],
    users: np.ndarray | None = None,
) -> pd.DataFrame:
    """Per-user accuracy metrics of ranked lists against relevant items.

    Users without relevant items are not evaluated: they get no row (their metrics are
    undefined, and counting them as zeros would reward nothing and dilute every mean).

    Args:
        top_items: ``(U, K)`` internal item indices, best first, ``-1`` for padding.
        relevant: Relevant items per user (a :class:`History` of test interactions, or a sparse
            users x items matrix); duplicated items count once.
        ks: Cut-offs.
        users: Rows of ``relevant`` matching the rows of ``top_items`` (default: the same rows).

    Returns:
        Column ``user`` (the row of ``relevant``, an internal index) then the columns of
        :func:`accuracy_metrics`, one row per evaluated user, in the order of ``top_items``.
    """
    rows = np.arange(len(top_items)) if users is None else np.asarray(users, dtype=np.int64)
    rel = relevant_matrix(relevant, rows)
    n_relevant = np.diff(rel.indptr)
    keep = n_relevant > 0
    hits = hit_matrix(np.asarray(top_items)[keep], rel[keep])
    frame = accuracy_metrics(hits, n_relevant[keep], ks=ks)
    frame.insert(0, "user", rows[keep])
    return frame


def _check_ks(ks: Sequence[int]) -> list[int]:
    out = sorted({int(k) for k in ks})
    if not out or out[0] < 1:
        raise ValueError(f"ks must be positive integers, got {list(ks)}")
    return out
