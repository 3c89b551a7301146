"""Position-weighted exposure of items and item groups in top-k lists.

A list shows its items with decreasing attention by rank. Attention ``v_j`` at 1-based rank ``j``
is DCG-style ``1/log2(1 + j)`` by default, or RBP-style ``patience**(j − 1)`` (Moffat & Zobel,
TOIS 2008). The exposure of an item is the attention it receives summed over all lists
(Singh & Joachims, "Fairness of Exposure in Rankings", KDD 2018):

    Exp(i) = Σ_u v_{rank_u(i)}   (0 for an item in no list)

and the exposure of an item group ``G`` is the mean exposure of its items, ``Exp(G)``.
Demographic parity asks for ``Exp(G0) = Exp(G1)``; disparate treatment compares
``Exp(G)/U(G)`` with ``U(G)`` the mean relevance of the group's items. Equity of attention
(Biega et al., SIGIR 2018) compares cumulative attention and relevance item by item.

Conventions (see ``.bench/FAIRNESS_DESIGN.md``): ``lists`` is an ``int64`` ``(n_lists, K)`` array
of internal item indices in rank order, ``-1`` for padding (skipped everywhere, so a list shorter
than ``k`` only gives the attention of the ranks it fills); only ``lists[:, :k]`` is used.
``membership`` is ``(n_items, G)`` item-group weights (1.0 = member; multi-valued attributes give
1.0 to each of the item's groups with ``multi="count"`` or ``1/|groups|`` with ``"split"``; an
item with no value has an all-zero row). Every catalogue item counts, never-recommended ones as
zeros.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from equirec.errors import ConfigError, DataError

ATTENTIONS = ("log", "geometric")


def position_weights(k: int, *, attention: str = "log", patience: float = 0.8) -> np.ndarray:
    """Attention ``v_j`` paid to each rank ``j = 1..k`` of a list.

    - ``"log"`` (default, DCG-style, Järvelin & Kekäläinen 2002): ``v_j = 1/log2(1 + j)``, so
      ``v_1 = 1``, ``v_2 ≈ 0.631``, ``v_3 = 0.5``.
    - ``"geometric"`` (RBP, Moffat & Zobel 2008): ``v_j = patience**(j − 1)``, the probability that
      a user who moves on to the next rank with probability ``patience`` sees rank ``j``.
      ``patience=1`` gives every rank weight 1 (plain counts).

    Args:
        k: Number of ranks, ``k ≥ 0``.
        attention: ``"log"`` or ``"geometric"``.
        patience: RBP persistence in ``(0, 1]``, used by ``"geometric"`` only (default 0.8).

    Returns:
        ``float64`` array of length ``k``.

    Raises:
        ConfigError: Unknown ``attention``, negative ``k`` or ``patience`` outside ``(0, 1]``.
    """
    if int(k) != k or k < 0:
        raise ConfigError(f"k must be a non-negative integer, got {k!r}")
    j = np.arange(1, int(k) + 1, dtype=np.float64)
    if attention == "log":
        return 1.0 / np.log2(1.0 + j)
    if attention == "geometric":
        if not 0.0 < patience <= 1.0:
            raise ConfigError(f"patience must be in (0, 1], got {patience!r}")
        return np.asarray(float(patience) ** (j - 1.0), dtype=np.float64)
    raise ConfigError(f"unknown attention {attention!r}; use one of {list(ATTENTIONS)}")


def top_k(lists: np.ndarray, k: int, *, n_items: int | None = None) -> np.ndarray:
    """``lists[:, :k]`` as ``int64`` after checking shape and indices (shared by the kernels).

    Raises:
        DataError: ``lists`` is not 2-D, holds an index below ``-1`` or (when ``n_items`` is
            given) at or beyond ``n_items``.
        ConfigError: ``k`` is not a positive integer.
    """
    if int(k) != k or k < 1:
        raise ConfigError(f"k must be a positive integer, got {k!r}")
    top = np.asarray(lists)
    if top.ndim != 2:
        raise DataError(f"lists must be a 2-D (n_lists, K) array, got shape {top.shape}")
    top = top[:, : int(k)].astype(np.int64, copy=False)
    if top.size:
        if top.min() < -1:
            raise DataError(f"lists hold item index {top.min()}; use -1 for padding only")
        if n_items is not None and top.max() >= n_items:
            raise DataError(f"item index {top.max()} is outside the catalogue of {n_items} items")
    return top


def _membership(membership: np.ndarray, n_items: int) -> np.ndarray:
    m = np.asarray(membership, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] != n_items:
        raise DataError(
            f"membership must be an (n_items, G) = ({n_items}, G) array, got shape {m.shape}"
        )
    if (m < 0).any():
        raise DataError("membership weights must be non-negative")
    return m


def _per_item(values: np.ndarray, what: str) -> np.ndarray:
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1:
        raise DataError(f"{what} must be a 1-D array with one value per item, got {x.shape}")
    return x


def item_exposure(
    lists: np.ndarray,
    *,
    n_items: int,
    k: int,
    attention: str = "log",
    patience: float = 0.8,
) -> np.ndarray:
    """Exposure ``Exp(i) = Σ_lists v_{rank(i)}`` of every catalogue item (Singh & Joachims 2018).

    Padding (``-1``) is skipped; items in no list get 0. Without padding the exposures sum to
    ``n_lists·Σ_{j≤k} v_j``.

    Args:
        lists: ``(n_lists, K)`` item indices in rank order, ``-1`` for padding.
        n_items: Catalogue size (length of the result).
        k: Cut-off; ``lists[:, :k]`` is used.
        attention: ``"log"`` (default) or ``"geometric"``, see :func:`position_weights`.
        patience: RBP persistence for ``"geometric"`` (default 0.8).

    Returns:
        ``(n_items,)`` float64 exposure.
    """
    top = top_k(lists, k, n_items=n_items)
    v = position_weights(top.shape[1], attention=attention, patience=patience)
    valid = top >= 0
    weights = np.broadcast_to(v, top.shape)[valid]
    return np.bincount(top[valid], weights=weights, minlength=n_items).astype(np.float64)


def group_exposure(exposure: np.ndarray, membership: np.ndarray) -> np.ndarray:
    """Mean exposure per item of each group, ``Exp(G)`` of Singh & Joachims (2018).

    ``Exp(G) = Σ_i m_iG·Exp(i) / Σ_i m_iG`` with membership weights ``m``: with ``"count"``
    membership an item of two genres counts fully in both; with ``"split"`` half in each, in
    both the numerator and the denominator. Demographic parity of exposure holds when these
    are equal across groups.

    Args:
        exposure: ``(n_items,)`` exposure, e.g. from :func:`item_exposure`.
        membership: ``(n_items, G)`` non-negative membership weights.

    Returns:
        ``(G,)`` float64; NaN for a group without items (zero total weight).
    """
    x = _per_item(exposure, "exposure")
    m = _membership(membership, len(x))
    size = m.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(size > 0, (x @ m) / size, np.nan)


def exposure_share(exposure: np.ndarray, membership: np.ndarray) -> np.ndarray:
    """Share of all exposure that goes to each group: ``Σ_i m_iG·Exp(i) / Σ_i Exp(i)``.

    Compare with :func:`catalogue_share` ("the group holds 30% of the items but gets 10% of the
    exposure"). The shares sum to 1 only when every item has total membership weight 1 (single
    valued attribute or ``"split"`` weights, and no item without a value); with ``"count"``
    weights an item of several groups is counted in each and the shares can sum to more than 1.

    Args:
        exposure: ``(n_items,)`` exposure.
        membership: ``(n_items, G)`` non-negative membership weights.

    Returns:
        ``(G,)`` float64; all NaN when the total exposure is 0.
    """
    x = _per_item(exposure, "exposure")
    m = _membership(membership, len(x))
    total = float(x.sum())
    if total == 0:
        return np.full(m.shape[1], np.nan)
    return (x @ m) / total


def catalogue_share(membership: np.ndarray) -> np.ndarray:
    """Each group's share of the catalogue: ``Σ_i m_iG / n_items``.

    The companion of :func:`exposure_share`; ``exposure_share / catalogue_share`` is 1 when a
    group gets exposure in proportion to its size. Same summing caveat for ``"count"`` weights.

    Args:
        membership: ``(n_items, G)`` non-negative membership weights.

    Returns:
        ``(G,)`` float64; all NaN for an empty catalogue.
    """
    m = np.asarray(membership, dtype=np.float64)
    m = _membership(m, m.shape[0] if m.ndim == 2 else 0)
    if m.shape[0] == 0:
        return np.full(m.shape[1], np.nan)
    return m.sum(axis=0) / m.shape[0]


def disparate_treatment(
    exposure: np.ndarray, relevance: np.ndarray, membership: np.ndarray
) -> np.ndarray:
    """Exposure per unit of relevance of each group, ``Exp(G)/U(G)`` (Singh & Joachims 2018).

    ``U(G)`` is the mean relevance per item of the group, computed like :func:`group_exposure`
    from a relevance value per item that the caller chooses, e.g. the number of test users who
    hold the item (``relevant.sum(axis=0)``) or the item's summed predicted scores. Disparate
    treatment is absent when the ratio is equal across groups.

    Args:
        exposure: ``(n_items,)`` exposure.
        relevance: ``(n_items,)`` non-negative relevance of each item.
        membership: ``(n_items, G)`` non-negative membership weights.

    Returns:
        ``(G,)`` float64; NaN for a group without items or with ``U(G) = 0`` (the ratio is
        undefined; this function does not return ``inf``).
    """
    rel = _per_item(relevance, "relevance")
    if len(rel) != len(np.asarray(exposure)):
        raise DataError(
            f"relevance has {len(rel)} items but exposure has {len(np.asarray(exposure))}"
        )
    if (rel < 0).any():
        raise DataError("relevance must be non-negative")
    exp_g = group_exposure(exposure, membership)
    rel_g = group_exposure(rel, membership)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(rel_g > 0, exp_g / rel_g, np.nan)


def equity_of_attention(
    lists: np.ndarray,
    *,
    relevance: np.ndarray,
    k: int,
    attention: str = "log",
    patience: float = 0.8,
    normalize: bool = True,
) -> float:
    """Amortised unfairness ``Σ_i |A_i − R_i|`` of Biega et al. (SIGIR 2018).

    For every list ``l``, attention ``a_lj = v_j / Σ_{j'} v_j'`` and relevance
    ``r_lj = rel_lj / Σ_{j'} rel_lj'`` are normalised to sum to 1 over the list's filled ranks
    (padding skipped). ``A_i = Σ_l a_l,rank_l(i)`` and ``R_i = Σ_l r_l,rank_l(i)`` accumulate them
    per item over all lists, and the result is ``Σ_i |A_i − R_i|``. Only items shown in some list
    enter the sum (an item in no list has ``A_i = R_i = 0``).

    Choice: a list whose relevance sums to 0 (no relevant item shown) still distributes its
    attention (``Σ a = 1``) but contributes zero relevance, adding up to 1 to the unfairness: the
    attention it gives is undeserved. Empty lists (all padding) contribute nothing.

    Args:
        lists: ``(n_lists, K)`` item indices in rank order, ``-1`` for padding.
        relevance: ``(n_lists, ≥k)`` non-negative relevance aligned with ``lists`` (e.g. binary
            test relevance of each shown item from ``hit_matrix``, or model scores); only the
            first ``min(k, K)`` columns are used, values at padded positions are ignored.
        k: Cut-off.
        attention: ``"log"`` (default) or ``"geometric"``, see :func:`position_weights`.
        patience: RBP persistence for ``"geometric"``.
        normalize: Divide by the number of non-empty lists (default), so the value lies in
            ``[0, 2]``: 0 when attention equals relevance in every list, 2 when no item ever gets
            both. ``False`` gives the raw sum, which grows with the number of lists.

    Returns:
        The unfairness; NaN when ``normalize`` and every list is empty.
    """
    top = top_k(lists, k)
    rel = np.asarray(relevance, dtype=np.float64)
    if rel.ndim != 2 or rel.shape[0] != top.shape[0] or rel.shape[1] < top.shape[1]:
        raise DataError(
            f"relevance must be an (n_lists, ≥{top.shape[1]}) array aligned with lists "
            f"{top.shape}, got shape {rel.shape}"
        )
    rel = rel[:, : top.shape[1]]
    valid = top >= 0
    if (rel[valid] < 0).any() or not np.isfinite(rel[valid]).all():
        raise DataError("relevance must be finite and non-negative")
    v = np.where(valid, position_weights(top.shape[1], attention=attention, patience=patience), 0.0)
    r = np.where(valid, rel, 0.0)
    v_sum = v.sum(axis=1, keepdims=True)
    r_sum = r.sum(axis=1, keepdims=True)
    a = np.divide(v, v_sum, out=np.zeros_like(v), where=v_sum > 0)
    r = np.divide(r, r_sum, out=np.zeros_like(r), where=r_sum > 0)
    items = top[valid]
    n = int(items.max()) + 1 if items.size else 0
    diff = np.bincount(items, weights=a[valid], minlength=n) - np.bincount(
        items, weights=r[valid], minlength=n
    )
    value = float(np.abs(diff).sum())
    if not normalize:
        return value
    n_lists = int(valid.any(axis=1).sum())
    return value / n_lists if n_lists else float("nan")


def lorenz_curve(exposure: np.ndarray, *, points: int = 101) -> tuple[np.ndarray, np.ndarray]:
    """Lorenz curve of exposure over the whole catalogue.

    Items are sorted by ascending exposure (never-recommended items first, as zeros);
    ``x_j = j/n`` is the share of items and ``y_j`` the share of all exposure held by the ``j``
    least exposed items, ``j = 0..n``. The curve is the polyline through these ``n + 1``
    vertices; when ``n + 1 > points`` it is sampled at ``points`` evenly spaced ``x`` (linear
    interpolation, exact on the polyline), otherwise all vertices are returned. Both include
    ``(0, 0)`` and ``(1, 1)``. The Gini coefficient is twice the area between the curve and the
    diagonal. All-zero exposure (or an empty catalogue) gives the diagonal.

    Args:
        exposure: ``(n_items,)`` non-negative exposure of every catalogue item.
        points: Maximum number of points returned, at least 2 (default 101).

    Returns:
        ``(x, y)``, two float64 arrays of equal length ``min(points, n_items + 1)`` (2 for an
        empty catalogue), non-decreasing from 0 to 1.
    """
    if int(points) != points or points < 2:
        raise ConfigError(f"points must be an integer ≥ 2, got {points!r}")
    x_exp = np.sort(_per_item(exposure, "exposure"))
    if (x_exp < 0).any():
        raise DataError("exposure must be non-negative")
    n = len(x_exp)
    total = float(x_exp.sum())
    xs = np.arange(n + 1, dtype=np.float64) / max(n, 1)
    if n == 0:
        xs = np.array([0.0, 1.0])
        ys = xs.copy()
    elif total == 0:
        ys = xs.copy()
    else:
        ys = np.concatenate([[0.0], np.cumsum(x_exp) / total])
        ys[-1] = 1.0
    if len(xs) <= points:
        return xs, ys
    grid = np.linspace(0.0, 1.0, int(points))
    return grid, np.interp(grid, xs, ys)


def exposure_by_popularity_decile(
    exposure: np.ndarray, popularity: np.ndarray, *, bins: int = 10
) -> pd.DataFrame:
    """Share of exposure received by each popularity band of the catalogue.

    Items are sorted by ascending training popularity, ties broken by item index (stable sort,
    lower index first), and cut into ``bins`` consecutive bands whose sizes differ by at most 1
    (the extra items go to the least popular bands, as ``numpy.array_split`` does). With fewer
    items than bins the last bands are empty (``n_items`` 0, popularity NaN, share 0).

    Args:
        exposure: ``(n_items,)`` exposure of every catalogue item.
        popularity: ``(n_items,)`` training popularity ``φ(i)``.
        bins: Number of bands (default 10, deciles).

    Returns:
        One row per band with columns ``decile`` (1 = least popular ... ``bins`` = most popular),
        ``n_items``, ``popularity_min``, ``popularity_max`` and ``exposure_share`` (NaN for
        every band when the total exposure is 0).
    """
    if int(bins) != bins or bins < 1:
        raise ConfigError(f"bins must be a positive integer, got {bins!r}")
    x = _per_item(exposure, "exposure")
    pop = _per_item(popularity, "popularity")
    if len(pop) != len(x):
        raise DataError(f"popularity has {len(pop)} items but exposure has {len(x)}")
    order = np.argsort(pop, kind="stable")
    total = float(x.sum())
    rows = []
    for b, idx in enumerate(np.array_split(order, int(bins)), start=1):
        rows.append(
            {
                "decile": b,
                "n_items": len(idx),
                "popularity_min": float(pop[idx].min()) if len(idx) else float("nan"),
                "popularity_max": float(pop[idx].max()) if len(idx) else float("nan"),
                "exposure_share": float(x[idx].sum()) / total if total > 0 else float("nan"),
            }
        )
    return pd.DataFrame(
        rows, columns=["decile", "n_items", "popularity_min", "popularity_max", "exposure_share"]
    )
