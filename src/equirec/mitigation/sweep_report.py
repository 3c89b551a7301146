"""One-page HTML report of an accuracy/fairness trade-off sweep (the ``sweep.json`` dict).

:func:`render_sweep_html` turns the result of :func:`equirec.mitigation.sweep.sweep_run` into a
self-contained page in the style of the audit report (:mod:`equirec.fairness.report`, whose page
shell, CSS, formatting and SVG primitives it reuses from :mod:`equirec.fairness.page`,
:mod:`equirec.fairness.formatting` and :mod:`equirec.fairness.charts`): a Pareto scatter plot of
accuracy against the swept fairness metric, then a table of every point and metric. No script,
font, image or any other resource is fetched from the network; every string taken from the sweep
is HTML-escaped, and numbers that are ``None``/NaN are written as "n/a" (such points are listed
under the chart instead of drawn).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from equirec.fairness.charts import (
    BLUE,
    ORANGE,
    nice_ticks,
    svg_chart,
    svg_line,
    svg_text,
    tick_fmt,
    x_axis,
    y_title,
)
from equirec.fairness.formatting import (
    as_float,
    as_list,
    as_map,
    clip,
    flatten,
    fmt_int,
    fmt_num,
    fmt_pct,
    fmt_scalar,
    metric_label,
    real_minus,
)
from equirec.fairness.page import CSS, esc, figure, html_page, html_table, na_text

__all__ = ["render_sweep_html"]

_SWEEP_CSS = """
.chart .pt-lbl{font-size:12px;paint-order:stroke;stroke:#fff;stroke-width:3px;
stroke-linejoin:round}
.chart .pt-lbl.dom{fill:#475467}
.chart .pt-lbl.base{font-weight:700}
.chart .leader{stroke:#98a2b3;stroke-width:1}
.chart .frontier{fill:none;stroke:#0072B2;stroke-width:2;stroke-opacity:.55;stroke-linejoin:round}
.chart .base-level{stroke:#E69F00;stroke-width:1.2;stroke-dasharray:5 4}
.chart .better{font-size:12px;font-weight:600;fill:#007a5a}
table.sweep{font-size:.82rem}
table.sweep th,table.sweep td{padding:.28rem .5rem}
table.sweep thead th{white-space:normal;vertical-align:bottom}
table.sweep th .dir{display:block;font-weight:400;color:var(--muted);font-size:.72rem}
table.sweep td{white-space:nowrap}
table.sweep th:nth-child(2),table.sweep td:nth-child(2){text-align:left}
table.sweep .good{color:#007a5a}
table.sweep .bad{color:var(--verm)}
.badge.pareto{color:#fff;background:var(--blue)}
.pareto-no{color:var(--muted);font-size:.8rem}
"""


@dataclass
class _Point:
    index: int
    label: str
    accuracy: float | None
    fairness: float | None
    pareto: bool | None
    accuracy_change: float | None
    fairness_change: float | None
    metrics: Mapping[str, Any]
    setting: Mapping[str, Any]
    baseline: bool = False

    @property
    def plotted(self) -> bool:
        return self.accuracy is not None and self.fairness is not None


def _change(value: float | None, base: float | None) -> float | None:
    if value is None or base is None or base == 0:
        return None
    return (value - base) / abs(base)


def _parse_points(sweep: Mapping[str, Any], acc_name: str, fair_name: str) -> list[_Point]:
    raw = [p for p in as_list(sweep.get("points")) if isinstance(p, Mapping)]
    points: list[_Point] = []
    for i, p in enumerate(raw):
        setting = as_map(p.get("setting"))
        metrics = as_map(p.get("metrics"))
        label = p.get("label")
        if label is None or str(label) == "":
            label = ", ".join(f"{k}={v}" for k, v in setting.items()) or f"point {i + 1}"
        flag = p.get("pareto")
        points.append(
            _Point(
                index=i,
                label=str(label),
                accuracy=as_float(p["accuracy"] if "accuracy" in p else metrics.get(acc_name)),
                fairness=as_float(p["fairness"] if "fairness" in p else metrics.get(fair_name)),
                pareto=flag if isinstance(flag, bool) else None,
                accuracy_change=as_float(p.get("accuracy_change")),
                fairness_change=as_float(p.get("fairness_change")),
                metrics=metrics,
                setting=setting,
            )
        )
    base_i = next((i for i, p in enumerate(points) if p.label == "baseline"), None)
    if base_i is None:  # the unmitigated point: an explicitly empty setting
        base_i = next(
            (
                i
                for i, p in enumerate(raw)
                if isinstance(p.get("setting"), Mapping) and not p["setting"]
            ),
            None,
        )
    if base_i is not None:
        base = points[base_i]
        base.baseline = True
        for point, p in zip(points, raw, strict=True):  # fill in changes the input lacks
            if "accuracy_change" not in p:
                point.accuracy_change = _change(point.accuracy, base.accuracy)
            if "fairness_change" not in p:
                point.fairness_change = _change(point.fairness, base.fairness)
    return points


def _fmt_change(value: float | None) -> str:
    """``+12.5%``, ``−3.0%``, ``+1,400%``, "n/a"."""
    v = as_float(value)
    if v is None:
        return "n/a"
    p = 100 * v
    text = real_minus(f"{p:,.0f}%") if abs(p) >= 100 else fmt_pct(v)
    return f"+{text}" if p > 0 else text


def _direction(better: str | None) -> str:
    return {"higher": "higher is fairer", "lower": "lower is fairer"}.get(better or "", "")


# --------------------------------------------------------------------------------------------
# the Pareto chart
# --------------------------------------------------------------------------------------------
Box = tuple[float, float, float, float]  # x_min, y_min, x_max, y_max


def _overlap(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def _outside(box: Box, area: Box) -> float:
    inside = _overlap(box, area)
    return (box[2] - box[0]) * (box[3] - box[1]) - inside


def _text_width(text: str, size: float = 12.0, bold: bool = False) -> float:
    return len(text) * size * (0.6 if bold else 0.56) + 2


def _axis_ticks(values: Sequence[float]) -> list[float]:
    """Round ticks around ``values`` with a margin; no negative axis for non-negative data."""
    lo, hi = min(values), max(values)
    span = hi - lo
    pad = span * 0.1 if span > 0 else max(abs(lo) * 0.1, 0.01)
    a = lo - pad
    if lo >= 0:
        a = max(a, 0.0)
    return nice_ticks(a, hi + pad, 5)


def _pareto_chart(
    points: Sequence[_Point],
    *,
    acc_name: str,
    fair_name: str,
    fair_label: str,
    better: str | None,
    width: float = 900,
    height: float = 500,
    labels: Mapping[int, str] | None = None,
    baseline_text: str = "baseline (no re-ranking)",
) -> str:
    shown = [p for p in points if p.plotted]
    labels = labels or {}
    x0, x1, y0, y1 = 84.0, width - 24, 42.0, height - 64
    inset = 12.0  # data kept off the axes, so a dot at the end of the range is not cut
    xticks = _axis_ticks([p.fairness for p in shown if p.fairness is not None])
    yticks = _axis_ticks([p.accuracy for p in shown if p.accuracy is not None])

    def sx(v: float) -> float:
        return x0 + inset + (v - xticks[0]) / (xticks[-1] - xticks[0]) * (x1 - x0 - 2 * inset)

    def sy(v: float) -> float:
        return y1 - inset - (v - yticks[0]) / (yticks[-1] - yticks[0]) * (y1 - y0 - 2 * inset)

    acc_label = metric_label(acc_name) or "accuracy"
    x_label = fair_label if fair_label else fair_name
    if fair_name and fair_label and fair_name != fair_label:
        x_label = f"{fair_label} ({fair_name})"
    out = x_axis(xticks, sx, y0, y1, tick_fmt(xticks, False), clip(x_label, 80), (x0 + x1) / 2)
    fmt_y = tick_fmt(yticks, False)
    for t in yticks:
        out.append(svg_line(x0, sy(t), x1, sy(t), cls="grid"))
        out.append(svg_text(x0 - 7, sy(t) + 4, fmt_y(t), cls="tick", anchor="end"))
    out.append(y_title(16, (y0 + y1) / 2, f"{clip(acc_label, 40)} — higher is more accurate →"))
    obstacles: list[Box] = []
    if better == "higher":
        out.append(svg_text(x1, y1 + 32, "fairer →", cls="better", anchor="end"))
        out.append(svg_text(x1 - 6, y0 + 16, "better on both ↗", cls="better", anchor="end"))
        obstacles.append((x1 - 6 - _text_width("better on both ↗"), y0 + 4, x1, y0 + 20))
    elif better == "lower":
        out.append(svg_text(x0, y1 + 32, "← fairer", cls="better"))
        out.append(svg_text(x0 + 6, y0 + 16, "↖ better on both", cls="better"))
        obstacles.append((x0, y0 + 4, x0 + 6 + _text_width("↖ better on both"), y0 + 20))

    # legend, above the plot
    lx = x0
    for kind, text in (
        ("pareto", "Pareto-optimal"),
        ("dominated", "dominated"),
        ("frontier", "Pareto frontier"),
        ("baseline", baseline_text),
        ("base-level", "baseline level"),
    ):
        if kind in ("frontier", "base-level"):
            out.append(svg_line(lx - 4, 17, lx + 16, 17, cls=kind))
        else:
            fill, rr = (BLUE, 5.5) if kind == "pareto" else ("#fff", 5.5)
            if kind == "baseline":
                fill, rr = "none", 9.0
            stroke, sw = (ORANGE, 2.5) if kind == "baseline" else (BLUE, 1.8)
            out.append(
                f'<circle cx="{lx + 6:.1f}" cy="17" r="{rr}" fill="{fill}" stroke="{stroke}" '
                f'stroke-width="{sw}"/>'
            )
        out.append(svg_text(lx + 20, 21, text, cls="legend"))
        lx += 20 + _text_width(text) + 22

    base = next((p for p in shown if p.baseline), None)
    if base is not None and base.fairness is not None and base.accuracy is not None:
        bx, by = sx(base.fairness), sy(base.accuracy)
        out.append(svg_line(bx, y0, bx, y1, cls="base-level"))
        out.append(svg_line(x0, by, x1, by, cls="base-level"))

    front = sorted(
        (p for p in shown if p.pareto), key=lambda p: (p.fairness or 0.0, -(p.accuracy or 0.0))
    )
    xy = {p.index: (sx(p.fairness or 0.0), sy(p.accuracy or 0.0)) for p in shown}
    if len(front) > 1:
        pts = " ".join(f"{xy[p.index][0]:.1f},{xy[p.index][1]:.1f}" for p in front)
        out.append(f'<polyline class="frontier" points="{pts}"/>')
        for a, b in itertools.pairwise(front):  # keep labels off the line
            (ax, ay), (bx_, by_) = xy[a.index], xy[b.index]
            steps = max(int(math.hypot(bx_ - ax, by_ - ay) / 6), 1)
            for s in range(1, steps):
                px, py = ax + (bx_ - ax) * s / steps, ay + (by_ - ay) * s / steps
                obstacles.append((px - 1.5, py - 1.5, px + 1.5, py + 1.5))

    r = 6.0
    for p in shown:
        cx, cy = xy[p.index]
        obstacles.append((cx - r - 1, cy - r - 1, cx + r + 1, cy + r + 1))
    # dominated first, frontier over them, the baseline on top
    for p in sorted(shown, key=lambda p: (p.baseline, p.pareto is True)):
        cx, cy = xy[p.index]
        status = "pareto" if p.pareto else "dominated"
        tip = (
            f"{p.label}: {acc_label} {fmt_num(p.accuracy, 4)} ({_fmt_change(p.accuracy_change)}), "
            f"{fair_name or 'fairness'} {fmt_num(p.fairness, 4)} "
            f"({_fmt_change(p.fairness_change)}); "
            + ("Pareto-optimal" if p.pareto else "dominated")
            + ("; baseline" if p.baseline else "")
        )
        fill = BLUE if p.pareto else "#fff"
        ring = (
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="10" fill="none" stroke="{ORANGE}" '
            'stroke-width="2.5"/>'
            if p.baseline
            else ""
        )
        cls = f"pt {status}" + (" baseline" if p.baseline else "")
        out.append(
            f'<g class="{cls}" data-point="{p.index}"><title>{esc(tip)}</title>{ring}'
            f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{r:.1f}" fill="{fill}" stroke="{BLUE}" '
            'stroke-width="1.8"/></g>'
        )

    area: Box = (x0 + 2, y0 + 2, x1 - 2, y1 - 2)
    page: Box = (2, y0 - 6, width - 2, y1 + 6)
    order = sorted(shown, key=lambda p: (not p.baseline, p.pareto is not True, p.index))
    for p in order:
        cx, cy = xy[p.index]
        full = labels.get(p.index, p.label)
        shown_label = clip(full, 32)
        w = _text_width(shown_label, bold=p.baseline)
        best: tuple[float, float, float, str, Box, int] | None = None
        for level, d in enumerate((0.0, 8.0, 18.0, 32.0)):
            g = r + 4 + d
            cands = [
                (cx + g, cy + 4, "start"),
                (cx - g, cy + 4, "end"),
                (cx, cy - g - 2, "middle"),
                (cx, cy + g + 10, "middle"),
                (cx + g * 0.75, cy - g * 0.75, "start"),
                (cx + g * 0.75, cy + g * 0.75 + 8, "start"),
                (cx - g * 0.75, cy - g * 0.75, "end"),
                (cx - g * 0.75, cy + g * 0.75 + 8, "end"),
            ]
            for tx, ty, anchor in cands:
                left = tx if anchor == "start" else tx - w if anchor == "end" else tx - w / 2
                box: Box = (left - 1, ty - 10, left + w + 1, ty + 3)
                cost = sum(_overlap(box, o) for o in obstacles)
                cost += 0.2 * _outside(box, area) + 100 * _outside(box, page)
                cost += 4 * level  # prefer close to the point
                if best is None or cost < best[0]:
                    best = (cost, tx, ty, anchor, box, level)
            if best is not None and best[0] <= 4 * level:
                break
        assert best is not None
        _, tx, ty, anchor, box, level = best
        obstacles.append(box)
        if level >= 1:  # away from its dot: a leader line says whose label it is
            lx_ = min(max(cx, box[0]), box[2])
            ly_ = min(max(cy, box[1]), box[3])
            dist = math.hypot(lx_ - cx, ly_ - cy)
            if dist > r + 2:
                ux, uy = (lx_ - cx) / dist, (ly_ - cy) / dist
                out.append(svg_line(cx + ux * (r + 1), cy + uy * (r + 1), lx_, ly_, cls="leader"))
        cls = "pt-lbl" + (" base" if p.baseline else "") + ("" if p.pareto else " dom")
        title = f"<title>{esc(p.label)}</title>" if shown_label != p.label else ""
        out.append(
            f'<text x="{tx:.1f}" y="{ty:.1f}" text-anchor="{anchor}" class="{cls}">{title}'
            f"{esc(shown_label)}</text>"
        )
    label = f"{acc_label} against {fair_label or fair_name or 'fairness'} for every setting"
    return svg_chart(width, height, out, label)


def _chart_labels(points: Sequence[_Point]) -> tuple[dict[int, str], list[str]]:
    """Shorter dot labels for grids of several parameters: values only, names said once.

    Only when every setting has the same two or more parameters and the labels get long;
    returns ``(labels by point index, parameter names)`` (empty when the labels are kept).
    """
    swept = [p for p in points if not p.baseline]
    keys = [tuple(str(k) for k in p.setting) for p in swept]
    if not keys or len(keys[0]) < 2 or any(k != keys[0] for k in keys):
        return {}, []
    if max(len(p.label) for p in swept) <= 20:
        return {}, []
    labels = {p.index: ", ".join(fmt_scalar(v) for v in p.setting.values()) for p in swept}
    return labels, list(keys[0])


# --------------------------------------------------------------------------------------------
# the page
# --------------------------------------------------------------------------------------------
def _values_text(values: Any) -> str:
    """``{0.1, 0.3, 0.5}``; a long list shortened to its ends and its length."""
    items = as_list(values)
    if not items:
        return str(values)
    if len(items) > 8:
        ends = [*map(str, items[:3]), "…", *map(str, items[-2:])]
        return "{" + ", ".join(ends) + "}" + f" ({len(items)} values)"
    return "{" + ", ".join(str(v) for v in items) + "}"


class _SweepPage:
    def __init__(self, sweep: Mapping[str, Any], title: str | None) -> None:
        self.params = as_map(sweep.get("params"))
        p = self.params
        self.acc_name = str(p.get("accuracy_metric") or "")
        self.fair_name = str(p.get("fairness_metric") or "")
        self.fair_label = str(p.get("fairness_label") or "")
        better = p.get("fairness_better")
        self.better = better if better in ("higher", "lower") else None
        self.points = _parse_points(sweep, self.acc_name, self.fair_name)
        self.retrained = p.get("retrained") is True
        """Training-time method: every point is a retrained model, the baseline the run."""
        self.base_text = (
            "the run as stored, no mitigation, not retrained"
            if self.retrained
            else "the model's own lists, no re-ranking"
        )
        if title is None:
            title = "Trade-off sweep"
            method, run = p.get("method"), p.get("run")
            if method and run:
                title += f" — {method} on {run}"
            elif method or run:
                title += f" — {method or run}"
        self.title = title

    # -- header -------------------------------------------------------------------------------
    def header(self) -> str:
        p = self.params
        bits = []
        method, run = p.get("method"), p.get("run")
        if method and run:
            how = (
                "(training-time, model retrained per point) on"
                if self.retrained
                else "re-ranking of"
            )
            bits.append(f"<strong>{esc(method)}</strong> {how} <strong>{esc(run)}</strong>")
        elif method or run:
            bits.append(f"<strong>{esc(method or run)}</strong>")
        if as_float(p.get("k")) is not None:
            bits.append(f"top-{fmt_int(p.get('k'))} lists")
        grid = as_map(p.get("grid"))
        if grid:
            bits.append(
                "swept " + "; ".join(f"{esc(k)} ∈ {esc(_values_text(v))}" for k, v in grid.items())
            )
        fixed = as_map(p.get("fixed"))
        if fixed:
            bits.append("fixed " + ", ".join(f"{esc(k)} = {esc(v)}" for k, v in fixed.items()))
        n = sum(1 for pt in self.points if not pt.baseline)
        has_base = any(pt.baseline for pt in self.points)
        count = f"{n} setting{'s' if n != 1 else ''}" + (" + baseline" if has_base else "")
        bits.append(count)
        if self.acc_name or self.fair_name:
            what = self.fair_label or self.fair_name or "fairness"
            direction = _direction(self.better)
            bits.append(
                f"{esc(metric_label(self.acc_name) or 'accuracy')} vs {esc(what)}"
                + (f" ({esc(direction)})" if direction else "")
            )
        line = "Swept: " + " · ".join(bits)
        nav = " ".join(
            f'<a href="#{i}">{t}</a>'
            for i, t in (
                ("trade-off", "Trade-off"),
                ("points", "All points"),
                ("parameters", "Parameters"),
            )
        )
        return (
            f'<header><h1>{esc(self.title)}</h1><p class="audited">{line}</p>'
            f"<nav>{nav}</nav></header>"
        )

    # -- summary + chart ------------------------------------------------------------------------
    def lead(self) -> str:
        pts = self.points
        sentences = []
        n_front = sum(1 for p in pts if p.pareto)
        flagged = sum(1 for p in pts if p.pareto is not None)
        if flagged:
            sentences.append(
                f"{n_front} of {len(pts)} point{'s' if len(pts) != 1 else ''} "
                f"{'is' if n_front == 1 else 'are'} Pareto-optimal: no other point is both "
                "more accurate and fairer."
            )
        base = next((p for p in pts if p.baseline), None)
        if base is not None and base.pareto is False:
            sentences.append(
                "The baseline is dominated: at least one setting is both more accurate and fairer."
            )
        front = [p for p in pts if p.pareto and not p.baseline and p.fairness is not None]
        if front and self.better is not None:
            sign = 1.0 if self.better == "higher" else -1.0
            best = max(front, key=lambda p: sign * (p.fairness or 0.0))
            if best.fairness_change is not None or best.accuracy_change is not None:
                what = self.fair_name or "fairness"
                sentences.append(
                    f"Fairest setting on the frontier: {best.label}, with {what} "
                    f"{_fmt_change(best.fairness_change)} and "
                    f"{metric_label(self.acc_name) or 'accuracy'} "
                    f"{_fmt_change(best.accuracy_change)} against the baseline."
                )
        return f'<p class="lead">{esc(" ".join(sentences))}</p>' if sentences else ""

    def tradeoff(self) -> str:
        out = ['<section id="trade-off"><h2>Accuracy against fairness</h2>', self.lead()]
        shown = [p for p in self.points if p.plotted]
        if not shown:
            out.append(
                na_text("No point has both an accuracy and a fairness value (chart not available).")
            )
            return "".join(out) + "</section>"
        labels, keys = _chart_labels(self.points)
        svg = _pareto_chart(
            self.points,
            acc_name=self.acc_name,
            fair_name=self.fair_name,
            fair_label=self.fair_label,
            labels=labels,
            better=self.better,
            baseline_text="baseline (" + ("the run" if self.retrained else "no re-ranking") + ")",
        )
        direction = _direction(self.better)
        caption = "<b>Trade-off.</b> Each dot is one setting, labelled with it"
        if any(p.baseline and p.plotted for p in self.points):
            caption += (
                f"; the baseline ({self.base_text}) has an orange ring and dashed orange "
                "lines at its levels"
            )
        caption += (
            ". Filled dots are Pareto-optimal and joined by the frontier; hollow dots are "
            "dominated (another point is at least as accurate and as fair, and better on one)."
        )
        if direction:
            caption += f" For {esc(self.fair_name or 'this metric')}, {esc(direction)}."
        if keys:
            caption += " Dots are labelled with " + esc(", ".join(keys)) + "."
        missing = [p.label for p in self.points if not p.plotted]
        if missing:
            caption += " Not plotted (a value is missing): " + esc(", ".join(missing)) + "."
        out.append(figure(svg, caption))
        return "".join(out) + "</section>"

    # -- table ----------------------------------------------------------------------------------
    def table(self) -> str:
        out = ['<section id="points"><h2>All points</h2>']
        pts = self.points
        if not pts:
            out.append(na_text("The sweep has no points (not available)."))
            return "".join(out) + "</section>"
        others: list[str] = []
        for p in pts:
            for key in p.metrics:
                k = str(key)
                if k not in others and k not in (self.acc_name, self.fair_name):
                    others.append(k)

        def head(name: str, note: str = "") -> str:
            text = esc(metric_label(name)).replace("_", "_<wbr>")
            return text + (f'<span class="dir">{esc(note)}</span>' if note else "")

        def col_ref(values: Sequence[Any]) -> float | None:
            nums = [abs(v) for v in (as_float(x) for x in values) if v is not None]
            return max(nums) if nums else None

        def cell(value: Any, ref: float | None) -> str:
            return esc(fmt_num(value, 4, like=ref))

        def change(value: float | None, good_if_positive: bool | None) -> str:
            text = esc(_fmt_change(value))
            if value is None or value == 0 or good_if_positive is None:
                return text
            good = (value > 0) == good_if_positive
            return f'<span class="{"good" if good else "bad"}">{text}</span>'

        acc_ref = col_ref([p.accuracy for p in pts])
        fair_ref = col_ref([p.fairness for p in pts])
        refs = {k: col_ref([p.metrics.get(k) for p in pts]) for k in others}
        fair_good = None if self.better is None else self.better == "higher"
        rows = []
        for p in pts:
            setting = f"<strong>{esc(p.label)}</strong>" if p.baseline else esc(p.label)
            if p.pareto is True:
                mark = '<span class="badge pareto" title="Pareto-optimal">● Pareto</span>'
            elif p.pareto is False:
                mark = '<span class="pareto-no" title="dominated">○ dominated</span>'
            else:
                mark = '<span class="pareto-no">n/a</span>'
            rows.append(
                [
                    setting,
                    mark,
                    cell(p.accuracy, acc_ref),
                    change(p.accuracy_change, True),
                    cell(p.fairness, fair_ref),
                    change(p.fairness_change, fair_good),
                    *(cell(p.metrics.get(k), refs[k]) for k in others),
                ]
            )
        headers = [
            "Setting",
            "Pareto",
            head(self.acc_name or "accuracy", "accuracy"),
            'accuracy change<span class="dir">vs baseline</span>',
            head(self.fair_name or "fairness", _direction(self.better) or "fairness"),
            'fairness change<span class="dir">vs baseline</span>',
            *(head(k) for k in others),
        ]
        out.append(
            '<p class="intro">Every point of the sweep with every metric measured; the baseline '
            f"(in bold) is {esc(self.base_text)}"
            + (
                "; every other point is a model retrained with that setting"
                if self.retrained
                else ""
            )
            + ". Changes are relative to it ((value − baseline) / |baseline|); green marks a "
            "change in the better direction, red one in the worse.</p>"
        )
        out.append(html_table(headers, rows, "sweep"))
        return "".join(out) + "</section>"

    # -- footer ---------------------------------------------------------------------------------
    def footer(self) -> str:
        rows = [(esc(k), esc(v)) for k, v in flatten(self.params)]
        table = (
            '<div class="table-wrap"><table class="params"><tbody>'
            + "".join(f'<tr><th scope="row">{k}</th><td>{v}</td></tr>' for k, v in rows)
            + "</tbody></table></div>"
            if rows
            else na_text("No parameters recorded.")
        )
        return (
            f'<footer id="parameters"><h2>Parameters</h2>{table}<p class="generated">Generated '
            "by equirec.mitigation.sweep_report from the sweep result (sweep.json). A "
            "self-contained page: no scripts and nothing loaded from the network.</p></footer>"
        )

    def render(self) -> str:
        return html_page(
            self.title,
            self.header(),
            [
                ("trade-off", self.tradeoff),
                ("points", self.table),
                ("parameters", self.footer),
            ],
            css=CSS + _SWEEP_CSS,
        )


def render_sweep_html(sweep: Mapping[str, Any], *, title: str | None = None) -> str:
    """The trade-off sweep as one self-contained HTML page.

    Args:
        sweep: The result of :func:`equirec.mitigation.sweep.sweep_run` (the ``sweep.json``
            dict): ``params`` (``method``, ``run``, ``k``, ``accuracy_metric``,
            ``fairness_metric``, ``fairness_label``, ``fairness_better``, ``grid``, ``fixed``)
            and ``points`` (``label``, ``setting``, ``accuracy``, ``fairness``, ``pareto``,
            ``accuracy_change``, ``fairness_change``, ``metrics``). Everything is optional;
            ``None``/NaN numbers are written "n/a" and such points are not plotted. The
            baseline is the point labelled ``"baseline"`` (else the one with an empty
            ``setting``); changes missing from a point are computed against it.
        title: Page title (default: "Trade-off sweep — <method> on <run>").

    Returns:
        A complete HTML document: a Pareto scatter plot (accuracy against fairness, frontier
        points filled and joined, dominated ones hollow, the baseline ringed) and a table of
        every point and metric. Inline CSS and SVG, no script, no network resource; every
        string from ``sweep`` is HTML-escaped.
    """
    if not isinstance(sweep, Mapping):
        raise TypeError(
            f"sweep must be a mapping (the sweep.json dict), got {type(sweep).__name__}"
        )
    return _SweepPage(sweep, title).render()
