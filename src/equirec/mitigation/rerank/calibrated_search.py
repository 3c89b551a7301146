"""Calibrated re-ranking's local search: best-improvement swaps from a starting list.

Split from :mod:`equirec.mitigation.rerank.calibrated` (its greedy and objective stay there);
:func:`_local_search` improves the lists the greedy (or the top k) starts from, and
:func:`_best_swaps` finds each list's best swap of a pass.
"""

from __future__ import annotations

import logging

import numpy as np

log = logging.getLogger(__name__)

# The local search makes at most this many swaps per list (one per pass; the class docstring
# names the number).
_MAX_PASSES = 100
# Objectives this close (relative to their size, at least 1) are equal up to rounding.
_TIE = 1e-12
# Floor of q̃ before its logarithm where p = 0 (where p > 0, q̃ >= α p > 0 already).
_TINY = 1e-300


def _entropy(p: np.ndarray) -> np.ndarray:
    """``Σ_g p log p`` of every row (terms with ``p = 0`` count 0)."""
    logs = np.log(np.where(p > 0, p, 1.0))
    return np.asarray((p * logs).sum(axis=1))


def _take(values: np.ndarray, columns: np.ndarray, fill: float = -1) -> np.ndarray:
    """``values[r, columns[r, j]]`` of every list, ``fill`` where a column is ``-1``."""
    taken = np.take_along_axis(values, np.maximum(columns, 0), axis=1)
    return np.where(columns >= 0, taken, fill)


def _local_search(
    items: np.ndarray,
    rel: np.ndarray,
    p_user: np.ndarray,
    p_item: np.ndarray,
    columns: np.ndarray,
    *,
    lam: float,
    alpha: float,
    chunk_cells: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Best-improvement swaps from ``columns`` for a chunk of lists (all with a profile).

    A swap replaces one listed candidate by one outside the list, in its place. Every pass makes,
    in every list still improving, the swap that raises the objective most, if it raises it by
    more than rounding; a list stops when no swap does, or after ``_MAX_PASSES`` passes.

    Args:
        items: ``(n, N)`` candidate items, padding last.
        rel: ``(n, N)`` normalised scores, NaN at padding.
        p_user: ``(n, G)`` target genre distributions.
        p_item: ``(n_items, G)`` item genre distributions.
        columns: ``(n, k)`` the starting lists as columns of ``items``, ``-1`` padding last.
        lam: Trade-off λ.
        alpha: Smoothing α.
        chunk_cells: Lists are searched in chunks of about this many work cells.

    Returns:
        ``(columns, improved)``: ``(n, k)`` the lists after the search and ``(n,)`` whether a
        swap was made in each.
    """
    n, width = items.shape
    columns = columns.copy()
    valid = items >= 0
    relevance = np.where(valid, rel, 0.0)
    genre = p_item[np.where(valid, items, 0)] * valid[:, :, None]  # (n, N, G), 0 at padding
    listed = columns >= 0
    size = listed.sum(axis=1)
    inside = np.zeros((n, width), dtype=bool)
    inside[np.nonzero(listed)[0], columns[listed]] = True
    entropy = _entropy(p_user)  # the part of C_KL no swap changes
    improved = np.zeros(n, dtype=bool)
    # Only lists with a candidate outside them can change.
    active = (size > 0) & (size < valid.sum(axis=1))
    chunk = max(1, chunk_cells // max(1, columns.shape[1] * width * p_user.shape[1]))
    for _ in range(_MAX_PASSES):
        todo = np.nonzero(active)[0]
        if len(todo) == 0:
            break
        for start in range(0, len(todo), chunk):
            a = todo[start : start + chunk]
            found, pos, col = _best_swaps(
                columns[a],
                size[a],
                genre[a],
                relevance[a],
                valid[a] & ~inside[a],
                p_user[a],
                entropy[a],
                lam=lam,
                alpha=alpha,
            )
            active[a[~found]] = False
            rows = a[found]
            inside[rows, columns[rows, pos]] = False
            inside[rows, col] = True
            columns[rows, pos] = col
            improved[rows] = True
    else:
        if active.any():
            log.debug(
                "Calibrated: the local search stopped after %d passes on %d lists that still "
                "improved",
                _MAX_PASSES,
                int(active.sum()),
            )
    return columns, improved


def _best_swaps(
    columns: np.ndarray,
    size: np.ndarray,
    genre: np.ndarray,
    relevance: np.ndarray,
    outside: np.ndarray,
    p: np.ndarray,
    entropy: np.ndarray,
    *,
    lam: float,
    alpha: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The swap that raises every list's objective most, where one raises it beyond rounding.

    With ``m`` listed items, swapping position ``j`` out and candidate ``c`` in moves ``q̃`` by
    ``(1 − α)(p(g|c) − p(g|j)) / m``. ``C_KL`` is convex in ``q̃``, so it is at least its
    tangent at the current list, ``C_KL − Σ_g p_g / q̃_g · Δq̃_g``, which is linear in the swap:
    the objective of every swap has an upper bound from ``O((k + N) G)`` work, and only the swaps
    whose bound beats the current objective are evaluated exactly (on ML-100K about one in six).
    Which swap is best is unchanged by this: the others cannot improve.

    Args:
        columns: ``(n, k)`` the lists as candidate columns, ``-1`` padding.
        size: ``(n,)`` the number of listed items.
        genre: ``(n, N, G)`` ``p(g|i)`` of every candidate (0 at padding).
        relevance: ``(n, N)`` relevance of every candidate (0 at padding).
        outside: ``(n, N)`` the real candidates not listed.
        p: ``(n, G)`` target genre distributions.
        entropy: ``(n,)`` ``Σ_g p log p``.
        lam: Trade-off λ.
        alpha: Smoothing α.

    Returns:
        ``(found, position, column)``: ``(n,)`` whether an improving swap exists, and for those
        lists the position to replace and the candidate column to put there (the first of equal
        best swaps: earliest position, then best-ranked candidate).
    """
    n = columns.shape[0]
    on = columns >= 0
    safe = np.maximum(columns, 0)
    m = size.astype(np.float64)[:, None]
    g_list = np.take_along_axis(genre, safe[:, :, None], axis=1) * on[:, :, None]  # (n, k, G)
    q_sum = g_list.sum(axis=1)
    r_list = np.where(on, np.take_along_axis(relevance, safe, axis=1), 0.0)
    r_sum = r_list.sum(axis=1)
    q_now = (1.0 - alpha) * q_sum / m + alpha * p
    positive = p > 0
    # Where p > 0, q̃ >= α p > 0; where p = 0 the term counts 0 and any finite logarithm will do.
    kl_now = entropy - (np.log(np.maximum(q_now, _TINY)) * p).sum(axis=1)
    current = (1.0 - lam) * r_sum - lam * kl_now
    tol = _TIE * np.maximum(1.0, np.abs(current))
    # The tangent bound of every swap's objective, (n, k, N).
    weight = np.divide(p, q_now, out=np.zeros_like(p), where=positive) * ((1.0 - alpha) / m)
    slope_in = (genre @ weight[:, :, None])[:, :, 0]  # (n, N)
    slope_out = (g_list @ weight[:, :, None])[:, :, 0]  # (n, k)
    swapped_rel = r_sum[:, None, None] - r_list[:, :, None] + relevance[:, None, :]
    bound = (1.0 - lam) * swapped_rel - lam * (
        kl_now[:, None, None] - slope_in[:, None, :] + slope_out[:, :, None]
    )
    # A margin far above rounding keeps every swap that could improve.
    slack = 1e-9 * np.maximum(1.0, np.abs(current))
    maybe = on[:, :, None] & outside[:, None, :] & (bound > (current - slack)[:, None, None])
    li, pos, col = np.nonzero(maybe)  # row-major: by list, then position, then candidate
    found = np.zeros(n, dtype=bool)
    if len(li) == 0:
        return found, li, li
    base = (1.0 - alpha) * (q_sum[:, None, :] - g_list) / m[:, :, None] + alpha * p[:, None, :]
    n_genres = p.shape[1]
    q_tilde = np.take(base.reshape(-1, n_genres), li * base.shape[1] + pos, axis=0)  # (P, G)
    added = np.take(genre.reshape(-1, n_genres), li * genre.shape[1] + col, axis=0)
    q_tilde += added * ((1.0 - alpha) / m[li])
    np.maximum(q_tilde, _TINY, out=q_tilde)
    np.log(q_tilde, out=q_tilde)
    kl = entropy[li] - np.einsum("pg,pg->p", q_tilde, p[li])
    value = (1.0 - lam) * swapped_rel[li, pos, col] - lam * kl
    best = np.full(n, -np.inf)
    np.maximum.at(best, li, value)
    hits = np.flatnonzero(value >= best[li] - _TIE * np.maximum(1.0, np.abs(best[li])))
    lists, first = np.unique(li[hits], return_index=True)
    pick = hits[first]
    ok = value[pick] - current[lists] > tol[lists]
    found[lists[ok]] = True
    return found, pos[pick[ok]], col[pick[ok]]  # lists in increasing order, as found's
