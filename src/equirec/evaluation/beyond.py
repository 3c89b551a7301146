"""Beyond-accuracy metrics of top-k lists: catalogue coverage, concentration and popularity bias.

Catalogue metrics describe the set of all lists over the whole catalogue ``I`` (items that are
never recommended included); popularity metrics are per user and averaged afterwards. ``φ(i)``
is the item's popularity (its interactions known before the lists were made). ARP is
Abdollahpouri et al.'s average recommendation popularity; novelty is the mean self-information
of recommended items (Zhou et al., PNAS 2010).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def recommendation_counts(top_items: np.ndarray, *, n_items: int) -> np.ndarray:
    """How many lists each catalogue item appears in (length ``n_items``, zeros included).

    Args:
        top_items: ``(U, K)`` internal item indices, ``-1`` for padding (ignored).
        n_items: Size of the catalogue.
    """
    items = np.asarray(top_items, dtype=np.int64)
    return np.bincount(items[items >= 0], minlength=n_items)


def gini(values: np.ndarray) -> float:
    """Gini coefficient ``Σ_i (2i − n − 1)·x_i / (n·Σx)`` of non-negative values.

    ``x`` is sorted ascending and ``i`` is 1-based. 0 when all values are equal, ``(n − 1)/n``
    when one value holds everything; 0 by convention for an empty or all-zero vector. Pass the
    counts of every catalogue item (zeros included) to measure exposure concentration.
    """
    x = np.sort(np.asarray(values, dtype=np.float64))
    n, total = len(x), float(x.sum())
    if n == 0 or total == 0:
        return 0.0
    i = np.arange(1, n + 1, dtype=np.float64)
    return float(((2 * i - n - 1) * x).sum() / (n * total))


def entropy(values: np.ndarray) -> float:
    """Shannon entropy in nats of the distribution proportional to ``values``.

    0 for an all-zero vector; ``log(n)`` when ``n`` values are equal and positive.
    """
    x = np.asarray(values, dtype=np.float64)
    total = float(x.sum())
    if total == 0:
        return 0.0
    p = x[x > 0] / total
    return float(-(p * np.log(p)).sum())


def catalogue_metrics(
    top_items: np.ndarray, *, n_items: int, ks: Sequence[int]
) -> dict[str, float]:
    """Coverage, Gini and entropy of the first ``k`` items of every list, for each ``k``.

    - ``coverage@k`` = ``|∪_u L_u| / |I|``.
    - ``gini@k``: :func:`gini` of the recommendation counts of every catalogue item.
    - ``entropy@k``: :func:`entropy` (nats) of the same counts.

    Args:
        top_items: ``(U, K)`` internal item indices, ``-1`` for padding.
        n_items: Size of the whole catalogue, never-recommended items included.
        ks: Cut-offs (lists shorter than ``k`` count as they are).

    Returns:
        ``{"coverage@k": ..., "gini@k": ..., "entropy@k": ...}`` for every ``k``.
    """
    out: dict[str, float] = {}
    for k in sorted(set(ks)):
        counts = recommendation_counts(np.asarray(top_items)[:, :k], n_items=n_items)
        out[f"coverage@{k}"] = float(np.count_nonzero(counts) / n_items) if n_items else 0.0
        out[f"gini@{k}"] = gini(counts)
        out[f"entropy@{k}"] = entropy(counts)
    return out


def popularity_metrics(
    top_items: np.ndarray,
    *,
    popularity: np.ndarray,
    n_users: int,
    ks: Sequence[int],
    smoothing: float = 1.0,
) -> pd.DataFrame:
    """Per-user average recommendation popularity (ARP) and novelty of the first ``k`` items.

    - ``arp@k`` = ``Σ_{i∈L_u} φ(i) / |L_u|``; its mean over users is ARP.
    - ``novelty@k`` = mean over ``i ∈ L_u`` of ``−log2((φ(i) + s) / (n_users + s))``, with
      ``s = smoothing``: add-``s`` smoothing keeps items never seen in training finite
      (``−log2(s / (n_users + s))``). ``smoothing=0`` is the unsmoothed self-information, infinite
      for ``φ(i) = 0``. ``φ`` should count distinct users for ``φ / n_users`` to be a probability;
      with interaction counts, items consumed repeatedly can get negative novelty.

    Padding (``-1``) is skipped, so ``|L_u|`` is the actual list length; an empty list gives NaN.

    Args:
        top_items: ``(U, K)`` internal item indices, ``-1`` for padding.
        popularity: ``φ``, popularity (known interactions) of every catalogue item,
            shape ``(n_items,)``.
        n_users: Number of users ``|U|`` the popularity is counted over.
        ks: Cut-offs.
        smoothing: ``s`` above, non-negative.

    Returns:
        One row per list, columns ``arp@k`` and ``novelty@k`` for every ``k``.
    """
    if smoothing < 0:
        raise ValueError(f"smoothing must be non-negative, got {smoothing}")
    pop = np.asarray(popularity, dtype=np.float64)
    items = np.asarray(top_items, dtype=np.int64)
    valid = items >= 0
    phi = np.where(valid, pop[np.where(valid, items, 0)], 0.0)
    with np.errstate(divide="ignore"):
        info = np.where(valid, -np.log2((phi + smoothing) / (n_users + smoothing)), 0.0)
    n_valid = np.cumsum(valid, axis=1)
    phi_sum = np.cumsum(phi, axis=1)
    info_sum = np.cumsum(info, axis=1)
    out: dict[str, np.ndarray] = {}
    ks = sorted(set(ks))
    for k in ks:
        col = min(k, items.shape[1]) - 1
        if col < 0:  # no list at all
            out[f"arp@{k}"] = out[f"novelty@{k}"] = np.full(len(items), np.nan)
            continue
        n = n_valid[:, col]
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"arp@{k}"] = np.where(n > 0, phi_sum[:, col] / n, np.nan)
            out[f"novelty@{k}"] = np.where(n > 0, info_sum[:, col] / n, np.nan)
    return pd.DataFrame({f"{m}@{k}": out[f"{m}@{k}"] for m in ("arp", "novelty") for k in ks})
