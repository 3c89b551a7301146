"""Candidate lists: the input of every re-ranker, as :class:`~equirec.data.lists.RankedLists`.

A re-ranker reads every user's top-N candidate list from a model (best first, internal item
indices, ``-1`` padding) as the one list type of equirec, :class:`~equirec.data.lists.RankedLists`
(``Candidates`` here); :func:`minmax_per_list` and :func:`relative_softmax_per_list` turn its
scores into per-list relevance; :func:`candidates_from_frame` and :func:`lists_to_frame` convert
from and to the ``user, rank, item, score`` frames of
:meth:`equirec.models.base.Recommender.recommend`. Everything here is re-exported by
:mod:`equirec.mitigation.rerank.base`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from equirec.data.lists import RankedLists

__all__ = [
    "Candidates",
    "candidates_from_frame",
    "lists_to_frame",
    "minmax_per_list",
    "relative_softmax_per_list",
]

Candidates = RankedLists
"""What a re-ranker reads and chooses from: :class:`~equirec.data.lists.RankedLists`."""


def minmax_per_list(candidates: RankedLists) -> np.ndarray:
    """Scores min-max normalised to ``[0, 1]`` within every list (over its real candidates).

    A list whose real candidates all have the same score gets 1.0 for every one of them; padding
    stays NaN.
    """
    scores = candidates.scores
    valid = candidates.valid
    lo = np.min(np.where(valid, scores, np.inf), axis=1, initial=np.inf, keepdims=True)
    hi = np.max(np.where(valid, scores, -np.inf), axis=1, initial=-np.inf, keepdims=True)
    span = hi - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(span > 0, (scores - lo) / np.where(span > 0, span, 1.0), 1.0)
    return np.where(valid, out, np.nan)


def relative_softmax_per_list(candidates: RankedLists) -> np.ndarray:
    """``exp(score − best score)`` within every list: the softmax probability over the list's
    real candidates divided by the best one's, in ``(0, 1]`` (padding stays NaN)."""
    valid = candidates.valid
    top = np.max(
        np.where(valid, candidates.scores, -np.inf), axis=1, keepdims=True, initial=-np.inf
    )
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(invalid="ignore", over="ignore"):
        out = np.exp(np.where(valid, candidates.scores - top, 0.0))
    return np.where(valid, out, np.nan)


def candidates_from_frame(
    recommendations: pd.DataFrame, *, user_ids: pd.Index, item_ids: pd.Index
) -> RankedLists:
    """Candidates from a ``user, rank, item, score`` frame (see :meth:`RankedLists.from_frame`)."""
    return RankedLists.from_frame(recommendations, user_ids=user_ids, item_ids=item_ids)


def lists_to_frame(
    lists: np.ndarray,
    candidates: RankedLists,
    *,
    user_ids: pd.Index,
    item_ids: pd.Index,
) -> pd.DataFrame:
    """Re-ranked lists back to a ``user, rank, item, score`` frame in original ids.

    Args:
        lists: ``(n_lists, k)`` item indices returned by a re-ranker (``-1`` padding is dropped).
        candidates: The candidates the lists were chosen from; gives the users and the (model)
            scores.
        user_ids: The user vocabulary (position = internal user index).
        item_ids: The item vocabulary (position = internal item index).

    Returns:
        Columns ``user``, ``rank`` (1-based position in the re-ranked list), ``item``, ``score``
        (the model score of the item), lists in the order of ``candidates``.
    """
    chosen = candidates.select(lists)
    return RankedLists(
        items=chosen.items,
        scores=chosen.scores,
        users=chosen.users,
        user_ids=user_ids,
        item_ids=item_ids,
    ).to_frame()
