"""FA*IR: fair top-k ranking with a ranked group fairness test (Zehlike et al., CIKM 2017).

A ranking of length ``k`` satisfies *ranked group fairness* with minimum proportion ``p`` and
significance ``α`` when every prefix of length ``i <= k`` passes the binomial test of
Definition 3.1 of the paper: ``F(t_i; i, p) > α_c``, where ``t_i`` is the number of protected items
in the prefix and ``F`` the binomial CDF. Equivalently the prefix holds at least

    m(i) = F⁻¹(α_c; i, p) = min{x : F(x; i, p) > α_c}

protected items (the "m-table"). Testing ``k`` prefixes inflates the probability of rejecting a
fair ranking (one whose positions are protected independently with probability ``p``), so the
paper replaces ``α`` by a corrected ``α_c`` such that this overall failure probability is ``α``.

Here the failure probability of an m-table is computed exactly by dynamic programming over the
number of protected items in the prefix (the distribution of that count among the rankings that
passed every earlier test), which gives the same number as the paper's recursion over the blocks
of the inverse m-table. As ``α_c`` varies the m-table only changes where ``α_c`` crosses one of the
finitely many CDF values ``F(x; i, p)``, and the failure probability grows with ``α_c``; ``α_c`` is
found by binary search over those break points (as in Zehlike, Sühr & Castillo 2020, "A note on
the significance adjustment for FA*IR"): the m-table is the most demanding one whose failure
probability is still ``<= α``, and ``α_c`` is the smallest significance that yields it (``α``
itself when the unadjusted table already fails fair rankings at most ``α`` of the time). An exact
failure probability of ``α`` is generally not attainable, since it moves in steps; this module
always errs on the side of rejecting fair rankings at most ``α`` of the time.

The re-ranking is the paper's Algorithm 2 applied to every candidate list: the protected and the
unprotected candidates form two queues in candidate order (best first, i.e. model-score order for
a model's top-N); at position ``i``, if fewer than ``m(i)`` protected items were placed so far the
best protected candidate is taken, otherwise the better of the two queue heads. The relative order
within each group is therefore always that of the input, protected items are never demoted, and
the output equals the input order whenever the input already satisfies the m-table.

A list can keep the guarantee only if its candidates hold at least ``m(k)`` protected items;
one that does not is filled with what exists (every protected candidate, as early as the table
asks) and :meth:`FAIR.check_guarantee` (``guarantee_`` after :meth:`FAIR.rerank`) says which
lists miss it and why. The workflows then re-rank those lists from deeper candidates of the saved
model (:func:`equirec.workflows.rerank.rerank_run`).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import ClassVar

import numpy as np
from scipy.stats import binom

from equirec.errors import ConfigError
from equirec.mitigation.rerank.base import Candidates, Reranker, check_k, check_unit_interval
from equirec.mitigation.rerank.guarantee import GuaranteeCheck, prefix_check

__all__ = ["FAIR", "adjust_alpha", "fail_probability", "mtable"]


@lru_cache(maxsize=256)
def _cdf_table(k: int, p: float) -> np.ndarray:
    """``(k, k + 1)`` binomial CDF ``F(x; i, p)`` for prefix lengths ``i = 1..k``, ``x = 0..k``."""
    i = np.arange(1, k + 1)[:, None]
    x = np.arange(k + 1)[None, :]
    table = np.asarray(binom.cdf(x, i, p), dtype=np.float64)
    table.setflags(write=False)
    return table


def _mtable_from_cdf(cdf: np.ndarray, alpha: float) -> np.ndarray:
    # min{x : F(x) > alpha} = number of x with F(x) <= alpha, the CDF being non-decreasing in x.
    return (cdf <= alpha).sum(axis=1).astype(np.int64)


def mtable(k: int, p: float, alpha: float) -> np.ndarray:
    """The (unadjusted) m-table: ``m(i) = min{x : F(x; i, p) > alpha}`` for ``i = 1..k``.

    Args:
        k: Ranking length.
        p: Minimum proportion of protected items, in ``(0, 1)``.
        alpha: Significance of every prefix test, in ``(0, 1)``.

    Returns:
        ``(k,)`` int64 array; entry ``i - 1`` is the minimum number of protected items in the
        top ``i``.
    """
    k = check_k(k)
    p = check_unit_interval(p, name="p", owner="mtable")
    alpha = check_unit_interval(alpha, name="alpha", owner="mtable")
    return _mtable_from_cdf(_cdf_table(k, p), alpha)


def fail_probability(table: np.ndarray, p: float) -> float:
    """Probability that a fair ranking fails at least one prefix test of ``table``.

    A fair ranking protects each position independently with probability ``p``. The distribution
    of the protected count is propagated one position at a time; the mass below ``m(i)`` fails at
    position ``i`` and is removed.

    Args:
        table: ``(k,)`` m-table (minimum protected count of every prefix).
        p: Probability that a position holds a protected item, in ``(0, 1)``.
    """
    p = check_unit_interval(p, name="p", owner="fail_probability")
    m = np.asarray(table, dtype=np.int64)
    k = len(m)
    dist = np.zeros(k + 1)
    dist[0] = 1.0
    failed = 0.0
    for i in range(k):
        new = dist * (1.0 - p)
        new[1:] += dist[:-1] * p
        need = int(m[i])
        if need > 0:
            failed += float(new[:need].sum())
            new[:need] = 0.0
        dist = new
    return failed


@lru_cache(maxsize=256)
def _adjusted(k: int, p: float, alpha: float) -> tuple[float, tuple[int, ...]]:
    cdf = _cdf_table(k, p)
    full = _mtable_from_cdf(cdf, alpha)
    if fail_probability(full, p) <= alpha:
        return alpha, tuple(int(v) for v in full)
    # The table is constant between consecutive CDF values; below the smallest one it is all
    # zeros (failure probability 0). Find the last break point whose table still fails <= alpha.
    breaks = np.unique(cdf[cdf < alpha])
    lo, hi = -1, len(breaks)  # invariant: table(breaks[lo]) feasible (lo=-1: zeros), hi not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if fail_probability(_mtable_from_cdf(cdf, float(breaks[mid])), p) <= alpha:
            lo = mid
        else:
            hi = mid
    if lo < 0:
        alpha_c = float(breaks[0]) / 2.0 if len(breaks) else alpha / 2.0
        return alpha_c, (0,) * k
    alpha_c = float(breaks[lo])
    return alpha_c, tuple(int(v) for v in _mtable_from_cdf(cdf, alpha_c))


def adjust_alpha(k: int, p: float, alpha: float) -> tuple[float, np.ndarray]:
    """The corrected significance ``α_c`` and its m-table (cached per ``(k, p, alpha)``).

    Args:
        k: Ranking length.
        p: Minimum proportion of protected items, in ``(0, 1)``.
        alpha: Wanted probability of rejecting a fair ranking, in ``(0, 1)``.

    Returns:
        ``(alpha_c, table)``: ``alpha_c <= alpha`` and ``table = mtable(k, p, alpha_c)``, the most
        demanding m-table whose :func:`fail_probability` is at most ``alpha``.
    """
    k = check_k(k)
    p = check_unit_interval(p, name="p", owner="adjust_alpha")
    alpha = check_unit_interval(alpha, name="alpha", owner="adjust_alpha")
    alpha_c, table = _adjusted(k, p, alpha)
    return alpha_c, np.array(table, dtype=np.int64)


_ROW_LOOP_LISTS = 8
"""Up to this many lists FA*IR's merge runs list by list in Python (a served request's few
lists), above it position by position over all lists at once in numpy: the same result."""


def _merge_lists(
    items: np.ndarray, valid: np.ndarray, is_prot: np.ndarray, table: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """FA*IR's merge of every list at once: ``(lists, shortfall)`` (see :class:`FAIR`)."""
    n, width = items.shape
    out = np.full((n, k), -1, dtype=np.int64)
    shortfall = np.zeros(n, dtype=np.int64)
    is_unprot = valid & ~is_prot
    cols = np.arange(width)
    # Column positions of each group's candidates in input order; `width` marks "none left".
    prot_q = np.sort(np.where(is_prot, cols, width), axis=1)
    unprot_q = np.sort(np.where(is_unprot, cols, width), axis=1)
    prot_q = np.concatenate([prot_q, np.full((n, 1), width)], axis=1)
    unprot_q = np.concatenate([unprot_q, np.full((n, 1), width)], axis=1)
    rows = np.arange(n)
    n_prot = np.zeros(n, dtype=np.int64)
    n_unprot = np.zeros(n, dtype=np.int64)
    for i in range(k):
        head_p = prot_q[rows, n_prot]
        head_u = unprot_q[rows, n_unprot]
        has_p = head_p < width
        has_u = head_u < width
        need = n_prot < table[i]
        take_p = has_p & (need | ~has_u | (head_p < head_u))
        take_u = ~take_p & has_u
        col = np.where(take_p, head_p, head_u)
        placed = take_p | take_u
        out[placed, i] = items[rows[placed], col[placed]]
        n_prot += take_p
        n_unprot += take_u
        deficit = np.where(placed, table[i] - n_prot, 0)
        shortfall = np.maximum(shortfall, deficit)
    return out, shortfall


def _merge_rows(
    items: np.ndarray, valid: np.ndarray, is_prot: np.ndarray, table: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_merge_lists` list by list in plain Python (faster for a few lists)."""
    n = items.shape[0]
    out = np.full((n, k), -1, dtype=np.int64)
    shortfall = np.zeros(n, dtype=np.int64)
    minimum = table.tolist()
    for r in range(n):
        row = items[r].tolist()
        flags = is_prot[r].tolist()
        real = valid[r].tolist()
        prot = [c for c, f in enumerate(flags) if f]
        unprot = [c for c, (f, v) in enumerate(zip(flags, real, strict=True)) if v and not f]
        taken_p = taken_u = worst = 0
        chosen = []
        for i in range(k):
            has_p, has_u = taken_p < len(prot), taken_u < len(unprot)
            if has_p and (taken_p < minimum[i] or not has_u or prot[taken_p] < unprot[taken_u]):
                chosen.append(row[prot[taken_p]])
                taken_p += 1
            elif has_u:
                chosen.append(row[unprot[taken_u]])
                taken_u += 1
            else:
                break
            worst = max(worst, minimum[i] - taken_p)
        out[r, : len(chosen)] = chosen
        shortfall[r] = worst
    return out, shortfall


class FAIR(Reranker):
    """FA*IR re-ranking of every candidate list (Zehlike et al., CIKM 2017).

    Args:
        protected: ``(n_items,)`` bool mask of the protected items, indexed by item index.
        p: Minimum proportion of protected items, in ``(0, 1)``.
        alpha: Probability of rejecting a fair ranking (family-wise, over all ``k`` prefix tests),
            in ``(0, 1)``; corrected to ``α_c`` as described in the module docstring.

    Attributes:
        shortfall_: After :meth:`rerank`, ``(n_lists,)`` int64: the largest number of protected
            items missing from any prefix of each output list (0 = every prefix holds its
            ``m(i)``). Positive only when a list had too few protected candidates; those lists are
            filled with what exists (all its protected candidates, in order, as early as the
            constraints ask for them).
        guarantee_: After :meth:`rerank`, the :class:`~equirec.mitigation.rerank.guarantee.
            GuaranteeCheck` of its lists (:meth:`check_guarantee`): which keep the m-table and,
            for the others, how many protected candidates they had and needed.
    """

    name: ClassVar[str] = "fair"
    item_arrays: ClassVar[Mapping[str, str]] = {"protected": "protected mask"}

    def __init__(self, *, protected: np.ndarray, p: float, alpha: float = 0.1) -> None:
        self.protected = protected
        self.p = p
        self.alpha = alpha

    def _params(self) -> tuple[np.ndarray, float, float]:
        p = check_unit_interval(self.p, name="p", owner="FAIR")
        alpha = check_unit_interval(self.alpha, name="alpha", owner="FAIR")
        protected = np.asarray(self.protected)
        if protected.ndim != 1 or protected.size == 0:
            raise ConfigError(
                f"FAIR: protected must be a non-empty 1-d bool array (one entry per item index), "
                f"got shape {protected.shape}."
            )
        if protected.dtype != np.bool_:
            if not np.isin(protected, (0, 1)).all():
                raise ConfigError(
                    "FAIR: protected must be a bool mask (or 0/1 values) per item index; "
                    f"got dtype {protected.dtype} with other values."
                )
            protected = protected.astype(bool)
        return protected, p, alpha

    def mtable(self, k: int) -> np.ndarray:
        """The adjusted m-table for lists of length ``k``: minimum protected count per prefix.

        Returns:
            ``(k,)`` int64, non-decreasing, increasing by at most one per position.
        """
        _, p, alpha = self._params()
        return adjust_alpha(check_k(k), p, alpha)[1]

    def adjusted_alpha(self, k: int) -> float:
        """The corrected significance ``α_c <= alpha`` used for lists of length ``k``."""
        _, p, alpha = self._params()
        return adjust_alpha(check_k(k), p, alpha)[0]

    def _rerank(self, candidates: Candidates, k: int) -> np.ndarray:
        """Re-rank every list to the fair top-``k`` (see the module docstring).

        Args:
            candidates: Candidate lists, best first.
            k: Output length.

        Returns:
            ``(n_lists, k)`` int64 item indices, ``-1`` padding lists with fewer than ``k``
            candidates. Also sets :attr:`shortfall_`.
        """
        protected, p, alpha = self._params()
        table = adjust_alpha(k, p, alpha)[1]
        valid = candidates.valid
        is_prot = valid & protected[np.where(valid, candidates.items, 0)]
        merge = _merge_rows if candidates.n_lists <= _ROW_LOOP_LISTS else _merge_lists
        out, self.shortfall_ = merge(candidates.items, valid, is_prot, table, k)
        return out

    def _on_empty(self, n_lists: int) -> None:
        self.shortfall_ = np.zeros(n_lists, dtype=np.int64)

    def check_guarantee(
        self,
        lists: np.ndarray,
        candidates: Candidates,
        *,
        k: int,
        exhaustive: np.ndarray | bool | None = None,
    ) -> GuaranteeCheck:
        """Whether every prefix of every list holds its ``m(i)`` protected items.

        Args:
            lists: ``(n_lists, k)`` item indices, ``-1`` padding; a list shorter than ``k`` is
                checked on the prefixes it has.
            candidates: The candidates the lists were chosen from (for the reasons: how many
                protected items they hold).
            k: The list length the m-table is for.
            exhaustive: Per list (or for all), whether the candidates were every item its user
                could be recommended.

        Returns:
            The :class:`~equirec.mitigation.rerank.guarantee.GuaranteeCheck`.
        """
        protected, p, alpha = self._params()
        k = check_k(k)
        candidates.check_items(protected.shape[0], what="protected mask")
        table = adjust_alpha(k, p, alpha)[1]
        return prefix_check(
            f"every prefix of length i holds at least m(i) protected items (FA*IR, p = {p:g}, "
            f"alpha = {alpha:g}; the top {k} needs {int(table[-1])})",
            lists=lists,
            candidates=candidates.items,
            codes=protected[:, None],
            minimum=table[:, None],
            names=("protected",),
            k=k,
            exhaustive=exhaustive,
        )

    def __repr__(self) -> str:
        return f"FAIR(p={self.p!r}, alpha={self.alpha!r})"
