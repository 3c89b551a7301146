"""Statistics for group comparisons of per-unit values: aggregations and the stratified bootstrap.

Every function works on one vector of per-unit values (one per user, or one per item) and one
vector of integer group codes ``0..G-1``. Nothing here knows about recommendation: the audit
feeds it per-user NDCG, per-item exposure and so on.

The bootstrap is *stratified*: each resample draws, with replacement, as many units from each
group as the group holds, so every group is present in every resample (a plain bootstrap can lose a
small group and crash or silently drop it — a known Fairlearn issue). Tests of the gaps between
groups are in :mod:`equirec.fairness.gaps`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations

import numpy as np

AGGREGATIONS: tuple[str, ...] = (
    "min_max_ratio",
    "max_min_ratio",
    "max_min_diff",
    "max_abs_diff",
    "mean_abs_dev",
    "l2",
    "variance",
    "mad",
)
"""Names accepted by :func:`aggregate`."""


def group_means(values: np.ndarray, codes: np.ndarray, n_groups: int) -> np.ndarray:
    """Mean of ``values`` in each group (NaN for an empty group). NaN values are skipped."""
    v = np.asarray(values, dtype=np.float64)
    ok = ~np.isnan(v)
    sums = np.bincount(codes[ok], weights=v[ok], minlength=n_groups)
    counts = np.bincount(codes[ok], minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts


def _spread(g: np.ndarray, fn: Callable[[np.ndarray], float]) -> float:
    g = g[~np.isnan(g)]
    return float(fn(g)) if len(g) else float("nan")


def aggregate(group_values: np.ndarray, how: str) -> float:
    """Combine per-group values into one unfairness number.

    With ``v_g`` the value of group ``g`` and ``v̄`` their unweighted mean (groups with a NaN value
    are ignored):

    - ``min_max_ratio``: ``min v / max v`` (1 is fair; FairRankTune's MinMaxRatio, Fairlearn's
      ``ratio``); 1 when both are 0.
    - ``max_min_ratio``: ``max v / min v`` (1 is fair; inf when the minimum is 0).
    - ``max_min_diff``: ``max v − min v`` (0 is fair; Fairlearn's ``difference``).
    - ``max_abs_diff``: ``max_g |v_g − v̄|``.
    - ``mean_abs_dev``: ``mean_g |v_g − v̄|``.
    - ``l2``: ``sqrt(Σ_g (v_g − v̄)²)``.
    - ``variance``: ``mean_g (v_g − v̄)²`` (population variance).
    - ``mad``: Deldjoo et al.'s MAD, the mean over unordered group pairs of ``|v_a − v_b|``.

    Raises:
        ValueError: Unknown aggregation.
    """
    g = np.asarray(group_values, dtype=np.float64)
    if how == "min_max_ratio":
        return _spread(g, lambda x: 1.0 if x.max() == 0 else x.min() / x.max())
    if how == "max_min_ratio":
        return _spread(g, lambda x: 1.0 if x.max() == 0 else _div(x.max(), x.min()))
    if how == "max_min_diff":
        return _spread(g, lambda x: x.max() - x.min())
    if how == "max_abs_diff":
        return _spread(g, lambda x: np.abs(x - x.mean()).max())
    if how == "mean_abs_dev":
        return _spread(g, lambda x: np.abs(x - x.mean()).mean())
    if how == "l2":
        return _spread(g, lambda x: np.sqrt(((x - x.mean()) ** 2).sum()))
    if how == "variance":
        return _spread(g, lambda x: x.var())
    if how == "mad":
        return _spread(
            g,
            lambda x: np.mean([abs(a - b) for a, b in combinations(x, 2)]) if len(x) > 1 else 0.0,
        )
    raise ValueError(f"unknown aggregation {how!r}; choose one of {list(AGGREGATIONS)}")


def _div(a: float, b: float) -> float:
    return float("inf") if b == 0 else a / b


def aggregations(group_values: np.ndarray) -> dict[str, float]:
    """Every aggregation of :data:`AGGREGATIONS` of the same group values."""
    return {name: aggregate(group_values, name) for name in AGGREGATIONS}


@dataclass(frozen=True)
class Bootstrap:
    """Group means of stratified bootstrap resamples, for one or several metrics at once.

    Attributes:
        means: ``(n_boot, G, M)`` group means of every resample for each of ``M`` metrics.
        overall: ``(n_boot, M)`` mean over all units of every resample (groups keep their sizes).
    """

    means: np.ndarray
    overall: np.ndarray


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment of ``p_values`` (in their order): the ``r``-th smallest is
    multiplied by ``m − r + 1``, made monotone and capped at 1."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [0.0] * len(p_values)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * float(p_values[i])))
        adjusted[i] = running
    return adjusted


def percentile_interval(stat: np.ndarray, confidence: float) -> tuple[float, float]:
    """Percentile interval of a statistic computed on every resample (NaNs ignored)."""
    s = np.asarray(stat, dtype=np.float64)
    s = s[~np.isnan(s)]
    if len(s) == 0:
        return float("nan"), float("nan")
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(s, [tail, 100.0 - tail])
    return float(low), float(high)


def stratified_bootstrap(
    values: np.ndarray,
    codes: np.ndarray,
    *,
    n_groups: int,
    n_boot: int,
    rng: np.random.Generator,
    chunk: int = 64,
) -> Bootstrap:
    """Group means over ``n_boot`` resamples drawn with replacement within each group.

    A group of ``n_g`` units contributes ``n_g`` draws from its own units to every resample, so no
    resample ever misses a group. The same draws serve every metric (columns of ``values``), so
    intervals of different metrics come from the same resamples. NaN values are skipped.

    Args:
        values: ``(units,)`` or ``(units, M)`` per-unit values.
        codes: Group code ``0..n_groups-1`` of every unit (``-1``: left out).
        n_groups: Number of groups.
        n_boot: Number of resamples.
        rng: Source of randomness.
        chunk: Resamples drawn at once (bounds memory to ``chunk × units × M``).
    """
    v = np.asarray(values, dtype=np.float64)
    v = v[:, None] if v.ndim == 1 else v
    m = v.shape[1]
    sums = np.zeros((n_boot, n_groups, m))
    counts = np.zeros((n_boot, n_groups, m))
    for g in range(n_groups):
        member = v[codes == g]
        if len(member) == 0:
            continue
        for start in range(0, n_boot, chunk):
            n = min(chunk, n_boot - start)
            draws = member[rng.integers(0, len(member), size=(n, len(member)))]
            ok = ~np.isnan(draws)
            sums[start : start + n, g] = np.where(ok, draws, 0.0).sum(axis=1)
            counts[start : start + n, g] = ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts
        overall = sums.sum(axis=1) / counts.sum(axis=1)
    return Bootstrap(means=means, overall=overall)
