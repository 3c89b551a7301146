"""Whether re-ranked lists keep their re-ranker's guarantee, list by list, and why not.

FA*IR and DetConstSort promise a minimum count of some items in every prefix of their output;
they can keep it only when a list's candidates hold enough of those items. Their
:meth:`~equirec.mitigation.rerank.base.Reranker.check_guarantee` reads the output lists (not how
they were built) and returns a :class:`GuaranteeCheck`: per list whether every prefix meets its
minimum, by how much it falls short, and, for a list that does not, why (which items its
candidates lack). :func:`prefix_check` is the kernel both use.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["GuaranteeCheck", "prefix_check"]


@dataclass(frozen=True, eq=False)
class GuaranteeCheck:
    """Per list, whether a re-ranker's output keeps its guarantee.

    Attributes:
        guarantee: The guarantee in words, e.g. ``"every prefix of length i holds at least m(i)
            protected items (FA*IR, p = 0.5, alpha = 0.1)"``.
        met: ``(n_lists,)`` bool: every prefix of the list meets its minimum.
        shortfall: ``(n_lists,)`` int64: the most items missing from any prefix (0 where met).
        feasible: ``(n_lists,)`` bool: the list's candidates hold enough items to meet the
            guarantee at all; where not, only deeper candidates can help.
        reasons: One string per list: ``""`` where met, otherwise why, e.g. ``"only 3 protected
            items among its 100 candidates; the top 10 needs 4"`` (``"among all 1,582 unseen
            items"`` where the candidates were every item the user could be recommended).
    """

    guarantee: str
    met: np.ndarray
    shortfall: np.ndarray
    feasible: np.ndarray
    reasons: tuple[str, ...]

    @property
    def n_lists(self) -> int:
        """Number of lists checked."""
        return int(self.met.shape[0])

    @property
    def n_met(self) -> int:
        """Number of lists that keep the guarantee."""
        return int(self.met.sum())

    def __repr__(self) -> str:
        return f"GuaranteeCheck({self.n_met} of {self.n_lists} lists met: {self.guarantee})"


def prefix_check(
    guarantee: str,
    *,
    lists: np.ndarray,
    candidates: np.ndarray,
    codes: np.ndarray,
    minimum: np.ndarray,
    names: Sequence[str],
    k: int,
    exhaustive: np.ndarray | bool | None = None,
) -> GuaranteeCheck:
    """Check minimum counts per prefix and per group on every list.

    Args:
        guarantee: The guarantee in words (copied into the result).
        lists: ``(n_lists, k')`` output item indices, ``-1`` padding (at the end).
        candidates: ``(n_lists, N)`` the candidate item indices the lists were chosen from,
            ``-1`` padding; only which items they hold matters, not their order.
        codes: ``(n_items, G)`` bool: which of the ``G`` constrained groups every item counts for.
        minimum: ``(k, G)`` int: the least number of items of each group a prefix of length
            ``i + 1`` must hold.
        names: Per group, how a reason calls its items (``"protected"``, ``"tail"``...).
        k: The wanted list length; a list shorter than ``k`` (fewer candidates) is checked on the
            prefixes it has.
        exhaustive: Per list (or for all), whether the candidates are every item the user could
            be recommended (the reason then says "among all N unseen items").

    Returns:
        The :class:`GuaranteeCheck`.
    """
    lists = np.asarray(lists, dtype=np.int64)
    candidates = np.asarray(candidates, dtype=np.int64)
    codes = np.asarray(codes, dtype=bool)
    minimum = np.asarray(minimum, dtype=np.int64)
    n = lists.shape[0]
    width = min(lists.shape[1], k)
    out = lists[:, :width]
    placed = out >= 0
    # (n, width, G): how many items of every group each prefix holds.
    member = codes[np.where(placed, out, 0)] & placed[:, :, None]
    held = np.cumsum(member, axis=1)
    need = minimum[None, :width, :]
    deficit = np.where(placed[:, :, None], need - held, 0)
    shortfall = np.maximum(deficit.max(axis=(1, 2), initial=0), 0).astype(np.int64)
    met = shortfall == 0
    valid = candidates >= 0
    available = (codes[np.where(valid, candidates, 0)] & valid[:, :, None]).sum(axis=1)  # (n, G)
    length = np.minimum(valid.sum(axis=1), k)
    required = np.where(
        length[:, None] > 0, minimum[np.maximum(length - 1, 0)], 0
    )  # (n, G): what the whole list needs
    feasible = (available >= required).all(axis=1)
    if exhaustive is None or isinstance(exhaustive, bool):
        every = np.full(n, bool(exhaustive))
    else:
        every = np.asarray(exhaustive, dtype=bool)
    n_candidates = valid.sum(axis=1)
    reasons: list[str] = []
    for r in range(n):
        if met[r]:
            reasons.append("")
            continue
        pool = (
            f"among all {n_candidates[r]:,} unseen items"
            if every[r]
            else f"among its {n_candidates[r]:,} candidates"
        )
        lacking = [
            f"only {available[r, g]} {names[g]} item{'s' if available[r, g] != 1 else ''} "
            f"{pool}; the top {length[r]} needs {required[r, g]}"
            for g in range(codes.shape[1])
            if available[r, g] < required[r, g]
        ]
        if not lacking:  # enough candidates, but the list itself misses a prefix minimum
            # The first prefix (and group) that falls short.
            i, g = (int(v) for v in np.argwhere(deficit[r] > 0)[0])
            lacking = [
                f"its top {i + 1} holds {held[r, i, g]} {names[g]} items, fewer than the "
                f"{minimum[i, g]} required"
            ]
        reasons.append("; ".join(lacking))
    return GuaranteeCheck(
        guarantee=guarantee, met=met, shortfall=shortfall, feasible=feasible, reasons=tuple(reasons)
    )
