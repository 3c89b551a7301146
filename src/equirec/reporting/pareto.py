"""The points of a trade-off sweep and their Pareto chart (inline SVG).

:func:`parse_points` reads the points of a ``sweep.json`` leniently into :class:`SweepPoint`
(the baseline found, missing changes computed against it); :func:`pareto_chart` draws accuracy
against the swept fairness metric, frontier points filled and joined, dominated ones hollow, the
baseline ringed, every dot labelled where its label overlaps least. The chart is
:class:`markupsafe.Markup`; every label is escaped as it is placed.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from equirec.reporting.charts import (
    BLUE,
    ORANGE,
    nice_ticks,
    svg_chart,
    svg_circle,
    svg_line,
    svg_text,
    tick_fmt,
    x_axis,
    y_title,
)
from equirec.reporting.formatting import (
    as_float,
    as_list,
    as_map,
    clip,
    fmt_change,
    fmt_num,
    fmt_scalar,
    metric_label,
)

__all__ = ["SweepPoint", "chart_labels", "pareto_chart", "parse_points"]


@dataclass
class SweepPoint:
    """One point of a sweep as the page shows it (values ``None`` where missing)."""

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
        """Whether the point has both values, so it is drawn."""
        return self.accuracy is not None and self.fairness is not None


def _change(value: float | None, base: float | None) -> float | None:
    if value is None or base is None or base == 0:
        return None
    return (value - base) / abs(base)


def parse_points(sweep: Mapping[str, Any], acc_name: str, fair_name: str) -> list[SweepPoint]:
    """The points of a sweep result, read leniently.

    Args:
        sweep: The ``sweep.json`` dict (``points`` that are not mappings are skipped).
        acc_name: The accuracy metric, read from a point's ``metrics`` if it has no ``accuracy``.
        fair_name: The fairness metric, likewise for ``fairness``.

    Returns:
        One point per entry, in order. The baseline is the point labelled ``"baseline"``, else
        the first with an explicitly empty ``setting``; changes a point lacks are computed
        against it. A point without a label is labelled with its setting.
    """
    raw = [p for p in as_list(sweep.get("points")) if isinstance(p, Mapping)]
    points: list[SweepPoint] = []
    for i, p in enumerate(raw):
        setting = as_map(p.get("setting"))
        metrics = as_map(p.get("metrics"))
        label = p.get("label")
        if label is None or str(label) == "":
            label = ", ".join(f"{k}={v}" for k, v in setting.items()) or f"point {i + 1}"
        flag = p.get("pareto")
        points.append(
            SweepPoint(
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


def chart_labels(points: Sequence[SweepPoint]) -> tuple[dict[int, str], list[str]]:
    """Shorter dot labels for grids of several parameters: values only, names said once.

    Args:
        points: The sweep's points.

    Returns:
        ``(labels by point index, parameter names)``; both empty (the labels are kept) unless
        every setting has the same two or more parameters and the labels get long.
    """
    swept = [p for p in points if not p.baseline]
    keys = [tuple(str(k) for k in p.setting) for p in swept]
    if not keys or len(keys[0]) < 2 or any(k != keys[0] for k in keys):
        return {}, []
    if max(len(p.label) for p in swept) <= 20:
        return {}, []
    labels = {p.index: ", ".join(fmt_scalar(v) for v in p.setting.values()) for p in swept}
    return labels, list(keys[0])


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


def _legend(x0: float, baseline_text: str) -> list[Markup]:
    out: list[Markup] = []
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
        elif kind == "baseline":
            out.append(svg_circle(lx + 6, 17, 9.0, fill="none", stroke=ORANGE, stroke_width=2.5))
        else:
            fill = BLUE if kind == "pareto" else "#fff"
            out.append(svg_circle(lx + 6, 17, 5.5, fill=fill, stroke=BLUE, stroke_width=1.8))
        out.append(svg_text(lx + 20, 21, text, cls="legend"))
        lx += 20 + _text_width(text) + 22
    return out


def _place_label(
    cx: float, cy: float, r: float, w: float, obstacles: list[Box], area: Box, page: Box
) -> tuple[float, float, str, Box, int]:
    """Where a label of width ``w`` overlaps least, as close to its dot as it can."""
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
    return best[1:]


def pareto_chart(
    points: Sequence[SweepPoint],
    *,
    acc_name: str,
    fair_name: str,
    fair_label: str,
    better: str | None,
    width: float = 900,
    height: float = 500,
    labels: Mapping[int, str] | None = None,
    baseline_text: str = "baseline (no re-ranking)",
) -> Markup:
    """Accuracy against fairness, one dot per plotted point.

    Args:
        points: The sweep's points (those without both values are left out).
        acc_name: The accuracy metric (y axis).
        fair_name: The fairness metric (x axis).
        fair_label: A readable name of the fairness metric.
        better: ``"higher"`` or ``"lower"``: which way is fairer (``None``: no arrow).
        width: Width of the view box.
        height: Height of the view box.
        labels: Dot labels by point index, instead of the points' own labels.
        baseline_text: Legend of the baseline's ring.

    Returns:
        The ``<svg>`` element; each dot is a ``<g class="pt pareto|dominated[ baseline]"
        data-point="index">`` with its values as tooltip.
    """
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
    out.extend(_legend(x0, baseline_text))  # above the plot

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
        out.append(Markup('<polyline class="frontier" points="{}"/>').format(pts))
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
        tip = (
            f"{p.label}: {acc_label} {fmt_num(p.accuracy, 4)} ({fmt_change(p.accuracy_change)}), "
            f"{fair_name or 'fairness'} {fmt_num(p.fairness, 4)} "
            f"({fmt_change(p.fairness_change)}); "
            + ("Pareto-optimal" if p.pareto else "dominated")
            + ("; baseline" if p.baseline else "")
        )
        ring = (
            svg_circle(cx, cy, 10, fill="none", stroke=ORANGE, stroke_width=2.5)
            if p.baseline
            else Markup("")
        )
        cls = ("pareto" if p.pareto else "dominated") + (" baseline" if p.baseline else "")
        dot = svg_circle(
            cx, cy, r, fill=BLUE if p.pareto else "#fff", stroke=BLUE, stroke_width=1.8
        )
        out.append(
            Markup('<g class="pt {}" data-point="{}"><title>{}</title>{}{}</g>').format(
                cls, p.index, tip, ring, dot
            )
        )

    area: Box = (x0 + 2, y0 + 2, x1 - 2, y1 - 2)
    page: Box = (2, y0 - 6, width - 2, y1 + 6)
    order = sorted(shown, key=lambda p: (not p.baseline, p.pareto is not True, p.index))
    for p in order:
        cx, cy = xy[p.index]
        shown_label = clip(labels.get(p.index, p.label), 32)
        w = _text_width(shown_label, bold=p.baseline)
        tx, ty, anchor, box, level = _place_label(cx, cy, r, w, obstacles, area, page)
        obstacles.append(box)
        if level >= 1:  # away from its dot: a leader line says whose label it is
            lx_ = min(max(cx, box[0]), box[2])
            ly_ = min(max(cy, box[1]), box[3])
            dist = math.hypot(lx_ - cx, ly_ - cy)
            if dist > r + 2:
                ux, uy = (lx_ - cx) / dist, (ly_ - cy) / dist
                out.append(svg_line(cx + ux * (r + 1), cy + uy * (r + 1), lx_, ly_, cls="leader"))
        cls = "pt-lbl" + (" base" if p.baseline else "") + ("" if p.pareto else " dom")
        title = p.label if shown_label != p.label else ""
        out.append(svg_text(tx, ty, shown_label, cls=cls, anchor=anchor, title=title))
    label = f"{acc_label} against {fair_label or fair_name or 'fairness'} for every setting"
    return svg_chart(width, height, out, label)
