"""Accuracy and the fairness metrics of a set of lists, read from a point-estimate audit.

``rerank`` puts the run's own lists (the baseline) beside the re-ranked ones and ``sweep``
measures every grid point the same way: one audit without resampling (no bootstrap, no
permutation tests, so it costs seconds), read through
:data:`~equirec.mitigation.tradeoff.FAIRNESS_METRICS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from equirec.data.splits import Split
from equirec.fairness.audit import audit
from equirec.fairness.inputs import AuditData
from equirec.fairness.membership import membership_section
from equirec.fairness.schema import AuditReport
from equirec.mitigation.tradeoff import FAIRNESS_METRICS
from equirec.models.base import Recommender

__all__ = ["Measure"]


@dataclass(frozen=True)
class Measure:
    """Audits lists and reads accuracy and fairness metrics from the report (point estimates).

    Attributes:
        k: The list length audited.
        user_attr: The user attribute a method balances (its groups are audited), or ``None``.
        item_attr: The item attribute a method balances, or ``None``.
        leakage: Probe the user representations for ``user_attr`` (training-time methods).
        shown: The :data:`~equirec.mitigation.tradeoff.FAIRNESS_METRICS` to read.
        membership: Attack the model's membership (the rank attack's AUC, training users
            against the split's held-out users).
    """

    k: int
    user_attr: str | None = None
    item_attr: str | None = None
    leakage: bool = False
    shown: tuple[str, ...] = ()
    membership: bool = False

    def __call__(
        self,
        split: Split,
        recommendations: pd.DataFrame,
        history: str,
        representations: pd.DataFrame | None = None,
        model: Recommender | None = None,
    ) -> dict[str, float | None]:
        """The metrics of ``recommendations`` (``user, rank, item, score``) on ``split``
        (``model``: the model that made them, for the membership attack).

        Returns:
            Every metric of :attr:`shown`, then ``ndcg@k`` and ``recall@k`` (``None`` where the
            report has no value).
        """
        data = AuditData.from_split(split, recommendations=recommendations, history=history)
        options: dict[str, Any] = {"leakage": False}
        if self.user_attr is not None:
            kinds = data.user_attribute_kinds
            names = [a for a, kind in kinds.items() if kind in ("categorical", "numeric")]
            options["attributes"] = list(dict.fromkeys([*names, "activity", self.user_attr]))
        if self.item_attr is not None:
            kinds = data.item_attribute_kinds
            names = [a for a, kind in kinds.items() if kind in ("categorical", "multi")]
            options["item_attributes"] = list(dict.fromkeys([*names, self.item_attr]))
        if self.leakage and self.user_attr is not None:
            options |= {
                "leakage": True,
                "leakage_attributes": [self.user_attr],
                "user_representations": representations,
            }
        k = self.k
        report = audit(
            data, k=k, metrics=("ndcg", "recall"), n_boot=0, n_permutations=0, **options
        ).report
        if self.membership and model is not None and split.holdout is not None:
            # the rank attack's point estimate (no interval), as the sweep measures everything
            report["privacy"] = membership_section(
                model, split.train, split.holdout, n_boot=0, rng=np.random.default_rng(0)
            )
        typed = AuditReport.model_validate(report)
        values: dict[str, float | None] = {}
        for key in self.shown:
            m = FAIRNESS_METRICS[key]
            values[key] = m.read(typed, k, self.item_attr if m.needs == "item" else self.user_attr)
        activity = typed.users.get("activity", {})
        for name in (f"ndcg@{k}", f"recall@{k}"):
            metric = activity.get(name)
            values[name] = None if metric is None else metric.overall
        return values
