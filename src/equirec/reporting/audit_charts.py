"""The inline-SVG charts of the audit page, built on :mod:`equirec.reporting.charts`.

Horizontal bars with interval whiskers (:func:`hbar_chart`), paired bars (:func:`paired_chart`),
the Lorenz curve (:func:`lorenz_chart`), exposure by popularity decile (:func:`decile_chart`) and
dot-and-whisker rows against a chance level (:func:`dot_chart`). Each returns one ``<svg>`` as
:class:`markupsafe.Markup`; every label (group names are user data) is escaped as it is placed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from equirec.reporting.charts import (
    BLUE,
    MUTED,
    ORANGE,
    SKY,
    VERMILION,
    Bar,
    label_width,
    nice_ticks,
    row_label,
    svg_chart,
    svg_circle,
    svg_line,
    svg_rect,
    svg_text,
    tick_fmt,
    whisker,
    x_axis,
    y_title,
)
from equirec.reporting.formatting import as_float, fmt_int, fmt_num, fmt_pct

__all__ = ["DotRow", "decile_chart", "dot_chart", "hbar_chart", "lorenz_chart", "paired_chart"]


def _bar(x0: float, x1: float, y: float, height: float, fill: str, cls: str = "bar") -> Markup:
    """A bar from ``x0`` to ``x1`` (either order), at least 0.8 wide so a zero still shows."""
    xa, xb = sorted((x0, x1))
    return svg_rect(xa, y, max(xb - xa, 0.8), height, fill=fill, cls=cls)


def hbar_chart(
    bars: Sequence[Bar],
    *,
    label: str,
    axis_label: str = "",
    reference: float | None = None,
    reference_label: str = "overall",
    percent: bool = False,
    width: float = 720,
) -> Markup:
    """Horizontal bars sorted by value with interval whiskers and an optional reference line.

    Args:
        bars: One bar per group (a ``None`` value is written "n/a").
        label: Accessible name of the chart.
        axis_label: Title of the value axis.
        reference: Value of a dashed reference line (e.g. the mean over all users).
        reference_label: Text before the reference value.
        percent: Values are shares, written as percentages.
        width: Width of the view box.

    Returns:
        The ``<svg>`` element.
    """
    rows = sorted(bars, key=lambda b: (b.value is None, -(b.value or 0.0)))
    max_chars = 34
    lw = label_width(((b.label, b.note) for b in rows), max_chars)
    row_h, bar_h, top = 24.0, 15.0, 30.0
    x0, x1 = lw + 12, width - 78
    height = top + row_h * len(rows) + 46
    vals = [v for b in rows for v in (b.value, b.lo, b.hi) if v is not None]
    if reference is not None:
        vals.append(reference)
    lo_d = min([0.0, *vals])
    hi_d = max([0.0, *vals])
    ticks = nice_ticks(lo_d, hi_d if hi_d > lo_d else lo_d + 1.0)
    d0, d1 = ticks[0], ticks[-1]
    fmt_tick = tick_fmt(ticks, percent)
    fmt_val = fmt_pct if percent else fmt_num

    def sx(v: float) -> float:
        return x0 + (v - d0) / (d1 - d0) * (x1 - x0)

    bottom = top + row_h * len(rows)
    out = x_axis(ticks, sx, top - 6, bottom, fmt_tick, axis_label, (x0 + x1) / 2)
    for i, b in enumerate(rows):
        yc = top + row_h * i + row_h / 2
        out.append(row_label(lw, yc + 4, b.label, b.note, max_chars, b.small))
        if b.value is None:
            out.append(svg_text(x0 + 4, yc + 4, "n/a", cls="na"))
            continue
        cls = "bar small" if b.small else "bar"
        out.append(_bar(sx(0.0), sx(b.value), yc - bar_h / 2, bar_h, BLUE, cls))
        end = sx(b.value)
        if b.lo is not None and b.hi is not None:
            out.append(whisker(sx(b.lo), sx(b.hi), yc))
            end = max(end, sx(b.hi))
        out.append(svg_text(end + 5, yc + 4, fmt_val(b.value), cls="val"))
    if reference is not None:
        xr = sx(reference)
        out.append(svg_line(xr, top - 10, xr, bottom + 2, cls="ref"))
        anchor_x = min(max(xr, x0 + 40), x1 - 40)
        text = f"{reference_label} {fmt_val(reference)}"
        out.append(svg_text(anchor_x, top - 14, text, cls="ref-label", anchor="middle"))
    return svg_chart(width, height, out, label)


def paired_chart(
    rows: Sequence[tuple[str, str, Bar, float | None, str]],
    *,
    label: str,
    a_name: str,
    b_name: str,
    axis_label: str = "",
    right_title: str = "",
    width: float = 720,
) -> Markup:
    """Two bars per group (``a`` blue with interval, ``b`` orange), percent axis.

    Args:
        rows: ``(name, note, a_bar, b_value, right_text)`` per group; sorted by ``a`` here.
        label: Accessible name of the chart.
        a_name: Legend of the blue bars.
        b_name: Legend of the orange bars.
        axis_label: Title of the value axis.
        right_title: Heading of the texts on the right (shown when a row has one).
        width: Width of the view box.

    Returns:
        The ``<svg>`` element.
    """
    ordered = sorted(rows, key=lambda r: (r[2].value is None, -(r[2].value or 0.0)))
    max_chars = 30
    lw = label_width(((r[0], r[1]) for r in ordered), max_chars)
    row_h, bar_h, top = 34.0, 11.0, 34.0
    right = 70.0 if any(r[4] for r in ordered) else 0.0
    x0, x1 = lw + 12, width - 66 - right
    height = top + row_h * len(ordered) + 46
    vals = [v for r in ordered for v in (r[2].value, r[2].lo, r[2].hi, r[3]) if v is not None]
    ticks = nice_ticks(min([0.0, *vals]), max([0.0, *vals]) or 1.0)
    d0, d1 = ticks[0], ticks[-1]

    def sx(v: float) -> float:
        return x0 + (v - d0) / (d1 - d0) * (x1 - x0)

    bottom = top + row_h * len(ordered)
    out = x_axis(ticks, sx, top - 6, bottom, tick_fmt(ticks, True), axis_label, (x0 + x1) / 2)
    # legend
    out.append(svg_rect(x0, 6, 12, 10, fill=BLUE))
    out.append(svg_text(x0 + 17, 15, a_name, cls="legend"))
    lx = x0 + 30 + 6.6 * len(a_name)
    out.append(svg_rect(lx, 6, 12, 10, fill=ORANGE))
    out.append(svg_text(lx + 17, 15, b_name, cls="legend"))
    if right:
        out.append(svg_text(width - 4, 15, right_title, cls="legend", anchor="end"))
    for i, (name, note, a, b, right_text) in enumerate(ordered):
        y = top + row_h * i
        yc = y + row_h / 2
        out.append(row_label(lw, yc + 4, name, note, max_chars, a.small))
        ya, yb = yc - bar_h - 1, yc + 1
        if a.value is None:
            out.append(svg_text(x0 + 4, ya + bar_h - 2, "n/a", cls="na"))
        else:
            out.append(_bar(sx(0.0), sx(a.value), ya, bar_h, BLUE))
            end = sx(a.value)
            if a.lo is not None and a.hi is not None:
                out.append(whisker(sx(a.lo), sx(a.hi), ya + bar_h / 2, 3.0))
                end = max(end, sx(a.hi))
            out.append(svg_text(end + 5, ya + bar_h - 2, fmt_pct(a.value), cls="val"))
        if b is None:
            out.append(svg_text(x0 + 4, yb + bar_h - 2, "n/a", cls="na"))
        else:
            out.append(_bar(sx(0.0), sx(b), yb, bar_h, ORANGE))
            out.append(svg_text(sx(b) + 5, yb + bar_h - 2, fmt_pct(b), cls="val muted"))
        if right_text:
            out.append(svg_text(width - 4, yc + 4, right_text, cls="val strong", anchor="end"))
    return svg_chart(width, height, out, label)


def lorenz_chart(xs: Sequence[float], ys: Sequence[float], *, label: str) -> Markup:
    """The Lorenz curve of exposure (cumulative shares, least exposed first) and the diagonal.

    Args:
        xs: Cumulative share of items, ascending from 0 to 1.
        ys: Cumulative share of exposure at each ``xs``.
        label: Accessible name of the chart.

    Returns:
        The ``<svg>`` element (about 600 points at most).
    """
    width, height = 460.0, 330.0
    x0, x1, y0, y1 = 56.0, 440.0, 14.0, 270.0

    def sx(v: float) -> float:
        return x0 + min(max(v, 0.0), 1.0) * (x1 - x0)

    def sy(v: float) -> float:
        return y1 - min(max(v, 0.0), 1.0) * (y1 - y0)

    if len(xs) > 600:  # keep the file small: ~600 points draw the same curve
        step = len(xs) / 600
        idx = sorted({round(i * step) for i in range(600)} | {len(xs) - 1})
        xs = [xs[i] for i in idx]
        ys = [ys[i] for i in idx]
    ticks = [0.0, 0.25, 0.5, 0.75, 1.0]
    out: list[Markup] = []
    for t in ticks:
        out.append(svg_line(sx(t), y0, sx(t), y1, cls="grid"))
        out.append(svg_line(x0, sy(t), x1, sy(t), cls="grid"))
        out.append(svg_text(sx(t), y1 + 15, f"{t:.0%}", cls="tick", anchor="middle"))
        out.append(svg_text(x0 - 6, sy(t) + 4, f"{t:.0%}", cls="tick", anchor="end"))
    pts = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in zip(xs, ys, strict=True))
    out.append(
        Markup(
            '<polygon points="{:.1f},{:.1f} {} {:.1f},{:.1f}" fill="{}" fill-opacity="0.25" '
            'stroke="none"/>'
        ).format(sx(0), sy(0), pts, sx(1), sy(1), SKY)
    )
    out.append(svg_line(sx(0), sy(0), sx(1), sy(1), cls="ref"))
    out.append(
        Markup(
            '<polyline points="{}" fill="none" stroke="{}" stroke-width="2.2" '
            'stroke-linejoin="round"/>'
        ).format(pts, BLUE)
    )
    angle = -math.degrees(math.atan2(y1 - y0, x1 - x0))
    out.append(
        svg_text(
            sx(0.42),
            sy(0.52),
            "perfect equality",
            cls="ref-label",
            anchor="middle",
            transform=f"rotate({angle:.1f} {sx(0.42):.1f} {sy(0.52):.1f})",
        )
    )
    out.append(
        svg_text(
            (x0 + x1) / 2,
            y1 + 34,
            "share of items, least to most exposed",
            cls="axis-label",
            anchor="middle",
        )
    )
    out.append(y_title(14, (y0 + y1) / 2, "cumulative share of exposure"))
    return svg_chart(width, height, out, label)


def decile_chart(
    rows: Sequence[Mapping[str, Any]], *, label: str, known: str = "known interactions"
) -> Markup:
    """Share of exposure per popularity decile against the equal share.

    Args:
        rows: The ``deciles`` rows of ``audit.json`` (``decile``, ``exposure_share``,
            ``popularity_min``, ``popularity_max``, ``n_items``).
        label: Accessible name of the chart.
        known: What popularity counts ("known interactions (train+valid)").

    Returns:
        The ``<svg>`` element.
    """
    width, height = 460.0, 330.0
    x0, x1, y0, y1 = 56.0, 446.0, 22.0, 252.0
    n = len(rows)
    shares = [as_float(r.get("exposure_share")) for r in rows]
    equal = 1.0 / n
    ticks = nice_ticks(0.0, max([equal, *[s for s in shares if s is not None]]), 5)
    top_v = ticks[-1]
    fmt_tick = tick_fmt(ticks, True)

    def sy(v: float) -> float:
        return y1 - v / top_v * (y1 - y0)

    band = (x1 - x0) / n
    out: list[Markup] = []
    for t in ticks:
        out.append(svg_line(x0, sy(t), x1, sy(t), cls="grid" if t else "zero"))
        out.append(svg_text(x0 - 6, sy(t) + 4, fmt_tick(t), cls="tick", anchor="end"))
    for i, (r, s) in enumerate(zip(rows, shares, strict=True)):
        xc = x0 + band * (i + 0.5)
        name = r.get("decile", i + 1)
        out.append(svg_text(xc, y1 + 15, str(name), cls="tick strong", anchor="middle"))
        pmin, pmax = as_float(r.get("popularity_min")), as_float(r.get("popularity_max"))
        if pmax is not None and n <= 12:
            out.append(
                svg_text(xc, y1 + 28, f"≤{fmt_int(pmax)}", cls="tick small-tick", anchor="middle")
            )
        if s is None:
            out.append(svg_text(xc, y1 - 4, "n/a", cls="na", anchor="middle"))
            continue
        w = band * 0.72
        tip = f"decile {name}: {fmt_pct(s)} of exposure"
        if pmin is not None and pmax is not None:
            tip += f"; items with {fmt_int(pmin)}–{fmt_int(pmax)} {known}"
        if as_float(r.get("n_items")) is not None:
            tip += f" ({fmt_int(r.get('n_items'))} items)"
        out.append(
            svg_rect(xc - w / 2, sy(s), w, max(y1 - sy(s), 0.0), fill=BLUE, cls="bar", title=tip)
        )
        out.append(svg_text(xc, sy(s) - 4, _bar_pct(s), cls="val", anchor="middle"))
    out.append(svg_line(x0, sy(equal), x1, sy(equal), cls="ref"))
    out.append(svg_text(x0 + 4, sy(equal) - 5, f"equal share {fmt_pct(equal, 0)}", cls="ref-label"))
    out.append(
        svg_text(
            (x0 + x1) / 2,
            y1 + 48,
            "popularity decile, 1 = least popular (≤ most known interactions in it)",
            cls="axis-label",
            anchor="middle",
        )
    )
    out.append(y_title(14, (y0 + y1) / 2, "share of exposure"))
    return svg_chart(width, height, out, label)


@dataclass(frozen=True)
class DotRow:
    """A row of :func:`dot_chart`: name, note, estimate, interval, chance level, verdict."""

    name: str
    note: str
    estimate: float | None
    lo: float | None
    hi: float | None
    baseline: float | None
    significant: bool | None = None


def _bar_pct(share: float) -> str:
    """A short label over a decile's bar (the exact share is in its tooltip): ``97%``, ``3.0%``,
    ``0.2%``, ``<0.1%`` for a share too small for the bar's width, ``0`` for none."""
    if share == 0:
        return "0"
    if share < 0.001:
        return "<0.1%"
    return fmt_pct(share, 0 if share >= 0.1 else 1)


def dot_chart(
    rows: Sequence[DotRow],
    *,
    label: str,
    level: str = "5%",
    width: float = 720,
    filled: str | None = None,
) -> Markup:
    """Dot-and-whisker rows on [0, 1] against a chance level.

    Args:
        rows: One row per estimate; a dot whose test is significant (``significant``: the
            probe's verdict, from its adjusted p-value) is filled vermilion, any other hollow.
        label: Accessible name of the chart.
        level: The significance level, for the legend.
        width: Width of the view box.
        filled: What a filled dot means, for the legend (default: a leak significant at
            ``level`` after adjustment).

    Returns:
        The ``<svg>`` element, with a legend that says in words what filled and hollow mean.
    """
    max_chars = 40
    lw = label_width(((r.name, r.note) for r in rows), max_chars)
    row_h, top = 26.0, 30.0
    x0, x1 = lw + 12, width - 70
    height = top + row_h * len(rows) + 46
    ticks = [i / 10 for i in range(11)]

    def sx(v: float) -> float:
        return x0 + min(max(v, 0.0), 1.0) * (x1 - x0)

    bottom = top + row_h * len(rows)
    out = x_axis(ticks, sx, top - 6, bottom, lambda v: f"{v:.1f}", "", 0)
    legend = (
        (VERMILION, VERMILION, filled or f"leaks (significant at {level}, adjusted)"),
        ("#fff", MUTED, "not significant or not tested"),
    )
    lx = 8.0  # from the left edge: the legend is wider than the plot when the labels are long
    for fill, stroke, text in legend:
        out.append(svg_circle(lx + 6, 12, 5, fill=fill, stroke=stroke, stroke_width=2))
        out.append(svg_text(lx + 16, 16, text, cls="legend"))
        lx += 16 + 6.6 * len(text) + 18
    out.append(svg_line(lx, 5, lx, 19, cls="base"))
    out.append(svg_text(lx + 8, 16, "chance level", cls="legend"))
    for i, r in enumerate(rows):
        yc = top + row_h * i + row_h / 2
        if i % 2 == 0:
            out.append(svg_rect(x0, yc - row_h / 2, x1 - x0, row_h, cls="band"))
        out.append(row_label(lw, yc + 4, r.name, r.note, max_chars, False))
        if r.baseline is not None:
            out.append(svg_line(sx(r.baseline), yc - 9, sx(r.baseline), yc + 9, cls="base"))
        if r.estimate is None:
            out.append(svg_text(x0 + 4, yc + 4, "n/a", cls="na"))
            continue
        end = sx(r.estimate)
        if r.lo is not None and r.hi is not None:
            out.append(whisker(sx(r.lo), sx(r.hi), yc))
            end = sx(r.hi)
        fill, stroke = (VERMILION, VERMILION) if r.significant else ("#fff", MUTED)
        out.append(svg_circle(sx(r.estimate), yc, 5.5, fill=fill, stroke=stroke, stroke_width=2))
        out.append(svg_text(end + 7, yc + 4, fmt_num(r.estimate, 2), cls="val"))
    return svg_chart(width, height, out, label)
