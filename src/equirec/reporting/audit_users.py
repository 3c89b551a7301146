"""The users section of the audit page: quality per group of every user attribute, and UGF.

:func:`users_view` prepares what ``audit_users.html.j2`` shows: per attribute, the chart of the
primary metric with its gap line, a table of every metric, and the charts of the other metrics
and the aggregations of the group means behind a disclosure; then user-oriented group fairness
(active against inactive users).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from equirec.reporting.audit_charts import hbar_chart
from equirec.reporting.audit_context import AuditContext
from equirec.reporting.charts import Bar
from equirec.reporting.formatting import (
    as_float,
    as_list,
    as_map,
    fmt_ci,
    fmt_int,
    fmt_num,
    fmt_p,
    fmt_pct,
    metric_label,
)
from equirec.reporting.views import Figure, Stat, StatsLine, p_text, significant, slug

__all__ = [
    "Aggregations",
    "FootRow",
    "GroupRow",
    "MetricCell",
    "MetricChart",
    "MetricsTable",
    "UgfRow",
    "UgfView",
    "UserAttribute",
    "UsersView",
    "users_view",
]

_AGGREGATION_LABEL = {
    "min_max_ratio": "min / max",
    "max_min_ratio": "max / min",
    "max_min_diff": "max − min",
    "max_abs_diff": "max abs. dev.",
    "mean_abs_dev": "mean abs. dev.",
    "l2": "L2 of dev.",
    "variance": "variance",
    "mad": "MAD",
}

_QUANTILE = re.compile(r"(?:^|\*)q\d+ ")


@dataclass(frozen=True)
class MetricChart:
    """The chart of one metric by group (``figure`` ``None``: no group values), its gap line and,
    with three groups or more, the pairs of groups that differ (``pairs``)."""

    heading: str
    figure: Figure | None
    stats: StatsLine | None
    pairs: str = ""


@dataclass(frozen=True)
class MetricCell:
    """A group's mean and its interval ("" when there is none)."""

    value: str
    ci: str


@dataclass(frozen=True)
class GroupRow:
    """A group of the metrics table: name, small-group mark, size, one cell per metric."""

    name: str
    small: bool
    n: str
    cells: Sequence[MetricCell]


@dataclass(frozen=True)
class FootRow:
    """A summary row of the metrics table: text per metric, or significance flags."""

    name: str
    values: Sequence[str] = ()
    significance: Sequence[bool | None] | None = None


@dataclass(frozen=True)
class MetricsTable:
    """Every metric of an attribute by group, with the overall values, gaps and tests."""

    metrics: Sequence[str]
    rows: Sequence[GroupRow]
    foot: Sequence[FootRow]


@dataclass(frozen=True)
class Aggregations:
    """A plain table: aggregation names as columns, one row per metric."""

    head: Sequence[str]
    rows: Sequence[Sequence[str]]


@dataclass(frozen=True)
class UserAttribute:
    """One user attribute (``note``: what its groups are, when they are derived); ``first`` is
    ``None`` when it has no metric."""

    name: str
    anchor: str
    first: MetricChart | None
    note: str = ""
    table: MetricsTable | None = None
    more: str = ""
    others: Sequence[MetricChart] = ()
    aggregations: Aggregations | None = None


@dataclass(frozen=True)
class UgfRow:
    """A metric of user-oriented group fairness."""

    metric: str
    active: str
    inactive: str
    gap: str
    ci: str
    p: str
    p_adjusted: str
    significant: bool | None


@dataclass(frozen=True)
class UgfView:
    """User-oriented group fairness: who the active users are, the interval level, rows."""

    who: str
    level: str
    rows: Sequence[UgfRow]


@dataclass(frozen=True)
class UsersView:
    """The users section (``available`` false: the report has no user side)."""

    available: bool
    intro: str
    attributes: Sequence[UserAttribute]
    ugf: UgfView | None


def users_view(ctx: AuditContext) -> UsersView:
    """The users section of ``ctx``'s report."""
    users = ctx.section("users")
    msg = (
        "Each bar is a group's mean; whiskers are its interval; the dashed line is the "
        "mean over all users."
    )
    if ctx.min_group_size:
        msg += (
            f" Pale bars marked † are groups of fewer than {ctx.min_group_size} users: "
            "their intervals are wide and their gaps unreliable."
        )
    msg += (
        f" A gap's {ctx.confidence_text} interval is simultaneous over all pairs of groups (a "
        "studentized max-t permutation test compares every pair), so it excludes 0 exactly when "
        f"the test's p-value before adjustment is below {round(ctx.alpha, 6):g}; the verdict "
        "follows the Holm-adjusted p-value."
    )
    attributes = [
        _attribute(ctx, str(attr), as_map(entries), i)
        for i, (attr, entries) in enumerate(users.items())
    ]
    return UsersView(available=bool(users), intro=msg, attributes=attributes, ugf=_ugf(ctx))


def _attribute(
    ctx: AuditContext, attr: str, entries: Mapping[str, Any], index: int
) -> UserAttribute:
    metrics = ctx.metric_order(entries)
    anchor = f"user-{slug(attr, index)}"
    if not metrics:
        return UserAttribute(name=attr, anchor=anchor, first=None)
    first, others = metrics[0], metrics[1:]
    aggregations = _aggregations(entries, metrics)
    what = []
    if others:
        what.append(f"charts of {', '.join(metric_label(m) for m in others)}")
    if aggregations:
        what.append("aggregations of the group means")
    return UserAttribute(
        name=attr,
        anchor=anchor,
        note=_attribute_note(ctx, attr, as_map(entries[first])),
        first=_metric_chart(ctx, attr, first, as_map(entries[first])),
        table=_metric_table(ctx, entries, metrics) if others else None,
        more=" · ".join(what),
        others=[_metric_chart(ctx, attr, m, as_map(entries[m])) for m in others],
        aggregations=aggregations,
    )


def _attribute_note(ctx: AuditContext, attr: str, entry: Mapping[str, Any]) -> str:
    """What the groups of a derived attribute are: activity, quantile bands."""
    notes = []
    top = as_float(ctx.params.get("activity_top"))
    if attr.split("*")[0] == "activity" or "*activity" in attr:
        who = f"the {fmt_pct(top, 0)} of users" if top is not None else "the users"
        notes.append(f"activity: {who} with the most {ctx.known} are active, the others inactive.")
    if "activity_band" in attr.split("*"):
        notes.append(f"activity_band: users cut into quantile bands by their {ctx.known}.")
    if any(_QUANTILE.search(str(g)) for g in as_map(entry.get("by_group"))):
        notes.append(
            "q1, q2, …: quantile bands (about equally many users each), lowest values first; "
            "each label gives the values the band holds (7–24: the whole numbers 7 to 24; "
            "[a, b): from a up to but not including b; the last band includes its end)."
        )
    return " ".join(notes)


def _pairs(ctx: AuditContext, entry: Mapping[str, Any]) -> str:
    """The pairs of groups whose means differ, for an attribute of three groups or more."""
    groups = [g for g, v in as_map(entry.get("by_group")).items() if as_map(v).get("n")]
    pairs = [p for p in as_list(entry.get("significant_pairs")) if len(as_list(p)) == 2]
    if len(groups) < 3 or "significant_pairs" not in entry or entry.get("p_value") is None:
        return ""
    level = f"{ctx.confidence_text} simultaneous intervals, before the Holm adjustment"
    if not pairs:
        return f"No pair of groups differs ({level})."
    shown = "; ".join(f"{hi} > {lo}" for hi, lo in (as_list(p) for p in pairs[:12]))
    more = f"; and {len(pairs) - 12} more" if len(pairs) > 12 else ""
    n = len(pairs)
    return f"{n} pair{'' if n == 1 else 's'} of groups differ ({level}): {shown}{more}."


def _bars(ctx: AuditContext, entry: Mapping[str, Any]) -> list[Bar]:
    bars = []
    for g, v in as_map(entry.get("by_group")).items():
        v = as_map(v)
        n = as_float(v.get("n"))
        bars.append(
            Bar(
                label=str(g),
                value=as_float(v.get("value")),
                lo=as_float(v.get("ci_low")),
                hi=as_float(v.get("ci_high")),
                note=f"n={fmt_int(n)}" if n is not None else "",
                small=ctx.is_small(n),
            )
        )
    return bars


def _gap_line(ctx: AuditContext, entry: Mapping[str, Any]) -> StatsLine:
    diff = fmt_num(entry.get("difference"))
    ci = fmt_ci(
        entry.get("difference_ci_low"),
        entry.get("difference_ci_high"),
        like=entry.get("difference"),
    )
    if ci:
        diff += f" ({ctx.confidence_text} CI {ci})"
    return StatsLine(
        stats=[
            Stat("Gap, highest − lowest group", diff),
            Stat("Ratio lowest / highest", fmt_num(entry.get("ratio"))),
        ],
        p_text=p_text(entry),
        significant=significant(entry, ctx.alpha),
    )


def _metric_chart(
    ctx: AuditContext, attr: str, metric: str, entry: Mapping[str, Any]
) -> MetricChart:
    bars = _bars(ctx, entry)
    label = f"{metric_label(metric)} by {attr}"
    if not bars:
        return MetricChart(heading=label, figure=None, stats=None)
    svg = hbar_chart(
        bars,
        label=label,
        axis_label=f"mean {metric_label(metric)} per user",
        reference=as_float(entry.get("overall")),
    )
    return MetricChart(
        heading=label, figure=Figure(svg), stats=_gap_line(ctx, entry), pairs=_pairs(ctx, entry)
    )


def _aggregations(entries: Mapping[str, Any], metrics: Sequence[str]) -> Aggregations | None:
    """FairRankTune-style aggregations (metric × aggregation), ``None`` if there are none."""
    names: list[str] = []
    for m in metrics:
        for key in as_map(as_map(entries[m]).get("aggregations")):
            if str(key) not in names:
                names.append(str(key))
    if not names:
        return None
    rows = [
        [
            metric_label(m),
            *[fmt_num(as_map(as_map(entries[m]).get("aggregations")).get(a)) for a in names],
        ]
        for m in metrics
    ]
    return Aggregations(head=["metric", *[_AGGREGATION_LABEL.get(a, a) for a in names]], rows=rows)


def _metric_table(
    ctx: AuditContext, entries: Mapping[str, Any], metrics: Sequence[str]
) -> MetricsTable:
    def by_group(m: str) -> Mapping[str, Any]:
        return as_map(as_map(entries[m]).get("by_group"))

    groups: list[str] = [str(g) for g in by_group(metrics[0])]
    for m in metrics[1:]:
        groups += [str(g) for g in by_group(m) if str(g) not in groups]

    def cell(m: str, g: str) -> MetricCell:
        v = as_map(by_group(m).get(g))
        ci = fmt_ci(v.get("ci_low"), v.get("ci_high"), like=v.get("value"))
        return MetricCell(fmt_num(v.get("value")), ci)

    def sort_key(g: str) -> tuple[bool, float]:
        v = as_float(as_map(by_group(metrics[0]).get(g)).get("value"))
        return (v is None, -(v or 0.0))

    rows = []
    for g in sorted(groups, key=sort_key):
        n = None
        for m in metrics:
            n = n if n is not None else as_float(as_map(by_group(m).get(g)).get("n"))
        rows.append(GroupRow(g, ctx.is_small(n), fmt_int(n), [cell(m, g) for m in metrics]))
    foot_values: list[tuple[str, Callable[[Mapping[str, Any]], str]]] = [
        ("all users", lambda e: fmt_num(e.get("overall"))),
        ("gap (max − min)", lambda e: fmt_num(e.get("difference"))),
        ("ratio (min / max)", lambda e: fmt_num(e.get("ratio"))),
        ("p-value", lambda e: fmt_p(e.get("p_value"))),
    ]
    if any("p_adjusted" in as_map(entries[m]) for m in metrics):
        foot_values.append(("adjusted p-value", lambda e: fmt_p(e.get("p_adjusted"))))
    foot = [
        FootRow(name, values=[fn(as_map(entries[m])) for m in metrics]) for name, fn in foot_values
    ]
    foot.append(
        FootRow(
            "significant",
            significance=[significant(as_map(entries[m]), ctx.alpha) for m in metrics],
        )
    )
    return MetricsTable(metrics=[metric_label(m) for m in metrics], rows=rows, foot=foot)


def _ugf(ctx: AuditContext) -> UgfView | None:
    ugf = ctx.section("ugf")
    entries = [(str(m), as_map(e)) for m, e in ugf.items() if isinstance(e, Mapping)]
    if not entries:
        return None
    top = as_float(ctx.params.get("activity_top"))
    who = f"the {fmt_pct(top, 0)} most active users" if top is not None else "the most active users"
    who += f" (most {ctx.known})"
    rows = [
        UgfRow(
            metric=metric_label(m),
            active=fmt_num(e.get("active")),
            inactive=fmt_num(e.get("inactive")),
            gap=fmt_num(e.get("value")),
            ci=fmt_ci(e.get("ci_low"), e.get("ci_high")) or "n/a",
            p=fmt_p(e.get("p_value")),
            p_adjusted=fmt_p(e.get("p_adjusted")),
            significant=significant(e, ctx.alpha),
        )
        for m, e in entries
    ]
    return UgfView(who=who, level=ctx.confidence_text, rows=rows)
