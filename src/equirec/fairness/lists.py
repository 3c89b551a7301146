"""Properties of each list on its own: calibration to the user's history and intra-list diversity.

Novelty (mean self-information ``−log2(φ(i)/|U|)`` of the recommended items) is not defined
here: ``equirec.evaluation.beyond.popularity_metrics`` already computes it per list
(``novelty@k``, with add-``s`` smoothing).

Conventions: ``lists`` ``(n_lists, K)`` item indices, ``-1`` for padding, ``lists[:, :k]`` used;
``seen`` ``(n_lists, n_items)`` sparse, non-zero for training interactions of the row's user;
``item_genres`` ``(n_items, G)`` non-negative genre weights (same layout as a membership matrix).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from equirec.errors import ConfigError, DataError
from equirec.fairness.exposure import top_k
from equirec.fairness.item_metrics import _binary

ILD_METRICS = ("cosine", "jaccard")


def _genre_distributions(
    lists: np.ndarray, *, seen: Any, item_genres: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """``p(g|u)`` of every history and ``q(g|u)`` of every list, NaN rows where undefined."""
    genres = np.asarray(item_genres, dtype=np.float64)
    if genres.ndim != 2:
        raise DataError(f"item_genres must be an (n_items, G) array, got shape {genres.shape}")
    if (genres < 0).any():
        raise DataError("item_genres must be non-negative")
    n_items = genres.shape[0]
    weight = genres.sum(axis=1)
    has = weight > 0
    p_item = np.divide(genres, weight[:, None], out=np.zeros_like(genres), where=has[:, None])
    top = top_k(lists, k, n_items=n_items)
    history = _binary(seen, (len(top), n_items), "seen")
    n_hist = np.asarray(history @ has.astype(np.float64)).ravel()
    hist = np.asarray(history @ p_item)
    valid = top >= 0
    idx = np.where(valid, top, 0)
    n_list = (valid & has[idx]).sum(axis=1)
    shown = (p_item[idx] * valid[:, :, None]).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = np.where(n_hist[:, None] > 0, hist / n_hist[:, None], np.nan)
        q = np.where(n_list[:, None] > 0, shown / n_list[:, None], np.nan)
    return p, q


def calibration_kl(
    lists: np.ndarray, *, seen: Any, item_genres: np.ndarray, k: int, alpha: float = 0.01
) -> np.ndarray:
    """Miscalibration ``C_KL`` of every list (Steck, "Calibrated Recommendations", RecSys 2018).

    - ``p(g|i)``: the item's row of ``item_genres`` normalised to sum 1; items without any genre
      are skipped (they count neither in the numerator nor in the denominator).
    - ``p(g|u) = Σ_{i∈H_u} w_i·p(g|i) / Σ_{i∈H_u} w_i`` over the training history ``H_u`` with
      ``w_i = 1`` (Steck allows recency weights; not used here).
    - ``q(g|u)``: the same over the list, every position weight 1 (no rank discount).
    - ``q̃ = (1 − α)·q + α·p`` and ``C_KL = Σ_{g: p(g|u)>0} p·log(p/q̃)`` in nats.

    ``α > 0`` keeps ``C_KL`` finite when the list misses one of the history's genres; then
    ``C_KL ≤ −log α``. ``α = 0`` gives ``inf`` in that case. 0 means the list's genre mix equals
    the history's.

    Args:
        lists: ``(n_lists, K)`` item indices, ``-1`` for padding.
        seen: ``(n_lists, n_items)`` training interactions, rows aligned with ``lists``.
        item_genres: ``(n_items, G)`` non-negative genre weights (``"count"`` or ``"split"``
            membership give the same ``p(g|i)``).
        k: Cut-off.
        alpha: Smoothing ``α`` in ``[0, 1]`` (default 0.01, Steck's value).

    Returns:
        ``(n_lists,)`` float64; NaN for a user whose history has no item with a genre, and for a
        list with no item with a genre (empty list included): the distribution is undefined.
    """
    if not 0.0 <= alpha <= 1.0:
        raise ConfigError(f"alpha must be in [0, 1], got {alpha!r}")
    p, q = _genre_distributions(lists, seen=seen, item_genres=item_genres, k=k)
    q_tilde = (1.0 - alpha) * q + alpha * p
    with np.errstate(invalid="ignore", divide="ignore"):
        terms = np.where(p > 0, p * np.log(p / q_tilde), 0.0)
    out = terms.sum(axis=1)
    out[np.isnan(p).any(axis=1) | np.isnan(q).any(axis=1)] = np.nan
    return out


def genre_profiles(
    lists: np.ndarray, *, seen: Any, item_genres: np.ndarray, k: int
) -> pd.DataFrame:
    """Mean genre distribution of the histories and of the lists, for a calibration chart.

    ``history`` is the mean of ``p(g|u)`` and ``recommended`` the mean of ``q(g|u)`` (both as in
    :func:`calibration_kl`) over the users for whom both are defined, i.e. those with a finite
    or infinite ``C_KL``, so both columns describe the same users and each sums to 1.

    Args:
        lists: ``(n_lists, K)`` item indices, ``-1`` for padding.
        seen: ``(n_lists, n_items)`` training interactions.
        item_genres: ``(n_items, G)`` non-negative genre weights.
        k: Cut-off.

    Returns:
        One row per genre (index ``0..G−1``; set the genre names as the index), columns
        ``history`` and ``recommended``; NaN when no user qualifies.
    """
    p, q = _genre_distributions(lists, seen=seen, item_genres=item_genres, k=k)
    ok = ~(np.isnan(p).any(axis=1) | np.isnan(q).any(axis=1))
    n_genres = p.shape[1]
    if not ok.any():
        nan = np.full(n_genres, np.nan)
        return pd.DataFrame({"history": nan, "recommended": nan.copy()})
    return pd.DataFrame({"history": p[ok].mean(axis=0), "recommended": q[ok].mean(axis=0)})


def intra_list_diversity(
    lists: np.ndarray, *, item_features: np.ndarray, k: int, metric: str = "cosine"
) -> np.ndarray:
    """Intra-list diversity: mean distance over the unordered pairs of items in each list.

    ``ILD(L) = Σ_{i<j ∈ L} d(i, j) / (|L|·(|L| − 1)/2)`` (Ziegler et al., WWW 2005), with

    - ``"cosine"`` (default): ``d = 1 − cos(f_i, f_j)``; an item whose feature row is all zero
      has similarity 0 with every item (distance 1). With negative features ``d`` can reach 2.
    - ``"jaccard"``: features are binarised (non-zero = 1) and ``d = 1 − |f_i∩f_j| / |f_i∪f_j|``;
      two items without any feature have similarity 0 (distance 1), like the cosine case.

    Padding is skipped; a repeated item pairs with itself at distance 0.

    Args:
        lists: ``(n_lists, K)`` item indices, ``-1`` for padding.
        item_features: ``(n_items, d)`` item features (genre membership, embeddings...).
        k: Cut-off.
        metric: ``"cosine"`` or ``"jaccard"``.

    Returns:
        ``(n_lists,)`` float64; NaN for a list with fewer than 2 items.
    """
    if metric not in ILD_METRICS:
        raise ConfigError(f"unknown diversity metric {metric!r}; use one of {list(ILD_METRICS)}")
    feats = np.asarray(item_features, dtype=np.float64)
    if feats.ndim != 2:
        raise DataError(f"item_features must be an (n_items, d) array, got shape {feats.shape}")
    top = top_k(lists, k, n_items=feats.shape[0])
    if metric == "cosine":
        norms = np.linalg.norm(feats, axis=1)
        feats = np.divide(feats, norms[:, None], out=np.zeros_like(feats), where=norms[:, None] > 0)
    else:
        feats = (feats != 0).astype(np.float64)
    n, width = top.shape
    valid = top >= 0
    upper = np.triu(np.ones((width, width), dtype=bool), k=1)
    out = np.full(n, np.nan)
    step = max(1, 2**22 // max(1, width * feats.shape[1]))  # bounds the (rows, K, d) gather
    for start in range(0, n, step):
        ok = valid[start : start + step]
        x = feats[np.where(ok, top[start : start + step], 0)]
        inner = np.einsum("bkd,bjd->bkj", x, x)
        if metric == "cosine":
            sim = inner
        else:
            size = x.sum(axis=2)
            union = size[:, :, None] + size[:, None, :] - inner
            sim = np.divide(inner, union, out=np.zeros_like(inner), where=union > 0)
        pairs = ok[:, :, None] & ok[:, None, :] & upper
        n_pairs = pairs.sum(axis=(1, 2))
        total = np.where(pairs, 1.0 - sim, 0.0).sum(axis=(1, 2))
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start : start + step] = np.where(n_pairs > 0, total / n_pairs, np.nan)
    return out
