"""Counterfactual explanations: the fewest past items whose removal takes an item out of the list.

Every candidate is checked exactly, by re-scoring the history without it (forward passes only),
so a returned explanation is *valid* by construction when :attr:`Counterfactual.valid` says so.
The search is a beam search over removal sets: the first step tries every single past item (which
is also the leave-one-out effect of each), later steps grow the best ``beam`` sets by one of the
``pool`` items whose single removal lowered the item's margin most.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from equirec.errors import ConfigError
from equirec.explain.ranking import margins, ranks

__all__ = ["Counterfactual", "HistoryScorer", "counterfactual", "leave_one_out"]

HistoryScorer = Callable[[Sequence[np.ndarray]], np.ndarray]
"""Histories (internal item indices, chronological) -> scores ``(len(histories), n_items)``."""


@dataclass(frozen=True)
class Counterfactual:
    """The result of a counterfactual search for one recommended item.

    Attributes:
        positions: Positions in the history (0 = oldest) of the removed items, ascending.
        valid: Whether removing them really takes the item out of the top ``k``.
        rank_before: The item's 0-based rank with the whole history.
        rank_after: Its rank with the items removed (``>= k`` when valid).
        score_before: Its score with the whole history.
        score_after: Its score with the items removed.
        effects: Leave-one-out effect of every past item: the drop of the item's score when
            that item alone is removed (``(len(history),)``).
        scored: Histories re-scored by the search.
    """

    positions: tuple[int, ...]
    valid: bool
    rank_before: int
    rank_after: int
    score_before: float
    score_after: float
    effects: np.ndarray
    scored: int


def _without(history: np.ndarray, removed: Sequence[int]) -> np.ndarray:
    keep = np.ones(len(history), dtype=bool)
    keep[list(removed)] = False
    return history[keep]


def leave_one_out(
    scorer: HistoryScorer, history: np.ndarray, item: int, *, window: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The item's score drop when each past item alone is removed, and the re-scored lists.

    Args:
        scorer: Scores histories as the model does.
        history: The user's history (internal item indices, chronological).
        item: The item whose score is followed.
        window: The model reads only the last ``window`` items (a sequence model's input):
            removing an older one leaves what it reads unchanged, so it is not re-scored (its
            effect is exactly 0 and its lists are the whole history's).

    Returns:
        ``(effects, scores)``: ``(len(history),)`` drops and ``(1 + len(history), n_items)``
        scores, the whole history's first.
    """
    history = np.asarray(history, dtype=np.int64)
    start = 0 if window is None else max(len(history) - int(window), 0)
    variants = [history] + [_without(history, [p]) for p in range(start, len(history))]
    scored = np.asarray(scorer(variants), dtype=np.float64)
    scores = np.concatenate([np.repeat(scored[:1], start + 1, axis=0), scored[1:]])
    return scores[0, item] - scores[1:, item], scores


def counterfactual(
    scorer: HistoryScorer,
    history: np.ndarray,
    item: int,
    *,
    k: int,
    excluded: np.ndarray,
    max_size: int = 10,
    beam: int = 4,
    pool: int = 20,
    window: int | None = None,
) -> Counterfactual:
    """The smallest set of past items found whose removal takes ``item`` out of the top ``k``.

    Args:
        scorer: Scores histories as the model does (``Recommender.score_histories``).
        history: The user's history (internal item indices, chronological).
        item: The recommended item to explain (internal index).
        k: The list length.
        excluded: Items kept out of every ranking: the whole original history, so that a
            removed item cannot re-enter the list and push ``item`` out by itself.
        max_size: The largest removal set tried.
        beam: Removal sets kept from one size to the next.
        pool: Past items (those whose single removal lowers the margin most) that later steps
            add from.
        window: The model reads only the last ``window`` items (see :func:`leave_one_out`).

    Raises:
        ConfigError: An empty history, or a bad ``k``, ``max_size``, ``beam`` or ``pool``.
    """
    history = np.asarray(history, dtype=np.int64)
    if not len(history):
        raise ConfigError("an empty history has nothing to explain a recommendation by")
    for name, value in (("k", k), ("max_size", max_size), ("beam", beam), ("pool", pool)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"counterfactual: {name} must be a positive integer, not {value!r}")
    effects, scores = leave_one_out(scorer, history, item, window=window)
    rank0 = int(ranks(scores[:1], item, excluded)[0])
    scored = 1 + min(len(history), len(history) if window is None else int(window))

    def result(removed: tuple[int, ...], row: np.ndarray, rank: int) -> Counterfactual:
        return Counterfactual(
            positions=tuple(sorted(removed)),
            valid=rank >= k and rank0 < k,
            rank_before=rank0,
            rank_after=rank,
            score_before=float(scores[0, item]),
            score_after=float(row[item]),
            effects=effects,
            scored=scored,
        )

    singles = scores[1:]
    margin = margins(singles, item, excluded, k=k)
    rank = ranks(singles, item, excluded)
    if rank0 >= k:  # not in the list: nothing to take out
        return result((), scores[0], rank0)
    # lowest margin first, among the items the model reads (older ones change nothing alone)
    order = np.lexsort((np.arange(len(margin)), margin))
    if window is not None:
        order = order[order >= len(history) - int(window)]
    if rank[order[0]] >= k or len(history) == 1 or max_size == 1:
        best = int(order[0])
        return result((best,), singles[best], int(rank[best]))
    candidates = [int(p) for p in order[:pool]]
    beams: list[tuple[int, ...]] = [(int(p),) for p in order[:beam]]
    best_set, best_row, best_rank = beams[0], singles[order[0]], int(rank[order[0]])
    for _size in range(2, min(max_size, len(history)) + 1):
        grown = sorted({tuple(sorted((*s, p))) for s in beams for p in candidates if p not in s})
        if not grown:
            break
        sets_scores = np.asarray(scorer([_without(history, s) for s in grown]), dtype=np.float64)
        scored += len(grown)
        margin = margins(sets_scores, item, excluded, k=k)
        rank = ranks(sets_scores, item, excluded)
        order = np.lexsort((np.arange(len(margin)), margin))
        valid = [int(i) for i in order if rank[i] >= k]
        if valid:
            i = valid[0]
            return result(grown[i], sets_scores[i], int(rank[i]))
        beams = [grown[int(i)] for i in order[:beam]]
        best_set, best_row, best_rank = beams[0], sets_scores[order[0]], int(rank[order[0]])
    return result(best_set, best_row, best_rank)
