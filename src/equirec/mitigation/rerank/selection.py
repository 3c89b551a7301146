"""Selection programmes of UGF and CPFair: pick ``k_u`` candidates per list under linear gaps.

A selection is a ``(n_lists, N)`` boolean mask with ``k_u`` real candidates chosen in every list.
The fairness terms are linear gaps ``g = sum_ui W_ui * effect_ui`` (:class:`GapTerm`), either
bounded (UGF) or penalised in the objective (CPFair). This module holds the top-``k`` start
(:func:`top_k_selection`), the pruning of candidates an optimum never needs
(:func:`prune_dominated`), the MILP (:func:`regret_costs`, :func:`solve_selection`, HiGHS through
:func:`scipy.optimize.milp`), UGF's swap heuristic (:func:`greedy_gap_repair`) and the conversion
to ranked lists (:func:`selection_to_lists`). The checks and per-candidate inputs are in
:mod:`~equirec.mitigation.rerank.selection_inputs`; CPFair's penalised swap search is in
:mod:`~equirec.mitigation.rerank.penalised`.
"""

from __future__ import annotations

import heapq
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from equirec.mitigation.rerank.base import Candidates

__all__ = [
    "MILP_MAX_VARIABLES",
    "GapTerm",
    "greedy_gap_repair",
    "prune_dominated",
    "regret_costs",
    "selection_to_lists",
    "solve_selection",
    "top_k_selection",
]

MILP_MAX_VARIABLES = 200_000
"""Largest number of binary variables ``solver="auto"`` hands to the MILP (one per real candidate
that :func:`prune_dominated` keeps, over all lists); bigger problems use the greedy heuristic."""

_TOL = 1e-12
_MIP_REL_GAP = 1e-4
_PAIR_BUDGET = 4_000_000  # floats per chunk of the vectorised swap search


def top_k_selection(scores: np.ndarray, valid: np.ndarray, k_u: np.ndarray) -> np.ndarray:
    """Mask of the ``k_u`` best-scored real candidates of every list (ties: candidate order)."""
    key = np.where(valid, scores, -np.inf)
    order = np.argsort(-key, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(scores.shape[1])[None, :], axis=1)
    return (ranks < k_u[:, None]) & valid


def selection_to_lists(selected: np.ndarray, candidates: Candidates, k: int) -> np.ndarray:
    """``(n_lists, k)`` int64 items of the selection, ordered by model score, ``-1`` padding."""
    n, width = selected.shape
    out = np.full((n, k), -1, dtype=np.int64)
    if width == 0:
        return out
    key = np.where(selected, candidates.scores, -np.inf)
    order = np.argsort(-key, axis=1, kind="stable")[:, : min(k, width)]
    chosen = np.take_along_axis(selected, order, axis=1)
    items = np.take_along_axis(candidates.items, order, axis=1)
    out[:, : order.shape[1]] = np.where(chosen, items, -1)
    return out


def prune_dominated(
    valid: np.ndarray, scores: np.ndarray, keys: list[np.ndarray], k_u: np.ndarray
) -> np.ndarray:
    """Candidates an optimal selection may need: the ``k_u`` best-scored of every class.

    Two candidates of a list are in the same class when every array of ``keys`` (their effect on
    the fairness terms) holds the same value for both. A candidate with ``k_u`` better-scored ones
    of its class can always be swapped for an unused one of them without changing the fairness
    terms or lowering the score, so dropping it keeps an optimum (binary relevance estimates leave
    at most ``2 k_u`` variables per list).
    """
    rows, cols = np.nonzero(valid)
    if len(rows) == 0:
        return valid.copy()
    columns = [-scores[rows, cols]] + [key[rows, cols] for key in reversed(keys)] + [rows]
    order = np.lexsort(columns)
    r = rows[order]
    same = np.ones(len(order), dtype=bool)
    same[0] = False
    same[1:] = r[1:] == r[:-1]
    for key in keys:
        v = key[rows, cols][order]
        same[1:] &= v[1:] == v[:-1]
    start = np.maximum.accumulate(np.where(~same, np.arange(len(order)), 0))
    rank = np.arange(len(order)) - start
    keep = np.zeros_like(valid)
    kept = order[rank < k_u[r]]
    keep[rows[kept], cols[kept]] = True
    return keep


def regret_costs(
    active: np.ndarray, scores: np.ndarray, base: np.ndarray, k_u: np.ndarray
) -> np.ndarray:
    """MILP costs ``t_u - S_ui`` of the active candidates, ``t_u`` the mean top-k score of list u.

    With exactly ``k_u`` items per list, ``sum W * (t_u - S)`` is the score lost relative to the
    top-k, so the solver's relative optimality gap applies to that loss instead of to the (much
    larger) total score.
    """
    total = (scores * base).sum(axis=1)
    t = np.where(k_u > 0, total / np.maximum(k_u, 1), 0.0)
    return np.asarray((t[:, None] - scores)[active], dtype=np.float64)


@dataclass(frozen=True)
class GapTerm:
    """A linear gap ``g = sum_ui W_ui * effect_ui`` of a selection programme.

    Exactly one of ``bound`` (constraint ``|g| <= bound``) and ``weight`` (objective penalty
    ``weight * |g|``) is set.
    """

    effect: np.ndarray
    bound: float | None = None
    weight: float | None = None


def solve_selection(
    active: np.ndarray,
    k_u: np.ndarray,
    costs: np.ndarray,
    terms: list[GapTerm],
    *,
    time_limit: float,
) -> tuple[np.ndarray | None, str, float]:
    """Minimise ``costs @ W (+ penalties)`` choosing ``k_u`` active candidates per list, with HiGHS.

    Every gap is aggregated per list (a continuous ``y_u = sum_i W_ui * effect_ui`` per list and
    one row over the ``y_u``) instead of one dense row over all variables, and scaled so its
    largest coefficient is 1: dense rows of tiny coefficients slow HiGHS down by an order of
    magnitude. A penalised ``|g|`` is linearised as ``t >= g``, ``t >= -g`` with cost
    ``weight * t``.

    Args:
        active: ``(n_lists, N)`` mask of the candidates that get a binary variable.
        k_u: Number of items to pick in every list.
        costs: Cost of every active candidate (C order).
        terms: The gaps.
        time_limit: Seconds HiGHS may run.

    Returns:
        The selection mask (``None`` without a solution), the status (``"optimal"``,
        ``"time_limit"``, ``"infeasible"`` or ``"failed"``) and the solve time in seconds.
    """
    rows, cols = np.nonzero(active)
    n_var = len(rows)
    var = np.arange(n_var)
    blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # (row, column, value) triplets
    lower: list[np.ndarray] = []
    upper: list[np.ndarray] = []
    extra_cost: list[float] = []
    extra_lower: list[float] = []
    n_row = 0
    n_col = n_var

    def add_rows(
        r: np.ndarray, c: np.ndarray, v: np.ndarray, lo: np.ndarray, hi: np.ndarray
    ) -> None:
        nonlocal n_row
        blocks.append((r + n_row, c, v))
        lower.append(lo)
        upper.append(hi)
        n_row += len(lo)

    add_rows(rows, var, np.ones(n_var), k_u.astype(np.float64), k_u.astype(np.float64))
    for term in terms:
        coeffs = term.effect[rows, cols]
        largest = float(np.abs(coeffs).max()) if n_var else 0.0
        if largest == 0.0:
            continue  # the gap is 0 whatever is chosen
        coeffs = coeffs / largest
        used = np.unique(rows[coeffs != 0])
        y = n_col + np.arange(len(used))  # y_u of the lists the gap depends on
        n_col += len(used)
        extra_cost += [0.0] * len(used)
        extra_lower += [-np.inf] * len(used)
        keep = coeffs != 0
        local = np.searchsorted(used, rows[keep])
        # y_u - sum_i effect_ui W_ui = 0
        add_rows(
            np.concatenate([local, np.arange(len(used))]),
            np.concatenate([var[keep], y]),
            np.concatenate([-coeffs[keep], np.ones(len(used))]),
            np.zeros(len(used)),
            np.zeros(len(used)),
        )
        if term.bound is not None:
            bound = term.bound / largest
            add_rows(
                np.zeros(len(used), dtype=np.int64),
                y,
                np.ones(len(used)),
                np.array([-bound]),
                np.array([bound]),
            )
        else:
            t = n_col
            n_col += 1
            extra_cost.append(float(term.weight or 0.0) * largest)
            extra_lower.append(0.0)
            both = np.concatenate(
                [np.zeros(len(used) + 1, dtype=np.int64), np.ones(len(used) + 1, dtype=np.int64)]
            )
            add_rows(
                both,
                np.concatenate([y, [t], y, [t]]),
                np.concatenate([np.ones(len(used)), [-1.0], -np.ones(len(used)), [-1.0]]),
                np.full(2, -np.inf),
                np.zeros(2),
            )
    r_all, c_all, v_all = (np.concatenate(parts) for parts in zip(*blocks, strict=True))
    matrix = sp.csr_array((v_all, (r_all, c_all)), shape=(n_row, n_col))
    integrality = np.zeros(n_col, dtype=np.int8)
    integrality[:n_var] = 1
    lo_bounds = np.concatenate([np.zeros(n_var), extra_lower])
    hi_bounds = np.concatenate([np.ones(n_var), np.full(n_col - n_var, np.inf)])
    start = time.perf_counter()
    res = milp(
        np.concatenate([costs, extra_cost]),
        integrality=integrality,
        bounds=Bounds(lo_bounds, hi_bounds),
        constraints=[LinearConstraint(matrix, np.concatenate(lower), np.concatenate(upper))],
        options={
            "time_limit": float(time_limit),
            "mip_rel_gap": _MIP_REL_GAP,
            "disp": False,
            "presolve": False,
        },
    )
    seconds = time.perf_counter() - start
    status = {0: "optimal", 1: "time_limit", 2: "infeasible"}.get(res.status, "failed")
    if res.x is None or status not in ("optimal", "time_limit"):
        return None, status, seconds
    selected = np.zeros_like(active)
    selected[rows, cols] = np.asarray(res.x[:n_var]) > 0.5
    return selected, status, seconds


def _best_swaps(
    rows: np.ndarray,
    selected: np.ndarray,
    valid: np.ndarray,
    scores: np.ndarray,
    effect: np.ndarray,
    direction: float,
    cap: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Best gap-reducing swap of every list in ``rows``.

    A swap takes selected position ``j`` out and unselected position ``i`` in; it moves the gap by
    ``effect_i - effect_j`` and loses ``scores_j - scores_i``. Only swaps whose step
    ``direction * (effect_i - effect_j)`` is in ``(0, cap]`` count; the best minimises loss / step.

    Returns:
        ``ratio`` (inf when the list has no such swap), ``j``, ``i`` and ``step`` per row.
    """
    ratio = np.full(len(rows), np.inf)
    out_j = np.zeros(len(rows), dtype=np.int64)
    out_i = np.zeros(len(rows), dtype=np.int64)
    out_step = np.zeros(len(rows))
    if len(rows) == 0 or selected.shape[1] == 0:
        return ratio, out_j, out_i, out_step
    width = selected.shape[1]
    kmax = max(1, int(selected[rows].sum(axis=1).max()))
    chunk = max(1, _PAIR_BUDGET // (kmax * width))
    for lo in range(0, len(rows), chunk):
        r = rows[lo : lo + chunk]
        sel, val, s, e = selected[r], valid[r], scores[r], effect[r]
        m = len(r)
        jpos = np.argsort(~sel, axis=1, kind="stable")[:, :kmax]
        jmask = np.take_along_axis(sel, jpos, axis=1)
        sj = np.take_along_axis(s, jpos, axis=1)
        ej = np.take_along_axis(e, jpos, axis=1)
        imask = val & ~sel
        step = direction * (e[:, None, :] - ej[:, :, None])
        ok = (
            jmask[:, :, None]
            & imask[:, None, :]
            & (step > _TOL)
            & (step <= cap[lo : lo + chunk, None, None])
        )
        loss = sj[:, :, None] - s[:, None, :]
        rat = np.where(ok, loss / np.where(ok, step, 1.0), np.inf).reshape(m, -1)
        flat = rat.argmin(axis=1)
        ar = np.arange(m)
        ratio[lo : lo + m] = rat[ar, flat]
        out_j[lo : lo + m] = jpos[ar, flat // width]
        out_i[lo : lo + m] = flat % width
        out_step[lo : lo + m] = step.reshape(m, -1)[ar, flat]
    return ratio, out_j, out_i, out_step


def greedy_gap_repair(
    selected: np.ndarray,
    *,
    valid: np.ndarray,
    scores: np.ndarray,
    effect: np.ndarray,
    epsilon: float,
) -> np.ndarray:
    """Swap heuristic of UGF: bring ``|sum(selected * effect)|`` down to ``epsilon``.

    Args:
        selected: Initial selection mask (copied).
        valid: Mask of the real candidates.
        scores: Normalised scores (the objective).
        effect: Per-position contribution to the gap when selected (``c_u * a_ui``).
        epsilon: Target bound on the absolute gap.

    Returns:
        The repaired selection mask (same number of items per list).
    """
    selected = selected.copy()
    gap = float((effect * selected).sum())
    if abs(gap) <= epsilon:
        return selected
    direction = -1.0 if gap > 0 else 1.0
    n = selected.shape[0]
    rows = np.nonzero(((effect != 0) & valid).any(axis=1))[0]
    caps = np.full(len(rows), abs(gap) + epsilon)
    ratio, js, is_, steps = _best_swaps(rows, selected, valid, scores, effect, direction, caps)
    version = np.zeros(n, dtype=np.int64)
    heap: list[tuple[float, int, int, int, int, float]] = [
        (float(ratio[t]), int(rows[t]), 0, int(js[t]), int(is_[t]), float(steps[t]))
        for t in range(len(rows))
        if np.isfinite(ratio[t])
    ]
    heapq.heapify(heap)
    one = np.zeros(1)
    while heap and abs(gap) > epsilon:
        _, u, ver, j, i, step = heapq.heappop(heap)
        if ver != version[u]:
            continue
        if step > abs(gap) + epsilon:  # would overshoot past -epsilon: look for a smaller swap
            one[0] = abs(gap) + epsilon
            r2, j2, i2, s2 = _best_swaps(
                np.array([u]), selected, valid, scores, effect, direction, one
            )
            if np.isfinite(r2[0]):
                heapq.heappush(heap, (float(r2[0]), u, ver, int(j2[0]), int(i2[0]), float(s2[0])))
            continue
        selected[u, j] = False
        selected[u, i] = True
        gap += float(effect[u, i] - effect[u, j])
        version[u] += 1
        one[0] = abs(gap) + epsilon
        r2, j2, i2, s2 = _best_swaps(np.array([u]), selected, valid, scores, effect, direction, one)
        if np.isfinite(r2[0]):
            heapq.heappush(
                heap, (float(r2[0]), u, int(version[u]), int(j2[0]), int(i2[0]), float(s2[0]))
            )
    return selected
