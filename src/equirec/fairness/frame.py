""":class:`AuditFrame`: per-unit metric values disaggregated by one sensitive attribute.

The vocabulary is Fairlearn's ``MetricFrame`` (``overall``, ``by_group``, ``difference()``,
``ratio()``, ``group_min()``, ``group_max()``), applied to values that already exist per user
(NDCG@k of each user's list, ...), which is what ranking metrics need: Fairlearn's metrics must be
per-sample ``f(y_true, y_pred)``, so ranking and exposure metrics never fit it. On top of it:
stratified bootstrap intervals for every group value and every gap, a permutation test per metric,
FairRankTune's aggregations and MAD, group sizes and small-group warnings.

The gap of a metric (largest minus smallest group mean) is tested and given its interval by
:func:`~equirec.fairness.gaps.gap_test`: a studentized max-t permutation test over every pair of
groups, whose simultaneous intervals keep their level for any number and size of groups, and whose
interval of the gap excludes 0 exactly when its p-value is below ``1 − confidence``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from equirec.errors import EquirecError
from equirec.fairness.gaps import GapTest, gap_test
from equirec.fairness.groups import Groups
from equirec.fairness.stats import (
    aggregate,
    aggregations,
    group_means,
    percentile_interval,
    stratified_bootstrap,
)


class AuditFrame:
    """Group-disaggregated means of per-unit metrics, with uncertainty.

    Units without a group (code ``-1``) are left out of everything, ``overall`` included, so the
    numbers agree with a Fairlearn ``MetricFrame`` over the same rows.

    Args:
        values: One row per unit, one column per metric (e.g. ``ndcg@10``), NaN = undefined.
        groups: The group of every row (same length as ``values``).
        n_boot: Stratified bootstrap resamples for the group intervals (0: none).
        confidence: Level of the intervals; the tests' level is ``1 − confidence``.
        n_permutations: Permutations always run for each metric's gap test (0: no test and no
            gap interval).
        max_permutations: Most permutations of a gap test when the evidence is strong (default
            ``20 × n_permutations``), so that p-values can be small enough to survive a
            multiplicity adjustment.
        min_group_size: Groups smaller than this are reported in :attr:`warnings`.
        seed: Seeds the bootstrap and the permutations.

    Attributes:
        overall: Mean of every metric over the grouped units.
        by_group: Group × metric means.
        sizes: Units per group.
        ci_low, ci_high: Group × metric interval bounds (NaN without bootstrap).
        difference_ci: Metric × (``ci_low``, ``ci_high``): simultaneous interval of the gap
            ``max − min`` of the groups' true means (``ci_low`` is 0 when no pair of groups
            differs at the chosen confidence); NaN without permutations.
        p_values: Per metric: p-value of the studentized max-t permutation test (NaN if not run).
        tests: Per metric: its :class:`~equirec.fairness.gaps.GapTest` (``None`` if not run).
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
        max_permutations: int | None = None,
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
        self.tests: dict[str, GapTest | None] = {
            metric: gap_test(
                data[:, j],
                codes,
                n_groups=groups.n_groups,
                confidence=confidence,
                n_permutations=n_permutations,
                max_permutations=max_permutations,
                rng=rng,
            )
            if n_permutations
            else None
            for j, metric in enumerate(self.metrics)
        }
        for metric, test in self.tests.items():
            if test is not None:
                self.difference_ci.loc[metric] = test.gap_low, test.gap_high
        self.p_values = pd.Series(
            [np.nan if t is None else t.p_value for t in self.tests.values()],
            index=self.metrics,
            dtype=np.float64,
        )
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
        labels = [str(g) for g in self.by_group.index]
        for m in metrics or self.metrics:
            test = self.tests[m]
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
                "n_permutations": None if test is None else test.n_permutations,
                "significant_pairs": []
                if test is None
                else [[labels[a], labels[b]] for a, b in test.significant_pairs()],
                "aggregations": {
                    k: _num(v) for k, v in aggregations(self.by_group[m].to_numpy()).items()
                },
            }
        return out


def _num(value: Any) -> float | None:
    """A JSON number, ``None`` for NaN/inf."""
    v = float(value)
    return v if np.isfinite(v) else None
