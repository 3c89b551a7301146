"""UGF: user-oriented fairness re-ranking (Li et al., WWW 2021).

Users are split into an advantaged group Z1 (``user_groups == 0``, e.g. the 5% most active) and a
disadvantaged group Z2 (``user_groups == 1``). From every user's top-N candidates UGF picks ``k``
items so as to keep as much model score as possible while the two groups' mean recommendation
quality differ by at most ``epsilon``::

    max_W  sum_{u,i} W_ui * S_ui
    s.t.   sum_i W_ui = k                                   for every list u
           | mean_{u in Z1} M(u) - mean_{u in Z2} M(u) | <= epsilon
           W_ui in {0, 1}

**Scores.** ``S_ui`` are the model scores min-max normalised to ``[0, 1]`` within every list
(:func:`~equirec.mitigation.rerank.base.minmax_per_list`), so every list weighs the same in the
objective whatever the scale of the model's scores.

**Quality proxy.** The selected set is unordered, so ``M(u)`` is the linear proxy of the paper: a
sum of the relevance of the selected items, normalised. With ``rel_ui`` the caller's relevance
estimates and ``k_u = min(k, number of candidates of u)``:

* ``metric="ndcg"``: ``M(u) = sum_i W_ui * rel_ui / IDEAL_u`` with ``IDEAL_u`` the sum of the
  ``k_u`` largest ``rel_ui`` of the list (1.0 when the best possible items are picked);
* ``metric="f1"``: ``M(u) = 2 * sum_i W_ui * rel_ui / (k_u + T_u)`` with ``T_u = sum_i rel_ui``
  over the list's candidates, the estimated number of relevant items (F1 = 2|L ∩ T| / (|L| + |T|)).

``M(u) = 0`` for a user whose estimated relevance is 0 for every candidate (the user still counts
in the group mean).

**No test labels.** The reference code fills ``rel_ui`` with the *test* labels, so the constraint
is tuned on the very data it is evaluated on (the authors confirm it in
rutgerswiselab/user-fairness issue #1); the gains it reports are not attainable. Here ``rerank``
takes only ``relevance`` *estimates* -- from training or validation interactions, or calibrated
model scores -- and nothing else about the user: the class never sees test data, which fixes the
leak. The constraint therefore holds for the *estimated* gap (``gap_``), not necessarily for the
gap measured on test labels.

**Solvers.** ``solver="milp"`` solves the integer programme with HiGHS through
:func:`scipy.optimize.milp` (``time_limit`` seconds at most; presolve off, as it costs more than
it saves on these wide assignment problems; relative optimality gap 1e-4 of the score *lost*
relative to the top-``k``, not of the total score). Candidates an optimum never needs are dropped
first: of the candidates of a list with the same relevance estimate only the ``k`` best-scored are
kept (0/1 estimates leave at most ``2k`` variables per list). ``"greedy"`` runs the swap heuristic
below; ``"auto"`` uses the MILP when it has at most :data:`MILP_MAX_VARIABLES` binary variables and
the greedy otherwise. When no selection meets ``epsilon``, or the MILP stops at the time limit
without a solution, the greedy result is returned and a warning is issued; when it stops with a
solution, the better of that and the greedy one is returned. HiGHS checks the time limit between
phases only, so large problems can overrun it by several seconds. A very small ``epsilon`` makes
the MILP slow.

**Greedy.** Start from the top-``k`` by score. While the estimated gap exceeds ``epsilon``, apply
the single swap (one selected item out, one unselected candidate of the same list in) that costs
the least normalised score per unit of gap reduction: in a disadvantaged user's list a candidate of
higher estimated relevance comes in (raising ``M(u)``), in an advantaged user's list one of lower
relevance (lowering ``M(u)``), the other way round when Z2 is ahead. Swaps never push the gap past
``-epsilon``; the loop stops when the constraint holds or no swap reduces the gap.

The final list orders the selected items by model score (ties: candidate order).
"""

from __future__ import annotations

import heapq
import time
import warnings
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import scipy.sparse as sp
from scipy.optimize import Bounds, LinearConstraint, milp

from equirec.errors import ConfigError, DataError
from equirec.mitigation.rerank.base import Candidates, check_k, minmax_per_list

__all__ = ["MILP_MAX_VARIABLES", "UGF"]

MILP_MAX_VARIABLES = 200_000
"""Largest number of binary variables ``solver="auto"`` hands to the MILP (one per real candidate
that :func:`prune_dominated` keeps, over all lists); bigger problems use the greedy heuristic."""

SOLVERS = ("auto", "milp", "greedy")
METRICS = ("ndcg", "f1")

_TOL = 1e-12
_MIP_REL_GAP = 1e-4
_PAIR_BUDGET = 4_000_000  # floats per chunk of the vectorised swap search


# --------------------------------------------------------------------------------------------
# Validation shared with CPFair


def check_nonnegative(value: Any, *, name: str, owner: str) -> float:
    """Validate a finite number >= 0 (bools rejected)."""
    ok = isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)
    if not ok or not np.isfinite(float(value)) or float(value) < 0:
        raise ConfigError(f"{owner}: {name} must be a finite number >= 0, got {value!r}.")
    return float(value)


def check_solver(solver: Any, time_limit: Any, *, owner: str) -> tuple[str, float]:
    """Validate ``solver`` (one of :data:`SOLVERS`) and ``time_limit`` (a number > 0)."""
    if solver not in SOLVERS:
        raise ConfigError(
            f"{owner}: unknown solver {solver!r}; use one of {', '.join(map(repr, SOLVERS))}."
        )
    ok = isinstance(time_limit, int | float | np.integer | np.floating) and not isinstance(
        time_limit, bool
    )
    if not ok or not float(time_limit) > 0 or np.isnan(float(time_limit)):
        raise ConfigError(
            f"{owner}: time_limit must be a number of seconds > 0, got {time_limit!r}."
        )
    return str(solver), float(time_limit)


def check_binary_groups(
    groups: Any, *, length: int, name: str, owner: str, what: str
) -> np.ndarray:
    """Validate a 1-d array of 0/1 (or bool) values of the given length; return it as int8."""
    arr = np.asarray(groups)
    if arr.ndim != 1 or len(arr) != length:
        raise ConfigError(
            f"{owner}: {name} must be a 1-d array with one entry per {what} ({length}), got shape "
            f"{arr.shape}."
        )
    if arr.dtype == bool:
        return arr.astype(np.int8)
    if not np.issubdtype(arr.dtype, np.number):
        raise ConfigError(f"{owner}: {name} must hold 0/1 values, got dtype {arr.dtype}.")
    bad = ~np.isin(arr, (0, 1))
    if bad.any():
        raise ConfigError(
            f"{owner}: {name} must hold only 0 and 1, got {arr[bad][0]!r} at position "
            f"{int(np.nonzero(bad)[0][0])}."
        )
    return arr.astype(np.int8)


def check_relevance(relevance: Any, candidates: Candidates, *, owner: str) -> np.ndarray:
    """Validate relevance estimates and align them with the candidates.

    Args:
        relevance: Either an ``(n_lists, N)`` array aligned with ``candidates.items`` (padding
            ignored), or a scipy sparse ``users x items`` matrix looked up at every candidate's
            (user, item) -- missing entries are 0. The sparse form stays aligned when an earlier
            step of a pipeline has reordered the candidates.
        candidates: The candidate lists.
        owner: Class name, for the messages.

    Returns:
        ``(n_lists, N)`` float64 estimates in [0, 1], 0 at padding.
    """
    if relevance is None:
        raise DataError(
            f"{owner}.rerank needs relevance=: relevance estimates of the candidates from training "
            "or validation data (or calibrated scores), never test labels."
        )
    valid = candidates.valid
    if sp.issparse(relevance):
        return _lookup(sp.csr_array(relevance), candidates, owner=owner)
    rel = np.asarray(relevance, dtype=np.float64)
    if rel.shape != candidates.items.shape:
        raise DataError(
            f"{owner}: relevance has shape {rel.shape} but the candidates have shape "
            f"{candidates.items.shape}; give one estimate per candidate (or a sparse users x "
            "items matrix)."
        )
    vals = np.where(valid, rel, 0.0)
    bad = ~np.isfinite(vals) | (vals < 0) | (vals > 1)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise DataError(
            f"{owner}: relevance[{int(r)}, {int(c)}] = {rel[r, c]!r}; relevance estimates must be "
            "numbers in [0, 1] (e.g. 0/1 validation labels or calibrated probabilities)."
        )
    return vals


def _lookup(matrix: sp.csr_array, candidates: Candidates, *, owner: str) -> np.ndarray:
    """Values of a sparse users x items matrix at every candidate (0 where not stored)."""
    n_rows, n_cols = matrix.shape
    users, valid = candidates.users, candidates.valid
    if len(users) and (users.min() < 0 or users.max() >= n_rows):
        raise DataError(
            f"{owner}: a candidate list belongs to user {int(users.max())} but the relevance "
            f"matrix has {n_rows} rows; build both from the same user vocabulary."
        )
    if valid.any() and int(candidates.items.max()) >= n_cols:
        raise DataError(
            f"{owner}: a candidate has item index {int(candidates.items.max())} but the relevance "
            f"matrix has {n_cols} columns; build both from the same item vocabulary."
        )
    matrix = matrix.copy()
    matrix.sum_duplicates()  # also sorts the indices
    data = np.asarray(matrix.data, dtype=np.float64)
    if not np.isfinite(data).all() or (data < 0).any() or (data > 1).any():
        raise DataError(f"{owner}: relevance estimates must be numbers in [0, 1].")
    entry_rows = np.repeat(np.arange(n_rows, dtype=np.int64), np.diff(matrix.indptr))
    keys = entry_rows * n_cols + matrix.indices
    rows, cols = np.nonzero(valid)
    wanted = users[rows] * n_cols + candidates.items[rows, cols]
    pos = np.minimum(np.searchsorted(keys, wanted), max(len(keys) - 1, 0))
    out = np.zeros(valid.shape)
    if len(keys):
        found = keys[pos] == wanted
        out[rows[found], cols[found]] = data[pos[found]]
    return out


# --------------------------------------------------------------------------------------------
# Problem pieces shared with CPFair


def list_lengths(candidates: Candidates, k: int) -> np.ndarray:
    """``k_u = min(k, number of real candidates)`` of every list."""
    return np.minimum(candidates.lengths, k).astype(np.int64)


def normalised_scores(candidates: Candidates) -> np.ndarray:
    """Per-list min-max normalised scores, 0 at padding (see module docstring)."""
    return np.nan_to_num(minmax_per_list(candidates), nan=0.0)


def metric_weights(
    relevance: np.ndarray, valid: np.ndarray, k_u: np.ndarray, metric: str
) -> np.ndarray:
    """Weights ``a_ui`` such that the quality proxy is ``M(u) = sum_i W_ui * a_ui``.

    Args:
        relevance: ``(n_lists, N)`` estimates in [0, 1], 0 at padding.
        valid: Mask of the real candidates.
        k_u: Length of every output list.
        metric: ``"ndcg"`` or ``"f1"`` (see the module docstring).
    """
    rel = np.where(valid, relevance, 0.0)
    if metric == "ndcg":
        ordered = -np.sort(-rel, axis=1)
        cols = np.arange(rel.shape[1])[None, :]
        denom = np.where(cols < k_u[:, None], ordered, 0.0).sum(axis=1)
        scale = 1.0
    else:
        denom = k_u + rel.sum(axis=1)
        scale = 2.0
        denom = np.where(rel.sum(axis=1) > 0, denom, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(
            denom[:, None] > 0, scale * rel / np.where(denom > 0, denom, 1.0)[:, None], 0
        )
    return np.asarray(out, dtype=np.float64)


def group_coefficients(groups: np.ndarray) -> tuple[np.ndarray, bool]:
    """Per-list coefficients ``c_u`` with ``sum_u c_u M(u) = mean_Z1 M - mean_Z2 M``.

    Returns:
        The coefficients and whether both groups are non-empty (when one is empty, all are 0).
    """
    n0 = int((groups == 0).sum())
    n1 = int((groups == 1).sum())
    if n0 == 0 or n1 == 0:
        return np.zeros(len(groups)), False
    return np.where(groups == 0, 1.0 / n0, -1.0 / n1), True


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


# --------------------------------------------------------------------------------------------


class UGF:
    """User-oriented fairness re-ranking (Li et al., WWW 2021); see the module docstring.

    Args:
        user_groups: ``(n_lists,)`` group of every candidate list (row): 0 = advantaged (Z1),
            1 = disadvantaged (Z2). Build it from training data (e.g. the 5% most active users).
        epsilon: Largest allowed estimated gap ``|mean_Z1 M - mean_Z2 M|`` (>= 0).
        metric: Quality proxy ``"ndcg"`` or ``"f1"`` (linearised, see the module docstring).
        solver: ``"auto"``, ``"milp"`` or ``"greedy"``.
        time_limit: Seconds the MILP solver may run.

    Attributes (set by :meth:`rerank`):
        status_: ``"optimal"`` (MILP optimum, or the top-k already satisfied the bound),
            ``"time_limit"`` (MILP stopped at the time limit: the better of its best solution and
            the greedy one, or the greedy one when it had none), ``"greedy"`` (greedy heuristic
            chosen) or ``"infeasible"`` (no selection meets ``epsilon``: greedy result, as close
            as it could get, with a warning).
        gap_before_: Estimated gap of the top-``k`` by score.
        gap_: Estimated gap of the returned lists.
        objective_: Sum of the normalised scores of the returned selection.
        n_variables_: Number of binary variables (real candidates).
        solve_seconds_: Wall time of the MILP solve (0.0 when no MILP ran).
    """

    name: ClassVar[str] = "ugf"

    def __init__(
        self,
        *,
        user_groups: np.ndarray,
        epsilon: float,
        metric: str = "ndcg",
        solver: str = "auto",
        time_limit: float = 30.0,
    ) -> None:
        self.user_groups = user_groups
        self.epsilon = epsilon
        self.metric = metric
        self.solver = solver
        self.time_limit = time_limit

    def _check(self, n_lists: int) -> tuple[np.ndarray, float, str, str, float]:
        owner = type(self).__name__
        epsilon = check_nonnegative(self.epsilon, name="epsilon", owner=owner)
        if self.metric not in METRICS:
            raise ConfigError(
                f"{owner}: unknown metric {self.metric!r}; use one of "
                f"{', '.join(map(repr, METRICS))}."
            )
        solver, time_limit = check_solver(self.solver, self.time_limit, owner=owner)
        groups = check_binary_groups(
            self.user_groups, length=n_lists, name="user_groups", owner=owner, what="list"
        )
        return groups, epsilon, str(self.metric), solver, time_limit

    def rerank(
        self,
        candidates: Candidates,
        *,
        k: int,
        relevance: np.ndarray | sp.sparray | None = None,
    ) -> np.ndarray:
        """Pick ``k`` items per list under the estimated user-fairness bound.

        Args:
            candidates: The candidate lists (already without the users' training items).
            k: Length of the output lists.
            relevance: Relevance estimates in [0, 1], never test labels: an ``(n_lists, N)``
                array aligned with ``candidates.items`` (padding ignored) or a sparse users x items
                matrix (missing entries 0; stays aligned inside a pipeline). Required (the default
                only keeps the signature compatible with :class:`Reranker`).

        Returns:
            ``(n_lists, k)`` int64 item indices ordered by model score, ``-1`` padding.
        """
        groups, epsilon, metric, solver, time_limit = self._check(candidates.n_lists)
        k = check_k(k)
        rel = check_relevance(relevance, candidates, owner=type(self).__name__)
        valid = candidates.valid
        k_u = list_lengths(candidates, k)
        scores = normalised_scores(candidates)
        coef, both = group_coefficients(groups)
        effect = coef[:, None] * metric_weights(rel, valid, k_u, metric)
        base = top_k_selection(scores, valid, k_u)
        active = prune_dominated(valid, scores, [effect], k_u)
        self.n_variables_ = int(active.sum())
        self.solve_seconds_ = 0.0
        self.gap_before_ = abs(float((effect * base).sum()))
        if not both:
            warnings.warn(
                "UGF: user_groups holds a single group, so there is no gap to bound; returning "
                "the top-k by score",
                UserWarning,
                stacklevel=2,
            )
        selected = base
        if self.gap_before_ <= epsilon:
            status = "optimal"
        elif solver == "greedy" or (solver == "auto" and self.n_variables_ > MILP_MAX_VARIABLES):
            status = "greedy"
            selected = self._greedy(base, valid, scores, effect, epsilon)
            if abs(float((effect * selected).sum())) > epsilon:
                warnings.warn(
                    f"UGF: the greedy heuristic could not bring the estimated gap down to "
                    f"epsilon={epsilon} (no single swap reduces it further)",
                    UserWarning,
                    stacklevel=2,
                )
        else:
            selected, status = self._milp(
                base, valid, active, scores, effect, epsilon, k_u, time_limit
            )
        self.status_ = status
        self.gap_ = abs(float((effect * selected).sum()))
        self.objective_ = float((scores * selected).sum())
        return selection_to_lists(selected, candidates, k)

    @staticmethod
    def _greedy(
        base: np.ndarray,
        valid: np.ndarray,
        scores: np.ndarray,
        effect: np.ndarray,
        epsilon: float,
    ) -> np.ndarray:
        return greedy_gap_repair(base, valid=valid, scores=scores, effect=effect, epsilon=epsilon)

    def _milp(
        self,
        base: np.ndarray,
        valid: np.ndarray,
        active: np.ndarray,
        scores: np.ndarray,
        effect: np.ndarray,
        epsilon: float,
        k_u: np.ndarray,
        time_limit: float,
    ) -> tuple[np.ndarray, str]:
        selected, status, seconds = solve_selection(
            active,
            k_u,
            regret_costs(active, scores, base, k_u),
            [GapTerm(effect, bound=epsilon)],
            time_limit=time_limit,
        )
        self.solve_seconds_ = seconds
        if selected is not None and status == "optimal":
            return selected, status
        greedy = self._greedy(base, valid, scores, effect, epsilon)
        if selected is not None:  # time limit: keep the better of the incumbent and the greedy
            greedy_ok = abs(float((effect * greedy).sum())) <= epsilon
            if greedy_ok and (scores * greedy).sum() > (scores * selected).sum():
                return greedy, status
            return selected, status
        reason = {
            "infeasible": f"no selection meets epsilon={epsilon}",
            "time_limit": f"the MILP found no solution within time_limit={time_limit}s",
        }.get(status, "the MILP solver failed")
        warnings.warn(
            f"UGF: {reason}; falling back to the greedy heuristic (estimated gap as small as it "
            "could get). Raise epsilon or time_limit, or use solver='greedy'.",
            UserWarning,
            stacklevel=3,
        )
        return greedy, status if status in ("infeasible", "time_limit") else "greedy"
