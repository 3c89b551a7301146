"""Where one item ranks in re-scored lists, as the model's own ranking would place it.

Explanations re-score a user's history with items removed and ask where the explained item
lands. The ranking rule is the one :meth:`~equirec.models.base.Recommender.topk` uses: higher
scores first, equal scores by item index, excluded (seen) items left out.
"""

from __future__ import annotations

import numpy as np

__all__ = ["margins", "ranks"]


def _others(n_items: int, item: int, excluded: np.ndarray) -> np.ndarray:
    """Mask of the items that compete with ``item``: not excluded, not ``item`` itself."""
    mask = np.ones(n_items, dtype=bool)
    mask[np.asarray(excluded, dtype=np.int64)] = False
    mask[item] = False
    return mask


def ranks(scores: np.ndarray, item: int, excluded: np.ndarray) -> np.ndarray:
    """0-based rank of ``item`` in every row of ``scores`` ``(V, n_items)`` among the items not
    in ``excluded`` (``item`` itself always competes): 0 is the top of the list."""
    scores = np.asarray(scores)
    own = scores[:, item : item + 1]
    ahead = (scores > own) | ((scores == own) & (np.arange(scores.shape[1]) < item))
    return (ahead & _others(scores.shape[1], item, excluded)).sum(axis=1)


def margins(scores: np.ndarray, item: int, excluded: np.ndarray, *, k: int) -> np.ndarray:
    """``item``'s score minus the ``k``-th best competing score, per row: negative once
    ``item`` has left the top ``k`` (up to ties, which :func:`ranks` settles); what a search
    for a counterfactual lowers."""
    scores = np.asarray(scores, dtype=np.float64)
    competing = np.where(_others(scores.shape[1], item, excluded), scores, -np.inf)
    k = min(k, competing.shape[1])
    kth = -np.partition(-competing, k - 1, axis=1)[:, k - 1]
    return scores[:, item] - kth
