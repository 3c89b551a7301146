"""Trading accuracy against fairness: the fairness metrics a sweep reads, grids and Pareto points.

Pure functions over audit reports; the sweep workflow (:mod:`equirec.workflows.sweep`) runs the
grid and calls them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "DEFAULT_FAIRNESS",
    "FAIRNESS_METRICS",
    "FairnessMetric",
    "default_fairness",
    "grid_points",
    "pareto",
    "read_report",
]


@dataclass(frozen=True)
class FairnessMetric:
    """A number read from an audit report, and which direction is fairer.

    ``read(report, k, attribute)`` gets the attribute the swept method balances (``None`` when
    it names none); ``needs`` says what a metric needs besides the lists: ``"user"`` (a user
    attribute), ``"item"`` (an item attribute) or ``"leakage"`` (a user attribute and a
    retrained model's user representations). Labels may hold ``{attribute}``.
    """

    label: str
    better: str  # "higher" or "lower"
    read: Callable[[dict[str, Any], int, str | None], float | None]
    needs: str | None = None

    def describe(self, attribute: str | None) -> str:
        """The label with the attribute filled in."""
        return self.label.format(attribute=attribute or "the attribute")


def read_report(report: dict[str, Any], *path: str | None) -> float | None:
    node: Any = report
    for key in path:
        if key is None or not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return None if node is None else float(node)


FAIRNESS_METRICS: dict[str, FairnessMetric] = {
    "tail_exposure_share": FairnessMetric(
        "exposure share of long-tail items",
        "higher",
        lambda r, k, a: read_report(
            r, "items", "groups", "popularity", "by_group", "tail", "exposure_share"
        ),
    ),
    "aplt": FairnessMetric(
        "APLT (share of long-tail items per list)",
        "higher",
        lambda r, k, a: read_report(r, "items", "popularity", "aplt"),
    ),
    "gini_exposure": FairnessMetric(
        "Gini of exposure",
        "lower",
        lambda r, k, a: read_report(r, "items", "catalogue", "gini_exposure"),
    ),
    "coverage": FairnessMetric(
        "catalogue coverage",
        "higher",
        lambda r, k, a: read_report(r, "items", "catalogue", "coverage"),
    ),
    "c_kl": FairnessMetric(
        "miscalibration C_KL",
        "lower",
        lambda r, k, a: read_report(r, "lists", "calibration", "c_kl"),
    ),
    "ild": FairnessMetric(
        "intra-list diversity",
        "higher",
        lambda r, k, a: read_report(r, "lists", "diversity", "ild"),
    ),
    "ugf_ndcg": FairnessMetric(
        "UGF: active − inactive NDCG gap",
        "lower",
        lambda r, k, a: read_report(r, "ugf", f"ndcg@{k}", "value"),
    ),
    "ndcg_gap": FairnessMetric(
        "NDCG gap between {attribute} groups (largest − smallest)",
        "lower",
        lambda r, k, a: read_report(r, "users", a, f"ndcg@{k}", "difference"),
        needs="user",
    ),
    "exposure_gap": FairnessMetric(
        "gap in relative exposure between {attribute} item groups",
        "lower",
        lambda r, k, a: read_report(r, "items", "groups", a, "difference"),
        needs="item",
    ),
    "leakage_auc": FairnessMetric(
        "leakage: AUC of inferring {attribute} from user representations (0.5 = none)",
        "lower",
        lambda r, k, a: read_report(r, "leakage", a, "representations", "auc"),
        needs="leakage",
    ),
}
"""Fairness metrics a sweep can trade accuracy against.

``ndcg_gap`` and ``leakage_auc`` read the user attribute the swept training method balances,
``exposure_gap`` its item attribute (see :func:`~equirec.mitigation.training.target_attributes`);
``leakage_auc`` needs retrained models (training-time methods only).
"""

DEFAULT_FAIRNESS = {
    "fair": "tail_exposure_share",
    "detconstsort": "tail_exposure_share",
    "calibrated": "c_kl",
    "mmr": "ild",
    "ugf": "ugf_ndcg",
    "cpfair": "tail_exposure_share",
    "adversary": "leakage_auc",
    "group_gap": "ndcg_gap",
    "exposure": "tail_exposure_share",
    "popularity": "tail_exposure_share",
    "ipw": "tail_exposure_share",
    "reweight": "ndcg_gap",
    "resample": "ndcg_gap",
}
"""Default fairness metric per method (``reweight`` / ``resample`` with ``by = "item"``:
``exposure_gap``)."""


def default_fairness(method: str, params: Mapping[str, Any] | None = None) -> str:
    """The fairness metric a sweep of ``method`` (with these parameters) trades by default."""
    if method in ("reweight", "resample") and (params or {}).get("by") == "item":
        return "exposure_gap"
    return DEFAULT_FAIRNESS.get(method, "tail_exposure_share")


def grid_points(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values."""
    names = list(grid)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*grid.values())]


def pareto(
    accuracy: Sequence[float | None], fairness: Sequence[float | None], better: str
) -> list[bool]:
    """Which points no other point beats on both accuracy (higher) and fairness."""
    sign = 1.0 if better == "higher" else -1.0
    acc = [np.nan if a is None else a for a in accuracy]
    fair = [np.nan if f is None else sign * f for f in fairness]
    out = []
    for i in range(len(acc)):
        if np.isnan(acc[i]) or np.isnan(fair[i]):
            out.append(False)
            continue
        dominated = any(
            acc[j] >= acc[i] and fair[j] >= fair[i] and (acc[j] > acc[i] or fair[j] > fair[i])
            for j in range(len(acc))
            if j != i and not (np.isnan(acc[j]) or np.isnan(fair[j]))
        )
        out.append(not dominated)
    return out
