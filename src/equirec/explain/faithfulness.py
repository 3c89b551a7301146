"""How faithful explanations are: deletion curves and their summary.

A faithful attribution puts first the past items the model's score really rests on: removing
them, in that order, makes the recommended item's score and rank fall fastest (the deletion
metric of Petsiuk et al. 2018, on histories). Orders from attributions are compared with a
random order, which any useful attribution must beat.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from equirec.explain.counterfactual import HistoryScorer
from equirec.explain.ranking import ranks

__all__ = ["DeletionCurve", "deletion_curve", "deletion_summary", "order_by"]


@dataclass(frozen=True)
class DeletionCurve:
    """The explained item's score and rank as the first ``m`` past items of an order go.

    Attributes:
        scores: ``(steps + 1,)`` its score after ``m = 0 .. steps`` removals (the last value
            repeats once the history is used up).
        ranks: ``(steps + 1,)`` its 0-based rank, as the model ranks (excluded items left out).
    """

    scores: np.ndarray
    ranks: np.ndarray


def order_by(values: np.ndarray) -> np.ndarray:
    """Positions from the most to the least responsible (ties: the older first)."""
    values = np.asarray(values, dtype=np.float64)
    return np.lexsort((np.arange(len(values)), -values))


def deletion_curve(
    scorer: HistoryScorer,
    history: np.ndarray,
    item: int,
    order: Sequence[int] | np.ndarray,
    *,
    excluded: np.ndarray,
    steps: int = 10,
) -> DeletionCurve:
    """Re-score ``history`` without its first ``m`` positions in ``order``, ``m = 0..steps``.

    Args:
        scorer: Scores histories as the model does.
        history: The user's history (internal item indices, chronological).
        item: The explained item.
        order: History positions, the most responsible first.
        excluded: Items left out of every ranking (the original history's).
        steps: Removals to follow.
    """
    history = np.asarray(history, dtype=np.int64)
    order = np.asarray(order, dtype=np.int64)
    used = min(steps, len(order))
    variants = []
    for m in range(used + 1):
        keep = np.ones(len(history), dtype=bool)
        keep[order[:m]] = False
        variants.append(history[keep])
    scores = np.asarray(scorer(variants), dtype=np.float64)
    own = scores[:, item]
    rank = ranks(scores, item, excluded)
    pad = steps - used
    return DeletionCurve(
        scores=np.concatenate([own, np.repeat(own[-1:], pad)]),
        ranks=np.concatenate([rank, np.repeat(rank[-1:], pad)]),
    )


def deletion_summary(curves: Sequence[DeletionCurve], *, k: int) -> dict[str, list[float]]:
    """Per number of removals, over explanations: the share still in the top ``k``
    (``in_top_k``), the mean score drop from the whole history (``score_drop``), the median
    1-based rank (``median_rank``), and ``area``: the mean of ``in_top_k`` over 1..steps
    removals (lower = more faithful)."""
    scores = np.stack([c.scores for c in curves])
    rank = np.stack([c.ranks for c in curves])
    inside = (rank < k).mean(axis=0)
    return {
        "in_top_k": inside.tolist(),
        "score_drop": (scores[:, :1] - scores).mean(axis=0).tolist(),
        "median_rank": (np.median(rank, axis=0) + 1).tolist(),
        "area": [float(inside[1:].mean())],
    }
