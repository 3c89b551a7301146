"""One-page HTML report of a fairness audit (the ``audit.json`` dict).

:func:`render_html` turns the report of :func:`equirec.fairness.audit.audit` into a single
self-contained page: inline CSS, charts drawn as inline SVG, no script, font, image or any
other resource fetched from the network, so the file can be mailed, archived or opened offline.
Everything taken from the report (group names are user data) is HTML-escaped. Every section is
optional: what the report lacks is left out or shown as "not available", and a number that is
``None``/NaN is written as "n/a".

This module holds the sections of the audit page; the page shell and its CSS are in
:mod:`equirec.fairness.page`, the chart primitives in :mod:`equirec.fairness.charts` and the
number formatting in :mod:`equirec.fairness.formatting`.

Colours are the Okabe–Ito palette (safe for colour-blind readers); significance is also written
in words, so the page reads the same in grey on paper.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from equirec.fairness.charts import (
    Bar,
    decile_chart,
    dot_chart,
    hbar_chart,
    lorenz_chart,
    paired_chart,
)
from equirec.fairness.formatting import (
    as_float,
    as_list,
    as_map,
    flatten,
    fmt_ci,
    fmt_int,
    fmt_level,
    fmt_num,
    fmt_p,
    fmt_pct,
    metric_label,
)
from equirec.fairness.page import CSS, esc, figure, html_page, html_table, kv_table, na_text

__all__ = ["render_html"]

_SIDE_LABEL = {"users": "users", "items": "items", "leakage": "leakage", "lists": "lists"}
_AGGREGATION_LABEL = {
    "min_max_ratio": "min / max",
    "max_min_diff": "max − min",
    "max_abs_diff": "max abs. dev.",
    "mean_abs_dev": "mean abs. dev.",
    "variance": "variance",
    "mad": "MAD",
}
_SOURCE_LABEL = {"representations": "user representations", "lists": "recommendation lists"}


def _p_eq(value: Any) -> str:
    text = fmt_p(value)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def _slug(text: str, index: int) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")[:40]
    return f"{base or 'x'}-{index}"


def _sig_badge(significant: bool | None) -> str:
    if significant is True:
        return '<span class="badge sig">● significant</span>'
    if significant is False:
        return '<span class="badge ns">○ not significant</span>'
    return '<span class="badge ns">not tested</span>'


def _significant(entry: Mapping[str, Any], alpha: float) -> bool | None:
    flag = entry.get("significant")
    if isinstance(flag, bool):
        return flag
    p = as_float(entry.get("p_adjusted"))
    if p is None:
        p = as_float(entry.get("p_value"))
    return None if p is None else p < alpha


def _p_text(entry: Mapping[str, Any]) -> str:
    """ "p = 0.030 (adjusted 0.21)"."""
    text = _p_eq(entry.get("p_value"))
    if "p_adjusted" in entry:
        text += f" (adjusted {fmt_p(entry.get('p_adjusted'))})"
    return text


class _Page:
    """Renders the sections from one report."""

    def __init__(self, audit: Mapping[str, Any], title: str | None) -> None:
        self.audit = audit
        self.params = as_map(audit.get("params"))
        conf = as_float(self.params.get("confidence"))
        self.confidence = conf if conf is not None and 0 < conf < 1 else 0.95
        self.alpha = 1.0 - self.confidence
        mgs = as_float(self.params.get("min_group_size"))
        self.min_group_size = int(mgs) if mgs is not None else None
        dataset, model = self.params.get("dataset"), self.params.get("model")
        if title is None:
            title = "Fairness audit"
            if model and dataset:
                title += f" — {model} on {dataset}"
            elif model or dataset:
                title += f" — {model or dataset}"
        self.title = title

    # -- header -------------------------------------------------------------------------------
    def header(self) -> str:
        p = self.params
        bits = []
        model, dataset = p.get("model"), p.get("dataset")
        if model and dataset:
            bits.append(f"<strong>{esc(model)}</strong> on <strong>{esc(dataset)}</strong>")
        elif model or dataset:
            bits.append(f"<strong>{esc(model or dataset)}</strong>")
        if as_float(p.get("k")) is not None:
            bits.append(f"top-{fmt_int(p.get('k'))} lists")
        if as_float(p.get("n_users")) is not None:
            bits.append(f"{fmt_int(p.get('n_users'))} users")
        if as_float(p.get("n_items")) is not None:
            bits.append(f"{fmt_int(p.get('n_items'))} items")
        if as_float(p.get("n_boot")) is not None:
            bits.append(f"{fmt_int(p.get('n_boot'))} bootstrap resamples")
        if as_float(p.get("n_permutations")) is not None:
            bits.append(f"{fmt_int(p.get('n_permutations'))} permutations")
        bits.append(f"{esc(fmt_level(self.confidence))} confidence")
        line = "Audited: " + " · ".join(bits) if bits else ""
        nav = " ".join(
            f'<a href="#{i}">{t}</a>'
            for i, t in (
                ("summary", "Summary"),
                ("users", "Users"),
                ("items", "Items"),
                ("lists", "Calibration &amp; diversity"),
                ("leakage", "Leakage"),
                ("parameters", "Parameters"),
            )
        )
        return (
            f'<header><h1>{esc(self.title)}</h1><p class="audited">{line}</p>'
            f"<nav>{nav}</nav>{self.tiles()}</header>"
        )

    def tiles(self) -> str:
        tiles: list[tuple[str, str, str]] = []
        summary = [s for s in as_list(self.audit.get("summary")) if isinstance(s, Mapping)]
        n_sig = sum(1 for s in summary if s.get("significant") is True)
        level = f"at the {fmt_level(self.alpha)} level"
        tiles.append(
            (
                str(n_sig),
                "significant gap" if n_sig == 1 else "significant gaps",
                f"of {len(summary)} findings {level}" if summary else level,
            )
        )
        primary = self.primary_metric()
        for entries in as_map(self.audit.get("users")).values():
            e = as_map(as_map(entries).get(primary))
            if as_float(e.get("overall")) is not None:
                tiles.append((fmt_num(e["overall"]), f"mean {metric_label(primary)}", "all users"))
                break
        items = as_map(self.audit.get("items"))
        cat = as_map(items.get("catalogue"))
        if as_float(cat.get("coverage")) is not None:
            tiles.append((fmt_pct(cat["coverage"]), "catalogue coverage", "items ever recommended"))
        if as_float(cat.get("gini_exposure")) is not None:
            tiles.append(
                (fmt_num(cat["gini_exposure"], 2), "Gini of exposure", "0 equal, 1 all on one item")
            )
        aucs = [
            (as_float(src.get("auc")), attr)
            for attr, sources in as_map(self.audit.get("leakage")).items()
            for src in as_map(sources).values()
            if isinstance(src, Mapping) and as_float(src.get("auc")) is not None
        ]
        if aucs:
            auc, attr = max(aucs, key=lambda t: t[0] or 0.0)
            tiles.append((fmt_num(auc, 2), "highest leakage AUC", f"{attr}; chance 0.50"))
        return (
            '<div class="tiles">'
            + "".join(
                f'<div class="tile"><div class="tile-v">{esc(v)}</div><div class="tile-k">'
                f'{esc(k)}</div><div class="tile-n">{esc(n)}</div></div>'
                for v, k, n in tiles
            )
            + "</div>"
        )

    def primary_metric(self) -> str:
        p = self.params.get("primary_metric")
        if isinstance(p, str) and p:
            return p
        metrics = as_list(self.params.get("metrics"))
        return str(metrics[0]) if metrics else ""

    # -- summary ------------------------------------------------------------------------------
    def summary(self) -> str:
        items = [s for s in as_list(self.audit.get("summary")) if isinstance(s, Mapping)]
        # the auditor sorts; keep its order but guarantee significant findings come first
        items.sort(key=lambda s: s.get("significant") is not True)
        sig = [s for s in items if s.get("significant") is True]
        rest = [s for s in items if s.get("significant") is not True]
        out = ['<section id="summary"><h2>Summary</h2>']
        if not sig:
            out.append(
                f'<p class="lead">No significant gaps found at the {esc(fmt_level(self.alpha))} '
                "level.</p>"
            )
        else:
            out.append('<ul class="findings">')
            out.extend(self._finding(s, True) for s in sig)
            out.append("</ul>")
        if rest:
            head, tail = rest[:6], rest[6:]
            out.append(
                f'<h3 class="minor">Not significant at the {esc(fmt_level(self.alpha))} level '
                '(could be chance)</h3><ul class="findings muted">'
            )
            out.extend(self._finding(s, False) for s in head)
            out.append("</ul>")
            if tail:
                out.append(
                    f"<details><summary>{len(tail)} more findings that are not significant"
                    '</summary><ul class="findings muted">'
                )
                out.extend(self._finding(s, False) for s in tail)
                out.append("</ul></details>")
        warnings = [str(w) for w in as_list(self.audit.get("warnings"))]
        if warnings:
            out.append('<div class="warnings" role="note"><strong>Warnings</strong><ul>')
            out.extend(f"<li>{esc(w)}</li>" for w in warnings[:8])
            out.append("</ul>")
            if len(warnings) > 8:
                out.append(f"<details><summary>{len(warnings) - 8} more warnings</summary><ul>")
                out.extend(f"<li>{esc(w)}</li>" for w in warnings[8:])
                out.append("</ul></details>")
            out.append("</div>")
        out.append(self.method_note())
        out.append("</section>")
        return "".join(out)

    def _finding(self, s: Mapping[str, Any], significant: bool) -> str:
        side = _SIDE_LABEL.get(str(s.get("side")), str(s.get("side", "")))
        tag = " · ".join(
            esc(x) for x in (side, s.get("attribute"), s.get("metric")) if x not in (None, "")
        )
        marker = (
            '<span class="marker sig" title="significant">●</span>'
            if significant
            else '<span class="marker ns" title="not significant">○</span>'
        )
        text = esc(s.get("text") or "")
        cls = "sig" if significant else "ns"
        return f'<li class="{cls}">{marker}<span>{text} <span class="tag">{tag}</span></span></li>'

    def method_note(self) -> str:
        p = self.params
        parts = [f"Intervals are {esc(fmt_level(self.confidence))} bootstrap percentile intervals"]
        if as_float(p.get("n_boot")) is not None:
            parts[-1] += f" ({fmt_int(p['n_boot'])} resamples)"
        test = "p-values come from permutation tests"
        if as_float(p.get("n_permutations")) is not None:
            test += f" ({fmt_int(p['n_permutations'])} permutations)"
        parts.append(test)
        adj = p.get("p_value_adjustment")
        alpha = f"{round(self.alpha, 6):g}"
        sig = f"a gap is called significant when its p-value is below {esc(alpha)}"
        if adj:
            sig = (
                f"a gap is called significant when its adjusted p-value ({esc(adj)}) is below "
                f"{esc(alpha)}"
            )
        parts.append(sig)
        return f'<p class="method">How to read: {"; ".join(parts)}.</p>'

    # -- users --------------------------------------------------------------------------------
    def users(self) -> str:
        users = as_map(self.audit.get("users"))
        out = ['<section id="users"><h2>Users: does quality differ between groups?</h2>']
        if not users:
            out.append(na_text("User-side results are not available in this audit."))
        else:
            msg = (
                "Each bar is a group's mean; whiskers are its interval; the dashed line is the "
                "mean over all users."
            )
            if self.min_group_size:
                msg += (
                    f" Pale bars marked † are groups of fewer than {self.min_group_size} users: "
                    "their intervals are wide and their gaps unreliable."
                )
            out.append(f'<p class="intro">{esc(msg)}</p>')
            for i, (attr, entries) in enumerate(users.items()):
                out.append(self._user_attribute(str(attr), as_map(entries), i))
        out.append(self.ugf())
        out.append("</section>")
        return "".join(out)

    def _metric_order(self, entries: Mapping[str, Any]) -> list[str]:
        names = [str(m) for m in entries if isinstance(entries[m], Mapping)]
        known = [str(m) for m in as_list(self.params.get("metrics"))]
        ordered = [m for m in known if m in names] + [m for m in names if m not in known]
        primary = self.primary_metric()
        if primary in ordered:
            ordered.remove(primary)
            ordered.insert(0, primary)
        return ordered

    def _bars(self, entry: Mapping[str, Any]) -> list[Bar]:
        bars = []
        for g, v in as_map(entry.get("by_group")).items():
            v = as_map(v)
            n = as_float(v.get("n"))
            small = n is not None and self.min_group_size is not None and n < self.min_group_size
            bars.append(
                Bar(
                    label=str(g),
                    value=as_float(v.get("value")),
                    lo=as_float(v.get("ci_low")),
                    hi=as_float(v.get("ci_high")),
                    note=f"n={fmt_int(n)}" if n is not None else "",
                    small=small,
                )
            )
        return bars

    def _gap_line(self, entry: Mapping[str, Any]) -> str:
        diff = fmt_num(entry.get("difference"))
        ci = fmt_ci(
            entry.get("difference_ci_low"),
            entry.get("difference_ci_high"),
            like=entry.get("difference"),
        )
        if ci:
            diff += f" ({fmt_level(self.confidence)} CI {ci})"
        sig = _significant(entry, self.alpha)
        return (
            '<p class="stats">'
            f"<span>Gap, highest − lowest group: <b>{esc(diff)}</b></span>"
            f"<span>Ratio lowest / highest: <b>{esc(fmt_num(entry.get('ratio')))}</b></span>"
            f"<span>{esc(_p_text(entry))}</span>{_sig_badge(sig)}</p>"
        )

    def _user_attribute(self, attr: str, entries: Mapping[str, Any], index: int) -> str:
        metrics = self._metric_order(entries)
        out = [f'<article class="attr" id="user-{_slug(attr, index)}"><h3>{esc(attr)}</h3>']
        if not metrics:
            out.append(na_text("No metric available for this attribute."))
            return "".join(out) + "</article>"
        first, others = metrics[0], metrics[1:]
        out.append(self._metric_chart(attr, first, as_map(entries[first])))
        if others:
            out.append(self._metric_table(entries, metrics))
        aggregations = self._aggregations(entries, metrics)
        if others or aggregations:
            what = []
            if others:
                what.append(f"charts of {', '.join(metric_label(m) for m in others)}")
            if aggregations:
                what.append("aggregations of the group means")
            out.append(f"<details><summary>More: {esc(' · '.join(what))}</summary>")
            out.extend(self._metric_chart(attr, m, as_map(entries[m])) for m in others)
            out.append(aggregations)
            out.append("</details>")
        out.append("</article>")
        return "".join(out)

    def _aggregations(self, entries: Mapping[str, Any], metrics: Sequence[str]) -> str:
        """Table of FairRankTune-style aggregations (metric × aggregation), "" if none."""
        names: list[str] = []
        for m in metrics:
            for key in as_map(as_map(entries[m]).get("aggregations")):
                if str(key) not in names:
                    names.append(str(key))
        if not names:
            return ""
        rows = [
            [
                esc(metric_label(m)),
                *[
                    esc(fmt_num(as_map(as_map(entries[m]).get("aggregations")).get(a)))
                    for a in names
                ],
            ]
            for m in metrics
        ]
        head = ["metric", *[esc(_AGGREGATION_LABEL.get(a, a)) for a in names]]
        return (
            '<h4>Aggregations of the group means</h4><p class="intro">One number per metric '
            "for the disparity among all groups, not only the two extremes (abs. dev.: absolute "
            "deviation of a group's mean from the mean of the group means; MAD: median absolute "
            "deviation).</p>" + html_table(head, rows)
        )

    def _metric_chart(self, attr: str, metric: str, entry: Mapping[str, Any]) -> str:
        bars = self._bars(entry)
        label = f"{metric_label(metric)} by {attr}"
        if not bars:
            return (
                f'<div class="metric"><h4>{esc(label)}</h4>'
                + na_text("No group values.")
                + "</div>"
            )
        svg = hbar_chart(
            bars,
            label=label,
            axis_label=f"mean {metric_label(metric)} per user",
            reference=as_float(entry.get("overall")),
        )
        return (
            f'<div class="metric"><h4>{esc(label)}</h4>{figure(svg)}{self._gap_line(entry)}</div>'
        )

    def _metric_table(self, entries: Mapping[str, Any], metrics: Sequence[str]) -> str:
        first = as_map(entries[metrics[0]])
        groups: list[str] = [str(g) for g in as_map(first.get("by_group"))]
        for m in metrics[1:]:
            groups += [
                str(g) for g in as_map(as_map(entries[m]).get("by_group")) if str(g) not in groups
            ]

        def cell(m: str, g: str) -> str:
            v = as_map(as_map(as_map(entries[m]).get("by_group")).get(g))
            ci = fmt_ci(v.get("ci_low"), v.get("ci_high"), like=v.get("value"))
            ci_html = f' <span class="ci">{esc(ci)}</span>' if ci else ""
            return f"{esc(fmt_num(v.get('value')))}{ci_html}"

        def sort_key(g: str) -> tuple[bool, float]:
            v = as_float(as_map(as_map(first.get("by_group")).get(g)).get("value"))
            return (v is None, -(v or 0.0))

        rows = []
        for g in sorted(groups, key=sort_key):
            n = None
            for m in metrics:
                n = (
                    n
                    if n is not None
                    else as_float(
                        as_map(as_map(as_map(entries[m]).get("by_group")).get(g)).get("n")
                    )
                )
            small = n is not None and self.min_group_size is not None and n < self.min_group_size
            name = esc(g) + (' <span class="small-mark">†</span>' if small else "")
            rows.append([name, esc(fmt_int(n)), *[cell(m, g) for m in metrics]])
        foot: list[tuple[str, Callable[[Mapping[str, Any]], str]]] = [
            ("all users", lambda e: esc(fmt_num(e.get("overall")))),
            ("gap (max − min)", lambda e: esc(fmt_num(e.get("difference")))),
            ("ratio (min / max)", lambda e: esc(fmt_num(e.get("ratio")))),
            ("p-value", lambda e: esc(fmt_p(e.get("p_value")))),
        ]
        if any("p_adjusted" in as_map(entries[m]) for m in metrics):
            foot.append(("adjusted p-value", lambda e: esc(fmt_p(e.get("p_adjusted")))))
        foot.append(
            (
                "significant",
                lambda e: {True: '<span class="yes">● yes</span>', False: "no", None: "n/a"}[
                    _significant(e, self.alpha)
                ],
            )
        )
        for name, fn in foot:
            rows.append([f"<i>{name}</i>", "", *[fn(as_map(entries[m])) for m in metrics]])
        head = ["group", "n", *[esc(metric_label(m)) for m in metrics]]
        return (
            '<details class="table-block" open><summary>All metrics (mean and interval per group)'
            f"</summary>{html_table(head, rows, 'metrics')}</details>"
        )

    def ugf(self) -> str:
        ugf = as_map(self.audit.get("ugf"))
        entries = [(str(m), as_map(e)) for m, e in ugf.items() if isinstance(e, Mapping)]
        if not entries:
            return ""
        top = as_float(self.params.get("activity_top"))
        who = (
            f"the {fmt_pct(top, 0)} most active users"
            if top is not None
            else "the most active users"
        )
        rows = []
        for m, e in entries:
            rows.append(
                [
                    esc(metric_label(m)),
                    esc(fmt_num(e.get("active"))),
                    esc(fmt_num(e.get("inactive"))),
                    f"<b>{esc(fmt_num(e.get('value')))}</b>",
                    esc(fmt_ci(e.get("ci_low"), e.get("ci_high")) or "n/a"),
                    esc(fmt_p(e.get("p_value"))),
                    _sig_badge(_significant(e, self.alpha)),
                ]
            )
        table = html_table(
            [
                "metric",
                "active",
                "inactive",
                "gap",
                f"{esc(fmt_level(self.confidence))} CI",
                "p",
                "",
            ],
            rows,
        )
        return (
            '<article class="attr" id="ugf"><h3>User-oriented group fairness (UGF)</h3>'
            f'<p class="intro">Gap between {esc(who)} and everyone else (Li et al., 2021); '
            f"0 means both get the same quality.</p>{table}</article>"
        )

    # -- items --------------------------------------------------------------------------------
    def items(self) -> str:
        items = as_map(self.audit.get("items"))
        out = ['<section id="items"><h2>Items: who gets exposure?</h2>']
        if not items:
            out.append(na_text("Item-side results are not available in this audit."))
            out.append("</section>")
            return "".join(out)
        out.append(self._catalogue(items))
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
            figs.append(
                figure(
                    svg,
                    f"<b>Lorenz curve of exposure.</b> Gini = {esc(fmt_num(gini, 2))}. The further "
                    "the curve sags below the diagonal, the more exposure goes to few items.",
                )
            )
        else:
            figs.append(figure("", "Lorenz curve: not available."))
        deciles = [d for d in as_list(items.get("deciles")) if isinstance(d, Mapping)]
        if deciles:
            svg = decile_chart(deciles, label="Exposure by popularity decile")
            figs.append(
                figure(
                    svg,
                    "<b>Exposure by popularity decile.</b> Each decile holds a tenth of the "
                    "catalogue; bars above the dashed line get more than their equal share.",
                )
            )
        else:
            figs.append(figure("", "Exposure by popularity decile: not available."))
        out.append(f'<div class="grid2">{"".join(figs)}</div>')
        groups = as_map(items.get("groups"))
        for i, (attr, entry) in enumerate(groups.items()):
            out.append(self._item_group(str(attr), as_map(entry), i))
        eoa = as_float(items.get("equity_of_attention"))
        if "equity_of_attention" in items:
            out.append(
                '<article class="attr" id="equity"><h3>Equity of attention</h3>'
                f'<p class="stats"><span>Unfairness of attention: <b>{esc(fmt_num(eoa))}</b></span>'
                '<span class="muted">Biega et al. (2018): how far the attention items get is '
                "from being proportional to their relevance; lower is fairer, 0 is attention "
                "exactly proportional to relevance.</span></p></article>"
            )
        out.append("</section>")
        return "".join(out)

    def _catalogue(self, items: Mapping[str, Any]) -> str:
        cat = as_map(items.get("catalogue"))
        pop = as_map(items.get("popularity"))
        n_items = cat.get("n_items", self.params.get("n_items"))
        rows: list[tuple[str, str, str]] = []
        if "coverage" in cat:
            rows.append(
                (
                    "Coverage",
                    esc(fmt_pct(cat.get("coverage"))),
                    "share of the catalogue recommended to at least one user",
                )
            )
        if "never_recommended" in cat:
            nr = fmt_int(cat.get("never_recommended"))
            if as_float(n_items) is not None:
                nr += f" of {fmt_int(n_items)}"
            rows.append(("Never recommended", esc(nr), "items that no list contains"))
        elif "n_items" in cat:
            rows.append(("Items", esc(fmt_int(n_items)), "catalogue size"))
        if "gini_exposure" in cat:
            rows.append(
                (
                    "Gini of exposure",
                    esc(fmt_num(cat.get("gini_exposure"))),
                    "0 = every item equally exposed, 1 = all exposure on one item",
                )
            )
        if "entropy" in cat:
            rows.append(
                (
                    "Entropy of exposure",
                    esc(fmt_num(cat.get("entropy"))),
                    "higher = exposure spread over more items",
                )
            )
        known = {"coverage", "never_recommended", "gini_exposure", "entropy", "n_items"}
        for key, value in cat.items():
            if key not in known and not isinstance(value, (Mapping, list)):
                rows.append(
                    (esc(key), esc(fmt_num(value) if as_float(value) is not None else value), "")
                )
        prow: list[tuple[str, str, str]] = []
        if "arp" in pop:
            prow.append(
                (
                    "ARP",
                    esc(fmt_num(pop.get("arp"))),
                    "average training popularity of recommended items",
                )
            )
        if "aplt" in pop:
            prow.append(
                (
                    "APLT",
                    esc(fmt_pct(pop.get("aplt"))),
                    "average share of each list taken by long-tail items",
                )
            )
        if "aclt" in pop:
            prow.append(
                (
                    "ACLT",
                    esc(fmt_num(pop.get("aclt"))),
                    "average number of long-tail items per list",
                )
            )
        if "pop_rsp" in pop:
            prow.append(
                (
                    "Popularity RSP",
                    esc(fmt_num(pop.get("pop_rsp"))),
                    "ranking-based statistical parity of head vs tail; 0 = parity, 1 = "
                    "the tail is never recommended",
                )
            )
        if "pop_reo" in pop:
            prow.append(
                (
                    "Popularity REO",
                    esc(fmt_num(pop.get("pop_reo"))),
                    "ranking-based equal opportunity of head vs tail (given relevance); 0 = parity",
                )
            )
        blocks = []
        blocks.append(
            "<div><h3>Catalogue</h3>"
            + (kv_table(rows) if rows else na_text("Catalogue numbers are not available."))
            + "</div>"
        )
        head = pop.get("head")
        head_html = (
            f'<p class="muted small">Head: {esc(head)}; the rest is the long tail.</p>'
            if head
            else ""
        )
        blocks.append(
            "<div><h3>Popularity bias</h3>"
            + (kv_table(prow) if prow else na_text("Popularity numbers are not available."))
            + head_html
            + "</div>"
        )
        return f'<div class="grid2 tables">{"".join(blocks)}</div>'

    def _item_group(self, attr: str, entry: Mapping[str, Any], index: int) -> str:
        by_group = as_map(entry.get("by_group"))
        anchor = f"item-{_slug(attr, index)}"
        out = [f'<article class="attr" id="{anchor}"><h3>Exposure by {esc(attr)}</h3>']
        if not by_group:
            out.append(na_text("No group values."))
            return "".join(out) + "</article>"
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
                    f"×{fmt_num(rel, 2, like=1.0)}" if rel is not None else "",
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
        if entry.get("multi"):
            note = (
                " Items in several groups count in each "
                f"({esc(entry.get('multi'))}), so shares can add up to more than 100%."
            )
        caption = (
            "Blue: share of all exposure (position-weighted) that the group's items get, with "
            "its interval; orange: the group's share of the catalogue. ×1.00 on the right means "
            f"exposure in proportion to catalogue size.{note}"
        )
        out.append(figure(svg, caption))
        sig = _significant(entry, self.alpha)
        out.append(
            '<p class="stats">'
            f"<span>RSP: <b>{esc(fmt_num(entry.get('rsp')))}</b></span>"
            f"<span>REO: <b>{esc(fmt_num(entry.get('reo')))}</b></span>"
            f"<span>Exposure ratio (lowest / highest): "
            f"<b>{esc(fmt_num(entry.get('exposure_ratio')))}</b></span>"
            f"<span>{esc(_p_text(entry))}</span>{_sig_badge(sig)}</p>"
        )
        out.append("</article>")
        return "".join(out)

    # -- lists --------------------------------------------------------------------------------
    def lists(self) -> str:
        lists = as_map(self.audit.get("lists"))
        out = ['<section id="lists"><h2>Calibration &amp; diversity of the lists</h2>']
        if not lists:
            out.append(na_text("Calibration and diversity are not available in this audit."))
            return "".join(out) + "</section>"
        cal = as_map(lists.get("calibration"))
        div = as_map(lists.get("diversity"))
        rows: list[tuple[str, str, str]] = []
        if cal:
            ckl = fmt_num(cal.get("c_kl"))
            ci = fmt_ci(cal.get("ci_low"), cal.get("ci_high"))
            if ci:
                ckl += f" ({fmt_level(self.confidence)} CI {ci})"
            attr = cal.get("attribute") or "genres"
            rows.append(
                (
                    "Miscalibration C<sub>KL</sub>",
                    esc(ckl),
                    f"KL divergence between the {esc(attr)} mix of each user's history and "
                    "of their list (Steck, 2018), mean over users; 0 = perfectly "
                    "calibrated",
                )
            )
        if div:
            feats = div.get("features")
            how = f"{div.get('metric', 'jaccard')} distance" + (f" on {feats}" if feats else "")
            rows.append(
                (
                    "Intra-list diversity",
                    esc(fmt_num(div.get("ild"))),
                    f"mean pairwise {esc(how)} within a list; higher = more varied",
                )
            )
        if "novelty" in lists:
            rows.append(
                (
                    "Novelty",
                    esc(fmt_num(lists.get("novelty"))),
                    "mean self-information −log₂(popularity) of recommended items; higher "
                    "= less mainstream",
                )
            )
        out.append(kv_table(rows) if rows else na_text("No list-level values."))
        profile = as_map(cal.get("profile"))
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
            out.append(
                figure(
                    svg,
                    f"<b>{esc(attr)} mix.</b> Blue: share of each value among recommended items; "
                    "orange: its share in users' histories. A calibrated recommender keeps the "
                    "two bars equal.",
                )
            )
        out.append("</section>")
        return "".join(out)

    # -- leakage ------------------------------------------------------------------------------
    def leakage(self) -> str:
        leakage = as_map(self.audit.get("leakage"))
        out = [
            '<section id="leakage"><h2>Leakage: can the attributes be predicted?</h2>',
        ]
        attrs = [(str(a), as_map(s)) for a, s in leakage.items() if as_map(s)]
        if not attrs:
            out.append(na_text("Leakage was not measured in this audit (not available)."))
            return "".join(out) + "</section>"
        out.append(
            '<p class="intro">A classifier tries to predict each attribute from what the system '
            "produces (cross-validated). ROC-AUC 0.5 and balanced accuracy 1 / classes are "
            "chance: values above them mean the attribute leaks.</p>"
        )
        for i, (attr, sources) in enumerate(attrs):
            rows = []
            sentences = []
            for source, e in sources.items():
                if not isinstance(e, Mapping):
                    continue
                src = _SOURCE_LABEL.get(str(source), str(source))
                auc, lo, hi = (
                    as_float(e.get("auc")),
                    as_float(e.get("ci_low")),
                    as_float(e.get("ci_high")),
                )
                base = as_float(e.get("baseline"))
                base = 0.5 if base is None and "baseline" not in e else base
                rows.append((f"{src}", "ROC-AUC", auc, lo, hi, base))
                ba = as_float(e.get("balanced_accuracy"))
                bab = as_float(e.get("balanced_accuracy_baseline"))
                rows.append(
                    (
                        f"{src}",
                        "balanced accuracy",
                        ba,
                        as_float(e.get("balanced_accuracy_ci_low")),
                        as_float(e.get("balanced_accuracy_ci_high")),
                        bab,
                    )
                )
                sentences.append(self._leak_sentence(attr, src, e))
            if not rows:
                continue
            svg = dot_chart(rows, label=f"Leakage of {attr}")
            out.append(
                f'<article class="attr" id="leak-{_slug(attr, i)}"><h3>{esc(attr)}</h3>'
                f'{figure(svg)}<ul class="sentences">{"".join(sentences)}</ul></article>'
            )
        out.append("</section>")
        return "".join(out)

    def _leak_sentence(self, attr: str, src: str, e: Mapping[str, Any]) -> str:
        auc, lo, hi = as_float(e.get("auc")), as_float(e.get("ci_low")), as_float(e.get("ci_high"))
        base = as_float(e.get("baseline"))
        base = 0.5 if base is None else base
        if auc is None:
            return f"<li>{esc(attr)} from the {esc(src)}: AUC not available.</li>"
        leaks = lo is not None and lo > base
        ci = fmt_ci(lo, hi, lambda v: fmt_num(v, 2, like=0.5))
        auc_text = f"AUC {fmt_num(auc, 2, like=0.5)}" + (f" ({ci})" if ci else "")
        if leaks:
            text = f"{attr} can be predicted from the {src} with {auc_text}, chance is {base:.2f}"
        elif lo is None:
            text = f"{attr} from the {src}: {auc_text} without an interval, chance is {base:.2f}"
        else:
            text = (
                f"{attr} cannot be told apart from chance using the {src}: {auc_text}, chance "
                f"is {base:.2f}"
            )
        ba, bab = (
            as_float(e.get("balanced_accuracy")),
            as_float(e.get("balanced_accuracy_baseline")),
        )
        if ba is not None:
            text += f"; balanced accuracy {fmt_num(ba, 2, like=0.5)}"
            if bab is not None:
                text += f" vs {bab:.2f} by chance"
        extra = []
        if as_float(e.get("n")) is not None:
            extra.append(f"{fmt_int(e.get('n'))} users")
        if as_float(e.get("n_classes")) is not None:
            extra.append(f"{fmt_int(e.get('n_classes'))} classes")
        if extra:
            text += f" ({', '.join(extra)})"
        text += "."
        badge = (
            '<span class="badge sig">● leaks</span>'
            if leaks
            else '<span class="badge ns">○ not distinguishable from chance</span>'
        )
        return f"<li>{esc(text)} {badge}</li>"

    # -- footer -------------------------------------------------------------------------------
    def footer(self) -> str:
        rows = [(esc(k), esc(v)) for k, v in flatten(self.params)]
        half = (len(rows) + 1) // 2
        table = (
            '<div class="grid2 params">'
            + "".join(
                '<div class="table-wrap"><table class="params"><tbody>'
                + "".join(f'<tr><th scope="row">{k}</th><td>{v}</td></tr>' for k, v in part)
                + "</tbody></table></div>"
                for part in (rows[:half], rows[half:])
                if part
            )
            + "</div>"
            if rows
            else na_text("No parameters recorded.")
        )
        return (
            f'<footer id="parameters"><h2>Parameters</h2>{table}<p class="generated">Generated by '
            "equirec.fairness.report from the audit report (audit.json). A self-contained page: "
            "no scripts and nothing loaded from the network.</p></footer>"
        )

    # -- page ---------------------------------------------------------------------------------
    def render(self) -> str:
        return html_page(
            self.title,
            self.header(),
            [
                ("summary", self.summary),
                ("users", self.users),
                ("items", self.items),
                ("lists", self.lists),
                ("leakage", self.leakage),
                ("parameters", self.footer),
            ],
            css=CSS,
        )


def render_html(audit: Mapping[str, Any], *, title: str | None = None) -> str:
    """The audit report as one self-contained HTML page.

    Args:
        audit: The report of :func:`equirec.fairness.audit.audit` (the ``audit.json`` dict).
            Every section is optional; missing or ``None``/NaN values are shown as
            "not available"/"n/a".
        title: Page title (default: "Fairness audit — <model> on <dataset>").

    Returns:
        A complete HTML document (inline CSS and SVG charts, no script, no network resource);
        every string from ``audit`` is HTML-escaped.
    """
    if not isinstance(audit, Mapping):
        raise TypeError(
            f"audit must be a mapping (the audit.json dict), got {type(audit).__name__}"
        )
    return _Page(audit, title).render()
