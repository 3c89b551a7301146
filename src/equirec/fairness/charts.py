"""Inline-SVG chart primitives of the HTML pages: no script, every label HTML-escaped.

Axes and ticks (:func:`nice_ticks`, :func:`tick_fmt`, :func:`x_axis`, :func:`y_title`),
SVG elements (:func:`svg_chart`, :func:`svg_text`, :func:`svg_line`) and the charts of the audit
report: horizontal bars with interval whiskers (:func:`hbar_chart`), paired bars
(:func:`paired_chart`), the Lorenz curve (:func:`lorenz_chart`), exposure by popularity decile
(:func:`decile_chart`) and dot-and-whisker rows against a chance level (:func:`dot_chart`).
Styling comes from the classes of :data:`equirec.fairness.page.CSS`.

Colours are the Okabe–Ito palette (safe for colour-blind readers).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from equirec.fairness.formatting import (
    as_float,
    clip,
    fmt_int,
    fmt_num,
    fmt_pct,
    real_minus,
)
from equirec.fairness.page import esc

__all__ = [
    "BLUE",
    "GREEN",
    "GRID",
    "INK",
    "MUTED",
    "ORANGE",
    "PURPLE",
    "SKY",
    "VERMILION",
    "Bar",
    "decile_chart",
    "dot_chart",
    "hbar_chart",
    "lorenz_chart",
    "nice_ticks",
    "paired_chart",
    "svg_chart",
    "svg_line",
    "svg_text",
    "tick_fmt",
    "x_axis",
    "y_title",
]

# Okabe–Ito
BLUE = "#0072B2"
ORANGE = "#E69F00"
VERMILION = "#D55E00"
GREEN = "#009E73"
SKY = "#56B4E9"
PURPLE = "#CC79A7"
INK = "#1f2933"
MUTED = "#667085"
GRID = "#e4e7ec"


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Round tick values covering ``[lo, hi]`` (outward), about ``n`` intervals, little waste."""
    if not hi > lo:
        hi = lo + 1.0
    best: list[float] = []
    best_cost = math.inf
    for target in range(max(n - 1, 2), n + 3):
        raw = (hi - lo) / target
        mag = 10 ** math.floor(math.log10(raw))
        for m in (1, 2, 2.5, 5, 10):
            step = m * mag
            if step < raw * 0.999:
                continue
            start = math.floor(lo / step + 1e-9) * step
            stop = math.ceil(hi / step - 1e-9) * step
            count = round((stop - start) / step)
            waste = (stop - start) / (hi - lo) - 1.0
            cost = waste + 0.05 * abs(count - n) + (0.02 if m == 2.5 else 0.0)
            if cost < best_cost:
                best_cost = cost
                best = [round(start + i * step, 12) for i in range(count + 1)]
            break
    return best


def tick_fmt(ticks: Sequence[float], percent: bool) -> Callable[[float], str]:
    """A formatter of tick values with just the decimals their step needs."""
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    scale = 100.0 if percent else 1.0
    decimals = max(0, -math.floor(math.log10(step * scale) + 1e-9)) if step > 0 else 0
    if step * scale * 10**decimals % 1 > 1e-6:
        decimals += 1
    suffix = "%" if percent else ""

    def fmt(v: float) -> str:
        return real_minus(f"{v * scale:.{decimals}f}{suffix}")

    return fmt


def svg_chart(width: float, height: float, body: Iterable[str], label: str) -> str:
    """The ``<svg>`` element of a chart: scalable, with ``label`` as its accessible name."""
    return (
        f'<svg class="chart" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        f'aria-label="{esc(label)}" preserveAspectRatio="xMinYMin meet">'
        f"<title>{esc(label)}</title>{''.join(body)}</svg>"
    )


def svg_text(
    x: float, y: float, text: str, *, cls: str = "", anchor: str = "start", extra: str = ""
) -> str:
    """A ``<text>`` with ``text`` escaped; ``extra`` is raw attribute text."""
    c = f' class="{cls}"' if cls else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{c}{extra}>{esc(text)}</text>'


def y_title(x: float, y: float, text: str) -> str:
    """A vertical axis title centred on ``(x, y)``, reading bottom to top."""
    return svg_text(
        x, y, text, cls="axis-label", anchor="middle", extra=f' transform="rotate(-90 {x} {y:.1f})"'
    )


def svg_line(x1: float, y1: float, x2: float, y2: float, *, cls: str = "", extra: str = "") -> str:
    """A ``<line>``; ``extra`` is raw attribute text."""
    c = f' class="{cls}"' if cls else ""
    return f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"{c}{extra}/>'


def _whisker(lo: float, hi: float, y: float, cap: float = 4.0) -> str:
    return (
        svg_line(lo, y, hi, y, cls="err")
        + svg_line(lo, y - cap, lo, y + cap, cls="err")
        + svg_line(hi, y - cap, hi, y + cap, cls="err")
    )


def x_axis(
    ticks: Sequence[float],
    sx: Callable[[float], float],
    top: float,
    bottom: float,
    fmt: Callable[[float], str],
    label: str,
    label_x: float,
) -> list[str]:
    """Vertical grid lines with tick labels under ``bottom``, and the axis title."""
    out = []
    for t in ticks:
        x = sx(t)
        out.append(svg_line(x, top, x, bottom, cls="grid" if t != 0 else "zero"))
        out.append(svg_text(x, bottom + 14, fmt(t), cls="tick", anchor="middle"))
    if label:
        out.append(svg_text(label_x, bottom + 32, label, cls="axis-label", anchor="middle"))
    return out


@dataclass
class Bar:
    """One row of :func:`hbar_chart` / :func:`paired_chart`: value, interval, note."""

    label: str
    value: float | None
    lo: float | None = None
    hi: float | None = None
    note: str = ""
    small: bool = False


def _label_width(labels: Iterable[tuple[str, str]], max_chars: int) -> float:
    widest = 0.0
    for name, note in labels:
        widest = max(
            widest, 7.0 * min(len(name), max_chars) + (6.2 * (len(note) + 2) if note else 0)
        )
    return min(max(widest + 8, 60.0), 300.0)


def _row_label(x: float, y: float, name: str, note: str, max_chars: int, small: bool) -> str:
    shown = clip(name, max_chars)
    title = f"<title>{esc(name)}</title>" if shown != name else ""
    note_part = f'<tspan class="note">  {esc(note)}</tspan>' if note else ""
    mark = '<tspan class="small-mark"> †</tspan>' if small else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="end" class="lbl">{title}'
        f"{esc(shown)}{note_part}{mark}</text>"
    )


def hbar_chart(
    bars: Sequence[Bar],
    *,
    label: str,
    axis_label: str = "",
    reference: float | None = None,
    reference_label: str = "overall",
    percent: bool = False,
    width: float = 900,
) -> str:
    """Horizontal bars sorted by value with interval whiskers and an optional reference line."""
    rows = sorted(bars, key=lambda b: (b.value is None, -(b.value or 0.0)))
    max_chars = 34
    lw = _label_width(((b.label, b.note) for b in rows), max_chars)
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
        out.append(_row_label(lw, yc + 4, b.label, b.note, max_chars, b.small))
        if b.value is None:
            out.append(svg_text(x0 + 4, yc + 4, "n/a", cls="na"))
            continue
        xa, xb = sorted((sx(0.0), sx(b.value)))
        cls = "bar small" if b.small else "bar"
        out.append(
            f'<rect class="{cls}" x="{xa:.1f}" y="{yc - bar_h / 2:.1f}" '
            f'width="{max(xb - xa, 0.8):.1f}" height="{bar_h:.1f}" fill="{BLUE}"/>'
        )
        end = sx(b.value)
        if b.lo is not None and b.hi is not None:
            out.append(_whisker(sx(b.lo), sx(b.hi), yc))
            end = max(end, sx(b.hi))
        out.append(svg_text(end + 5, yc + 4, fmt_val(b.value), cls="val"))
    if reference is not None:
        xr = sx(reference)
        out.append(svg_line(xr, top - 10, xr, bottom + 2, cls="ref"))
        anchor_x = min(max(xr, x0 + 40), x1 - 40)
        out.append(
            svg_text(
                anchor_x,
                top - 14,
                f"{reference_label} {fmt_val(reference)}",
                cls="ref-label",
                anchor="middle",
            )
        )
    return svg_chart(width, height, out, label)


def paired_chart(
    rows: Sequence[tuple[str, str, Bar, float | None, str]],
    *,
    label: str,
    a_name: str,
    b_name: str,
    axis_label: str = "",
    right_title: str = "",
    width: float = 900,
) -> str:
    """Two bars per group (``a`` blue with interval, ``b`` orange), percent axis.

    ``rows``: ``(name, note, a_bar, b_value, right_text)``; sorted by ``a`` here.
    """
    ordered = sorted(rows, key=lambda r: (r[2].value is None, -(r[2].value or 0.0)))
    max_chars = 30
    lw = _label_width(((r[0], r[1]) for r in ordered), max_chars)
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
    out.append(f'<rect x="{x0:.1f}" y="6" width="12" height="10" fill="{BLUE}"/>')
    out.append(svg_text(x0 + 17, 15, a_name, cls="legend"))
    lx = x0 + 30 + 6.6 * len(a_name)
    out.append(f'<rect x="{lx:.1f}" y="6" width="12" height="10" fill="{ORANGE}"/>')
    out.append(svg_text(lx + 17, 15, b_name, cls="legend"))
    if right:
        out.append(svg_text(width - 4, 15, right_title, cls="legend", anchor="end"))
    for i, (name, note, a, b, right_text) in enumerate(ordered):
        y = top + row_h * i
        yc = y + row_h / 2
        out.append(_row_label(lw, yc + 4, name, note, max_chars, a.small))
        ya, yb = yc - bar_h - 1, yc + 1
        if a.value is None:
            out.append(svg_text(x0 + 4, ya + bar_h - 2, "n/a", cls="na"))
        else:
            xa, xb = sorted((sx(0.0), sx(a.value)))
            out.append(
                f'<rect class="bar" x="{xa:.1f}" y="{ya:.1f}" width="{max(xb - xa, 0.8):.1f}" '
                f'height="{bar_h:.1f}" fill="{BLUE}"/>'
            )
            end = sx(a.value)
            if a.lo is not None and a.hi is not None:
                out.append(_whisker(sx(a.lo), sx(a.hi), ya + bar_h / 2, 3.0))
                end = max(end, sx(a.hi))
            out.append(svg_text(end + 5, ya + bar_h - 2, fmt_pct(a.value), cls="val"))
        if b is None:
            out.append(svg_text(x0 + 4, yb + bar_h - 2, "n/a", cls="na"))
        else:
            xa, xb = sorted((sx(0.0), sx(b)))
            out.append(
                f'<rect class="bar" x="{xa:.1f}" y="{yb:.1f}" width="{max(xb - xa, 0.8):.1f}" '
                f'height="{bar_h:.1f}" fill="{ORANGE}"/>'
            )
            out.append(svg_text(sx(b) + 5, yb + bar_h - 2, fmt_pct(b), cls="val muted"))
        if right_text:
            out.append(svg_text(width - 4, yc + 4, right_text, cls="val strong", anchor="end"))
    return svg_chart(width, height, out, label)


def lorenz_chart(xs: Sequence[float], ys: Sequence[float], *, label: str) -> str:
    """The Lorenz curve of exposure (cumulative shares, least exposed first) and the diagonal."""
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
    out: list[str] = []
    for t in ticks:
        out.append(svg_line(sx(t), y0, sx(t), y1, cls="grid"))
        out.append(svg_line(x0, sy(t), x1, sy(t), cls="grid"))
        out.append(svg_text(sx(t), y1 + 15, f"{t:.0%}", cls="tick", anchor="middle"))
        out.append(svg_text(x0 - 6, sy(t) + 4, f"{t:.0%}", cls="tick", anchor="end"))
    pts = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in zip(xs, ys, strict=True))
    out.append(
        f'<polygon points="{sx(0):.1f},{sy(0):.1f} {pts} {sx(1):.1f},{sy(1):.1f}" '
        f'fill="{SKY}" fill-opacity="0.25" stroke="none"/>'
    )
    out.append(svg_line(sx(0), sy(0), sx(1), sy(1), cls="ref"))
    out.append(
        f'<polyline points="{pts}" fill="none" stroke="{BLUE}" stroke-width="2.2" '
        'stroke-linejoin="round"/>'
    )
    out.append(
        svg_text(
            sx(0.42),
            sy(0.52),
            "perfect equality",
            cls="ref-label",
            anchor="middle",
            extra=f' transform="rotate({-math.degrees(math.atan2(y1 - y0, x1 - x0)):.1f} '
            f'{sx(0.42):.1f} {sy(0.52):.1f})"',
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


def decile_chart(rows: Sequence[Mapping[str, Any]], *, label: str) -> str:
    """Share of exposure per popularity decile (``rows`` of ``audit.json``) against equal share."""
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
    out: list[str] = []
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
            tip += f"; items with {fmt_int(pmin)}–{fmt_int(pmax)} training interactions"
        if as_float(r.get("n_items")) is not None:
            tip += f" ({fmt_int(r.get('n_items'))} items)"
        out.append(
            f'<rect class="bar" x="{xc - w / 2:.1f}" y="{sy(s):.1f}" width="{w:.1f}" '
            f'height="{max(y1 - sy(s), 0.0):.1f}" fill="{BLUE}"><title>{esc(tip)}</title></rect>'
        )
        out.append(
            svg_text(xc, sy(s) - 4, fmt_pct(s, 0 if s >= 0.1 else 1), cls="val", anchor="middle")
        )
    out.append(svg_line(x0, sy(equal), x1, sy(equal), cls="ref"))
    out.append(svg_text(x0 + 4, sy(equal) - 5, f"equal share {fmt_pct(equal, 0)}", cls="ref-label"))
    out.append(
        svg_text(
            (x0 + x1) / 2,
            y1 + 48,
            "popularity decile, 1 = least popular (≤ most interactions in it)",
            cls="axis-label",
            anchor="middle",
        )
    )
    out.append(y_title(14, (y0 + y1) / 2, "share of exposure"))
    return svg_chart(width, height, out, label)


def dot_chart(
    rows: Sequence[tuple[str, str, float | None, float | None, float | None, float | None]],
    *,
    label: str,
    width: float = 900,
) -> str:
    """Dot-and-whisker on [0, 1]: ``(name, note, estimate, lo, hi, baseline)`` per row."""
    max_chars = 40
    lw = _label_width(((r[0], r[1]) for r in rows), max_chars)
    row_h, top = 26.0, 30.0
    x0, x1 = lw + 12, width - 70
    height = top + row_h * len(rows) + 46
    ticks = [i / 10 for i in range(11)]

    def sx(v: float) -> float:
        return x0 + min(max(v, 0.0), 1.0) * (x1 - x0)

    bottom = top + row_h * len(rows)
    out = x_axis(ticks, sx, top - 6, bottom, lambda v: f"{v:.1f}", "", 0)
    out.append(f'<circle cx="{x0 + 6:.1f}" cy="12" r="5" fill="{VERMILION}"/>')
    out.append(svg_text(x0 + 16, 16, "above chance (interval clear of it)", cls="legend"))
    out.append(
        f'<circle cx="{x0 + 256:.1f}" cy="12" r="5" fill="#fff" stroke="{MUTED}" stroke-width="2"/>'
    )
    out.append(svg_text(x0 + 266, 16, "not distinguishable from chance", cls="legend"))
    out.append(svg_line(x0 + 480, 5, x0 + 480, 19, cls="base"))
    out.append(svg_text(x0 + 488, 16, "chance level", cls="legend"))
    for i, (name, note, est, lo, hi, base) in enumerate(rows):
        yc = top + row_h * i + row_h / 2
        if i % 2 == 0:
            out.append(
                f'<rect x="{x0:.1f}" y="{yc - row_h / 2:.1f}" width="{x1 - x0:.1f}" '
                f'height="{row_h:.1f}" class="band"/>'
            )
        out.append(_row_label(lw, yc + 4, name, note, max_chars, False))
        if base is not None:
            out.append(svg_line(sx(base), yc - 9, sx(base), yc + 9, cls="base"))
        if est is None:
            out.append(svg_text(x0 + 4, yc + 4, "n/a", cls="na"))
            continue
        end = sx(est)
        if lo is not None and hi is not None:
            out.append(_whisker(sx(lo), sx(hi), yc))
            end = sx(hi)
        leaks = lo is not None and base is not None and lo > base
        fill, stroke = (VERMILION, VERMILION) if leaks else ("#fff", MUTED)
        out.append(
            f'<circle cx="{sx(est):.1f}" cy="{yc:.1f}" r="5.5" fill="{fill}" stroke="{stroke}" '
            'stroke-width="2"/>'
        )
        out.append(svg_text(end + 7, yc + 4, fmt_num(est, 2), cls="val"))
    return svg_chart(width, height, out, label)
