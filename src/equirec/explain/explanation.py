"""One recommendation explained by one method, in internal indices.

:func:`explain_item` runs the counterfactual search or an attribution
(:mod:`equirec.explain.attribution`) and keeps the past items it names; the run-folder layer
maps them to ids and titles, :mod:`equirec.explain.words` to a sentence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from equirec.errors import ConfigError
from equirec.explain.attribution import attribute, reads_last
from equirec.explain.counterfactual import Counterfactual, counterfactual
from equirec.explain.methods import METHODS
from equirec.explain.ranking import ranks

if TYPE_CHECKING:
    from equirec.models.base import Recommender

__all__ = ["ItemExplanation", "Reason", "default_method", "explain_item"]


@dataclass(frozen=True)
class Reason:
    """A past item named by an explanation.

    Attributes:
        position: Its position in the history (0 = oldest).
        item: Its internal index.
        effect: Its attribution (counterfactual: its leave-one-out score drop).
        removed: Whether it is in the counterfactual set.
    """

    position: int
    item: int
    effect: float
    removed: bool


@dataclass(frozen=True)
class ItemExplanation:
    """Why one item is in one user's list, by one method.

    Attributes:
        item: The explained item (internal index).
        rank: Its 0-based rank in the list.
        k: The list length.
        method: The method used.
        reasons: Past items named: the counterfactual set (``removed``), or the ``top`` most
            responsible by the attribution, most responsible first.
        counterfactual: The search's result (``method == "counterfactual"`` only).
        popular: The model ranks by popularity alone: no past item explains the item.
    """

    item: int
    rank: int
    k: int
    method: str
    reasons: tuple[Reason, ...]
    counterfactual: Counterfactual | None = None
    popular: bool = False


def default_method(model: Recommender) -> str:
    """``counterfactual`` for models that score from the history, ``model`` (their own
    decomposition) for the rest (BPR's nearest items, popularity)."""
    from equirec.models.sequential import SequentialRecommender

    if isinstance(model, SequentialRecommender):
        return "counterfactual"
    return "model"


def explain_item(
    model: Recommender,
    history: np.ndarray,
    item: int,
    *,
    k: int,
    excluded: np.ndarray,
    method: str,
    user: int | None = None,
    top: int = 5,
    max_size: int = 10,
    beam: int = 4,
    pool: int = 20,
    steps: int = 32,
) -> ItemExplanation:
    """Explain why ``item`` is in the top ``k`` of a user with ``history``.

    Args:
        model: A fitted recommender.
        history: The user's history (internal item indices, chronological).
        item: The recommended item (internal index).
        k: The list length.
        excluded: Items left out of the ranking (the history's, and any the run left out).
        method: One of :data:`METHODS`.
        user: The known user (internal index), for what the model learned besides the history.
        top: Past items an attribution names.
        max_size, beam, pool: The counterfactual search's (see
            :func:`~equirec.explain.counterfactual.counterfactual`).
        steps: Integral steps of ``ig``.

    Raises:
        ConfigError: An unknown method or one the model does not support, or an empty history
            for a method that reads it.
    """
    if method not in METHODS:
        raise ConfigError(f"unknown explanation method {method!r}; choose one of {METHODS}")
    history = np.asarray(history, dtype=np.int64)
    if model.name == "pop":
        if method not in ("model", "counterfactual", "loo"):
            raise ConfigError(f"pop reads no history: method {method!r} does not apply")
        scores = model.score_histories([history], user=user).numpy()
        rank = int(ranks(scores, item, excluded)[0])
        return ItemExplanation(item, rank, k, "model", (), popular=True)
    if not len(history):
        raise ConfigError(
            "the user has no history to explain a recommendation by (a new user is ranked by "
            "popularity)"
        )
    if method == "counterfactual":
        found = counterfactual(
            lambda hs: model.score_histories(hs, user=user).numpy(),
            history,
            item,
            k=k,
            excluded=excluded,
            max_size=max_size,
            beam=beam,
            pool=pool,
            window=reads_last(model),
        )
        reasons = tuple(
            Reason(p, int(history[p]), float(found.effects[p]), True)
            for p in sorted(found.positions, key=lambda p: -found.effects[p])
        )
        return ItemExplanation(item, found.rank_before, k, method, reasons, found)
    values = attribute(model, history, item, method=method, user=user, steps=steps)
    order = np.lexsort((np.arange(len(values)), -values))[:top]
    reasons = tuple(Reason(int(p), int(history[p]), float(values[p]), False) for p in order)
    if model.scores_from_history:
        rank = int(ranks(model.score_histories([history], user=user).numpy(), item, excluded)[0])
    else:
        rank = _rank_of_known(model, user, item, excluded)
    return ItemExplanation(item, rank, k, method, reasons)


def _rank_of_known(model: Recommender, user: int | None, item: int, excluded: np.ndarray) -> int:
    """The item's rank for a model that scores the known user by their learned vector."""
    if user is None:
        raise ConfigError(f"{model.name} can explain known users only")
    scores = model.score_users(np.array([user], dtype=np.int64)).numpy()
    return int(ranks(scores, item, excluded)[0])
