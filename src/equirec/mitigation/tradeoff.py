"""Trading accuracy against fairness: the fairness metrics a sweep reads, grids and Pareto points.

Pure functions over audit reports, read as typed :class:`~equirec.fairness.schema.AuditReport`
models; the sweep workflow (:mod:`equirec.workflows.sweep`) runs the grid and calls them.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from equirec.fairness.schema import AuditReport

__all__ = [
    "FAIRNESS_METRICS",
    "FairnessMetric",
    "grid_points",
    "pareto",
]


@dataclass(frozen=True)
class FairnessMetric:
    """A number read from an audit report, and which direction is fairer.

    ``read(report, k, attribute)`` reads the typed report (``None`` where the section or key it
    reads is absent) and gets the attribute the swept method balances (``None`` when it names
    none); ``needs`` says what a metric needs besides the lists: ``"user"`` (a user
    attribute), ``"item"`` (an item attribute), ``"leakage"`` (a user attribute and a
    retrained model's user representations) or ``"membership"`` (users held out of
    training). Labels may hold ``{attribute}``.
    """

    label: str
    better: str  # "higher" or "lower"
    read: Callable[[AuditReport, int, str | None], float | None]
    needs: str | None = None

    def describe(self, attribute: str | None) -> str:
        """The label with the attribute filled in."""
        return self.label.format(attribute=attribute or "the attribute")


def _tail_exposure_share(report: AuditReport, k: int, attribute: str | None) -> float | None:
    popularity = report.items.groups.get("popularity")
    tail = None if popularity is None else popularity.by_group.get("tail")
    return None if tail is None else tail.exposure_share


def _c_kl(report: AuditReport, k: int, attribute: str | None) -> float | None:
    calibration = report.lists.calibration
    return None if calibration is None else calibration.c_kl


def _ild(report: AuditReport, k: int, attribute: str | None) -> float | None:
    diversity = report.lists.diversity
    return None if diversity is None else diversity.ild


def _ugf_ndcg(report: AuditReport, k: int, attribute: str | None) -> float | None:
    ugf = report.ugf.get(f"ndcg@{k}")
    return None if ugf is None else ugf.value


def _ndcg_gap(report: AuditReport, k: int, attribute: str | None) -> float | None:
    metrics = None if attribute is None else report.users.get(attribute)
    ndcg = None if metrics is None else metrics.get(f"ndcg@{k}")
    return None if ndcg is None else ndcg.difference


def _exposure_gap(report: AuditReport, k: int, attribute: str | None) -> float | None:
    groups = None if attribute is None else report.items.groups.get(attribute)
    return None if groups is None else groups.difference


def _leakage_auc(report: AuditReport, k: int, attribute: str | None) -> float | None:
    sources = None if attribute is None else report.leakage.get(attribute)
    probe = None if sources is None else sources.representations
    return None if probe is None else probe.auc


def _membership_auc(report: AuditReport, k: int, attribute: str | None) -> float | None:
    privacy = report.privacy
    return None if privacy is None else privacy.rank.auc


FAIRNESS_METRICS: dict[str, FairnessMetric] = {
    "tail_exposure_share": FairnessMetric(
        "exposure share of long-tail items", "higher", _tail_exposure_share
    ),
    "aplt": FairnessMetric(
        "APLT (share of long-tail items per list)",
        "higher",
        lambda r, k, a: r.items.popularity.aplt,
    ),
    "gini_exposure": FairnessMetric(
        "Gini of exposure", "lower", lambda r, k, a: r.items.catalogue.gini_exposure
    ),
    "coverage": FairnessMetric(
        "catalogue coverage", "higher", lambda r, k, a: r.items.catalogue.coverage
    ),
    "c_kl": FairnessMetric("miscalibration C_KL", "lower", _c_kl),
    "ild": FairnessMetric("intra-list diversity", "higher", _ild),
    "ugf_ndcg": FairnessMetric("UGF: active − inactive NDCG gap", "lower", _ugf_ndcg),
    "ndcg_gap": FairnessMetric(
        "NDCG gap between {attribute} groups (largest − smallest)",
        "lower",
        _ndcg_gap,
        needs="user",
    ),
    "exposure_gap": FairnessMetric(
        "gap in relative exposure between {attribute} item groups",
        "lower",
        _exposure_gap,
        needs="item",
    ),
    "leakage_auc": FairnessMetric(
        "leakage: AUC of inferring {attribute} from user representations (0.5 = none)",
        "lower",
        _leakage_auc,
        needs="leakage",
    ),
    "membership_auc": FairnessMetric(
        "membership inference: AUC of telling training users from held-out ones (0.5 = none)",
        "lower",
        _membership_auc,
        needs="membership",
    ),
}
"""Fairness metrics a sweep can trade accuracy against.

``ndcg_gap`` and ``leakage_auc`` read the user attribute the swept training method balances,
``exposure_gap`` its item attribute (see :func:`~equirec.mitigation.training.target_attributes`);
``leakage_auc`` needs retrained models (training-time methods only); ``membership_auc`` the
rank membership attack (:mod:`equirec.fairness.membership`), which needs users held out of
training (``split.holdout_users``) and a model that scores from a history.
"""


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
