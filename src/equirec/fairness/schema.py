"""The schema of ``audit.json``: typed, versioned models of every section of an audit report.

:class:`AuditReport` is the contract between :func:`~equirec.fairness.audit.audit`, which builds
the report and validates it against this schema, and whatever reads it: the trade-off sweep
reads typed attributes (``report.items.groups["popularity"].by_group["tail"].exposure_share``)
instead of walking string paths. ``schema_version`` names the layout; a change of layout (a key
added, removed, renamed or retyped) gets a new version.

Conventions:

- Models with a fixed set of keys forbid any other key. Keys that are names (user attributes,
  their groups, metrics such as ``ndcg@10``, item attributes, genres, classes) are ``dict`` keys.
- ``float | None`` is a number that can be undefined, written ``null`` (NaN and infinities
  are): an empty group, an interval without bootstrap, a test that was not run.
- A field with a default may be absent: ``p_adjusted`` and ``significant`` exist only on tested
  entries (those with a ``p_value``), ``lists.calibration`` and ``lists.diversity`` only when
  there is a multi-valued item attribute, a leakage source only when its probe ran.
- ``params`` also holds the ``context`` the audit was given (any JSON keys); the ones written
  by :func:`~equirec.fairness.run_audit.audit_run` are typed fields.
- Validation is strict: no string, boolean or float is taken for an integer, nor a string or a
  boolean for a number (an integer is a number: JSON does not tell ``1`` from ``1.0``). It
  applies to the JSON form (numpy scalars as Python numbers, NaN as ``null``), i.e. to
  :func:`equirec.io.jsonable` of the in-memory report.

``AuditReport.model_validate_json(text)`` reads an ``audit.json``; ``model_dump(mode="json",
exclude_unset=True)`` gives the same report back. Item-side models are in
:mod:`equirec.fairness.schema_items`.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel, ConfigDict

from equirec.fairness.schema_items import (
    Calibration,
    CatalogueExposure,
    Decile,
    Diversity,
    ExposedItem,
    ExposedItems,
    ExposureTotal,
    Fixed,
    GenreShare,
    ItemAttributeExposure,
    ItemGroupExposure,
    ItemRef,
    ItemsSection,
    LeakageProbe,
    LeakageSources,
    ListsSection,
    LorenzCurve,
    NeverRecommended,
    PopularityBias,
)

SCHEMA_VERSION: Final = "equirec-audit/4"
"""The ``schema_version`` of the reports this module describes."""

__all__ = [
    "SCHEMA_VERSION",
    "Aggregations",
    "AuditParams",
    "AuditReport",
    "Calibration",
    "CatalogueExposure",
    "Decile",
    "Diversity",
    "ExposedItem",
    "ExposedItems",
    "ExposureTotal",
    "Finding",
    "GenreShare",
    "GroupValue",
    "HeadParams",
    "ItemAttributeExposure",
    "ItemGroupExposure",
    "ItemRef",
    "ItemsSection",
    "LeakageProbe",
    "LeakageSources",
    "ListsSection",
    "LorenzCurve",
    "MembershipEntry",
    "NeverRecommended",
    "PopularityBias",
    "PrivacySection",
    "ShadowEntry",
    "UgfMetric",
    "UserMetric",
]


# -- params ---------------------------------------------------------------------------------------
class HeadParams(Fixed):
    """How the head (popular items) was cut.

    Attributes:
        method: ``"share"`` (items holding ``cutoff`` of the interactions) or ``"top"`` (the
            ``cutoff`` most popular share of items).
        cutoff: The share.
    """

    method: Literal["share", "top"]
    cutoff: float


class AuditParams(BaseModel):
    """The audit's parameters and sizes (``params``), plus the context it was given.

    Unknown keys are allowed: they are ``context`` entries (any JSON value), kept as they are.

    Attributes:
        k: Cut-off of every metric.
        metrics: The user metrics disaggregated by group (``ndcg@10``...), primary first.
        primary_metric: The first of ``metrics``.
        n_boot: Bootstrap resamples (0: no intervals).
        confidence: Level of intervals and significance.
        n_permutations: Permutations always run by every gap test (0: no tests); strong
            evidence runs up to 20 times more.
        p_value_adjustment: How p-values were adjusted, in words.
        seed: Seed of every resampling and probe.
        attention: Position attention of exposure.
        patience: Geometric attention's continuation probability (``None`` with ``"log"``).
        min_group_size: Groups smaller than this are flagged.
        head: The head/tail cut of ``popularity``.
        activity_top: UGF's share of most active users.
        activity_bands: Quantile bands of ``activity_band`` (absent before session 9: 4).
        numeric_bands: Quantile bands of numeric user attributes (absent before: 4).
        multi: Membership of multi-valued item attributes.
        leakage_permutations: Label permutations of every leakage probe (0: none).
        leakage_repeats: Cross-validation repeats of every leakage probe.
        n_users: Evaluated users (with held-out items).
        n_lists: Recommendation lists.
        n_items: Catalogue size.
        list_length: Longest list.
        run: Run folder (``audit_run``).
        dataset: Dataset name (``audit_run``).
        model: Model name (``audit_run``).
        split: Split name (``audit_run``).
        test_history: What the lists were ranked with (``audit_run``).
        audit_seconds: Wall time of the audit (``audit_run``).
    """

    model_config = ConfigDict(extra="allow", strict=True)

    k: int
    metrics: list[str]
    primary_metric: str
    n_boot: int
    confidence: float
    n_permutations: int
    p_value_adjustment: str
    seed: int
    attention: Literal["log", "geometric"]
    patience: float | None
    min_group_size: int
    head: HeadParams
    activity_top: float
    activity_bands: int = 4
    numeric_bands: int = 4
    multi: Literal["count", "split"]
    leakage_permutations: int
    leakage_repeats: int
    n_users: int
    n_lists: int
    n_items: int
    list_length: int
    run: str | None = None
    dataset: str | None = None
    model: str | None = None
    split: str | None = None
    test_history: str | None = None
    audit_seconds: float | None = None


# -- summary --------------------------------------------------------------------------------------
class Finding(Fixed):
    """One plain-language finding of ``summary``.

    Attributes:
        side: ``"users"``, ``"items"`` or ``"leakage"``.
        attribute: The attribute it is about.
        metric: The metric (``ndcg@10``, ``exposure``, ``auc (lists)``...).
        text: The finding in words.
        significant: Holm-adjusted significance (users, items), or the probe's evidence of
            leakage.
        severity: Relative size of the gap, for sorting.
        primary: Whether it is in the primary family of tests.
    """

    side: Literal["users", "items", "leakage"]
    attribute: str
    metric: str
    text: str
    significant: bool
    severity: float
    primary: bool


# -- users and UGF --------------------------------------------------------------------------------
class GroupValue(Fixed):
    """One group's mean of a user metric.

    Attributes:
        value: The group mean (``None`` when no user of the group has the metric defined).
        ci_low: Lower end of its bootstrap interval.
        ci_high: Upper end of that interval.
        n: Users in the group.
    """

    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int


class Aggregations(Fixed):
    """Every aggregation of the group means (see :func:`equirec.fairness.stats.aggregate`).

    Attributes:
        min_max_ratio: ``min / max``.
        max_min_ratio: ``max / min`` (``None`` when the minimum is 0).
        max_min_diff: ``max − min``.
        max_abs_diff: Largest absolute deviation from the mean of the groups.
        mean_abs_dev: Mean absolute deviation from it.
        l2: Euclidean norm of the deviations.
        variance: Population variance of the group means.
        mad: Mean absolute difference over pairs of groups.
    """

    min_max_ratio: float | None
    max_min_ratio: float | None
    max_min_diff: float | None
    max_abs_diff: float | None
    mean_abs_dev: float | None
    l2: float | None
    variance: float | None
    mad: float | None


class UserMetric(Fixed):
    """One user metric disaggregated by the groups of one user attribute.

    Attributes:
        overall: Mean over the users with a group.
        by_group: Group label -> its mean.
        difference: ``max − min`` of the group means.
        difference_ci_low: Lower end of the simultaneous interval of the gap between the
            groups' true means (0: no pair of groups differs; see
            :mod:`equirec.fairness.gaps`).
        difference_ci_high: Upper end of that interval.
        ratio: ``min / max`` of the group means.
        p_value: P-value of the studentized max-t permutation test of the gap (``None``: not
            tested); below ``1 − confidence`` exactly when ``difference_ci_low`` > 0.
        n_permutations: Permutations run, adaptively (``None``: not tested).
        significant_pairs: ``[higher, lower]`` group pairs whose means differ at the chosen
            confidence, simultaneously over all pairs.
        aggregations: Every aggregation of the group means.
        p_adjusted: Holm-adjusted p-value (tested entries only).
        significant: ``p_adjusted < 1 − confidence`` (tested entries only).
    """

    overall: float | None
    by_group: dict[str, GroupValue]
    difference: float | None
    difference_ci_low: float | None
    difference_ci_high: float | None
    ratio: float | None
    p_value: float | None
    n_permutations: int | None
    significant_pairs: list[list[str]]
    aggregations: Aggregations
    p_adjusted: float | None = None
    significant: bool | None = None


class UgfMetric(Fixed):
    """User-group fairness on one metric: most active users against the others.

    Attributes:
        value: ``active − inactive`` gap of the metric.
        ci_low: Lower end of the interval of the gap's size (see :class:`UserMetric`).
        ci_high: Upper end of that interval.
        p_value: Permutation p-value of the gap (``None``: not tested).
        n_permutations: Permutations run, adaptively (``None``: not tested).
        active: Mean of the active group.
        inactive: Mean of the inactive group.
        p_adjusted: Holm-adjusted p-value (tested entries only).
        significant: ``p_adjusted < 1 − confidence`` (tested entries only).
    """

    value: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    n_permutations: int | None
    active: float | None
    inactive: float | None
    p_adjusted: float | None = None
    significant: bool | None = None


# -- privacy ---------------------------------------------------------------------------------------
class MembershipEntry(Fixed):
    """One membership-inference attack: its ROC-AUC over members and non-members, and interval.

    Attributes:
        auc: 0.5 is chance.
        ci_low, ci_high: Stratified percentile bootstrap interval over users.
        leaks: The interval lies above 0.5.
    """

    auc: float | None
    ci_low: float | None
    ci_high: float | None
    leaks: bool


class ShadowEntry(MembershipEntry):
    """The shadow-model attack, with the shadows' own fit.

    Attributes:
        shadow_auc: The attack's AUC on the shadows' members and non-members.
        shadows: Shadow models trained.
        shadow_epochs: Epochs each trained (``None``: the model has no epochs).
        population: Users the shadows were drawn from.
    """

    shadow_auc: float | None
    shadows: int
    shadow_epochs: int | None
    population: int


class PrivacySection(Fixed):
    """Membership inference: the training users (members) against users held out of training.

    Attributes:
        members, non_members: Users attacked in each group.
        targets: Last items each user's score predicts.
        confidence: Level of the intervals.
        rank: The rank attack (how well each user's last items are predicted).
        shadow: The shadow-model attack (``None``: not run).
    """

    members: int
    non_members: int
    targets: int
    confidence: float
    rank: MembershipEntry
    shadow: ShadowEntry | None


# -- the report -----------------------------------------------------------------------------------
class AuditReport(Fixed):
    """The whole ``audit.json``.

    Attributes:
        schema_version: :data:`SCHEMA_VERSION`.
        params: Parameters, sizes and context.
        summary: Findings, significant first.
        warnings: Plain-language notes (small groups, missing lists, probes not run...).
        users: User attribute -> metric (``ndcg@10``...) -> its disaggregation.
        ugf: Metric (``ndcg@10``, ``f1@10``) -> user-group fairness.
        items: The item side.
        lists: Properties of the lists on their own.
        leakage: User attribute -> its probes (empty without leakage probes).
        privacy: Membership inference against the model (``None``: not measured, e.g. no
            user was held out of training; absent in a report of the lists alone).
    """

    schema_version: Literal["equirec-audit/4"]
    params: AuditParams
    summary: list[Finding]
    warnings: list[str]
    users: dict[str, dict[str, UserMetric]]
    ugf: dict[str, UgfMetric]
    items: ItemsSection
    lists: ListsSection
    leakage: dict[str, LeakageSources]
    privacy: PrivacySection | None = None
