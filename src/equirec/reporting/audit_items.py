"""The item and list sections of the audit page.

:func:`items_view` (catalogue and popularity numbers, Lorenz curve, popularity deciles, exposure
per item group, equity of attention) and :func:`lists_view` (calibration and diversity) prepare
what ``audit_items.html.j2`` and ``audit_lists.html.j2`` show; the leakage section is
:mod:`equirec.reporting.audit_leakage`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from equirec.reporting.audit_charts import (
    decile_chart,
    lorenz_chart,
    paired_chart,
)
from equirec.reporting.audit_context import AuditContext
from equirec.reporting.charts import Bar
from equirec.reporting.formatting import (
    as_float,
    as_list,
    as_map,
    fmt_ci,
    fmt_int,
    fmt_num,
    fmt_pct,
    fmt_ratio,
)
from equirec.reporting.views import Figure, KeyValue, Stat, StatsLine, p_text, significant, slug

__all__ = [
    "ExposedView",
    "ItemGroup",
    "ItemsView",
    "ListsView",
    "WithinTable",
    "items_view",
    "lists_view",
]

# (key, label, formatter, explanation) of the popularity-bias numbers, in page order;
# "{known}" is the audit's popularity ("known interactions (train+valid)")
_POPULARITY = (
    (
        "arp",
        "ARP",
        fmt_num,
        "average recommendation popularity: the mean {known} of recommended items",
    ),
    ("aplt", "APLT", fmt_pct, "average share of each list taken by long-tail items"),
    ("aclt", "ACLT", fmt_num, "average number of long-tail items per list"),
    (
        "pop_rsp",
        "Popularity RSP",
        fmt_num,
        "ranking-based statistical parity of head vs tail; 0 = parity, 1 = the tail is never "
        "recommended",
    ),
    (
        "pop_reo",
        "Popularity REO",
        fmt_num,
        "ranking-based equal opportunity of head vs tail (given relevance); 0 = parity",
    ),
)

# (label, explanation) of the catalogue numbers a report may hold beyond the usual ones
_CATALOGUE = {
    "gini_counts": (
        "Gini of recommendation counts",
        "as the Gini of exposure, but every appearance in a list counts 1 whatever its position",
    ),
}


@dataclass(frozen=True)
class ItemGroup:
    """Exposure by one item attribute (``figure`` ``None``: no group values)."""

    name: str
    anchor: str
    figure: Figure | None
    stats: StatsLine | None
    within: Sequence[WithinTable] = ()


@dataclass(frozen=True)
class WithinTable:
    """New items within the groups of another attribute (the ``cold_start`` grouping)."""

    attribute: str
    head: Sequence[str]
    rows: Sequence[Sequence[str]]


@dataclass(frozen=True)
class ExposedView:
    """The items named: tables of the most and least exposed, the never-recommended ones."""

    head: Sequence[str]
    most: Sequence[Sequence[str]]
    least: Sequence[Sequence[str]]
    never: str
    csv: str
    titled: bool = False


@dataclass(frozen=True)
class ItemsView:
    """The items section (``available`` false: the report has no item side)."""

    available: bool
    catalogue: Sequence[KeyValue] = ()
    popularity: Sequence[KeyValue] = ()
    head: str = ""
    figures: Sequence[Figure] = ()
    groups: Sequence[ItemGroup] = ()
    equity: str | None = None
    exposed: ExposedView | None = None


@dataclass(frozen=True)
class ListsView:
    """Calibration and diversity numbers, and the calibration profile chart."""

    available: bool
    rows: Sequence[KeyValue] = ()
    profile: Figure | None = None


# -- items ----------------------------------------------------------------------------------
def items_view(ctx: AuditContext) -> ItemsView:
    """The items section of ``ctx``'s report."""
    items = ctx.section("items")
    if not items:
        return ItemsView(available=False)
    figs = []
    lorenz = as_map(items.get("lorenz"))
    xs, ys = as_list(lorenz.get("x")), as_list(lorenz.get("y"))
    pairs = [(as_float(x), as_float(y)) for x, y in zip(xs, ys, strict=False)]
    clean = [(x, y) for x, y in pairs if x is not None and y is not None]
    gini = as_float(as_map(items.get("catalogue")).get("gini_exposure"))
    if len(clean) >= 2:
        svg = lorenz_chart(
            [x for x, _ in clean], [y for _, y in clean], label="Lorenz curve of item exposure"
        )
        caption = (
            f"Gini = {fmt_num(gini, 2)}. The further the curve sags below the diagonal, the "
            "more exposure goes to few items."
        )
        figs.append(Figure(svg, "Lorenz curve of exposure.", caption))
    else:
        figs.append(Figure(None, caption="Lorenz curve: not available."))
    deciles = [d for d in as_list(items.get("deciles")) if isinstance(d, Mapping)]
    if deciles:
        svg = decile_chart(deciles, label="Exposure by popularity decile", known=ctx.known)
        caption = (
            f"Items ranked by {ctx.known}; each decile holds a tenth of the catalogue; bars "
            "above the dashed line get more than their equal share."
        )
        figs.append(Figure(svg, "Exposure by popularity decile.", caption))
    else:
        figs.append(Figure(None, caption="Exposure by popularity decile: not available."))
    groups = [
        _item_group(ctx, str(attr), as_map(entry), i)
        for i, (attr, entry) in enumerate(as_map(items.get("groups")).items())
    ]
    pop = as_map(items.get("popularity"))
    head = f"Head: {pop['head']}; the rest is the long tail. " if pop.get("head") else ""
    if pop or deciles:
        history = f" ({ctx.history})" if ctx.history else ""
        head += (
            f"An item's popularity is its number of {ctx.known}: its interactions in the "
            f"history the lists were made from{history}."
        )
    return ItemsView(
        available=True,
        catalogue=_catalogue(ctx, as_map(items.get("catalogue"))),
        popularity=[
            KeyValue(label, fmt(pop.get(key)), explain.format(known=ctx.known))
            for key, label, fmt, explain in _POPULARITY
            if key in pop
        ],
        head=head,
        figures=figs,
        groups=groups,
        equity=(
            fmt_num(items.get("equity_of_attention")) if "equity_of_attention" in items else None
        ),
        exposed=_exposed(ctx, as_map(items.get("exposed"))),
    )


def _item_name(entry: Mapping[str, Any]) -> str:
    """``Fargo (item 100)``, or ``(item 100)`` without a title."""
    title, item = entry.get("title"), entry.get("item")
    return f"{title} (item {item})" if title else f"(item {item})"


def _exposed(ctx: AuditContext, exposed: Mapping[str, Any]) -> ExposedView | None:
    """Tables of the most and least exposed items, and a sentence on the never-recommended."""
    if not exposed:
        return None
    most = [as_map(e) for e in as_list(exposed.get("most")) if isinstance(e, Mapping)]
    least = [as_map(e) for e in as_list(exposed.get("least")) if isinstance(e, Mapping)]
    titled = any(e.get("title") for e in [*most, *least])
    head = ["#", "item", *(["title"] if titled else []), "share of exposure", "lists"]
    head += [ctx.known, "head or tail"]

    def rows(entries: Sequence[Mapping[str, Any]]) -> list[list[str]]:
        return [
            [
                str(i + 1),
                str(e.get("item", "")),
                *([str(e.get("title") or "")] if titled else []),
                fmt_pct(e.get("exposure_share")),
                fmt_int(e.get("lists")),
                fmt_int(e.get("known_interactions")),
                str(e.get("popularity_group") or ""),
            ]
            for i, e in enumerate(entries)
        ]

    never = as_map(exposed.get("never_recommended"))
    n_never = as_float(never.get("n_items"))
    n_items = as_float(ctx.params.get("n_items"))
    examples = [as_map(e) for e in as_list(never.get("examples")) if isinstance(e, Mapping)]
    text = ""
    if n_never is not None:
        of = f" of {fmt_int(n_items)}" if n_items is not None else ""
        text = f"{fmt_int(n_never)}{of} items are in no list."
        if examples:
            named = "; ".join(
                f"{_item_name(e)[:-1]}, {fmt_int(e.get('known_interactions'))})" for e in examples
            )
            text += f" The most popular of them (item id, {ctx.known}): {named}."
    csv = ""
    if ctx.params.get("run"):
        csv = (
            "Every item's exposure, lists, popularity and groups: item_exposure.csv, beside "
            "audit.json in the run folder."
        )
    return ExposedView(
        head=head, most=rows(most), least=rows(least), never=text, csv=csv, titled=titled
    )


def _catalogue(ctx: AuditContext, cat: Mapping[str, Any]) -> list[KeyValue]:
    n_items = cat.get("n_items", ctx.params.get("n_items"))
    rows: list[KeyValue] = []
    if "coverage" in cat:
        rows.append(
            KeyValue(
                "Coverage",
                fmt_pct(cat.get("coverage")),
                "share of the catalogue recommended to at least one user",
            )
        )
    if "never_recommended" in cat:
        nr = fmt_int(cat.get("never_recommended"))
        if as_float(n_items) is not None:
            nr += f" of {fmt_int(n_items)}"
        rows.append(KeyValue("Never recommended", nr, "items that no list contains"))
    elif "n_items" in cat:
        rows.append(KeyValue("Items", fmt_int(n_items), "catalogue size"))
    if "gini_exposure" in cat:
        rows.append(
            KeyValue(
                "Gini of exposure",
                fmt_num(cat.get("gini_exposure")),
                "0 = every item equally exposed, 1 = all exposure on one item",
            )
        )
    if "entropy" in cat:
        rows.append(
            KeyValue(
                "Entropy of recommendation counts",
                fmt_num(cat.get("entropy")),
                "in nats; higher = the lists are spread over more items",
            )
        )
    known = {"coverage", "never_recommended", "gini_exposure", "entropy", "n_items"}
    for key, value in cat.items():
        if key not in known and not isinstance(value, (Mapping, list)):
            shown = fmt_num(value) if as_float(value) is not None else str(value)
            label, explain = _CATALOGUE.get(str(key), (str(key).replace("_", " "), ""))
            rows.append(KeyValue(label, shown, explain))
    return rows


def _item_group(ctx: AuditContext, attr: str, entry: Mapping[str, Any], index: int) -> ItemGroup:
    by_group = as_map(entry.get("by_group"))
    anchor = f"item-{slug(attr, index)}"
    if not by_group:
        return ItemGroup(name=attr, anchor=anchor, figure=None, stats=None)
    rows = []
    for g, v in by_group.items():
        v = as_map(v)
        share, cat = as_float(v.get("exposure_share")), as_float(v.get("catalogue_share"))
        rel = as_float(v.get("relative_exposure"))
        if rel is None and share is not None and cat:
            rel = share / cat
        n = as_float(v.get("n_items"))
        a = Bar(str(g), share, as_float(v.get("ci_low")), as_float(v.get("ci_high")))
        rows.append(
            (
                str(g),
                f"{fmt_int(n)} items" if n is not None else "",
                a,
                cat,
                f"×{fmt_ratio(rel)}" if rel is not None else "",
            )
        )
    svg = paired_chart(
        rows,
        label=f"Exposure share vs catalogue share by {attr}",
        a_name="share of exposure",
        b_name="share of catalogue",
        axis_label="share",
        right_title="exposure ÷ catalogue",
    )
    note = ""
    if entry.get("multi") == "count":
        note = (
            " An item in several groups counts fully in each, so shares can add up to more "
            "than 100%."
        )
    elif entry.get("multi") == "split":
        note = " An item in several groups is split equally between them."
    if attr == "popularity":
        note += f" Head and tail are cut by {ctx.known} (see above)."
    caption = (
        "Blue: share of all exposure (position-weighted) that the group's items get, with "
        "its interval; orange: the group's share of the catalogue. ×1.00 on the right means "
        f"exposure in proportion to catalogue size.{note} RSP (ranking-based statistical "
        "parity) compares how likely each group's items are to be recommended, REO "
        "(ranking-based equal opportunity) the same among relevant items: 0 = equal, 1 = one "
        "group never; the exposure ratio is the lowest group's ×value over the highest's."
    )
    stats = StatsLine(
        stats=[
            Stat("RSP", fmt_num(entry.get("rsp"))),
            Stat("REO", fmt_num(entry.get("reo"))),
            Stat("Exposure ratio (lowest / highest)", fmt_ratio(entry.get("exposure_ratio"))),
        ],
        p_text=p_text(entry),
        significant=significant(entry, ctx.alpha),
    )
    return ItemGroup(
        name=attr,
        anchor=anchor,
        figure=Figure(svg, caption=caption),
        stats=stats,
        within=_within(as_map(entry.get("by_attribute"))),
    )


_WITHIN_HEAD = ("group", "new items", "exposure to new items", "held-out interactions on new items")


def _within(by_attribute: Mapping[str, Any]) -> list[WithinTable]:
    """One table per attribute: each group's share of new items, of exposure going to them,
    and of held-out interactions on them (``cold_start``'s ``by_attribute``)."""
    tables = []
    for attr, groups in by_attribute.items():
        rows = [
            [
                str(g),
                fmt_pct(v.get("new_item_share")),
                fmt_pct(v.get("new_exposure_share")),
                fmt_pct(v.get("new_wanted_share")),
            ]
            for g, v in ((g, as_map(v)) for g, v in as_map(groups).items())
        ]
        if rows:
            tables.append(WithinTable(attribute=str(attr), head=_WITHIN_HEAD, rows=rows))
    return tables


# -- lists ----------------------------------------------------------------------------------
def lists_view(ctx: AuditContext) -> ListsView:
    """The calibration and diversity section of ``ctx``'s report."""
    lists = ctx.section("lists")
    if not lists:
        return ListsView(available=False)
    cal = as_map(lists.get("calibration"))
    div = as_map(lists.get("diversity"))
    rows: list[KeyValue] = []
    if cal:
        ckl = fmt_num(cal.get("c_kl"))
        ci = fmt_ci(cal.get("ci_low"), cal.get("ci_high"))
        if ci:
            ckl += f" ({ctx.confidence_text} CI {ci})"
        attr = cal.get("attribute") or "genres"
        explain = (
            f"KL divergence between the {attr} mix of each user's history and of their list "
            "(Steck, 2018), mean over users; 0 = perfectly calibrated"
        )
        rows.append(KeyValue("Miscalibration C", ckl, explain, sub="KL"))
    if div:
        feats = div.get("features")
        how = f"{div.get('metric', 'jaccard')} distance" + (f" on {feats}" if feats else "")
        rows.append(
            KeyValue(
                "Intra-list diversity",
                fmt_num(div.get("ild")),
                f"mean pairwise {how} within a list; higher = more varied",
            )
        )
    if "novelty" in lists:
        rows.append(
            KeyValue(
                "Novelty",
                fmt_num(lists.get("novelty")),
                "mean self-information of recommended items, −log₂((n + 1) / (users + 1)) with n "
                f"an item's {ctx.known}; higher = less mainstream",
            )
        )
    profile = as_map(cal.get("profile"))
    figure = None
    if profile:
        prow = []
        for g, v in profile.items():
            v = as_map(v)
            h, r = as_float(v.get("history")), as_float(v.get("recommended"))
            prow.append((str(g), "", Bar(str(g), r), h, ""))
        attr = str(cal.get("attribute") or "genre")
        svg = paired_chart(
            prow,
            label=f"{attr} share in histories vs in recommendations",
            a_name="in recommendations",
            b_name="in histories",
            axis_label=f"share of {attr}",
        )
        caption = (
            "Blue: share of each value among recommended items; orange: its share in users' "
            "histories. A calibrated recommender keeps the two bars equal."
        )
        figure = Figure(svg, f"{attr} mix.", caption)
    return ListsView(available=True, rows=rows, profile=figure)
