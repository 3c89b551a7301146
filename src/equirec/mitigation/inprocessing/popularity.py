"""Popularity penalty: the exposure penalty with head vs long-tail items as the two groups."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from equirec.data.dataset import Dataset
from equirec.fairness.groups import Groups
from equirec.fairness.item_metrics import head_items
from equirec.mitigation.inprocessing.exposure import ExposurePenalty

__all__ = ["PopularityPenalty"]


class PopularityPenalty(ExposurePenalty):
    """:class:`ExposurePenalty` with head (short-head) vs long-tail items as the two groups.

    The head is computed by :func:`~equirec.fairness.item_metrics.head_items` from the training
    popularity, with the audit's defaults: the most popular items holding 80% of the training
    interactions (``head="share"``), or the ``cutoff`` most popular share of items
    (``head="top"``, e.g. 0.2 as in CPFair). Group 0 is ``head``, group 1 ``tail``; the term is
    ``λ · (r_head − r_tail)²`` (see :class:`ExposurePenalty`).

    Args:
        popularity: ``(n_items,)`` training interaction count of every catalogue item.
        lam: Weight ``λ >= 0``.
        head: How the head is cut: ``"share"`` (the items holding ``cutoff`` of the
            interactions) or ``"top"`` (the ``cutoff`` most popular share of items).
        cutoff: Share of interactions (``"share"``) or of items (``"top"``), in ``(0, 1)``.
        temperature: Softmax temperature ``τ > 0``.
        max_users: Distinct users of a batch used (``None`` = all).

    Raises:
        ConfigError: A bad parameter, or a head or tail that is empty.
    """

    def __init__(
        self,
        popularity: np.ndarray,
        *,
        lam: float = 1.0,
        head: Literal["share", "top"] = "share",
        cutoff: float = 0.8,
        temperature: float = 1.0,
        max_users: int | None = 256,
    ) -> None:
        mask = head_items(np.asarray(popularity), method=head, cutoff=cutoff)
        groups = Groups("popularity", np.where(mask, 0, 1).astype(np.int64), ("head", "tail"))
        super().__init__(groups, lam=lam, temperature=temperature, max_users=max_users)
        self.head_mask: np.ndarray = mask
        """``True`` for the head items."""

    @classmethod
    def from_dataset(cls, dataset: Dataset, **params: Any) -> PopularityPenalty:
        """Head and tail from the item counts of ``dataset`` (pass the training data only).

        Args:
            dataset: The training data.
            **params: The constructor's keyword parameters (``lam``, ``head``...).
        """
        return cls(dataset.history().item_counts(), **params)
