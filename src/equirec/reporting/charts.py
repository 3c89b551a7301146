"""Inline-SVG chart primitives of the HTML pages: no script, every label escaped.

Axes and ticks (:func:`nice_ticks`, :func:`tick_fmt`, :func:`x_axis`, :func:`y_title`) and SVG
elements (:func:`svg_chart`, :func:`svg_text`, :func:`svg_line`, :func:`svg_rect`,
:func:`svg_circle`, :func:`whisker`, :func:`row_label`). The charts themselves are in
:mod:`equirec.reporting.audit_charts` and :mod:`equirec.reporting.pareto`.

Every builder returns :class:`markupsafe.Markup` made with :meth:`Markup.format` and
:meth:`Markup.join`, which escape whatever is not already ``Markup``: text taken from a report
(group names, titles) is escaped where it enters the chart, so a chart can be inserted into a
template as it is. Styling comes from the classes of the page stylesheet
(``templates/styles.css.j2``).

Colours are the Okabe–Ito palette (safe for colour-blind readers).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from markupsafe import Markup

from equirec.reporting.formatting import clip, real_minus

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
    "label_width",
    "nice_ticks",
    "row_label",
    "svg_chart",
    "svg_circle",
    "svg_line",
    "svg_rect",
    "svg_text",
    "tick_fmt",
    "whisker",
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

_EMPTY = Markup("")

WIDE = 700.0
"""Charts at least this wide in view-box units are ``class="chart wide"``: they span the page's
column up to a width (``styles.css.j2``) at which their text is a little larger than drawn, so
that on a wide page they do not blow up their text nor, on a page 700 pixels wide, shrink it much
below its size."""


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """Round tick values covering ``[lo, hi]`` (outward), about ``n`` intervals, little waste.

    Args:
        lo: Lowest value to cover.
        hi: Highest value to cover (a range of 1 is used when it is not above ``lo``).
        n: Number of intervals aimed at.

    Returns:
        Evenly spaced ticks, the first at or below ``lo`` and the last at or above ``hi``.
    """
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
    """A formatter of tick values with just the decimals their step needs.

    Args:
        ticks: The ticks to be labelled (their step sets the decimals).
        percent: Write values as percentages (``0.25`` -> ``25%``).

    Returns:
        A function from a tick value to its label (plain text, a real minus sign).
    """
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    scale = 100.0 if percent else 1.0
    decimals = max(0, -math.floor(math.log10(step * scale) + 1e-9)) if step > 0 else 0
    if step * scale * 10**decimals % 1 > 1e-6:
        decimals += 1
    suffix = "%" if percent else ""

    def fmt(v: float) -> str:
        return real_minus(f"{v * scale:.{decimals}f}{suffix}")

    return fmt


def svg_chart(width: float, height: float, body: Iterable[Markup], label: str) -> Markup:
    """The ``<svg>`` element of a chart: scalable, with ``label`` as its accessible name.

    Args:
        width: Width of the view box.
        height: Height of the view box.
        body: The chart's elements (``Markup``; anything else would be escaped as text).
        label: Accessible name and ``<title>`` of the chart (plain text, escaped here).

    Returns:
        The ``<svg>`` element (``class="chart wide"`` from :data:`WIDE` on).
    """
    cls = "chart wide" if width >= WIDE else "chart"
    return Markup(
        '<svg class="{}" viewBox="0 0 {:.0f} {:.0f}" role="img" aria-label="{}" '
        'preserveAspectRatio="xMinYMin meet"><title>{}</title>{}</svg>'
    ).format(cls, width, height, label, label, _EMPTY.join(body))


def _cls(cls: str) -> Markup:
    return Markup(' class="{}"').format(cls) if cls else _EMPTY


def svg_text(
    x: float,
    y: float,
    text: str,
    *,
    cls: str = "",
    anchor: str = "start",
    transform: str = "",
    title: str = "",
) -> Markup:
    """A ``<text>`` element.

    Args:
        x: Anchor abscissa.
        y: Baseline ordinate.
        text: The text (plain, escaped here).
        cls: CSS classes.
        anchor: ``text-anchor`` (start, middle, end).
        transform: A ``transform`` attribute (e.g. ``rotate(-90 14 140.0)``).
        title: A tooltip (``<title>`` child, escaped here), e.g. the full text of a clipped one.

    Returns:
        The ``<text>`` element.
    """
    extra = Markup(' transform="{}"').format(transform) if transform else _EMPTY
    tip = Markup("<title>{}</title>").format(title) if title else _EMPTY
    return Markup('<text x="{:.1f}" y="{:.1f}" text-anchor="{}"{}{}>{}{}</text>').format(
        x, y, anchor, _cls(cls), extra, tip, text
    )


def y_title(x: float, y: float, text: str) -> Markup:
    """A vertical axis title centred on ``(x, y)``, reading bottom to top."""
    return svg_text(
        x, y, text, cls="axis-label", anchor="middle", transform=f"rotate(-90 {x} {y:.1f})"
    )


def svg_line(x1: float, y1: float, x2: float, y2: float, *, cls: str = "") -> Markup:
    """A ``<line>`` from ``(x1, y1)`` to ``(x2, y2)`` styled by ``cls``."""
    return Markup('<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}"{}/>').format(
        x1, y1, x2, y2, _cls(cls)
    )


def svg_rect(
    x: float,
    y: float,
    width: float,
    height: float,
    *,
    fill: str = "",
    cls: str = "",
    title: str = "",
) -> Markup:
    """A ``<rect>``; ``title`` (escaped) becomes its tooltip."""
    paint = Markup(' fill="{}"').format(fill) if fill else _EMPTY
    attrs = Markup('x="{:.1f}" y="{:.1f}" width="{:.1f}" height="{:.1f}"').format(
        x, y, width, height
    )
    if cls:  # class first, as a bar reads best in the source
        attrs = Markup('class="{}" {}').format(cls, attrs)
    if title:
        return Markup("<rect {}{}><title>{}</title></rect>").format(attrs, paint, title)
    return Markup("<rect {}{}/>").format(attrs, paint)


def svg_circle(
    cx: float, cy: float, r: float, *, fill: str, stroke: str = "", stroke_width: float = 0
) -> Markup:
    """A ``<circle>`` with a fill and an optional stroke."""
    line = (
        Markup(' stroke="{}" stroke-width="{}"').format(stroke, stroke_width) if stroke else _EMPTY
    )
    return Markup('<circle cx="{:.1f}" cy="{:.1f}" r="{}" fill="{}"{}/>').format(
        cx, cy, r, fill, line
    )


def whisker(lo: float, hi: float, y: float, cap: float = 4.0) -> Markup:
    """An interval whisker from ``lo`` to ``hi`` at height ``y``, with end caps."""
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
) -> list[Markup]:
    """Vertical grid lines with tick labels under ``bottom``, and the axis title.

    Args:
        ticks: Tick values.
        sx: Value -> abscissa.
        top: Top of the grid lines.
        bottom: Bottom of the grid lines (tick labels go under it).
        fmt: Tick value -> label.
        label: Axis title ("" for none).
        label_x: Abscissa of the axis title's centre.

    Returns:
        The elements of the axis.
    """
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
    """One row of a bar chart: label, value, interval, note (e.g. ``n=30``), small-group mark."""

    label: str
    value: float | None
    lo: float | None = None
    hi: float | None = None
    note: str = ""
    small: bool = False


def label_width(labels: Iterable[tuple[str, str]], max_chars: int) -> float:
    """Room for the row labels ``(name, note)`` of a chart, names clipped to ``max_chars``."""
    widest = 0.0
    for name, note in labels:
        widest = max(
            widest, 7.0 * min(len(name), max_chars) + (6.2 * (len(note) + 2) if note else 0)
        )
    return min(max(widest + 8, 60.0), 300.0)


def row_label(x: float, y: float, name: str, note: str, max_chars: int, small: bool) -> Markup:
    """A right-aligned row label: the name (clipped, the full name as tooltip), a muted note
    and "†" for a small group."""
    shown = clip(name, max_chars)
    title = Markup("<title>{}</title>").format(name) if shown != name else _EMPTY
    note_part = Markup('<tspan class="note">  {}</tspan>').format(note) if note else _EMPTY
    mark = Markup('<tspan class="small-mark"> †</tspan>') if small else _EMPTY
    return Markup(
        '<text x="{:.1f}" y="{:.1f}" text-anchor="end" class="lbl">{}{}{}{}</text>'
    ).format(x, y, title, shown, note_part, mark)
