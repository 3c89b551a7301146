"""DetConstSort: re-ranking to a target group distribution (Geyik et al., KDD 2019, Algorithm 4).

For a target distribution ``p_g`` over item groups, DetConstSort builds a list in which every
prefix of length ``k' <= k`` holds at least ``floor(p_g · k')`` items of every group ``g``. It walks
``k' = 1, 2, ...``; whenever the minimum count of some groups rises, it takes the next (best
remaining) item of each such group, in decreasing order of quality, appends it to the list with a
"max index" ``k'`` (the last position it may occupy) and then swaps it upwards past every
worse item whose own max index still allows it to move one position down. The walk stops once
``k`` items are placed (several may be placed at the last step; the list is cut to ``k``).

Implementation notes:

* Quality order is the candidate order (best first: model-score order for a model's top-N, ties
  in candidate order). The algorithm only ever *compares* scores, so this gives the paper's result
  for score-sorted candidates and also respects an earlier re-ranker's order in a
  :class:`~equirec.mitigation.rerank.base.Pipeline`.
* The pseudocode's swap test ``maxIndices[start-1] >= start`` is read with 1-based positions: the
  item at position ``start`` (1-based) may move to ``start + 1`` only if its max index is at least
  ``start + 1``. Read literally with 0-based arrays the test would let an item slip one position
  past its max index and break the prefix minimums the algorithm is built to guarantee.
* Items whose group is ``-1`` (no group), or whose group has no (or a zero) target proportion, are
  never placed by the walk, exactly like a group with ``p_g = 0`` in the paper. When a group runs
  out of candidates its minimum is skipped (and that list cannot meet it); if the targeted groups
  together have fewer than ``k`` candidates the remaining positions are filled with the other
  candidates in quality order, so every list is as long as its candidates allow.
  :meth:`DetConstSort.check_guarantee` (``guarantee_`` after :meth:`DetConstSort.rerank`) says
  which lists miss a prefix minimum and which group's candidates ran out; the workflows re-rank
  those lists from deeper candidates of the saved model.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from equirec.errors import ConfigError
from equirec.mitigation.rerank.base import Candidates, Reranker, check_k
from equirec.mitigation.rerank.guarantee import GuaranteeCheck, prefix_check

__all__ = ["DetConstSort"]

_EPS = 1e-9


class DetConstSort(Reranker):
    """DetConstSort re-ranking of every candidate list to a target group distribution.

    Args:
        item_groups: ``(n_items,)`` int group code of every item index; ``-1`` = no group.
        target: Target proportion per group code: a mapping ``{code: proportion}`` or an array
            (or sequence) whose entry ``g`` is the proportion of group ``g``. Non-negative,
            summing to 1 (within 1e-6). Groups absent from the target count as proportion 0.
        labels: Names of the group codes (entry ``g`` names group ``g``), used in the reasons of
            :meth:`check_guarantee`; default ``"group g"``.

    Attributes:
        guarantee_: After :meth:`rerank`, the :class:`~equirec.mitigation.rerank.guarantee.
            GuaranteeCheck` of its lists: which hold ``floor(p_g · i)`` items of every group in
            every prefix of length ``i`` and, for the others, which group's candidates ran out.
    """

    name: ClassVar[str] = "detconstsort"
    item_arrays: ClassVar[Mapping[str, str]] = {"item_groups": "item_groups array"}

    def __init__(
        self,
        *,
        item_groups: np.ndarray,
        target: Mapping[int, float] | Sequence[float] | np.ndarray,
        labels: Sequence[str] = (),
    ) -> None:
        self.item_groups = item_groups
        self.target = target
        self.labels = labels

    def _params(self) -> tuple[np.ndarray, np.ndarray]:
        """Validated ``(item_groups, proportions)``; ``proportions[g]`` for ``g = 0..G-1``."""
        groups = np.asarray(self.item_groups)
        if groups.ndim != 1 or groups.size == 0:
            raise ConfigError(
                "DetConstSort: item_groups must be a non-empty 1-d int array (one group code per "
                f"item index), got shape {groups.shape}."
            )
        if not np.issubdtype(groups.dtype, np.integer):
            raise ConfigError(
                f"DetConstSort: item_groups must hold integer group codes, got dtype "
                f"{groups.dtype}; encode the groups as 0..G-1 (-1 = none)."
            )
        if groups.min() < -1:
            raise ConfigError(
                f"DetConstSort: item_groups holds {groups.min()}; codes are >= 0, -1 = no group."
            )
        target = self.target
        if isinstance(target, Mapping):
            keys = list(target)
            if any(isinstance(g, bool) or not isinstance(g, int | np.integer) for g in keys) or (
                keys and min(int(g) for g in keys) < 0
            ):
                raise ConfigError(
                    f"DetConstSort: target keys must be group codes (ints >= 0), got {keys!r}."
                )
            size = max([int(g) + 1 for g in keys] + [int(groups.max()) + 1, 0])
            props = np.zeros(size)
            for g, v in target.items():
                props[int(g)] = _number(v)
        else:
            props = np.asarray(target, dtype=np.float64)
            if props.ndim != 1:
                raise ConfigError(
                    "DetConstSort: target must be a mapping {group: proportion} or a 1-d array, "
                    f"got shape {props.shape}."
                )
        if props.size == 0 or not np.isfinite(props).all() or (props < 0).any():
            raise ConfigError(
                f"DetConstSort: target proportions must be finite and non-negative, got {target!r}."
            )
        if abs(props.sum() - 1.0) > 1e-6:
            raise ConfigError(
                f"DetConstSort: target proportions must sum to 1 (within 1e-6), they sum to "
                f"{props.sum():.6g}."
            )
        return groups.astype(np.int64), props

    def _rerank(self, candidates: Candidates, k: int) -> np.ndarray:
        """Re-rank every list to ``k`` items meeting the prefix minimums.

        Args:
            candidates: Candidate lists, best first.
            k: Output length.

        Returns:
            ``(n_lists, k)`` int64 item indices, ``-1`` padding lists with fewer than ``k``
            candidates.
        """
        groups, props = self._params()
        n_groups = len(props)
        out = np.full((candidates.n_lists, k), -1, dtype=np.int64)
        for r in range(candidates.n_lists):
            row = candidates.items[r]
            cols = np.nonzero(row >= 0)[0]
            if cols.size == 0:
                continue
            g = groups[row[cols]]
            queues = [cols[g == code] for code in range(n_groups)]
            chosen = _detconstsort(queues, props, k)
            if len(chosen) < min(k, cols.size):
                # The targeted groups ran out: fill with the rest in candidate order.
                taken = set(chosen)
                chosen += [int(c) for c in cols if int(c) not in taken][: k - len(chosen)]
            out[r, : len(chosen)] = row[chosen]
        return out

    def check_guarantee(
        self,
        lists: np.ndarray,
        candidates: Candidates,
        *,
        k: int,
        exhaustive: np.ndarray | bool | None = None,
    ) -> GuaranteeCheck:
        """Whether every prefix of length ``i`` holds ``floor(p_g · i)`` items of every group.

        Args:
            lists: ``(n_lists, k)`` item indices, ``-1`` padding; a list shorter than ``k`` is
                checked on the prefixes it has.
            candidates: The candidates the lists were chosen from (for the reasons: how many
                items of each group they hold).
            k: The list length.
            exhaustive: Per list (or for all), whether the candidates were every item its user
                could be recommended.

        Returns:
            The :class:`~equirec.mitigation.rerank.guarantee.GuaranteeCheck`.
        """
        groups, props = self._params()
        k = check_k(k)
        candidates.check_items(groups.shape[0], what="item_groups array")
        targeted = [int(g) for g in np.flatnonzero(props > 0)]
        codes = groups[:, None] == np.array(targeted)[None, :]
        lengths = np.arange(1, k + 1)[:, None]
        minimum = np.floor(props[targeted][None, :] * lengths + _EPS).astype(np.int64)
        names = [str(self.labels[g]) if g < len(self.labels) else f"group {g}" for g in targeted]
        shares = ", ".join(
            f"{name} {props[g]:.3g}" for name, g in zip(names, targeted, strict=True)
        )
        need = ", ".join(f"{int(m)} {name}" for m, name in zip(minimum[-1], names, strict=True))
        return prefix_check(
            f"every prefix of length i holds at least floor(p_g * i) items of every group g "
            f"(DetConstSort, p: {shares}; the top {k} needs {need})",
            lists=lists,
            candidates=candidates.items,
            codes=codes,
            minimum=minimum,
            names=names,
            k=k,
            exhaustive=exhaustive,
        )

    def __repr__(self) -> str:
        return f"DetConstSort(target={self.target!r})"


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ConfigError(f"DetConstSort: target proportions must be numbers, got {value!r}.")
    return float(value)


def _detconstsort(queues: list[np.ndarray], props: np.ndarray, k: int) -> list[int]:
    """The paper's DetConstSort on one list.

    Args:
        queues: Per group code, the candidate positions (columns) of its items, ascending (best
            first). A smaller position is a better item: it plays the role of a higher score.
        props: Target proportion per group code.
        k: Wanted length.

    Returns:
        Up to ``k`` candidate positions, in output order.
    """
    n_groups = len(props)
    counts = [0] * n_groups
    min_counts = [0] * n_groups
    ranked: list[int] = []  # candidate positions (lower = better)
    max_indices: list[int] = []  # last 1-based position each placed item may occupy
    remaining = sum(len(q) for g, q in enumerate(queues) if props[g] > 0)
    step = 0
    while len(ranked) < k and remaining > 0:
        step += 1
        # floor(p_g * step); the epsilon keeps e.g. 0.57 * 100 = 56.999... at 57.
        temp_min = [int(np.floor(props[g] * step + _EPS)) for g in range(n_groups)]
        changed = [
            g for g in range(n_groups) if temp_min[g] > min_counts[g] and counts[g] < len(queues[g])
        ]
        # The paper sorts the changed groups by the score of their next item, best first.
        changed.sort(key=lambda g: int(queues[g][counts[g]]))
        for g in changed:
            ranked.append(int(queues[g][counts[g]]))
            max_indices.append(step)
            start = len(ranked) - 1  # 0-based slot of the new item
            # Swap up while the item above is worse and may move one slot down: its max index (a
            # 1-based position) must be at least start + 1.
            while (
                start > 0 and max_indices[start - 1] > start and ranked[start - 1] > ranked[start]
            ):
                ranked[start - 1], ranked[start] = ranked[start], ranked[start - 1]
                max_indices[start - 1], max_indices[start] = (
                    max_indices[start],
                    max_indices[start - 1],
                )
                start -= 1
            counts[g] += 1
            remaining -= 1
        min_counts = temp_min
    return ranked[:k]
