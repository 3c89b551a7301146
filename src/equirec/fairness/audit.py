"""The fairness audit: user-side gaps, item-side exposure, calibration and leakage in one report.

:func:`audit` works on any system's lists (:class:`~equirec.fairness.inputs.AuditData`);
:func:`audit_run` audits an equirec run folder and writes ``audit.json`` and ``audit.html`` into
it. Every p-value is also Holm-adjusted, and a gap is called *significant* when its adjusted
p-value is below ``1 − confidence``: an audit runs dozens of tests, and unadjusted p-values would
flag some gap in almost every fair system. The adjustment runs within three families: the primary
one (the primary metric — the first of ``metrics`` — for every user attribute, UGF on NDCG, and
every item attribute), the secondary one (the other user metrics, strongly correlated with the
primary metric, so mixing them in would only blunt the primary tests) and the leakage probes.

Gap tests are studentized max-t permutation tests (:mod:`equirec.fairness.gaps`) whose
intervals hold for any number of groups and agree with the test; the permutations are adaptive
(:mod:`equirec.fairness.permutation`), so the smallest p-value reachable survives the adjustment.

The report's layout is :class:`~equirec.fairness.schema.AuditReport` (``schema_version``
:data:`~equirec.fairness.schema.SCHEMA_VERSION`): :func:`audit` validates every report it builds
against it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from equirec.errors import ConfigError, DataError, EquirecError
from equirec.fairness.frame import AuditFrame, _num
from equirec.fairness.groups import activity_groups
from equirec.fairness.inputs import AuditData
from equirec.fairness.items import item_side
from equirec.fairness.leakage import bag_of_items, leakage_probe
from equirec.fairness.schema import SCHEMA_VERSION, AuditReport
from equirec.fairness.stats import holm
from equirec.fairness.summary import summarise
from equirec.fairness.users import (
    check_groups,
    evaluated_users,
    missing_lists,
    user_groups,
    user_metrics,
)
from equirec.io import jsonable

log = logging.getLogger(__name__)


@dataclass
class AuditResult:
    """Everything the audit found, JSON-ready in :attr:`report`.

    Attributes:
        report: The ``audit.json`` content (``schema_version``, ``params``, ``summary``,
            ``warnings``, ``users``, ``ugf``, ``items``, ``lists``, ``leakage``), laid out as
            :class:`~equirec.fairness.schema.AuditReport`.
        frames: The :class:`AuditFrame` of every user attribute, for further analysis.
        per_user: Per-user metric values with the group of every user in each attribute.
    """

    report: dict[str, Any]
    frames: dict[str, AuditFrame] = field(default_factory=dict)
    per_user: pd.DataFrame | None = None

    @property
    def summary(self) -> list[dict[str, Any]]:
        return list(self.report["summary"])


def audit(
    data: AuditData,
    *,
    k: int = 10,
    metrics: Sequence[str] = ("ndcg", "recall", "mrr", "f1"),
    attributes: Sequence[str] | None = None,
    intersections: Sequence[tuple[str, str]] = (),
    item_attributes: Sequence[str] | None = None,
    activity_top: float = 0.05,
    activity_bands: int = 4,
    numeric_bands: int = 4,
    head: str = "share",
    head_cutoff: float = 0.8,
    attention: str = "log",
    patience: float = 0.8,
    multi: str = "count",
    calibration_attribute: str | None = None,
    calibration_alpha: float = 0.01,
    user_representations: pd.DataFrame | None = None,
    leakage: bool = True,
    leakage_attributes: Sequence[str] | None = None,
    leakage_folds: int = 5,
    leakage_repeats: int = 5,
    leakage_permutations: int = 19,
    n_boot: int = 1000,
    confidence: float = 0.95,
    n_permutations: int = 2000,
    min_group_size: int = 20,
    seed: int = 0,
    context: dict[str, Any] | None = None,
) -> AuditResult:
    """Audit ranked lists on both sides of the market.

    Args:
        data: Lists, held-out items, known history and attributes.
        k: Cut-off of every metric (lists are truncated to ``k``).
        metrics: Per-user metrics disaggregated by group (see
            :data:`~equirec.fairness.users.USER_METRICS`); ``ndcg`` and ``f1`` are always
            computed for UGF.
        attributes: User attributes (default: every categorical/numeric one, plus ``activity``).
        intersections: Pairs of user attributes to cross.
        item_attributes: Item attributes whose groups are compared (default: every categorical
            and multi-valued one); ``popularity`` (head vs tail) is always audited.
        activity_top: UGF's share of most active users (advantaged group).
        activity_bands: Quantile bands of ``activity_band``.
        numeric_bands: Quantile bands of numeric user attributes.
        head: ``"share"`` (items holding ``head_cutoff`` of the interactions) or ``"top"`` (the
            ``head_cutoff`` most popular share of items).
        head_cutoff: See ``head``.
        attention: Position attention of exposure, ``"log"`` (``1/log2(1+rank)``) or
            ``"geometric"`` (``patience**(rank−1)``).
        patience: Geometric attention's continuation probability.
        multi: Multi-valued item attributes: ``"count"`` or ``"split"`` membership.
        calibration_attribute: Multi-valued item attribute for calibration and diversity
            (default: the first multi-valued one, e.g. ``genres``).
        calibration_alpha: Steck's ``α``.
        user_representations: Optional table indexed by user id, one column per dimension
            (e.g. a model's user vectors), probed for leakage.
        leakage: Run the leakage probes.
        leakage_attributes: User attributes probed (default: the categorical ones audited).
        leakage_folds: Cross-validation folds of the probes.
        leakage_repeats: Repeats of the probes' cross-validation (different folds), averaged.
        leakage_permutations: Label shuffles (each a full cross-validation) behind every
            probe's test of "no leakage" (at least 2; 0: probes are measured but not tested,
            and no leak is flagged). The p-value comes from the shuffles' moments, so it can be
            far smaller than ``1 / (1 + leakage_permutations)``; see
            :mod:`equirec.fairness.leakage`.
        n_boot: Bootstrap resamples (stratified by group).
        confidence: Level of intervals and significance (``α = 1 − confidence``).
        n_permutations: Permutations always run for every test of a gap; a test whose
            evidence is strong runs up to 20 times more, so its p-value can be small enough for
            the Holm adjustment (see :mod:`equirec.fairness.permutation`).
        min_group_size: Smaller groups are flagged in ``warnings``.
        seed: Seeds every resampling and probe.
        context: Extra ``params`` entries recorded in the report (dataset, model...): JSON
            values; ``run``, ``dataset``, ``model``, ``split`` and ``test_history`` must be
            strings or ``None`` and ``audit_seconds`` a number (see
            :class:`~equirec.fairness.schema.AuditParams`).

    Raises:
        ConfigError: Invalid settings (``confidence`` outside ``(0, 1)``, ``k`` longer than the
            lists...).
        DataError: An attribute that is not in the data.
        pydantic.ValidationError: The report does not match
            :class:`~equirec.fairness.schema.AuditReport` (a ``context`` entry of the wrong
            type, or a bug).
    """
    if not 0.0 < confidence < 1.0:
        raise ConfigError(f"confidence must be in (0, 1), got {confidence}")
    rng_seed = np.random.SeedSequence(seed)
    seeds = iter(rng_seed.generate_state(64))
    metric_list = list(dict.fromkeys(list(metrics)))
    computed = list(dict.fromkeys([*metric_list, "ndcg", "f1"]))
    per_user = user_metrics(data, k=k, metrics=computed)
    evaluated = evaluated_users(data)
    warnings: list[str] = []
    n_missing = missing_lists(data)
    if n_missing:
        warnings.append(
            f"{n_missing} user(s) with held-out items have no recommendation list; they count "
            "as empty lists (every metric 0)"
        )

    # -- users ----------------------------------------------------------------------------------
    groups = user_groups(
        data,
        attributes=attributes,
        intersections=intersections,
        activity_top=activity_top,
        activity_bands=activity_bands,
        numeric_bands=numeric_bands,
    )
    frames: dict[str, AuditFrame] = {}
    users_report: dict[str, Any] = {}
    shown = [f"{m}@{k}" for m in metric_list]
    table = per_user.copy()
    if attributes is None and not any(
        kind in ("categorical", "numeric") for kind in data.user_attribute_kinds.values()
    ):
        warnings.append(
            "no user attributes in the data (gender, age...): users are compared by activity "
            "only, and no attribute can be probed for leakage; give a user attribute file "
            "(--user-attributes) to audit them"
        )
    for g in groups:
        t0 = time.perf_counter()
        check_groups(g, evaluated=evaluated)
        sub = g.subset(evaluated)
        frame = AuditFrame(
            values=per_user[shown],
            groups=sub,
            n_boot=n_boot,
            confidence=confidence,
            n_permutations=n_permutations,
            min_group_size=min_group_size,
            seed=int(next(seeds)),
        )
        frames[g.name] = frame
        log.info(
            "audit: users by %s (%d groups) in %.1f s", g.name, g.n_groups, time.perf_counter() - t0
        )
        users_report[g.name] = frame.to_dict()
        warnings.extend(frame.warnings)
        table[g.name] = [sub.labels[c] if c >= 0 else None for c in sub.codes]
    ugf_groups = next((g for g in groups if g.name == "activity"), None)
    if ugf_groups is None:
        ugf_groups = activity_groups(data.activity, top=activity_top)
    ugf_frame = AuditFrame(
        values=per_user[[f"ndcg@{k}", f"f1@{k}"]],
        groups=ugf_groups.subset(evaluated),
        n_boot=n_boot,
        confidence=confidence,
        n_permutations=n_permutations,
        min_group_size=0,
        seed=int(next(seeds)),
    )
    ugf = {
        m: {
            "value": _num(ugf_frame.difference()[m]),
            "ci_low": _num(ugf_frame.difference_ci.loc[m, "ci_low"]),
            "ci_high": _num(ugf_frame.difference_ci.loc[m, "ci_high"]),
            "p_value": _num(ugf_frame.p_values[m]),
            "n_permutations": ugf_frame.to_dict([m])[m]["n_permutations"],
            "active": _num(ugf_frame.by_group.loc["active", m]),
            "inactive": _num(ugf_frame.by_group.loc["inactive", m]),
        }
        for m in (f"ndcg@{k}", f"f1@{k}")
    }

    # -- items and lists ------------------------------------------------------------------------
    t0 = time.perf_counter()
    items_report, lists_report, item_warnings = item_side(
        data,
        k=k,
        item_attributes=item_attributes,
        head=head,
        head_cutoff=head_cutoff,
        attention=attention,
        patience=patience,
        multi=multi,
        calibration_attribute=calibration_attribute,
        calibration_alpha=calibration_alpha,
        n_boot=n_boot,
        confidence=confidence,
        n_permutations=n_permutations,
        seed=int(next(seeds)),
    )
    warnings.extend(item_warnings)
    if set(items_report.get("groups", {})) <= {"popularity"} and not item_attributes:
        warnings.append(
            "no categorical item attribute in the data (provider, category...): items are "
            "compared by popularity (head and tail) only; give an item attribute file "
            "(--item-attributes) to audit its groups"
        )
    log.info("audit: items and lists in %.1f s", time.perf_counter() - t0)

    # -- leakage --------------------------------------------------------------------------------
    leakage_report: dict[str, Any] = {}
    if leakage:
        leakage_report, leak_warnings = _leakage(
            data,
            groups={g.name: g for g in groups},
            attributes=leakage_attributes,
            user_representations=user_representations,
            k=k,
            folds=leakage_folds,
            repeats=leakage_repeats,
            permutations=leakage_permutations,
            n_boot=n_boot,
            confidence=confidence,
            seed=int(next(seeds)),
        )
        warnings.extend(leak_warnings)

    params = {
        "k": k,
        "metrics": shown,
        "primary_metric": shown[0],
        "n_boot": n_boot,
        "confidence": confidence,
        "n_permutations": n_permutations,
        "p_value_adjustment": "Holm, within each family of tests: primary, secondary, leakage",
        "seed": seed,
        "attention": attention,
        "patience": patience if attention == "geometric" else None,
        "min_group_size": min_group_size,
        "head": {"method": head, "cutoff": head_cutoff},
        "activity_top": activity_top,
        "activity_bands": activity_bands,
        "numeric_bands": numeric_bands,
        "multi": multi,
        "leakage_permutations": leakage_permutations,
        "leakage_repeats": leakage_repeats,
        "n_users": len(evaluated),
        "n_lists": len(data.lists),
        "n_items": int(data.n_items),
        "list_length": data.list_length,
        **(context or {}),
    }
    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "params": params,
        "summary": [],
        "warnings": warnings,
        "users": users_report,
        "ugf": ugf,
        "items": items_report,
        "lists": lists_report,
        "leakage": leakage_report,
    }
    _adjust(report, alpha=1.0 - confidence)
    report["summary"] = summarise(report)
    AuditReport.model_validate(jsonable(report))  # the contract: audit.json is an AuditReport
    return AuditResult(report=report, frames=frames, per_user=table)


def _families(report: dict[str, Any]) -> list[list[dict[str, Any]]]:
    """The tests of the audit in three families: primary (the primary metric of every user
    attribute, UGF on NDCG, every item attribute), secondary (the other user metrics) and
    leakage (every probe)."""
    primary_metric = report["params"]["primary_metric"]
    primary: list[dict[str, Any]] = []
    secondary: list[dict[str, Any]] = []
    for entries in report["users"].values():
        for metric, entry in entries.items():
            (primary if metric == primary_metric else secondary).append(entry)
    for metric, entry in report["ugf"].items():
        (primary if metric.startswith("ndcg") else secondary).append(entry)
    primary += list(report["items"].get("groups", {}).values())
    leakage = [e for sources in report.get("leakage", {}).values() for e in sources.values()]
    return [
        [e for e in family if e.get("p_value") is not None]
        for family in (primary, secondary, leakage)
    ]


def _adjust(report: dict[str, Any], *, alpha: float) -> None:
    """Holm step-down adjustment within each family; sets ``p_adjusted`` and ``significant``."""
    for tests in _families(report):
        for test, adjusted in zip(tests, holm([t["p_value"] for t in tests]), strict=True):
            test["p_adjusted"] = adjusted
            test["significant"] = bool(adjusted < alpha)


def _leakage(
    data: AuditData,
    *,
    groups: dict[str, Any],
    attributes: Sequence[str] | None,
    user_representations: pd.DataFrame | None,
    k: int,
    folds: int,
    repeats: int,
    permutations: int,
    n_boot: int,
    confidence: float,
    seed: int,
) -> tuple[dict[str, Any], list[str]]:
    """Probe each categorical user attribute from representations and from the lists."""
    names = (
        list(attributes)
        if attributes is not None
        else [n for n in groups if data.user_attribute_kinds.get(n) == "categorical"]
    )
    out: dict[str, Any] = {}
    warnings: list[str] = []
    if not names:
        warnings.append("leakage not measured: the data has no categorical user attribute to probe")
    lists_features = bag_of_items(data.lists[:, :k], n_items=data.n_items)
    for name in names:
        if name not in data.user_attributes.columns:
            raise DataError(
                f"leakage: user attribute {name!r} is not in the data; available: "
                f"{list(data.user_attributes.columns)}"
            )
        labels = data.user_attributes[name].to_numpy()
        entry: dict[str, Any] = {}
        sources: list[tuple[str, Any, np.ndarray]] = [
            ("lists", lists_features, labels[data.list_users])
        ]
        if user_representations is not None:
            reps = user_representations.reindex(data.user_ids[data.list_users])
            ok = ~reps.isna().any(axis=1).to_numpy()
            sources.insert(0, ("representations", reps.to_numpy()[ok], labels[data.list_users][ok]))
        for source, features, y in sources:
            t0 = time.perf_counter()
            try:
                result = leakage_probe(
                    features,
                    y,
                    folds=folds,
                    n_boot=n_boot,
                    confidence=confidence,
                    seed=seed,
                    n_permutations=permutations,
                    repeats=repeats,
                )
            except EquirecError as err:  # e.g. one class left: reported, not fatal
                warnings.append(f"leakage of {name} from the {source}: not measured ({err})")
                continue
            log.info(
                "audit: leakage of %s from the %s, AUC %.3f, in %.1f s",
                name,
                source,
                result.auc,
                time.perf_counter() - t0,
            )
            entry[source] = result.to_dict()
        if entry:
            out[name] = entry
    return out, warnings
