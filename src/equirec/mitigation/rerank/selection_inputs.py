"""Inputs of the selection programmes shared by UGF and CPFair.

Parameter checks (:func:`check_nonnegative`, :func:`check_solver`, :func:`check_binary_groups`),
the relevance estimates aligned with the candidates (:func:`check_relevance`), and the
per-candidate pieces of the problem: list lengths, normalised scores, the weights of the
linearised quality proxy ``M(u)`` (see :mod:`~equirec.mitigation.rerank.ugf`) and the group
coefficients of the gap between two user groups. The programme itself, its MILP solver and the
greedy repair are in :mod:`~equirec.mitigation.rerank.selection`.
"""

from __future__ import annotations

from typing import Any, Literal, get_args

import numpy as np
import scipy.sparse as sp

from equirec.errors import ConfigError, DataError
from equirec.mitigation.rerank.base import Candidates, minmax_per_list

__all__ = [
    "SOLVERS",
    "Solver",
    "check_binary_groups",
    "check_nonnegative",
    "check_relevance",
    "check_solver",
    "group_coefficients",
    "list_lengths",
    "metric_weights",
    "normalised_scores",
]

Solver = Literal["auto", "milp", "greedy"]
"""How UGF and CPFair solve their selection programme."""
SOLVERS: tuple[str, ...] = get_args(Solver)


# --------------------------------------------------------------------------------------------
# Validation


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
# Problem pieces


def list_lengths(candidates: Candidates, k: int) -> np.ndarray:
    """``k_u = min(k, number of real candidates)`` of every list."""
    return np.minimum(candidates.lengths, k).astype(np.int64)


def normalised_scores(candidates: Candidates) -> np.ndarray:
    """Per-list min-max normalised scores, 0 at padding (see the UGF module docstring)."""
    return np.nan_to_num(minmax_per_list(candidates), nan=0.0)


def metric_weights(
    relevance: np.ndarray, valid: np.ndarray, k_u: np.ndarray, metric: str
) -> np.ndarray:
    """Weights ``a_ui`` such that the quality proxy is ``M(u) = sum_i W_ui * a_ui``.

    Args:
        relevance: ``(n_lists, N)`` estimates in [0, 1], 0 at padding.
        valid: Mask of the real candidates.
        k_u: Length of every output list.
        metric: ``"ndcg"`` or ``"f1"`` (see :mod:`~equirec.mitigation.rerank.ugf`).
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
