"""Item-side fairness of top-k lists: popularity bias, RSP/REO and catalogue concentration.

Notation: ``L_u`` is the top-k list of row ``u`` (padding ``-1`` skipped, so ``|L_u|`` is its
actual length), ``φ(i)`` the popularity of item ``i`` (its interactions known before the lists
were made), ``T_u`` the user's held-out relevant items and ``m`` the ``(n_items, G)`` item-group
membership weights (see ``.bench/FAIRNESS_DESIGN.md``). Group counts are membership-weighted: an
item contributes ``m_ig`` to group ``g`` (1 with ``"count"`` weights, ``1/|groups|`` with
``"split"``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from equirec.errors import ConfigError, DataError
from equirec.evaluation.beyond import entropy, gini, popularity_metrics, recommendation_counts
from equirec.evaluation.metrics import hit_matrix
from equirec.fairness.exposure import _membership, item_exposure, top_k

HEAD_METHODS = ("share", "top")


def head_items(popularity: np.ndarray, *, method: str = "share", cutoff: float = 0.8) -> np.ndarray:
    """Short-head mask of the catalogue (Abdollahpouri et al.); the rest is the long tail.

    Items are ranked by descending popularity, ties broken by item index (lower index first,
    stable), then:

    - ``"share"`` (default, Elliot's convention): the most popular items that together hold
      ``cutoff`` (default 0.8) of all known interactions. The item whose interactions make
      the running total reach or cross ``cutoff·Σφ`` is in the head; no item after it is.
      With no interactions at all (``Σφ = 0``) the head is empty.
    - ``"top"`` (Abdollahpouri et al. 2019; CPFair uses ``cutoff=0.2``): the ``⌈cutoff·n⌉``
      most popular items (at least one item of a non-empty catalogue).

    Args:
        popularity: ``(n_items,)`` non-negative popularity (known interactions) ``φ(i)``.
        method: ``"share"`` or ``"top"``.
        cutoff: Share of interactions (``"share"``) or of items (``"top"``), in ``(0, 1)``.

    Returns:
        ``(n_items,)`` boolean, ``True`` for head items.

    Raises:
        ConfigError: Unknown method or cutoff outside ``(0, 1)``.
    """
    if method not in HEAD_METHODS:
        raise ConfigError(f"unknown head method {method!r}; use one of {list(HEAD_METHODS)}")
    if not 0.0 < cutoff < 1.0:
        raise ConfigError(f"head cutoff must be in (0, 1), got {cutoff!r}")
    pop = np.asarray(popularity, dtype=np.float64)
    if pop.ndim != 1:
        raise DataError(f"popularity must be 1-D (n_items,), got shape {pop.shape}")
    if (pop < 0).any():
        raise DataError("popularity must be non-negative")
    n = len(pop)
    order = np.argsort(-pop, kind="stable")
    if method == "share":
        total = float(pop.sum())
        if total == 0:
            n_head = 0
        else:
            reached = np.cumsum(pop[order]) / total >= cutoff - 1e-12  # float slack at the edge
            n_head = int(np.argmax(reached)) + 1
    else:
        n_head = min(n, int(np.ceil(cutoff * n - 1e-9)))
    head = np.zeros(n, dtype=bool)
    head[order[:n_head]] = True
    return head


def popularity_bias(
    lists: np.ndarray, *, popularity: np.ndarray, tail: np.ndarray, k: int
) -> pd.DataFrame:
    """Per-list popularity bias of Abdollahpouri et al. (FLAIRS 2019): ARP, APLT and ACLT.

    - ``arp = Σ_{i∈L} φ(i) / |L|`` (computed by ``evaluation.beyond.popularity_metrics``);
    - ``aplt = |L ∩ tail| / |L|``, the share of long-tail items in the list;
    - ``aclt = |L ∩ tail|``, their number.

    ``|L|`` is the actual length (padding skipped). Means over rows give the paper's ARP,
    APLT and ACLT.

    Args:
        lists: ``(n_lists, K)`` item indices in rank order, ``-1`` for padding.
        popularity: ``(n_items,)`` popularity (known interactions) ``φ``.
        tail: ``(n_items,)`` boolean long-tail mask, e.g. ``~head_items(popularity)``.
        k: Cut-off.

    Returns:
        One row per list: ``arp`` and ``aplt`` (float, NaN for an empty list) and ``aclt``
        (int64, 0 for an empty list).
    """
    pop = np.asarray(popularity, dtype=np.float64)
    tail_mask = np.asarray(tail)
    if tail_mask.dtype != bool or tail_mask.shape != pop.shape:
        raise DataError(
            f"tail must be a boolean mask shaped like popularity {pop.shape}, got "
            f"{tail_mask.dtype} {tail_mask.shape}"
        )
    top = top_k(lists, k, n_items=len(pop))
    valid = top >= 0
    length = valid.sum(axis=1)
    in_tail = valid & tail_mask[np.where(valid, top, 0)]
    aclt = in_tail.sum(axis=1).astype(np.int64)
    # popularity_metrics' n_users only affects its novelty column, which is not used here
    arp = popularity_metrics(top, popularity=pop, n_users=max(len(top), 1), ks=(top.shape[1],))
    with np.errstate(invalid="ignore", divide="ignore"):
        aplt = np.where(length > 0, aclt / length, np.nan)
    arp_col = arp[f"arp@{top.shape[1]}"].to_numpy(dtype=np.float64)
    return pd.DataFrame({"arp": arp_col, "aplt": aplt, "aclt": aclt})


def _binary(matrix: Any, shape: tuple[int, int], what: str) -> sp.csr_matrix:
    """A float64 0/1 copy of a (sparse or dense) matrix, checked against ``shape``."""
    m = sp.csr_matrix(matrix, dtype=np.float64, copy=True)
    if m.shape != shape:
        raise DataError(f"{what} must have shape (n_lists, n_items) = {shape}, got {m.shape}")
    m.eliminate_zeros()
    m.sum_duplicates()
    m.data[:] = 1.0
    return m


def _relative_std(values: np.ndarray) -> float:
    """Population standard deviation over mean of the finite values (NaN if undefined)."""
    x = values[np.isfinite(values)]
    if len(x) == 0 or x.mean() == 0:
        return float("nan")
    return float(x.std(ddof=0) / x.mean())


def rsp(lists: np.ndarray, *, seen: Any, membership: np.ndarray, k: int) -> dict[str, Any]:
    """Ranking-based statistical parity of Zhu et al. (SIGIR 2020).

    ``P(R@k | g) = Σ_u |L_u ∩ g| / Σ_u |(I \\ seen_u) ∩ g|``: the probability that an item of
    group ``g`` the user has not interacted with is recommended. Counts are membership-weighted.
    ``RSP = std_g P / mean_g P`` with the population standard deviation (``ddof=0``) over groups
    with a defined probability; 0 is parity. Every row of ``lists`` is a user (an empty list adds
    candidates to the denominator and nothing to the numerator). The definition assumes lists
    exclude training items; a recommended seen item would still count in the numerator.

    Args:
        lists: ``(n_lists, K)`` item indices, ``-1`` for padding.
        seen: ``(n_lists, n_items)`` sparse or dense, non-zero where the user interacted in
            training (rows aligned with ``lists``).
        membership: ``(n_items, G)`` membership weights (for PopRSP: head/tail columns).
        k: Cut-off.

    Returns:
        ``{"by_group": (G,) float64, "value": float}``; a group with no candidate item gets NaN
        and is left out of the value; the value is NaN if no group is defined or the mean is 0.
    """
    m = np.asarray(membership, dtype=np.float64)
    n_items = m.shape[0] if m.ndim == 2 else 0
    m = _membership(m, n_items)
    top = top_k(lists, k, n_items=n_items)
    seen_bin = _binary(seen, (len(top), n_items), "seen")
    recommended = recommendation_counts(top, n_items=n_items).astype(np.float64) @ m
    unseen = len(top) * m.sum(axis=0) - np.asarray(seen_bin.sum(axis=0)).ravel() @ m
    with np.errstate(invalid="ignore", divide="ignore"):
        by_group = np.where(unseen > 0, recommended / unseen, np.nan)
    return {"by_group": by_group, "value": _relative_std(by_group)}


def reo(lists: np.ndarray, *, relevant: Any, membership: np.ndarray, k: int) -> dict[str, Any]:
    """Ranking-based equal opportunity of Zhu et al. (SIGIR 2020).

    ``P(R@k | g, y=1) = Σ_u |L_u ∩ g ∩ T_u| / Σ_u |g ∩ T_u|``: the recall of group ``g``'s test
    items. Counts are membership-weighted. ``REO = std_g P / mean_g P`` with the population
    standard deviation (``ddof=0``). A group with no relevant item in any user's test set has an
    undefined probability: NaN, left out of the standard deviation and the mean.

    Args:
        lists: ``(n_lists, K)`` item indices, ``-1`` for padding.
        relevant: ``(n_lists, n_items)`` sparse (or dense), non-zero where the item is a held-out
            test item of the row's user.
        membership: ``(n_items, G)`` membership weights (for PopREO: head/tail columns).
        k: Cut-off.

    Returns:
        ``{"by_group": (G,) float64, "value": float}``; the value is NaN if no group is defined
        or the mean is 0 (nothing relevant recommended).
    """
    m = np.asarray(membership, dtype=np.float64)
    n_items = m.shape[0] if m.ndim == 2 else 0
    m = _membership(m, n_items)
    top = top_k(lists, k, n_items=n_items)
    rel = _binary(relevant, (len(top), n_items), "relevant")
    hits = hit_matrix(top, rel)
    hit_items = np.bincount(top[hits], minlength=n_items).astype(np.float64)
    found = hit_items @ m
    held_out = np.asarray(rel.sum(axis=0)).ravel() @ m
    with np.errstate(invalid="ignore", divide="ignore"):
        by_group = np.where(held_out > 0, found / held_out, np.nan)
    return {"by_group": by_group, "value": _relative_std(by_group)}


def catalogue_exposure(
    lists: np.ndarray,
    *,
    n_items: int,
    k: int,
    attention: str = "log",
    patience: float = 0.8,
) -> dict[str, Any]:
    """How the lists spread over the whole catalogue (never-recommended items included).

    Args:
        lists: ``(n_lists, K)`` item indices, ``-1`` for padding.
        n_items: Catalogue size.
        k: Cut-off.
        attention: Position attention of the exposure (``"log"`` default, or ``"geometric"``).
        patience: RBP persistence for ``"geometric"``.

    Returns:
        A dict of plain Python numbers:

        - ``coverage`` (float): ``|∪_u L_u| / |I|``, NaN for an empty catalogue;
        - ``gini_exposure`` (float): ``beyond.gini`` of the position-weighted exposure of every
          catalogue item, zeros included;
        - ``gini_counts`` (float): ``beyond.gini`` of the recommendation counts (unweighted, as
          ``beyond.catalogue_metrics``' ``gini@k``);
        - ``entropy`` (float): ``beyond.entropy`` (nats) of the recommendation counts;
        - ``never_recommended`` (int): items in no list.
    """
    top = top_k(lists, k, n_items=n_items)
    counts = recommendation_counts(top, n_items=n_items)
    exposure = item_exposure(top, n_items=n_items, k=k, attention=attention, patience=patience)
    recommended = int(np.count_nonzero(counts))
    return {
        "coverage": recommended / n_items if n_items else float("nan"),
        "gini_exposure": gini(exposure),
        "gini_counts": gini(counts),
        "entropy": entropy(counts),
        "never_recommended": int(n_items - recommended),
    }
