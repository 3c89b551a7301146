"""Labels of the Pareto chart's dots, laid out so that no label overlaps another label or a dot.

:func:`layout_labels` tries rings of positions around each dot; a dot without room gets a
number that a key under the chart explains.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["LABEL_HEIGHT", "Box", "PlacedLabel", "layout_labels"]


Box = tuple[float, float, float, float]  # x_min, y_min, x_max, y_max


def _overlap(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def _outside(box: Box, area: Box) -> float:
    inside = _overlap(box, area)
    return (box[2] - box[0]) * (box[3] - box[1]) - inside


def text_width(text: str, size: float = 12.0, bold: bool = False) -> float:
    """A generous estimate of the width of ``text`` (wider than the sans-serif fonts draw it)."""
    return len(text) * size * (0.64 if bold else 0.6) + 4


LABEL_HEIGHT = 15.0
"""Height of a label's box: 12-px text with its ascenders and descenders, and a margin."""

_RINGS = (0.0, 6.0, 14.0, 26.0, 42.0, 62.0, 88.0, 120.0, 160.0)
_ANGLES = tuple(math.radians(a) for a in range(0, 360, 30))


@dataclass(frozen=True)
class PlacedLabel:
    """Where the label of one dot goes.

    Attributes:
        index: The point's index.
        text: What is written: the label, or the point's number in the key (``number``).
        x: Left end of the text (``text-anchor="start"``).
        y: Its baseline.
        box: ``(x_min, y_min, x_max, y_max)`` the text is kept inside; no two boxes overlap, and
            none overlaps a dot.
        number: Whether ``text`` is a number that the key under the chart explains.
        leader: ``(x1, y1, x2, y2)`` of a line from the dot to a label placed away from it.
    """

    index: int
    text: str
    x: float
    y: float
    box: Box
    number: bool = False
    leader: tuple[float, float, float, float] | None = None


def layout_labels(
    dots: Sequence[tuple[int, float, float, str, bool]],
    *,
    radius: float,
    fixed: Sequence[Box] = (),
    soft: Sequence[Box] = (),
    area: Box,
    page: Box,
) -> tuple[list[PlacedLabel], list[int]]:
    """Labels of dots that overlap nothing: no other label, no dot, no fixed text.

    Each dot, in the order given, gets its label in the free place nearest to it (rings of
    candidate places further and further away, a leader line beyond the first ones). A label
    with no free place is replaced by a number, placed the same way after every label, which
    the key under the chart explains; a dot whose number finds no place either is left
    unmarked (its tooltip and the table still name it).

    Args:
        dots: ``(index, x, y, label, bold)`` per dot, in placing order.
        radius: Radius of a dot.
        fixed: Texts already drawn (legend, arrows): labels keep off them.
        soft: Places a label had better avoid (the frontier line): a cost, not a ban.
        area: The plot area: a label had better stay inside it.
        page: The drawing: a label stays inside it.

    Returns:
        The placed labels (in placing order, numbers last) and the indices of the dots left
        unmarked.
    """
    centres = [(x, y) for _, x, y, _, _ in dots]
    hard: list[Box] = [
        (x - radius - 1, y - radius - 1, x + radius + 1, y + radius + 1) for x, y in centres
    ]
    hard += list(fixed)
    soft_boxes = np.array(soft, dtype=np.float64).reshape(-1, 4)
    placed: list[PlacedLabel] = []
    pending: list[tuple[int, float, float]] = []
    for index, cx, cy, text, bold in dots:
        spot = _free_spot(cx, cy, radius, text_width(text, bold=bold), hard, soft_boxes, area, page)
        if spot is None:
            pending.append((index, cx, cy))
            continue
        placed.append(_placed(index, text, cx, cy, radius, spot))
        hard.append(spot[0])
    unmarked = []
    for number, (index, cx, cy) in enumerate(pending, start=1):
        text = str(number)
        spot = _free_spot(cx, cy, radius, text_width(text, bold=True), hard, soft_boxes, area, page)
        if spot is None:
            unmarked.append(index)
            continue
        placed.append(_placed(index, text, cx, cy, radius, spot, number=True))
        hard.append(spot[0])
    return placed, unmarked


def _free_spot(
    cx: float,
    cy: float,
    r: float,
    w: float,
    hard: Sequence[Box],
    soft: np.ndarray,
    area: Box,
    page: Box,
) -> tuple[Box, int] | None:
    """The cheapest box of width ``w`` near ``(cx, cy)`` that overlaps no ``hard`` box and stays
    on the ``page``, with its ring (0 = beside the dot), or ``None``."""
    h = LABEL_HEIGHT
    obstacles = np.array(hard, dtype=np.float64).reshape(-1, 4)
    for ring, d in enumerate(_RINGS):
        g = r + 3 + d
        boxes = []
        for a in _ANGLES:
            ux, uy = math.cos(a), -math.sin(a)
            # the box's nearest point is about g from the dot, towards the angle
            mx = cx + ux * (g + w / 2 * abs(ux) ** 0.5)
            my = cy + uy * (g + h / 2 * abs(uy) ** 0.5)
            boxes.append((mx - w / 2, my - h / 2, mx + w / 2, my + h / 2))
        cand = np.array(boxes)
        on_page = (
            (cand[:, 0] >= page[0])
            & (cand[:, 1] >= page[1])
            & (cand[:, 2] <= page[2])
            & (cand[:, 3] <= page[3])
        )
        free = on_page & ~_any_overlap(cand, obstacles)
        if not free.any():
            continue
        cost = _overlaps(cand, soft).sum(axis=1) + 0.2 * _outside_area(cand, area)
        cost += 0.01 * np.arange(len(cand))  # ties: the first angle (right of the dot)
        cost = np.where(free, cost, np.inf)
        best = int(np.argmin(cost))
        box = tuple(float(v) for v in cand[best])
        return (box[0], box[1], box[2], box[3]), ring
    return None


def _overlaps(cand: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """``(n_cand, n_boxes)`` overlap areas."""
    if not len(boxes):
        return np.zeros((len(cand), 1))
    w = np.minimum(cand[:, None, 2], boxes[None, :, 2]) - np.maximum(
        cand[:, None, 0], boxes[None, :, 0]
    )
    h = np.minimum(cand[:, None, 3], boxes[None, :, 3]) - np.maximum(
        cand[:, None, 1], boxes[None, :, 1]
    )
    return np.where((w > 0) & (h > 0), w * h, 0.0)


def _any_overlap(cand: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    return np.asarray((_overlaps(cand, boxes) > 0).any(axis=1))


def _outside_area(cand: np.ndarray, area: Box) -> np.ndarray:
    inside = _overlaps(cand, np.array([area], dtype=np.float64))[:, 0]
    return (cand[:, 2] - cand[:, 0]) * (cand[:, 3] - cand[:, 1]) - inside


def _placed(
    index: int,
    text: str,
    cx: float,
    cy: float,
    r: float,
    spot: tuple[Box, int],
    *,
    number: bool = False,
) -> PlacedLabel:
    box, _ = spot
    # the text sits in its box: 2 px of margin on the left, its baseline 4 px above the bottom
    x, y = box[0] + 2, box[3] - 4
    nx, ny = min(max(cx, box[0]), box[2]), min(max(cy, box[1]), box[3])
    dist = math.hypot(nx - cx, ny - cy)
    leader = None
    if dist > r + 8:  # away from its dot: a line says whose label it is
        ux, uy = (nx - cx) / dist, (ny - cy) / dist
        leader = (cx + ux * (r + 1), cy + uy * (r + 1), nx, ny)
    return PlacedLabel(index, text, x, y, box, number, leader)
