"""One-page HTML report of a fairness audit (the ``audit.json`` dict).

:func:`render_html` turns the report of :func:`equirec.fairness.audit.audit` into a single
self-contained page: inline CSS, charts drawn here as inline SVG, no script, font, image or any
other resource fetched from the network, so the file can be mailed, archived or opened offline.
Everything taken from the report (group names are user data) is HTML-escaped. Every section is
optional: what the report lacks is left out or shown as "not available", and a number that is
``None``/NaN is written as "n/a".

Colours are the Okabe–Ito palette (safe for colour-blind readers); significance is also written
in words, so the page reads the same in grey on paper.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["render_html"]

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


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------
def _esc(value: Any) -> str:
    """HTML-escaped text of anything (quotes included, so it is safe in attributes too)."""
    return html.escape(str(value), quote=True)


def _num(value: Any) -> float | None:
    """A finite float, or ``None`` (None, NaN, inf, bools, non-numbers)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _seq(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else []


def _minus(text: str) -> str:
    return text.replace("-", "\u2212") if text.startswith("-") else text


def _decimals(a: float, digits: int = 3) -> int:
    """Decimals that show ``|value| = a`` with about ``digits`` significant figures."""
    if a >= 100:
        return 1
    if a >= 1:
        return 2
    if a >= 0.01 or a == 0:
        return digits
    return min(-math.floor(math.log10(a)) + 1, 8)


def _fmt(value: Any, digits: int = 3, *, like: Any = None) -> str:
    """A number written for people: magnitude-aware decimals, a real minus sign, "n/a".

    ``like``: take the decimals of that number instead (interval bounds written like their
    estimate).
    """
    v = _num(value)
    if v is None:
        return "n/a"
    ref = _num(like)
    a = abs(v if ref is None else ref)
    if a >= 1000:
        text = f"{v:,.0f}"
    elif v == 0 and ref is None:
        text = "0"
    else:
        text = f"{v:.{_decimals(a, digits)}f}"
    return _minus(text)


def _fmt_int(value: Any) -> str:
    v = _num(value)
    return "n/a" if v is None else f"{v:,.0f}"


def _fmt_pct(value: Any, digits: int = 1) -> str:
    v = _num(value)
    if v is None:
        return "n/a"
    p = 100 * v
    if p != 0 and abs(p) < 0.1:
        return _minus(f"{p:.2f}%")
    return _minus(f"{p:.{digits}f}%")


def _fmt_p(value: Any) -> str:
    """``< 0.001`` style p-values."""
    p = _num(value)
    if p is None:
        return "n/a"
    if p < 0.001:
        return "< 0.001"
    return f"{p:.3f}" if p < 0.1 else f"{p:.2f}"


def _p_eq(value: Any) -> str:
    text = _fmt_p(value)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def _level(value: float) -> str:
    """0.95 -> "95%", 0.975 -> "97.5%"."""
    text = f"{100 * value:.1f}".rstrip("0").rstrip(".")
    return f"{text}%"


def _clip(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _slug(text: str, index: int) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")[:40]
    return f"{base or 'x'}-{index}"


def _ci(lo: Any, hi: Any, fmt: Callable[[Any], str] | None = None, *, like: Any = None) -> str:
    """``"0.070–0.093"``, "" when a bound is missing; bounds get the decimals of ``like``."""
    if _num(lo) is None or _num(hi) is None:
        return ""
    if fmt is None:
        ref = like if _num(like) is not None else max(abs(_num(lo) or 0), abs(_num(hi) or 0))
        return f"{_fmt(lo, like=ref)}–{_fmt(hi, like=ref)}"
    return f"{fmt(lo)}–{fmt(hi)}"


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
    p = _num(entry.get("p_adjusted"))
    if p is None:
        p = _num(entry.get("p_value"))
    return None if p is None else p < alpha


def _p_text(entry: Mapping[str, Any]) -> str:
    """ "p = 0.030 (adjusted 0.21)"."""
    text = _p_eq(entry.get("p_value"))
    if "p_adjusted" in entry:
        text += f" (adjusted {_fmt_p(entry.get('p_adjusted'))})"
    return text


def _metric_label(name: str) -> str:
    """``ndcg@10`` -> ``NDCG@10``."""
    return str(name).upper() if re.fullmatch(r"[a-z0-9_]+@\d+", str(name)) else str(name)


# --------------------------------------------------------------------------------------------
# SVG charts
# --------------------------------------------------------------------------------------------
def _nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
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


def _tick_fmt(ticks: Sequence[float], percent: bool) -> Callable[[float], str]:
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    scale = 100.0 if percent else 1.0
    decimals = max(0, -math.floor(math.log10(step * scale) + 1e-9)) if step > 0 else 0
    if step * scale * 10**decimals % 1 > 1e-6:
        decimals += 1
    suffix = "%" if percent else ""

    def fmt(v: float) -> str:
        return _minus(f"{v * scale:.{decimals}f}{suffix}")

    return fmt


def _svg(width: float, height: float, body: Iterable[str], label: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        f'aria-label="{_esc(label)}" preserveAspectRatio="xMinYMin meet">'
        f"<title>{_esc(label)}</title>{''.join(body)}</svg>"
    )


def _text(
    x: float, y: float, text: str, *, cls: str = "", anchor: str = "start", extra: str = ""
) -> str:
    c = f' class="{cls}"' if cls else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{c}{extra}>{_esc(text)}</text>'


def _y_title(x: float, y: float, text: str) -> str:
    """A vertical axis title centred on ``(x, y)``, reading bottom to top."""
    return _text(
        x, y, text, cls="axis-label", anchor="middle", extra=f' transform="rotate(-90 {x} {y:.1f})"'
    )


def _line(x1: float, y1: float, x2: float, y2: float, *, cls: str = "", extra: str = "") -> str:
    c = f' class="{cls}"' if cls else ""
    return f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}"{c}{extra}/>'


def _whisker(lo: float, hi: float, y: float, cap: float = 4.0) -> str:
    return (
        _line(lo, y, hi, y, cls="err")
        + _line(lo, y - cap, lo, y + cap, cls="err")
        + _line(hi, y - cap, hi, y + cap, cls="err")
    )


def _x_axis(
    ticks: Sequence[float],
    sx: Callable[[float], float],
    top: float,
    bottom: float,
    fmt: Callable[[float], str],
    label: str,
    label_x: float,
) -> list[str]:
    out = []
    for t in ticks:
        x = sx(t)
        out.append(_line(x, top, x, bottom, cls="grid" if t != 0 else "zero"))
        out.append(_text(x, bottom + 14, fmt(t), cls="tick", anchor="middle"))
    if label:
        out.append(_text(label_x, bottom + 32, label, cls="axis-label", anchor="middle"))
    return out


@dataclass
class _Bar:
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
    shown = _clip(name, max_chars)
    title = f"<title>{_esc(name)}</title>" if shown != name else ""
    note_part = f'<tspan class="note">  {_esc(note)}</tspan>' if note else ""
    mark = '<tspan class="small-mark"> †</tspan>' if small else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="end" class="lbl">{title}'
        f"{_esc(shown)}{note_part}{mark}</text>"
    )


def _hbar_chart(
    bars: Sequence[_Bar],
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
    ticks = _nice_ticks(lo_d, hi_d if hi_d > lo_d else lo_d + 1.0)
    d0, d1 = ticks[0], ticks[-1]
    fmt_tick = _tick_fmt(ticks, percent)
    fmt_val = _fmt_pct if percent else _fmt

    def sx(v: float) -> float:
        return x0 + (v - d0) / (d1 - d0) * (x1 - x0)

    bottom = top + row_h * len(rows)
    out = _x_axis(ticks, sx, top - 6, bottom, fmt_tick, axis_label, (x0 + x1) / 2)
    for i, b in enumerate(rows):
        yc = top + row_h * i + row_h / 2
        out.append(_row_label(lw, yc + 4, b.label, b.note, max_chars, b.small))
        if b.value is None:
            out.append(_text(x0 + 4, yc + 4, "n/a", cls="na"))
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
        out.append(_text(end + 5, yc + 4, fmt_val(b.value), cls="val"))
    if reference is not None:
        xr = sx(reference)
        out.append(_line(xr, top - 10, xr, bottom + 2, cls="ref"))
        anchor_x = min(max(xr, x0 + 40), x1 - 40)
        out.append(
            _text(
                anchor_x,
                top - 14,
                f"{reference_label} {fmt_val(reference)}",
                cls="ref-label",
                anchor="middle",
            )
        )
    return _svg(width, height, out, label)


def _paired_chart(
    rows: Sequence[tuple[str, str, _Bar, float | None, str]],
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
    ticks = _nice_ticks(min([0.0, *vals]), max([0.0, *vals]) or 1.0)
    d0, d1 = ticks[0], ticks[-1]

    def sx(v: float) -> float:
        return x0 + (v - d0) / (d1 - d0) * (x1 - x0)

    bottom = top + row_h * len(ordered)
    out = _x_axis(ticks, sx, top - 6, bottom, _tick_fmt(ticks, True), axis_label, (x0 + x1) / 2)
    # legend
    out.append(f'<rect x="{x0:.1f}" y="6" width="12" height="10" fill="{BLUE}"/>')
    out.append(_text(x0 + 17, 15, a_name, cls="legend"))
    lx = x0 + 30 + 6.6 * len(a_name)
    out.append(f'<rect x="{lx:.1f}" y="6" width="12" height="10" fill="{ORANGE}"/>')
    out.append(_text(lx + 17, 15, b_name, cls="legend"))
    if right:
        out.append(_text(width - 4, 15, right_title, cls="legend", anchor="end"))
    for i, (name, note, a, b, right_text) in enumerate(ordered):
        y = top + row_h * i
        yc = y + row_h / 2
        out.append(_row_label(lw, yc + 4, name, note, max_chars, a.small))
        ya, yb = yc - bar_h - 1, yc + 1
        if a.value is None:
            out.append(_text(x0 + 4, ya + bar_h - 2, "n/a", cls="na"))
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
            out.append(_text(end + 5, ya + bar_h - 2, _fmt_pct(a.value), cls="val"))
        if b is None:
            out.append(_text(x0 + 4, yb + bar_h - 2, "n/a", cls="na"))
        else:
            xa, xb = sorted((sx(0.0), sx(b)))
            out.append(
                f'<rect class="bar" x="{xa:.1f}" y="{yb:.1f}" width="{max(xb - xa, 0.8):.1f}" '
                f'height="{bar_h:.1f}" fill="{ORANGE}"/>'
            )
            out.append(_text(sx(b) + 5, yb + bar_h - 2, _fmt_pct(b), cls="val muted"))
        if right_text:
            out.append(_text(width - 4, yc + 4, right_text, cls="val strong", anchor="end"))
    return _svg(width, height, out, label)


def _lorenz_chart(xs: Sequence[float], ys: Sequence[float], *, label: str) -> str:
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
        out.append(_line(sx(t), y0, sx(t), y1, cls="grid"))
        out.append(_line(x0, sy(t), x1, sy(t), cls="grid"))
        out.append(_text(sx(t), y1 + 15, f"{t:.0%}", cls="tick", anchor="middle"))
        out.append(_text(x0 - 6, sy(t) + 4, f"{t:.0%}", cls="tick", anchor="end"))
    pts = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in zip(xs, ys, strict=True))
    out.append(
        f'<polygon points="{sx(0):.1f},{sy(0):.1f} {pts} {sx(1):.1f},{sy(1):.1f}" '
        f'fill="{SKY}" fill-opacity="0.25" stroke="none"/>'
    )
    out.append(_line(sx(0), sy(0), sx(1), sy(1), cls="ref"))
    out.append(
        f'<polyline points="{pts}" fill="none" stroke="{BLUE}" stroke-width="2.2" '
        'stroke-linejoin="round"/>'
    )
    out.append(
        _text(
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
        _text(
            (x0 + x1) / 2,
            y1 + 34,
            "share of items, least to most exposed",
            cls="axis-label",
            anchor="middle",
        )
    )
    out.append(_y_title(14, (y0 + y1) / 2, "cumulative share of exposure"))
    return _svg(width, height, out, label)


def _decile_chart(rows: Sequence[Mapping[str, Any]], *, label: str) -> str:
    width, height = 460.0, 330.0
    x0, x1, y0, y1 = 56.0, 446.0, 22.0, 252.0
    n = len(rows)
    shares = [_num(r.get("exposure_share")) for r in rows]
    equal = 1.0 / n
    ticks = _nice_ticks(0.0, max([equal, *[s for s in shares if s is not None]]), 5)
    top_v = ticks[-1]
    fmt_tick = _tick_fmt(ticks, True)

    def sy(v: float) -> float:
        return y1 - v / top_v * (y1 - y0)

    band = (x1 - x0) / n
    out: list[str] = []
    for t in ticks:
        out.append(_line(x0, sy(t), x1, sy(t), cls="grid" if t else "zero"))
        out.append(_text(x0 - 6, sy(t) + 4, fmt_tick(t), cls="tick", anchor="end"))
    for i, (r, s) in enumerate(zip(rows, shares, strict=True)):
        xc = x0 + band * (i + 0.5)
        name = r.get("decile", i + 1)
        out.append(_text(xc, y1 + 15, str(name), cls="tick strong", anchor="middle"))
        pmin, pmax = _num(r.get("popularity_min")), _num(r.get("popularity_max"))
        if pmax is not None and n <= 12:
            out.append(
                _text(xc, y1 + 28, f"≤{_fmt_int(pmax)}", cls="tick small-tick", anchor="middle")
            )
        if s is None:
            out.append(_text(xc, y1 - 4, "n/a", cls="na", anchor="middle"))
            continue
        w = band * 0.72
        tip = f"decile {name}: {_fmt_pct(s)} of exposure"
        if pmin is not None and pmax is not None:
            tip += f"; items with {_fmt_int(pmin)}–{_fmt_int(pmax)} training interactions"
        if _num(r.get("n_items")) is not None:
            tip += f" ({_fmt_int(r.get('n_items'))} items)"
        out.append(
            f'<rect class="bar" x="{xc - w / 2:.1f}" y="{sy(s):.1f}" width="{w:.1f}" '
            f'height="{max(y1 - sy(s), 0.0):.1f}" fill="{BLUE}"><title>{_esc(tip)}</title></rect>'
        )
        out.append(
            _text(xc, sy(s) - 4, _fmt_pct(s, 0 if s >= 0.1 else 1), cls="val", anchor="middle")
        )
    out.append(_line(x0, sy(equal), x1, sy(equal), cls="ref"))
    out.append(_text(x0 + 4, sy(equal) - 5, f"equal share {_fmt_pct(equal, 0)}", cls="ref-label"))
    out.append(
        _text(
            (x0 + x1) / 2,
            y1 + 48,
            "popularity decile, 1 = least popular (≤ most interactions in it)",
            cls="axis-label",
            anchor="middle",
        )
    )
    out.append(_y_title(14, (y0 + y1) / 2, "share of exposure"))
    return _svg(width, height, out, label)


def _dot_chart(
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
    out = _x_axis(ticks, sx, top - 6, bottom, lambda v: f"{v:.1f}", "", 0)
    out.append(f'<circle cx="{x0 + 6:.1f}" cy="12" r="5" fill="{VERMILION}"/>')
    out.append(_text(x0 + 16, 16, "above chance (interval clear of it)", cls="legend"))
    out.append(
        f'<circle cx="{x0 + 256:.1f}" cy="12" r="5" fill="#fff" stroke="{MUTED}" stroke-width="2"/>'
    )
    out.append(_text(x0 + 266, 16, "not distinguishable from chance", cls="legend"))
    out.append(_line(x0 + 480, 5, x0 + 480, 19, cls="base"))
    out.append(_text(x0 + 488, 16, "chance level", cls="legend"))
    for i, (name, note, est, lo, hi, base) in enumerate(rows):
        yc = top + row_h * i + row_h / 2
        if i % 2 == 0:
            out.append(
                f'<rect x="{x0:.1f}" y="{yc - row_h / 2:.1f}" width="{x1 - x0:.1f}" '
                f'height="{row_h:.1f}" class="band"/>'
            )
        out.append(_row_label(lw, yc + 4, name, note, max_chars, False))
        if base is not None:
            out.append(_line(sx(base), yc - 9, sx(base), yc + 9, cls="base"))
        if est is None:
            out.append(_text(x0 + 4, yc + 4, "n/a", cls="na"))
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
        out.append(_text(end + 7, yc + 4, _fmt(est, 2), cls="val"))
    return _svg(width, height, out, label)


# --------------------------------------------------------------------------------------------
# HTML pieces
# --------------------------------------------------------------------------------------------
def _table(head: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "") -> str:
    """A table; ``head`` and cells are already-escaped HTML."""
    c = f' class="{cls}"' if cls else ""
    th = "".join(f"<th>{h}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in r) + "</tr>" for r in rows)
    return (
        f'<div class="table-wrap"><table{c}><thead><tr>{th}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


def _kv_table(rows: Iterable[tuple[str, str, str]]) -> str:
    """``(name, value, explanation)`` rows, already escaped."""
    body = "".join(
        f'<tr><th scope="row">{k}'
        + (f'<span class="explain">{e}</span>' if e else "")
        + f'</th><td class="num">{v}</td></tr>'
        for k, v, e in rows
    )
    return f'<div class="table-wrap"><table class="kv"><tbody>{body}</tbody></table></div>'


def _na(what: str) -> str:
    return f'<p class="na-text">{_esc(what)}</p>'


def _figure(svg: str, caption: str = "") -> str:
    cap = f"<figcaption>{caption}</figcaption>" if caption else ""
    return f"<figure>{svg}{cap}</figure>"


class _Page:
    """Renders the sections from one report."""

    def __init__(self, audit: Mapping[str, Any], title: str | None) -> None:
        self.audit = audit
        self.params = _map(audit.get("params"))
        conf = _num(self.params.get("confidence"))
        self.confidence = conf if conf is not None and 0 < conf < 1 else 0.95
        self.alpha = 1.0 - self.confidence
        mgs = _num(self.params.get("min_group_size"))
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
            bits.append(f"<strong>{_esc(model)}</strong> on <strong>{_esc(dataset)}</strong>")
        elif model or dataset:
            bits.append(f"<strong>{_esc(model or dataset)}</strong>")
        if _num(p.get("k")) is not None:
            bits.append(f"top-{_fmt_int(p.get('k'))} lists")
        if _num(p.get("n_users")) is not None:
            bits.append(f"{_fmt_int(p.get('n_users'))} users")
        if _num(p.get("n_items")) is not None:
            bits.append(f"{_fmt_int(p.get('n_items'))} items")
        if _num(p.get("n_boot")) is not None:
            bits.append(f"{_fmt_int(p.get('n_boot'))} bootstrap resamples")
        if _num(p.get("n_permutations")) is not None:
            bits.append(f"{_fmt_int(p.get('n_permutations'))} permutations")
        bits.append(f"{_esc(_level(self.confidence))} confidence")
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
            f'<header><h1>{_esc(self.title)}</h1><p class="audited">{line}</p>'
            f"<nav>{nav}</nav>{self.tiles()}</header>"
        )

    def tiles(self) -> str:
        tiles: list[tuple[str, str, str]] = []
        summary = [s for s in _seq(self.audit.get("summary")) if isinstance(s, Mapping)]
        n_sig = sum(1 for s in summary if s.get("significant") is True)
        level = f"at the {_level(self.alpha)} level"
        tiles.append(
            (
                str(n_sig),
                "significant gap" if n_sig == 1 else "significant gaps",
                f"of {len(summary)} findings {level}" if summary else level,
            )
        )
        primary = self.primary_metric()
        for entries in _map(self.audit.get("users")).values():
            e = _map(_map(entries).get(primary))
            if _num(e.get("overall")) is not None:
                tiles.append((_fmt(e["overall"]), f"mean {_metric_label(primary)}", "all users"))
                break
        items = _map(self.audit.get("items"))
        cat = _map(items.get("catalogue"))
        if _num(cat.get("coverage")) is not None:
            tiles.append(
                (_fmt_pct(cat["coverage"]), "catalogue coverage", "items ever recommended")
            )
        if _num(cat.get("gini_exposure")) is not None:
            tiles.append(
                (_fmt(cat["gini_exposure"], 2), "Gini of exposure", "0 equal, 1 all on one item")
            )
        aucs = [
            (_num(src.get("auc")), attr)
            for attr, sources in _map(self.audit.get("leakage")).items()
            for src in _map(sources).values()
            if isinstance(src, Mapping) and _num(src.get("auc")) is not None
        ]
        if aucs:
            auc, attr = max(aucs, key=lambda t: t[0] or 0.0)
            tiles.append((_fmt(auc, 2), "highest leakage AUC", f"{attr}; chance 0.50"))
        return (
            '<div class="tiles">'
            + "".join(
                f'<div class="tile"><div class="tile-v">{_esc(v)}</div><div class="tile-k">'
                f'{_esc(k)}</div><div class="tile-n">{_esc(n)}</div></div>'
                for v, k, n in tiles
            )
            + "</div>"
        )

    def primary_metric(self) -> str:
        p = self.params.get("primary_metric")
        if isinstance(p, str) and p:
            return p
        metrics = _seq(self.params.get("metrics"))
        return str(metrics[0]) if metrics else ""

    # -- summary ------------------------------------------------------------------------------
    def summary(self) -> str:
        items = [s for s in _seq(self.audit.get("summary")) if isinstance(s, Mapping)]
        # the auditor sorts; keep its order but guarantee significant findings come first
        items.sort(key=lambda s: s.get("significant") is not True)
        sig = [s for s in items if s.get("significant") is True]
        rest = [s for s in items if s.get("significant") is not True]
        out = ['<section id="summary"><h2>Summary</h2>']
        if not sig:
            out.append(
                f'<p class="lead">No significant gaps found at the {_esc(_level(self.alpha))} '
                "level.</p>"
            )
        else:
            out.append('<ul class="findings">')
            out.extend(self._finding(s, True) for s in sig)
            out.append("</ul>")
        if rest:
            head, tail = rest[:6], rest[6:]
            out.append(
                f'<h3 class="minor">Not significant at the {_esc(_level(self.alpha))} level '
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
        warnings = [str(w) for w in _seq(self.audit.get("warnings"))]
        if warnings:
            out.append('<div class="warnings" role="note"><strong>Warnings</strong><ul>')
            out.extend(f"<li>{_esc(w)}</li>" for w in warnings[:8])
            out.append("</ul>")
            if len(warnings) > 8:
                out.append(f"<details><summary>{len(warnings) - 8} more warnings</summary><ul>")
                out.extend(f"<li>{_esc(w)}</li>" for w in warnings[8:])
                out.append("</ul></details>")
            out.append("</div>")
        out.append(self.method_note())
        out.append("</section>")
        return "".join(out)

    def _finding(self, s: Mapping[str, Any], significant: bool) -> str:
        side = _SIDE_LABEL.get(str(s.get("side")), str(s.get("side", "")))
        tag = " · ".join(
            _esc(x) for x in (side, s.get("attribute"), s.get("metric")) if x not in (None, "")
        )
        marker = (
            '<span class="marker sig" title="significant">●</span>'
            if significant
            else '<span class="marker ns" title="not significant">○</span>'
        )
        text = _esc(s.get("text") or "")
        cls = "sig" if significant else "ns"
        return f'<li class="{cls}">{marker}<span>{text} <span class="tag">{tag}</span></span></li>'

    def method_note(self) -> str:
        p = self.params
        parts = [f"Intervals are {_esc(_level(self.confidence))} bootstrap percentile intervals"]
        if _num(p.get("n_boot")) is not None:
            parts[-1] += f" ({_fmt_int(p['n_boot'])} resamples)"
        test = "p-values come from permutation tests"
        if _num(p.get("n_permutations")) is not None:
            test += f" ({_fmt_int(p['n_permutations'])} permutations)"
        parts.append(test)
        adj = p.get("p_value_adjustment")
        alpha = f"{round(self.alpha, 6):g}"
        sig = f"a gap is called significant when its p-value is below {_esc(alpha)}"
        if adj:
            sig = (
                f"a gap is called significant when its adjusted p-value ({_esc(adj)}) is below "
                f"{_esc(alpha)}"
            )
        parts.append(sig)
        return f'<p class="method">How to read: {"; ".join(parts)}.</p>'

    # -- users --------------------------------------------------------------------------------
    def users(self) -> str:
        users = _map(self.audit.get("users"))
        out = ['<section id="users"><h2>Users: does quality differ between groups?</h2>']
        if not users:
            out.append(_na("User-side results are not available in this audit."))
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
            out.append(f'<p class="intro">{_esc(msg)}</p>')
            for i, (attr, entries) in enumerate(users.items()):
                out.append(self._user_attribute(str(attr), _map(entries), i))
        out.append(self.ugf())
        out.append("</section>")
        return "".join(out)

    def _metric_order(self, entries: Mapping[str, Any]) -> list[str]:
        names = [str(m) for m in entries if isinstance(entries[m], Mapping)]
        known = [str(m) for m in _seq(self.params.get("metrics"))]
        ordered = [m for m in known if m in names] + [m for m in names if m not in known]
        primary = self.primary_metric()
        if primary in ordered:
            ordered.remove(primary)
            ordered.insert(0, primary)
        return ordered

    def _bars(self, entry: Mapping[str, Any]) -> list[_Bar]:
        bars = []
        for g, v in _map(entry.get("by_group")).items():
            v = _map(v)
            n = _num(v.get("n"))
            small = n is not None and self.min_group_size is not None and n < self.min_group_size
            bars.append(
                _Bar(
                    label=str(g),
                    value=_num(v.get("value")),
                    lo=_num(v.get("ci_low")),
                    hi=_num(v.get("ci_high")),
                    note=f"n={_fmt_int(n)}" if n is not None else "",
                    small=small,
                )
            )
        return bars

    def _gap_line(self, entry: Mapping[str, Any]) -> str:
        diff = _fmt(entry.get("difference"))
        ci = _ci(
            entry.get("difference_ci_low"),
            entry.get("difference_ci_high"),
            like=entry.get("difference"),
        )
        if ci:
            diff += f" ({_level(self.confidence)} CI {ci})"
        sig = _significant(entry, self.alpha)
        return (
            '<p class="stats">'
            f"<span>Gap, highest − lowest group: <b>{_esc(diff)}</b></span>"
            f"<span>Ratio lowest / highest: <b>{_esc(_fmt(entry.get('ratio')))}</b></span>"
            f"<span>{_esc(_p_text(entry))}</span>{_sig_badge(sig)}</p>"
        )

    def _user_attribute(self, attr: str, entries: Mapping[str, Any], index: int) -> str:
        metrics = self._metric_order(entries)
        out = [f'<article class="attr" id="user-{_slug(attr, index)}"><h3>{_esc(attr)}</h3>']
        if not metrics:
            out.append(_na("No metric available for this attribute."))
            return "".join(out) + "</article>"
        first, others = metrics[0], metrics[1:]
        out.append(self._metric_chart(attr, first, _map(entries[first])))
        if others:
            out.append(self._metric_table(entries, metrics))
        aggregations = self._aggregations(entries, metrics)
        if others or aggregations:
            what = []
            if others:
                what.append(f"charts of {', '.join(_metric_label(m) for m in others)}")
            if aggregations:
                what.append("aggregations of the group means")
            out.append(f"<details><summary>More: {_esc(' · '.join(what))}</summary>")
            out.extend(self._metric_chart(attr, m, _map(entries[m])) for m in others)
            out.append(aggregations)
            out.append("</details>")
        out.append("</article>")
        return "".join(out)

    def _aggregations(self, entries: Mapping[str, Any], metrics: Sequence[str]) -> str:
        """Table of FairRankTune-style aggregations (metric × aggregation), "" if none."""
        names: list[str] = []
        for m in metrics:
            for key in _map(_map(entries[m]).get("aggregations")):
                if str(key) not in names:
                    names.append(str(key))
        if not names:
            return ""
        rows = [
            [
                _esc(_metric_label(m)),
                *[_esc(_fmt(_map(_map(entries[m]).get("aggregations")).get(a))) for a in names],
            ]
            for m in metrics
        ]
        head = ["metric", *[_esc(_AGGREGATION_LABEL.get(a, a)) for a in names]]
        return (
            '<h4>Aggregations of the group means</h4><p class="intro">One number per metric '
            "for the disparity among all groups, not only the two extremes (abs. dev.: absolute "
            "deviation of a group's mean from the mean of the group means; MAD: median absolute "
            "deviation).</p>" + _table(head, rows)
        )

    def _metric_chart(self, attr: str, metric: str, entry: Mapping[str, Any]) -> str:
        bars = self._bars(entry)
        label = f"{_metric_label(metric)} by {attr}"
        if not bars:
            return (
                f'<div class="metric"><h4>{_esc(label)}</h4>' + _na("No group values.") + "</div>"
            )
        svg = _hbar_chart(
            bars,
            label=label,
            axis_label=f"mean {_metric_label(metric)} per user",
            reference=_num(entry.get("overall")),
        )
        return (
            f'<div class="metric"><h4>{_esc(label)}</h4>{_figure(svg)}{self._gap_line(entry)}</div>'
        )

    def _metric_table(self, entries: Mapping[str, Any], metrics: Sequence[str]) -> str:
        first = _map(entries[metrics[0]])
        groups: list[str] = [str(g) for g in _map(first.get("by_group"))]
        for m in metrics[1:]:
            groups += [
                str(g) for g in _map(_map(entries[m]).get("by_group")) if str(g) not in groups
            ]

        def cell(m: str, g: str) -> str:
            v = _map(_map(_map(entries[m]).get("by_group")).get(g))
            ci = _ci(v.get("ci_low"), v.get("ci_high"), like=v.get("value"))
            ci_html = f' <span class="ci">{_esc(ci)}</span>' if ci else ""
            return f"{_esc(_fmt(v.get('value')))}{ci_html}"

        def sort_key(g: str) -> tuple[bool, float]:
            v = _num(_map(_map(first.get("by_group")).get(g)).get("value"))
            return (v is None, -(v or 0.0))

        rows = []
        for g in sorted(groups, key=sort_key):
            n = None
            for m in metrics:
                n = (
                    n
                    if n is not None
                    else _num(_map(_map(_map(entries[m]).get("by_group")).get(g)).get("n"))
                )
            small = n is not None and self.min_group_size is not None and n < self.min_group_size
            name = _esc(g) + (' <span class="small-mark">†</span>' if small else "")
            rows.append([name, _esc(_fmt_int(n)), *[cell(m, g) for m in metrics]])
        foot: list[tuple[str, Callable[[Mapping[str, Any]], str]]] = [
            ("all users", lambda e: _esc(_fmt(e.get("overall")))),
            ("gap (max − min)", lambda e: _esc(_fmt(e.get("difference")))),
            ("ratio (min / max)", lambda e: _esc(_fmt(e.get("ratio")))),
            ("p-value", lambda e: _esc(_fmt_p(e.get("p_value")))),
        ]
        if any("p_adjusted" in _map(entries[m]) for m in metrics):
            foot.append(("adjusted p-value", lambda e: _esc(_fmt_p(e.get("p_adjusted")))))
        foot.append(
            (
                "significant",
                lambda e: {True: '<span class="yes">● yes</span>', False: "no", None: "n/a"}[
                    _significant(e, self.alpha)
                ],
            )
        )
        for name, fn in foot:
            rows.append([f"<i>{name}</i>", "", *[fn(_map(entries[m])) for m in metrics]])
        head = ["group", "n", *[_esc(_metric_label(m)) for m in metrics]]
        return (
            '<details class="table-block" open><summary>All metrics (mean and interval per group)'
            f"</summary>{_table(head, rows, 'metrics')}</details>"
        )

    def ugf(self) -> str:
        ugf = _map(self.audit.get("ugf"))
        entries = [(str(m), _map(e)) for m, e in ugf.items() if isinstance(e, Mapping)]
        if not entries:
            return ""
        top = _num(self.params.get("activity_top"))
        who = (
            f"the {_fmt_pct(top, 0)} most active users"
            if top is not None
            else "the most active users"
        )
        rows = []
        for m, e in entries:
            rows.append(
                [
                    _esc(_metric_label(m)),
                    _esc(_fmt(e.get("active"))),
                    _esc(_fmt(e.get("inactive"))),
                    f"<b>{_esc(_fmt(e.get('value')))}</b>",
                    _esc(_ci(e.get("ci_low"), e.get("ci_high")) or "n/a"),
                    _esc(_fmt_p(e.get("p_value"))),
                    _sig_badge(_significant(e, self.alpha)),
                ]
            )
        table = _table(
            ["metric", "active", "inactive", "gap", f"{_esc(_level(self.confidence))} CI", "p", ""],
            rows,
        )
        return (
            '<article class="attr" id="ugf"><h3>User-oriented group fairness (UGF)</h3>'
            f'<p class="intro">Gap between {_esc(who)} and everyone else (Li et al., 2021); '
            f"0 means both get the same quality.</p>{table}</article>"
        )

    # -- items --------------------------------------------------------------------------------
    def items(self) -> str:
        items = _map(self.audit.get("items"))
        out = ['<section id="items"><h2>Items: who gets exposure?</h2>']
        if not items:
            out.append(_na("Item-side results are not available in this audit."))
            out.append("</section>")
            return "".join(out)
        out.append(self._catalogue(items))
        figs = []
        lorenz = _map(items.get("lorenz"))
        xs, ys = _seq(lorenz.get("x")), _seq(lorenz.get("y"))
        pairs = [(_num(x), _num(y)) for x, y in zip(xs, ys, strict=False)]
        clean = [(x, y) for x, y in pairs if x is not None and y is not None]
        gini = _num(_map(items.get("catalogue")).get("gini_exposure"))
        if len(clean) >= 2:
            svg = _lorenz_chart(
                [x for x, _ in clean], [y for _, y in clean], label="Lorenz curve of item exposure"
            )
            figs.append(
                _figure(
                    svg,
                    f"<b>Lorenz curve of exposure.</b> Gini = {_esc(_fmt(gini, 2))}. The further "
                    "the curve sags below the diagonal, the more exposure goes to few items.",
                )
            )
        else:
            figs.append(_figure("", "Lorenz curve: not available."))
        deciles = [d for d in _seq(items.get("deciles")) if isinstance(d, Mapping)]
        if deciles:
            svg = _decile_chart(deciles, label="Exposure by popularity decile")
            figs.append(
                _figure(
                    svg,
                    "<b>Exposure by popularity decile.</b> Each decile holds a tenth of the "
                    "catalogue; bars above the dashed line get more than their equal share.",
                )
            )
        else:
            figs.append(_figure("", "Exposure by popularity decile: not available."))
        out.append(f'<div class="grid2">{"".join(figs)}</div>')
        groups = _map(items.get("groups"))
        for i, (attr, entry) in enumerate(groups.items()):
            out.append(self._item_group(str(attr), _map(entry), i))
        eoa = _num(items.get("equity_of_attention"))
        if "equity_of_attention" in items:
            out.append(
                '<article class="attr" id="equity"><h3>Equity of attention</h3>'
                f'<p class="stats"><span>Unfairness of attention: <b>{_esc(_fmt(eoa))}</b></span>'
                '<span class="muted">Biega et al. (2018): how far the attention items get is '
                "from being proportional to their relevance; lower is fairer, 0 is attention "
                "exactly proportional to relevance.</span></p></article>"
            )
        out.append("</section>")
        return "".join(out)

    def _catalogue(self, items: Mapping[str, Any]) -> str:
        cat = _map(items.get("catalogue"))
        pop = _map(items.get("popularity"))
        n_items = cat.get("n_items", self.params.get("n_items"))
        rows: list[tuple[str, str, str]] = []
        if "coverage" in cat:
            rows.append(
                (
                    "Coverage",
                    _esc(_fmt_pct(cat.get("coverage"))),
                    "share of the catalogue recommended to at least one user",
                )
            )
        if "never_recommended" in cat:
            nr = _fmt_int(cat.get("never_recommended"))
            if _num(n_items) is not None:
                nr += f" of {_fmt_int(n_items)}"
            rows.append(("Never recommended", _esc(nr), "items that no list contains"))
        elif "n_items" in cat:
            rows.append(("Items", _esc(_fmt_int(n_items)), "catalogue size"))
        if "gini_exposure" in cat:
            rows.append(
                (
                    "Gini of exposure",
                    _esc(_fmt(cat.get("gini_exposure"))),
                    "0 = every item equally exposed, 1 = all exposure on one item",
                )
            )
        if "entropy" in cat:
            rows.append(
                (
                    "Entropy of exposure",
                    _esc(_fmt(cat.get("entropy"))),
                    "higher = exposure spread over more items",
                )
            )
        known = {"coverage", "never_recommended", "gini_exposure", "entropy", "n_items"}
        for key, value in cat.items():
            if key not in known and not isinstance(value, (Mapping, list)):
                rows.append(
                    (_esc(key), _esc(_fmt(value) if _num(value) is not None else value), "")
                )
        prow: list[tuple[str, str, str]] = []
        if "arp" in pop:
            prow.append(
                (
                    "ARP",
                    _esc(_fmt(pop.get("arp"))),
                    "average training popularity of recommended items",
                )
            )
        if "aplt" in pop:
            prow.append(
                (
                    "APLT",
                    _esc(_fmt_pct(pop.get("aplt"))),
                    "average share of each list taken by long-tail items",
                )
            )
        if "aclt" in pop:
            prow.append(
                ("ACLT", _esc(_fmt(pop.get("aclt"))), "average number of long-tail items per list")
            )
        if "pop_rsp" in pop:
            prow.append(
                (
                    "Popularity RSP",
                    _esc(_fmt(pop.get("pop_rsp"))),
                    "ranking-based statistical parity of head vs tail; 0 = parity, 1 = "
                    "the tail is never recommended",
                )
            )
        if "pop_reo" in pop:
            prow.append(
                (
                    "Popularity REO",
                    _esc(_fmt(pop.get("pop_reo"))),
                    "ranking-based equal opportunity of head vs tail (given relevance); 0 = parity",
                )
            )
        blocks = []
        blocks.append(
            "<div><h3>Catalogue</h3>"
            + (_kv_table(rows) if rows else _na("Catalogue numbers are not available."))
            + "</div>"
        )
        head = pop.get("head")
        head_html = (
            f'<p class="muted small">Head: {_esc(head)}; the rest is the long tail.</p>'
            if head
            else ""
        )
        blocks.append(
            "<div><h3>Popularity bias</h3>"
            + (_kv_table(prow) if prow else _na("Popularity numbers are not available."))
            + head_html
            + "</div>"
        )
        return f'<div class="grid2 tables">{"".join(blocks)}</div>'

    def _item_group(self, attr: str, entry: Mapping[str, Any], index: int) -> str:
        by_group = _map(entry.get("by_group"))
        anchor = f"item-{_slug(attr, index)}"
        out = [f'<article class="attr" id="{anchor}"><h3>Exposure by {_esc(attr)}</h3>']
        if not by_group:
            out.append(_na("No group values."))
            return "".join(out) + "</article>"
        rows = []
        for g, v in by_group.items():
            v = _map(v)
            share, cat = _num(v.get("exposure_share")), _num(v.get("catalogue_share"))
            rel = _num(v.get("relative_exposure"))
            if rel is None and share is not None and cat:
                rel = share / cat
            n = _num(v.get("n_items"))
            a = _Bar(str(g), share, _num(v.get("ci_low")), _num(v.get("ci_high")))
            rows.append(
                (
                    str(g),
                    f"{_fmt_int(n)} items" if n is not None else "",
                    a,
                    cat,
                    f"×{_fmt(rel, 2, like=1.0)}" if rel is not None else "",
                )
            )
        svg = _paired_chart(
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
                f"({_esc(entry.get('multi'))}), so shares can add up to more than 100%."
            )
        caption = (
            "Blue: share of all exposure (position-weighted) that the group's items get, with "
            "its interval; orange: the group's share of the catalogue. ×1.00 on the right means "
            f"exposure in proportion to catalogue size.{note}"
        )
        out.append(_figure(svg, caption))
        sig = _significant(entry, self.alpha)
        out.append(
            '<p class="stats">'
            f"<span>RSP: <b>{_esc(_fmt(entry.get('rsp')))}</b></span>"
            f"<span>REO: <b>{_esc(_fmt(entry.get('reo')))}</b></span>"
            f"<span>Exposure ratio (lowest / highest): "
            f"<b>{_esc(_fmt(entry.get('exposure_ratio')))}</b></span>"
            f"<span>{_esc(_p_text(entry))}</span>{_sig_badge(sig)}</p>"
        )
        out.append("</article>")
        return "".join(out)

    # -- lists --------------------------------------------------------------------------------
    def lists(self) -> str:
        lists = _map(self.audit.get("lists"))
        out = ['<section id="lists"><h2>Calibration &amp; diversity of the lists</h2>']
        if not lists:
            out.append(_na("Calibration and diversity are not available in this audit."))
            return "".join(out) + "</section>"
        cal = _map(lists.get("calibration"))
        div = _map(lists.get("diversity"))
        rows: list[tuple[str, str, str]] = []
        if cal:
            ckl = _fmt(cal.get("c_kl"))
            ci = _ci(cal.get("ci_low"), cal.get("ci_high"))
            if ci:
                ckl += f" ({_level(self.confidence)} CI {ci})"
            attr = cal.get("attribute") or "genres"
            rows.append(
                (
                    "Miscalibration C<sub>KL</sub>",
                    _esc(ckl),
                    f"KL divergence between the {_esc(attr)} mix of each user's history and "
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
                    _esc(_fmt(div.get("ild"))),
                    f"mean pairwise {_esc(how)} within a list; higher = more varied",
                )
            )
        if "novelty" in lists:
            rows.append(
                (
                    "Novelty",
                    _esc(_fmt(lists.get("novelty"))),
                    "mean self-information −log₂(popularity) of recommended items; higher "
                    "= less mainstream",
                )
            )
        out.append(_kv_table(rows) if rows else _na("No list-level values."))
        profile = _map(cal.get("profile"))
        if profile:
            prow = []
            for g, v in profile.items():
                v = _map(v)
                h, r = _num(v.get("history")), _num(v.get("recommended"))
                prow.append((str(g), "", _Bar(str(g), r), h, ""))
            attr = str(cal.get("attribute") or "genre")
            svg = _paired_chart(
                prow,
                label=f"{attr} share in histories vs in recommendations",
                a_name="in recommendations",
                b_name="in histories",
                axis_label=f"share of {attr}",
            )
            out.append(
                _figure(
                    svg,
                    f"<b>{_esc(attr)} mix.</b> Blue: share of each value among recommended items; "
                    "orange: its share in users' histories. A calibrated recommender keeps the "
                    "two bars equal.",
                )
            )
        out.append("</section>")
        return "".join(out)

    # -- leakage ------------------------------------------------------------------------------
    def leakage(self) -> str:
        leakage = _map(self.audit.get("leakage"))
        out = [
            '<section id="leakage"><h2>Leakage: can the attributes be predicted?</h2>',
        ]
        attrs = [(str(a), _map(s)) for a, s in leakage.items() if _map(s)]
        if not attrs:
            out.append(_na("Leakage was not measured in this audit (not available)."))
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
                auc, lo, hi = _num(e.get("auc")), _num(e.get("ci_low")), _num(e.get("ci_high"))
                base = _num(e.get("baseline"))
                base = 0.5 if base is None and "baseline" not in e else base
                rows.append((f"{src}", "ROC-AUC", auc, lo, hi, base))
                ba = _num(e.get("balanced_accuracy"))
                bab = _num(e.get("balanced_accuracy_baseline"))
                rows.append(
                    (
                        f"{src}",
                        "balanced accuracy",
                        ba,
                        _num(e.get("balanced_accuracy_ci_low")),
                        _num(e.get("balanced_accuracy_ci_high")),
                        bab,
                    )
                )
                sentences.append(self._leak_sentence(attr, src, e))
            if not rows:
                continue
            svg = _dot_chart(rows, label=f"Leakage of {attr}")
            out.append(
                f'<article class="attr" id="leak-{_slug(attr, i)}"><h3>{_esc(attr)}</h3>'
                f'{_figure(svg)}<ul class="sentences">{"".join(sentences)}</ul></article>'
            )
        out.append("</section>")
        return "".join(out)

    def _leak_sentence(self, attr: str, src: str, e: Mapping[str, Any]) -> str:
        auc, lo, hi = _num(e.get("auc")), _num(e.get("ci_low")), _num(e.get("ci_high"))
        base = _num(e.get("baseline"))
        base = 0.5 if base is None else base
        if auc is None:
            return f"<li>{_esc(attr)} from the {_esc(src)}: AUC not available.</li>"
        leaks = lo is not None and lo > base
        ci = _ci(lo, hi, lambda v: _fmt(v, 2, like=0.5))
        auc_text = f"AUC {_fmt(auc, 2, like=0.5)}" + (f" ({ci})" if ci else "")
        if leaks:
            text = f"{attr} can be predicted from the {src} with {auc_text}, chance is {base:.2f}"
        elif lo is None:
            text = f"{attr} from the {src}: {auc_text} without an interval, chance is {base:.2f}"
        else:
            text = (
                f"{attr} cannot be told apart from chance using the {src}: {auc_text}, chance "
                f"is {base:.2f}"
            )
        ba, bab = _num(e.get("balanced_accuracy")), _num(e.get("balanced_accuracy_baseline"))
        if ba is not None:
            text += f"; balanced accuracy {_fmt(ba, 2, like=0.5)}"
            if bab is not None:
                text += f" vs {bab:.2f} by chance"
        extra = []
        if _num(e.get("n")) is not None:
            extra.append(f"{_fmt_int(e.get('n'))} users")
        if _num(e.get("n_classes")) is not None:
            extra.append(f"{_fmt_int(e.get('n_classes'))} classes")
        if extra:
            text += f" ({', '.join(extra)})"
        text += "."
        badge = (
            '<span class="badge sig">● leaks</span>'
            if leaks
            else '<span class="badge ns">○ not distinguishable from chance</span>'
        )
        return f"<li>{_esc(text)} {badge}</li>"

    # -- footer -------------------------------------------------------------------------------
    def footer(self) -> str:
        rows = [(_esc(k), _esc(v)) for k, v in _flatten(self.params)]
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
            else _na("No parameters recorded.")
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
            css=_CSS,
        )


def html_page(
    title: str, header: str, sections: Sequence[tuple[str, Callable[[], str]]], *, css: str
) -> str:
    """A self-contained page: ``header`` then every section; a section that fails to render is
    replaced by a one-line note instead of costing the whole page."""
    body = [header]
    for name, part in sections:
        try:
            body.append(part())
        except Exception as err:  # a malformed section must not cost the whole page
            body.append(
                f'<section id="{name}"><h2>{_esc(name.title())}</h2>'
                f'<p class="na-text">This section could not be rendered: '
                f"{_esc(type(err).__name__)}: {_esc(err)}</p></section>"
            )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_esc(title)}</title><style>{css}</style></head>"
        f"<body><main>{''.join(body)}</main></body></html>\n"
    )


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """``{"head": {"method": "share"}}`` -> ``[("head.method", "share")]``."""
    out: list[tuple[str, str]] = []
    if isinstance(value, Mapping):
        for k, v in value.items():
            key = f"{prefix}.{k}" if prefix else str(k)
            if isinstance(v, Mapping) and v:
                out.extend(_flatten(v, key))
            else:
                out.append((key, _scalar(v)))
    return out


def _scalar(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.6g}" if math.isfinite(v) else "n/a"
    if isinstance(v, (list, tuple)):
        return ", ".join(_scalar(x) for x in v)
    if isinstance(v, Mapping):
        return "—"
    return str(v)


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


_CSS = """
:root{--ink:#1f2933;--muted:#667085;--line:#e4e7ec;--soft:#f5f6f8;--blue:#0072B2;
--orange:#E69F00;--verm:#D55E00;--green:#009E73}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:#fff;color:var(--ink);font:15px/1.55 system-ui,-apple-system,
"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans",sans-serif}
main{max-width:1000px;margin:0 auto;padding:36px 28px 56px}
h1{font-size:1.8rem;line-height:1.2;margin:0 0 .35rem;letter-spacing:-.015em}
h2{font-size:1.35rem;margin:2.6rem 0 .8rem;padding-top:.7rem;border-top:2px solid var(--ink);
letter-spacing:-.01em}
h3{font-size:1.08rem;margin:1.8rem 0 .5rem}
h3.minor{font-size:.95rem;color:var(--muted);font-weight:600;margin:1.2rem 0 .4rem}
h4{font-size:.95rem;margin:.8rem 0 .2rem;font-weight:600}
a{color:var(--blue)}
.audited{color:var(--muted);margin:0 0 .8rem}
.audited strong{color:var(--ink)}
nav{display:flex;flex-wrap:wrap;gap:.3rem 1.1rem;font-size:.9rem;margin-bottom:1.2rem}
nav a{text-decoration:none}
nav a:hover{text-decoration:underline}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(160px,1fr));gap:12px;
margin:.4rem 0 0}
.tile{background:var(--soft);border-radius:8px;padding:12px 14px}
.tile-v{font-size:1.6rem;font-weight:650;font-variant-numeric:tabular-nums;line-height:1.2}
.tile-k{font-weight:600;font-size:.9rem}
.tile-n{color:var(--muted);font-size:.8rem}
.lead{font-size:1.05rem}
.intro,.method{color:var(--muted);font-size:.9rem;max-width:75ch}
.method{margin-top:1rem}
ul.findings{list-style:none;padding:0;margin:.4rem 0}
ul.findings li{display:flex;gap:.6rem;align-items:baseline;padding:.35rem 0;
border-bottom:1px solid var(--line)}
ul.findings li.sig{font-weight:500}
ul.findings.muted li{color:var(--muted);font-size:.92rem}
.marker{flex:none;width:1em;text-align:center}
.marker.sig{color:var(--verm)}
.marker.ns{color:#98a2b3}
.tag{display:inline-block;font-size:.75rem;font-weight:400;color:var(--muted);
background:var(--soft);border-radius:4px;padding:0 .4rem;margin-left:.2rem;white-space:nowrap}
.warnings{border-left:4px solid var(--orange);background:#fff7e6;padding:.7rem 1rem;
margin:1.2rem 0;border-radius:0 6px 6px 0;font-size:.9rem}
.warnings ul{margin:.3rem 0 0;padding-left:1.2rem}
.badge{display:inline-block;font-size:.78rem;font-weight:600;border-radius:999px;
padding:.05rem .55rem;white-space:nowrap}
.badge.sig{color:#fff;background:var(--verm)}
.badge.ns{color:var(--muted);background:var(--soft)}
.yes{color:var(--verm);font-weight:600}
.stats{display:flex;flex-wrap:wrap;gap:.3rem 1.4rem;align-items:center;font-size:.9rem;
margin:.2rem 0 1rem;font-variant-numeric:tabular-nums}
.muted{color:var(--muted)}
.small{font-size:.85rem}
.na-text{color:var(--muted);font-style:italic}
article.attr{margin-bottom:1.2rem}
figure{margin:0 0 .6rem;break-inside:avoid;page-break-inside:avoid}
figcaption{font-size:.85rem;color:var(--muted);margin-top:.2rem;max-width:80ch}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(380px,1fr));gap:20px 32px;
align-items:start}
.grid2.tables h3{margin-top:.6rem}
.chart{display:block;width:100%;height:auto;overflow:visible}
.chart text{font-family:inherit;font-size:12px;fill:var(--ink)}
.chart .tick{font-size:11px;fill:var(--muted);font-variant-numeric:tabular-nums}
.chart .tick.strong{fill:var(--ink);font-weight:600}
.chart .small-tick{font-size:9.5px}
.chart .axis-label{font-size:11.5px;fill:var(--muted)}
.chart .lbl{font-size:12.5px}
.chart .note{font-size:11px;fill:var(--muted)}
.chart .small-mark{fill:var(--verm);font-weight:700}
.chart .val,.chart .ref-label{paint-order:stroke;stroke:#fff;stroke-width:3px;
stroke-linejoin:round}
.chart .val{font-size:11.5px;font-variant-numeric:tabular-nums}
.chart .val.muted{fill:#8a6d1f}
.chart .val.strong{font-weight:600}
.chart .na{font-size:11px;fill:var(--muted);font-style:italic}
.chart .legend{font-size:12px;fill:var(--muted)}
.chart .grid{stroke:var(--line);stroke-width:1}
.chart .zero{stroke:#98a2b3;stroke-width:1}
.chart .err{stroke:var(--ink);stroke-width:1.3}
.chart .ref{stroke:var(--ink);stroke-width:1.3;stroke-dasharray:5 4}
.chart .ref-label{font-size:11px;fill:var(--ink);font-weight:600}
.chart .base{stroke:var(--ink);stroke-width:2;stroke-dasharray:3 2}
.chart .band{fill:var(--soft)}
.chart .bar.small{fill-opacity:.35;stroke:#0072B2;stroke-dasharray:3 2}
.small-mark{color:var(--verm);font-weight:700}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;font-size:.86rem;font-variant-numeric:tabular-nums;margin:.3rem 0}
th,td{padding:.28rem .7rem;border-bottom:1px solid var(--line);text-align:right;
vertical-align:top}
thead th{border-bottom:2px solid var(--ink);font-weight:600;white-space:nowrap}
th:first-child,td:first-child{text-align:left}
table.metrics td{white-space:nowrap}
table.metrics td .ci{font-size:.75rem;color:var(--muted)}
table.metrics tbody tr:has(i) td{background:var(--soft)}
table.kv{width:100%}
table.kv th{font-weight:600;text-align:left}
table.kv th .explain{display:block;font-weight:400;color:var(--muted);font-size:.8rem}
table.kv td.num{white-space:nowrap;font-size:.95rem;font-weight:600}
table.params th{font-weight:500;color:var(--muted);text-align:left}
table.params{width:100%}
table.params td{text-align:left;word-break:break-word}
.grid2.params{gap:0 32px}
details{margin:.4rem 0 .8rem}
details>summary{cursor:pointer;color:var(--blue);font-size:.9rem}
ul.sentences{padding-left:1.2rem;font-size:.92rem}
ul.sentences li{margin:.25rem 0}
footer .generated{color:var(--muted);font-size:.8rem;margin-top:1rem}
@media (max-width:600px){main{padding:20px 14px}.grid2{grid-template-columns:1fr}}
@media print{
body{font-size:11pt}
main{max-width:none;padding:0}
nav{display:none}
h2{break-after:avoid;page-break-after:avoid}
h3,h4{break-after:avoid}
.tile{border:1px solid var(--line)}
a{color:inherit;text-decoration:none}
.badge.sig{color:var(--verm);background:none;border:1px solid var(--verm)}
.table-wrap{overflow:visible}
table.metrics td{white-space:normal}
table.metrics td .ci{display:block}
}
"""
