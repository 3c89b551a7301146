""":class:`AuditFrame`: per-unit metric values disaggregated by one sensitive attribute.

The vocabulary is Fairlearn's ``MetricFrame`` (``overall``, ``by_group``, ``difference()``,
``ratio()``, ``group_min()``, ``group_max()``), applied to values that already exist per user
(NDCG@k of each user's list, ...), which is what ranking metrics need: Fairlearn's metrics must be
per-sample ``f(y_true, y_pred)``, so ranking and exposure metrics never fit it. On top of it:
stratified bootstrap intervals for every group value and every gap, a permutation test per metric,
FairRankTune's aggregations and MAD, group sizes and small-group warnings.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from equirec.errors import EquirecError
from equirec.fairness.groups import Groups
from equirec.fairness.stats import (
    aggregate,
    aggregations,
    group_means,
    percentile_interval,
    permutation_test,
    stratified_bootstrap,
)


class AuditFrame:
    """Group-disaggregated means of per-unit metrics, with uncertainty.

    Units without a group (code ``-1``) are left out of everything, ``overall`` included, so the
    numbers agree with a Fairlearn ``MetricFrame`` over the same rows.

    Args:
        values: One row per unit, one column per metric (e.g. ``ndcg@10``), NaN = undefined.
        groups: The group of every row (same length as ``values``).
        n_boot: Stratified bootstrap resamples for the intervals (0: no intervals).
        confidence: Level of the percentile intervals.
        n_permutations: Permutations for each metric's p-value (0: no test).
        min_group_size: Groups smaller than this are reported in :attr:`warnings`.
        seed: Seeds the bootstrap and the permutations.

    Attributes:
        overall: Mean of every metric over the grouped units.
        by_group: Group × metric means.
        sizes: Units per group.
        ci_low, ci_high: Group × metric interval bounds (NaN without bootstrap).
        difference_ci: Metric × (``ci_low``, ``ci_high``): interval of the gap between the two
            groups that are highest and lowest in the data (mean of the first minus mean of the
            second, over the same resamples). It can reach below zero: with two groups and no
            real gap it contains 0 in about ``confidence`` of samples, unlike an interval of the
            resampled ``max − min``, which is biased away from 0.
        p_values: Per metric: permutation p-value of ``max − min`` group mean (NaN if not run).
        warnings: Plain-language notes on groups too small to conclude anything.
    """

    def __init__(
        self,
        *,
        values: pd.DataFrame,
        groups: Groups,
        n_boot: int = 1000,
        confidence: float = 0.95,
        n_permutations: int = 2000,
        min_group_size: int = 20,
        seed: int = 0,
    ) -> None:
        if len(values) != len(groups.codes):
            raise EquirecError(
                f"attribute {groups.name!r}: {len(groups.codes)} group labels for "
                f"{len(values)} rows of metric values"
            )
        if not 0.0 < confidence < 1.0:
            raise EquirecError(f"confidence must be in (0, 1), got {confidence}")
        if n_boot < 0 or n_permutations < 0:
            raise EquirecError("n_boot and n_permutations must be non-negative")
        keep = groups.codes >= 0
        self.attribute = groups.name
        self.metrics: list[str] = [str(c) for c in values.columns]
        self.confidence = confidence
        self.groups = groups
        codes = groups.codes[keep]
        data = values.to_numpy(dtype=np.float64)[keep]
        self._codes, self._data = codes, data
        labels = list(groups.labels)
        self.sizes = pd.Series(
            np.bincount(codes, minlength=groups.n_groups), index=labels, name="n"
        )
        self.by_group = pd.DataFrame(
            np.column_stack(
                [group_means(data[:, j], codes, groups.n_groups) for j in range(data.shape[1])]
            )
            if data.shape[1]
            else np.zeros((groups.n_groups, 0)),
            index=pd.Index(labels, name=groups.name),
            columns=self.metrics,
        )
        self.overall = pd.Series(
            np.nanmean(data, axis=0) if len(data) else np.nan, index=self.metrics, dtype=np.float64
        )
        rng = np.random.default_rng(seed)
        self.ci_low = pd.DataFrame(np.nan, index=self.by_group.index, columns=self.metrics)
        self.ci_high = self.ci_low.copy()
        self.difference_ci = pd.DataFrame(np.nan, index=self.metrics, columns=["ci_low", "ci_high"])
        if n_boot and len(data):
            boot = stratified_bootstrap(
                data, codes, n_groups=groups.n_groups, n_boot=n_boot, rng=rng
            )
            for j, metric in enumerate(self.metrics):
                for g, label in enumerate(labels):
                    lo, hi = percentile_interval(boot.means[:, g, j], confidence)
                    self.ci_low.loc[label, metric], self.ci_high.loc[label, metric] = lo, hi
                col = self.by_group[metric].to_numpy()
                if np.isfinite(col).sum() >= 2:
                    hi, lo = int(np.nanargmax(col)), int(np.nanargmin(col))
                    gaps = boot.means[:, hi, j] - boot.means[:, lo, j]
                    self.difference_ci.loc[metric] = percentile_interval(gaps, confidence)
        p_values = np.full(len(self.metrics), np.nan)
        if n_permutations:
            for j in range(len(self.metrics)):
                p_values[j] = permutation_test(
                    data[:, j],
                    codes,
                    n_groups=groups.n_groups,
                    n_permutations=n_permutations,
                    rng=rng,
                )
        self.p_values = pd.Series(p_values, index=self.metrics, dtype=np.float64)
        self.min_group_size = min_group_size
        self.warnings: list[str] = [
            f"{groups.name}: group {label!r} has {n} user(s) (< {min_group_size}): its interval "
            "is wide and its gap is not reliable"
            for label, n in self.sizes.items()
            if n < min_group_size
        ]

    # Fairlearn's vocabulary -------------------------------------------------------------------
    def group_min(self) -> pd.Series:
        """Smallest group mean of every metric."""
        return self.by_group.min(axis=0)

    def group_max(self) -> pd.Series:
        """Largest group mean of every metric."""
        return self.by_group.max(axis=0)

    def difference(self) -> pd.Series:
        """``max − min`` of the group means (Fairlearn's ``difference()``, between groups)."""
        return self.group_max() - self.group_min()

    def ratio(self) -> pd.Series:
        """``min / max`` of the group means (Fairlearn's ``ratio(method="between_groups")``)."""
        return pd.Series(
            {m: aggregate(self.by_group[m].to_numpy(), "min_max_ratio") for m in self.metrics},
            dtype=np.float64,
        )

    def aggregate(self, how: str) -> pd.Series:
        """A FairRankTune aggregation (or MAD) of the group means of every metric."""
        return pd.Series(
            {m: aggregate(self.by_group[m].to_numpy(), how) for m in self.metrics}, dtype=np.float64
        )

    def to_dict(self, metrics: Sequence[str] | None = None) -> dict[str, Any]:
        """JSON-ready ``{metric: {"overall", "by_group", "difference", ..., "p_value"}}``."""
        out: dict[str, Any] = {}
        diff, ratio = self.difference(), self.ratio()
        for m in metrics or self.metrics:
            out[m] = {
                "overall": _num(self.overall[m]),
                "by_group": {
                    str(g): {
                        "value": _num(self.by_group.loc[g, m]),
                        "ci_low": _num(self.ci_low.loc[g, m]),
                        "ci_high": _num(self.ci_high.loc[g, m]),
                        "n": int(self.sizes[g]),
                    }
                    for g in self.by_group.index
                },
                "difference": _num(diff[m]),
                "difference_ci_low": _num(self.difference_ci.loc[m, "ci_low"]),
                "difference_ci_high": _num(self.difference_ci.loc[m, "ci_high"]),
                "ratio": _num(ratio[m]),
                "p_value": _num(self.p_values[m]),
                "aggregations": {
                    k: _num(v) for k, v in aggregations(self.by_group[m].to_numpy()).items()
                },
            }
        return out


def _num(value: Any) -> float | None:
    """A JSON number, ``None`` for NaN/inf."""
    v = float(value)
    return v if np.isfinite(v) else None
