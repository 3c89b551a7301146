"""Opt-in sampled evaluation: each test item ranked against a few sampled unseen items.

Only for reproducing older papers: sampled metrics are not comparable with full-ranking metrics
and can reverse the order of two models (Krichene & Rendle, KDD 2020).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

from equirec.data.history import History
from equirec.evaluation.metrics import accuracy_metrics, relevant_matrix
from equirec.models.base import Recommender

UNRANKED = np.iinfo(np.int64).max
"""Rank of a test item that cannot be ranked (the user has already seen it)."""


def sampled_ranks(
    model: Recommender,
    *,
    users: np.ndarray,
    relevant: History,
    history: History,
    exclude: Sequence[History],
    n_negatives: int,
    rng: np.random.Generator,
    batch_size: int = 256,
) -> tuple[np.ndarray, np.ndarray]:
    """0-based rank of every distinct test item among its own sampled negatives.

    For each (user, test item) pair, ``n_negatives`` items are drawn uniformly without
    replacement from the items the user has neither seen (``history``, ``exclude``) nor holds
    as a test item (all of them when fewer remain). The rank counts the negatives scored above
    the test item, ties broken by item index as in full ranking. A test item the user has
    already seen is excluded from the ranking, as in full ranking: it gets rank :data:`UNRANKED`
    (a miss at every cut-off).

    Args:
        model: A fitted recommender.
        users: Internal indices of the evaluated users.
        relevant: Test interactions of every user (duplicates count once).
        history: What the model reads at test time; its items are never negatives.
        exclude: Further seen interactions that are never negatives.
        n_negatives: Negatives per test item.
        rng: Source of the sampling.
        batch_size: Users scored at once (and test items sampled at once).

    Returns:
        ``(pair_users, ranks)``: the user of each pair (internal index) and the test item's rank.
    """
    rel = relevant_matrix(relevant, users)
    seen = history.csr(binary=True)
    for h in exclude:
        seen = seen + h.csr(binary=True)
    seen = sp.csr_matrix(seen[users])
    forbidden_all = sp.csr_matrix(seen + rel)
    n_items = model.n_items
    n_draw = min(n_negatives, n_items)
    pair_users: list[np.ndarray] = []
    ranks: list[np.ndarray] = []
    for start in range(0, len(users), batch_size):
        stop = min(start + batch_size, len(users))
        scores = model.score_users(
            users[start:stop], history=history, batch_size=batch_size
        ).numpy()
        forbidden = forbidden_all[start:stop].toarray() > 0
        seen_block = seen[start:stop].toarray() > 0
        block = rel[start:stop]
        rows = np.repeat(np.arange(stop - start), np.diff(block.indptr))
        targets = block.indices.astype(np.int64)
        for lo in range(0, len(rows), batch_size):
            r, t = rows[lo : lo + batch_size], targets[lo : lo + batch_size]
            keys = rng.random((len(r), n_items), dtype=np.float32)
            keys[forbidden[r]] = np.inf
            if n_draw < n_items:
                negatives = np.argpartition(keys, n_draw - 1, axis=1)[:, :n_draw]
            else:
                negatives = np.broadcast_to(np.arange(n_items), keys.shape)
            allowed = np.isfinite(np.take_along_axis(keys, negatives, axis=1))
            s_neg = scores[r[:, None], negatives]
            s_target = scores[r, t][:, None]
            ahead = (s_neg > s_target) | ((s_neg == s_target) & (negatives < t[:, None]))
            rank = (ahead & allowed).sum(axis=1)
            ranks.append(np.where(seen_block[r, t], UNRANKED, rank))
            pair_users.append(users[start + r])
    if not ranks:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(pair_users), np.concatenate(ranks).astype(np.int64)


def sampled_metrics(
    pair_users: np.ndarray, ranks: np.ndarray, *, ks: Sequence[int]
) -> pd.DataFrame:
    """Per-user accuracy metrics from the ranks of :func:`sampled_ranks`.

    Each test item is its own ranking with one relevant item; a user's value is the mean over
    their test items.

    Returns:
        Column ``user`` (internal index, ascending) then the columns of
        :func:`~equirec.evaluation.metrics.accuracy_metrics`.
    """
    top = max(ks)
    hits = np.arange(top)[None, :] == np.asarray(ranks)[:, None]
    per_item = accuracy_metrics(hits, np.ones(len(ranks)), ks=ks)
    per_item.insert(0, "user", np.asarray(pair_users, dtype=np.int64))
    return per_item.groupby("user", sort=True).mean().reset_index()
