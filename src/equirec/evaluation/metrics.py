"""Vectorised ranking metrics computed from top-K lists.

Accuracy metrics are per user (rows), from a boolean hit matrix; beyond-accuracy metrics describe
the set of lists over the whole catalogue. Notation: ``L_u`` the list of user ``u``, ``T_u`` the
user's relevant (held-out) items, ``φ(i)`` the training popularity of item ``i``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from equirec.data.history import History

ACCURACY_METRICS = ("ndcg", "recall", "hit", "mrr", "map", "precision")


def hit_matrix(top_items: np.ndarray, relevant: History, users: np.ndarray) -> np.ndarray:
    """``(U, K)`` booleans: whether each recommended item is relevant to its user.

    Duplicated relevant items count once; padding (``-1``) never hits.
    """
    rel = relevant.csr(binary=True)[users]
    rows = np.repeat(np.arange(len(users)), top_items.shape[1])
    cols = top_items.reshape(-1)
    valid = cols >= 0
    hits = np.zeros(len(cols), dtype=bool)
    hits[valid] = np.asarray(rel[rows[valid], cols[valid]]).ravel() > 0
    return hits.reshape(top_items.shape)


def accuracy_metrics(
    hits: np.ndarray, n_relevant: np.ndarray, *, ks: Sequence[int]
) -> pd.DataFrame:
    """Per-user NDCG, Recall, Hit, MRR, MAP and Precision at each ``k``.

    Args:
        hits: ``(U, K)`` hit matrix of the ranked lists, ``K >= max(ks)``.
        n_relevant: ``|T_u|`` per user (must be positive).
        ks: Cut-offs.

    Returns:
        One row per user, columns ``ndcg@k``, ``recall@k``, ``hit@k``, ``mrr@k``, ``map@k``,
        ``precision@k`` for every k.

    Definitions: NDCG uses binary gains and the ideal DCG of ``min(|T_u|, k)`` hits; Recall is
    ``|hits| / |T_u|`` (the hit rate under leave-one-out); Hit is 1 if any hit; MRR is the inverse
    rank of the first hit (0 without one); MAP is ``Σ_{i≤k} P@i · rel_i / min(|T_u|, k)``; Precision
    is ``|hits| / k``.
    """
    if hits.shape[1] < max(ks):
        raise ValueError(f"lists of length {hits.shape[1]} are shorter than k={max(ks)}")
    n_rel = np.asarray(n_relevant, dtype=np.float64)
    h = hits.astype(np.float64)
    positions = np.arange(1, h.shape[1] + 1)
    discounts = 1.0 / np.log2(positions + 1.0)
    cum_hits = np.cumsum(h, axis=1)
    first = np.where(hits.any(axis=1), hits.argmax(axis=1) + 1, 0)
    ideal = np.cumsum(discounts)
    out: dict[str, np.ndarray] = {}
    for k in ks:
        n_hits = cum_hits[:, k - 1]
        denom = np.minimum(n_rel, k)
        out[f"ndcg@{k}"] = (h[:, :k] * discounts[:k]).sum(axis=1) / ideal[denom.astype(int) - 1]
        out[f"recall@{k}"] = n_hits / n_rel
        out[f"hit@{k}"] = (n_hits > 0).astype(np.float64)
        out[f"mrr@{k}"] = np.where((first > 0) & (first <= k), 1.0 / np.maximum(first, 1), 0.0)
        precision_at_i = cum_hits[:, :k] / positions[:k]
        out[f"map@{k}"] = (precision_at_i * h[:, :k]).sum(axis=1) / denom
        out[f"precision@{k}"] = n_hits / k
    ordered = [f"{m}@{k}" for m in ACCURACY_METRICS for k in ks]
    return pd.DataFrame({name: out[name] for name in ordered})


def recommendation_counts(top_items: np.ndarray, n_items: int) -> np.ndarray:
    """How many lists each catalogue item appears in (zeros included)."""
    items = top_items[top_items >= 0]
    return np.bincount(items, minlength=n_items)


def gini(values: np.ndarray) -> float:
    """Gini coefficient of non-negative values: ``Σ_i (2i − n − 1)·x_i / (n·Σx)``, ``x`` ascending.

    0 when every value is equal, ``(n − 1)/n`` when one item takes everything; 0 for all zeros.
    """
    x = np.sort(np.asarray(values, dtype=np.float64))
    n, total = len(x), x.sum()
    if n == 0 or total == 0:
        return 0.0
    i = np.arange(1, n + 1)
    return float(((2 * i - n - 1) * x).sum() / (n * total))


def entropy(values: np.ndarray) -> float:
    """Shannon entropy (nats) of the distribution proportional to ``values``."""
    x = np.asarray(values, dtype=np.float64)
    total = x.sum()
    if total == 0:
        return 0.0
    p = x[x > 0] / total
    return float(-(p * np.log(p)).sum())


def popularity_metrics(
    top_items: np.ndarray,
    *,
    popularity: np.ndarray,
    n_users: int,
    ks: Sequence[int],
    smoothing: float = 1.0,
) -> pd.DataFrame:
    """Per-user average recommendation popularity (ARP) and novelty at each ``k``.

    ``arp@k`` = mean of φ(i) over the list; ``novelty@k`` = mean of ``−log2(φ̃(i) / n_users)`` with
    ``φ̃ = φ + smoothing`` (add-``smoothing`` so never-interacted items have finite novelty; the
    same smoothing is added to ``n_users``). Padding positions are skipped; an empty list gives NaN.
    """
    pop = np.asarray(popularity, dtype=np.float64)
    valid = top_items >= 0
    safe = np.where(valid, top_items, 0)
    phi = np.where(valid, pop[safe], 0.0)
    info = np.where(valid, -np.log2((pop[safe] + smoothing) / (n_users + smoothing)), 0.0)
    out: dict[str, np.ndarray] = {}
    for k in ks:
        n = valid[:, :k].sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"arp@{k}"] = np.where(n > 0, phi[:, :k].sum(axis=1) / n, np.nan)
            out[f"novelty@{k}"] = np.where(n > 0, info[:, :k].sum(axis=1) / n, np.nan)
    return pd.DataFrame(out)


def catalogue_metrics(
    top_items: np.ndarray, *, n_items: int, ks: Sequence[int]
) -> dict[str, float]:
    """Coverage, Gini and entropy of recommendation counts over the whole catalogue, per ``k``.

    ``coverage@k`` = |∪ L_u| / |I|; ``gini@k`` of the counts of every catalogue item (items never
    recommended count as zeros); ``entropy@k`` Shannon entropy (nats) of the counts.
    """
    out: dict[str, float] = {}
    for k in ks:
        counts = recommendation_counts(top_items[:, :k], n_items)
        out[f"coverage@{k}"] = float((counts > 0).sum() / n_items) if n_items else 0.0
        out[f"gini@{k}"] = gini(counts)
        out[f"entropy@{k}"] = entropy(counts)
    return out
