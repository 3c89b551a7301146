"""Full-ranking evaluation of a fitted recommender on held-out interactions, per user kept.

Protocol: every user with test interactions gets one ranking of the whole catalogue, from which
the items they have already seen (``history`` and ``exclude``) are removed; the top of that
ranking is scored against their distinct test items. Users without test interactions are not
evaluated. Sampled evaluation exists only as an explicit, warned opt-in.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from equirec.data.dataset import Dataset
from equirec.data.history import History
from equirec.data.lists import RankedLists
from equirec.errors import EquirecError
from equirec.evaluation.beyond import catalogue_metrics, popularity_metrics
from equirec.evaluation.metrics import ranking_metrics, relevant_matrix
from equirec.evaluation.sampled import sampled_metrics, sampled_ranks
from equirec.evaluation.slices import slice_metrics
from equirec.models.base import Recommender

FULL_RANKING = "full ranking"


@dataclass
class EvaluationResult:
    """Per-user metric values, their means, catalogue-level metrics and the ranked lists.

    Attributes:
        overall: Mean over evaluated users of every per-user metric, plus ``coverage@k``,
            ``gini@k`` and ``entropy@k`` of the lists (full ranking only).
        per_user: One row per evaluated user: ``user`` (original id), then ``ndcg@k``,
            ``recall@k``, ``hit@k``, ``precision@k``, ``mrr@k``, ``map@k``, ``arp@k`` and
            ``novelty@k`` (the last two with full ranking only) for every ``k``.
        recommendations: ``user, rank, item, score`` (original ids, 1-based rank) of the top
            ``keep_k`` of each evaluated user; empty with sampled evaluation.
        params: How the evaluation was done: ``ks``, ``keep_k``, ``exclude_seen``,
            ``protocol``, ``sampled_negatives``, ``seed``, ``novelty_smoothing``, ``popularity``,
            ``evaluated_users`` and ``unreachable_relevant`` (test items the user had already
            seen: excluded from the ranking, so always misses).
        slices: Metrics by slice of the test events (see
            :func:`~equirec.evaluation.slices.slice_metrics`): slice name -> ``events``,
            ``users`` and the mean of every accuracy metric; empty unless ``item_slices`` was
            given.
    """

    overall: dict[str, float]
    per_user: pd.DataFrame
    recommendations: pd.DataFrame
    params: dict[str, Any] = field(default_factory=dict)
    slices: dict[str, dict[str, Any]] = field(default_factory=dict)


def evaluate(
    model: Recommender,
    *,
    test: Dataset,
    history: History | None = None,
    exclude: Sequence[History] = (),
    ks: Sequence[int] = (5, 10, 20),
    keep_k: int = 100,
    popularity: np.ndarray | None = None,
    popularity_source: str | None = None,
    novelty_smoothing: float = 1.0,
    batch_size: int = 256,
    sampled_negatives: int | None = None,
    seed: int = 0,
    item_slices: Mapping[str, np.ndarray] | None = None,
    ranker: Callable[..., RankedLists] | None = None,
) -> EvaluationResult:
    """Rank the whole catalogue for every user with test interactions and score the lists.

    ``model.topk`` is called once, for the users with test interactions, with
    ``k = max(keep_k, max(ks))`` and ``exclude_seen=True``: the items of ``history`` and
    ``exclude`` never appear in the lists. A test item the user had already seen therefore
    always misses; it still counts in ``|T_u|`` (as in RecBole) and ``params`` reports how many.

    Args:
        model: A fitted recommender.
        test: Held-out interactions, with the model's vocabularies (a part of the same split).
        history: What the model knows at test time (default: its training data).
        exclude: Further interactions to remove from the rankings (e.g. validation items when
            ``history`` is the training data only).
        ks: Cut-offs of every metric.
        keep_k: Length of the returned lists (kept for re-ranking); at least ``max(ks)``.
        popularity: Popularity ``φ`` of every catalogue item, for ARP and novelty: interactions
            known before the test (default: ``model.history_.item_counts()``, the number of
            training interactions of each item; a run passes its known history's, the same
            the audit uses).
        popularity_source: What ``popularity`` counts, in words, recorded in ``params``
            (default: ``"training interactions"`` without ``popularity``, else ``"given"``).
        novelty_smoothing: Add-``s`` smoothing of novelty so that items without training
            interactions stay finite (see
            :func:`~equirec.evaluation.beyond.popularity_metrics`).
        batch_size: Users scored at once.
        sampled_negatives: Opt-in sampled evaluation: rank each test item against this many
            unseen items drawn uniformly (seeded by ``seed``) instead of the whole catalogue.
            Not comparable with full-ranking numbers (Krichene & Rendle, KDD 2020): a warning
            says so, and no lists or beyond-accuracy metrics are produced.
        seed: Seeds the negative sampling.
        ranker: Makes the lists in place of ``model.rank`` (same arguments), e.g. an
            :class:`~equirec.evaluation.retrieval.AnnRanker`.
        item_slices: Slices of the test events by their item (name -> boolean mask over the
            catalogue, e.g. :func:`~equirec.evaluation.slices.target_slices`), each scored on
            the same lists into :attr:`EvaluationResult.slices` (full ranking only).

    Returns:
        An :class:`EvaluationResult`.

    Raises:
        EquirecError: Mismatched vocabularies, bad cut-offs or popularity, no test interactions.
    """
    model._check_fitted()
    if not test.item_ids.equals(model.item_ids_) or not test.user_ids.equals(model.user_ids_):
        raise EquirecError(
            "the test data must share the model's vocabularies (use the split of the dataset "
            "the model was trained on)"
        )
    history = model.history_ if history is None else history
    for h in (history, *exclude):
        if h.n_users != len(model.user_ids_) or h.n_items != model.n_items:
            raise EquirecError(
                f"history/exclude has {h.n_users} users x {h.n_items} items but the model "
                f"has {len(model.user_ids_)} x {model.n_items}: use the model's vocabularies"
            )
    cutoffs = sorted({int(k) for k in ks})
    if not cutoffs or cutoffs[0] < 1:
        raise EquirecError(f"ks must be positive integers, got {list(ks)}")
    if keep_k < cutoffs[-1]:
        raise EquirecError(f"keep_k ({keep_k}) must be at least the largest k ({cutoffs[-1]})")
    if sampled_negatives is not None and sampled_negatives < 1:
        raise EquirecError(f"sampled_negatives must be positive, got {sampled_negatives}")
    if sampled_negatives is not None and item_slices:
        raise EquirecError("item_slices are scored on full rankings; not with sampled_negatives")
    pop = _popularity(model, popularity)
    if novelty_smoothing < 0:
        raise EquirecError(f"novelty_smoothing must be non-negative, got {novelty_smoothing}")
    relevant = test.history()
    users = np.flatnonzero(relevant.lengths() > 0)
    if len(users) == 0:
        raise EquirecError(f"the test data {test.name!r} has no interactions to evaluate")

    params: dict[str, Any] = {
        "ks": cutoffs,
        "keep_k": keep_k,
        "exclude_seen": True,
        "protocol": FULL_RANKING,
        "sampled_negatives": sampled_negatives,
        "seed": seed,
        "novelty_smoothing": novelty_smoothing,
        "popularity": popularity_source
        or ("training interactions" if popularity is None else "given"),
        "evaluated_users": len(users),
        "unreachable_relevant": _unreachable(relevant, users, history, exclude),
    }
    if sampled_negatives is not None:
        return _evaluate_sampled(
            model,
            users=users,
            relevant=relevant,
            history=history,
            exclude=exclude,
            ks=cutoffs,
            n_negatives=sampled_negatives,
            seed=seed,
            batch_size=batch_size,
            params=params,
        )

    lists = (model.rank if ranker is None else ranker)(
        users,
        k=keep_k,
        history=history,
        exclude=exclude,
        exclude_seen=True,
        batch_size=batch_size,
    )
    per_user, overall = score_lists(
        lists, relevant=relevant, popularity=pop, ks=cutoffs, novelty_smoothing=novelty_smoothing
    )
    slices = {}
    if item_slices:
        slices = slice_metrics(
            lists.items, relevant=relevant, users=lists.users, slices=item_slices, ks=cutoffs
        )
    return EvaluationResult(
        overall=overall,
        per_user=per_user,
        recommendations=lists.to_frame(),
        params=params,
        slices=slices,
    )


def score_lists(
    lists: RankedLists,
    *,
    relevant: History,
    popularity: np.ndarray,
    ks: Sequence[int],
    novelty_smoothing: float = 1.0,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Per-user and overall metrics of given top lists (a model's, or re-ranked ones).

    Args:
        lists: The lists (with their user vocabulary: ``per_user["user"]`` gets original ids).
        relevant: Held-out items of every user.
        popularity: Training popularity of every catalogue item (ARP, novelty).
        ks: Cut-offs.
        novelty_smoothing: See :func:`~equirec.evaluation.beyond.popularity_metrics`.

    Returns:
        ``per_user`` (one row per list, as :attr:`EvaluationResult.per_user`) and ``overall``
        (means plus coverage, Gini and entropy over the whole catalogue).
    """
    if lists.user_ids is None:
        raise EquirecError("score_lists needs lists with their user vocabulary (user_ids)")
    top_items, users, user_ids = lists.items, lists.users, lists.user_ids
    accuracy = ranking_metrics(top_items, relevant=relevant, users=users, ks=ks)
    bias = popularity_metrics(
        top_items,
        popularity=popularity,
        n_users=len(user_ids),
        ks=ks,
        smoothing=novelty_smoothing,
    )
    per_user = pd.concat([accuracy, bias], axis=1)
    per_user["user"] = user_ids[users].to_numpy()
    overall = _means(per_user)
    overall.update(catalogue_metrics(top_items, n_items=len(popularity), ks=ks))
    return per_user, overall


def _popularity(model: Recommender, popularity: np.ndarray | None) -> np.ndarray:
    if popularity is None:
        return model.history_.item_counts().astype(np.float64)
    pop = np.asarray(popularity, dtype=np.float64)
    if pop.shape != (model.n_items,):
        raise EquirecError(
            f"popularity must hold one value per catalogue item ({model.n_items}), "
            f"got shape {pop.shape}"
        )
    if not np.isfinite(pop).all() or (pop < 0).any():
        raise EquirecError("popularity must be finite and non-negative")
    return pop


def _unreachable(
    relevant: History, users: np.ndarray, history: History, exclude: Sequence[History]
) -> int:
    """Distinct (user, test item) pairs whose item the user has already seen."""
    rel = relevant_matrix(relevant, users)
    seen = history.csr(binary=True)[users]
    for h in exclude:
        seen = seen + h.csr(binary=True)[users]
    return int(rel.multiply(seen).count_nonzero())


def _means(per_user: pd.DataFrame) -> dict[str, float]:
    return {c: float(per_user[c].mean()) for c in per_user.columns if c != "user"}


def _evaluate_sampled(
    model: Recommender,
    *,
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
    warnings.warn(
        f"sampled evaluation ({n_negatives} negatives per test item) is not comparable with "
        "full-ranking metrics and can reverse model comparisons (Krichene & Rendle, KDD 2020); "
        "use it only to reproduce older papers",
        UserWarning,
        stacklevel=3,
    )
    pair_users, ranks = sampled_ranks(
        model,
        users=users,
        relevant=relevant,
        history=history,
        exclude=exclude,
        n_negatives=n_negatives,
        rng=np.random.default_rng(seed),
        batch_size=batch_size,
    )
    per_user = sampled_metrics(pair_users, ranks, ks=ks)
    per_user["user"] = model.user_ids_[per_user["user"].to_numpy()].to_numpy()
    params["protocol"] = f"sampled: {n_negatives} uniform unseen negatives per test item"
    return EvaluationResult(
        overall=_means(per_user),
        per_user=per_user,
        recommendations=pd.DataFrame(
            {
                "user": model.user_ids_[:0].to_numpy(),
                "rank": np.zeros(0, dtype=np.int64),
                "item": model.item_ids_[:0].to_numpy(),
                "score": np.zeros(0, dtype=np.float64),
            }
        ),
        params=params,
    )
