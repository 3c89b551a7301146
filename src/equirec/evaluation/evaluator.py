"""Full-ranking evaluation of a fitted recommender on held-out interactions."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch

from equirec.data.dataset import Dataset
from equirec.data.history import History
from equirec.errors import EquirecError
from equirec.evaluation.metrics import (
    accuracy_metrics,
    catalogue_metrics,
    hit_matrix,
    popularity_metrics,
)
from equirec.models.base import Recommender


@dataclass
class EvaluationResult:
    """Per-user metric values, their means, catalogue-level metrics and the ranked lists.

    Attributes:
        overall: Mean of every per-user metric plus coverage, Gini and entropy at each k.
        per_user: One row per evaluated user: ``user`` (original id) and one column per metric.
        recommendations: ``user, rank, item, score`` of the top ``keep_k`` of each evaluated user.
        params: How the evaluation was done (cut-offs, protocol, exclusions).
    """

    overall: dict[str, float]
    per_user: pd.DataFrame
    recommendations: pd.DataFrame
    params: dict[str, Any] = field(default_factory=dict)


def evaluate(
    model: Recommender,
    *,
    test: Dataset,
    history: History | None = None,
    exclude: Sequence[History] = (),
    ks: Sequence[int] = (5, 10, 20),
    keep_k: int = 100,
    popularity: np.ndarray | None = None,
    batch_size: int = 256,
    sampled_negatives: int | None = None,
    seed: int = 0,
) -> EvaluationResult:
    """Rank the whole catalogue for every user with test interactions and score the lists.

    Items of ``history`` and ``exclude`` are removed from each ranking (seen items excluded).
    Users without test interactions are not evaluated.

    Args:
        model: A fitted recommender.
        test: Held-out interactions (same vocabularies as the training data).
        history: What the model knows at test time (default: its training data).
        exclude: Further interactions to remove from the rankings (e.g. validation items when
            ``history`` is the training data only).
        ks: Cut-offs of every metric.
        keep_k: Length of the returned lists (kept for re-ranking); at least ``max(ks)``.
        popularity: Training popularity per item for ARP and novelty (default: interaction
            counts of the model's training data).
        batch_size: Users scored at once.
        sampled_negatives: Opt-in sampled evaluation: rank each test item against this many
            uniformly drawn unseen items instead of the whole catalogue. Not comparable with
            full-ranking numbers (Krichene & Rendle, KDD 2020); a warning says so.
        seed: Seeds the negative sampling.

    Returns:
        An :class:`EvaluationResult`.
    """
    model._check_fitted()
    if not test.item_ids.equals(model.item_ids_) or not test.user_ids.equals(model.user_ids_):
        raise EquirecError(
            "the test data must share the model's vocabularies (use the split of the dataset "
            "the model was trained on)"
        )
    ks = sorted({int(k) for k in ks})
    if not ks or ks[0] < 1:
        raise EquirecError(f"ks must be positive integers, got {list(ks)}")
    if keep_k < ks[-1]:
        raise EquirecError(f"keep_k ({keep_k}) must be at least the largest k ({ks[-1]})")
    history = model.history_ if history is None else history
    popularity = model.history_.item_counts() if popularity is None else popularity
    relevant = test.history()
    users = np.flatnonzero(relevant.lengths() > 0)
    if len(users) == 0:
        raise EquirecError(f"the test data {test.name!r} has no interactions to evaluate")

    params: dict[str, Any] = {
        "ks": ks,
        "keep_k": keep_k,
        "exclude_seen": True,
        "protocol": "full ranking",
        "users": len(users),
    }
    if sampled_negatives is not None:
        return _sampled(
            model,
            users,
            relevant,
            history,
            exclude,
            ks,
            sampled_negatives,
            seed,
            batch_size,
            params,
        )

    top_items, top_scores = model.topk(
        users,
        k=max(keep_k, ks[-1]),
        history=history,
        exclude=exclude,
        exclude_seen=True,
        batch_size=batch_size,
    )
    n_relevant = _unique_counts(relevant, users)
    hits = hit_matrix(top_items[:, : ks[-1]], relevant, users)
    per_user = accuracy_metrics(hits, n_relevant, ks=ks)
    per_user = pd.concat(
        [
            per_user,
            popularity_metrics(
                top_items[:, : ks[-1]], popularity=popularity, n_users=len(model.user_ids_), ks=ks
            ),
        ],
        axis=1,
    )
    per_user.insert(0, "user", model.user_ids_[users].to_numpy())
    overall = {c: float(per_user[c].mean()) for c in per_user.columns if c != "user"}
    overall.update(catalogue_metrics(top_items, n_items=model.n_items, ks=ks))
    return EvaluationResult(
        overall=overall,
        per_user=per_user,
        recommendations=model.lists_frame(users, top_items[:, :keep_k], top_scores[:, :keep_k]),
        params=params,
    )


def _unique_counts(relevant: History, users: np.ndarray) -> np.ndarray:
    return np.diff(relevant.csr(binary=True)[users].indptr)


def _sampled(
    model: Recommender,
    users: np.ndarray,
    relevant: History,
    history: History,
    exclude: Sequence[History],
    ks: list[int],
    n_negatives: int,
    seed: int,
    batch_size: int,
    params: dict[str, Any],
) -> EvaluationResult:
    """Rank each test item among ``n_negatives`` sampled unseen items (opt-in, warned)."""
    warnings.warn(
        f"sampled evaluation ({n_negatives} negatives) is not comparable with full-ranking "
        "metrics and can reverse model comparisons (Krichene & Rendle, KDD 2020); use it only "
        "to reproduce older papers",
        UserWarning,
        stacklevel=3,
    )
    rng = np.random.default_rng(seed)
    seen = history.csr()
    for h in exclude:
        seen = seen + h.csr()
    rel = relevant.csr()
    rows = []
    for start in range(0, len(users), batch_size):
        batch = users[start : start + batch_size]
        with torch.no_grad():
            scores = model.score_users(batch, history=history).numpy()
        for row, u in enumerate(batch):
            targets = rel[u].indices
            forbidden = np.union1d(seen[u].indices, targets)
            pool = np.setdiff1d(np.arange(model.n_items), forbidden)
            negatives = rng.choice(pool, size=min(n_negatives, len(pool)), replace=False)
            for t in targets:
                rank = int((scores[row, negatives] > scores[row, t]).sum())
                rows.append((u, rank))
    frame = pd.DataFrame(rows, columns=["u", "rank"])
    hits = np.zeros((len(frame), ks[-1]), dtype=bool)
    inside = frame["rank"].to_numpy() < ks[-1]
    hits[np.flatnonzero(inside), frame["rank"].to_numpy()[inside]] = True
    per_target = accuracy_metrics(hits, np.ones(len(frame)), ks=ks)
    per_target.insert(0, "u", frame["u"].to_numpy())
    per_user = per_target.groupby("u", sort=True).mean().reset_index()
    per_user.insert(0, "user", model.user_ids_[per_user.pop("u").to_numpy()].to_numpy())
    overall = {c: float(per_user[c].mean()) for c in per_user.columns if c != "user"}
    params.update({"protocol": f"sampled: {n_negatives} uniform unseen negatives per test item"})
    empty = pd.DataFrame(columns=["user", "rank", "item", "score"])
    return EvaluationResult(
        overall=overall, per_user=per_user, recommendations=empty, params=params
    )
