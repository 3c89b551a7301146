"""Turning attributes into groups: user groups (one label per user) and item group memberships.

User groups are :class:`Groups`: an integer code per user (``-1`` = no value, left out of that
attribute's comparison) and the group names. Derived user attributes follow UGF (Li et al., WWW
2021): ``activity`` splits users into the most active ``top`` share by known interactions
(default 5%) and the rest; ``activity_band`` cuts the same counts into quantile bands.

Item groups are a membership matrix ``(n_items, G)`` because an item may belong to several groups
(genres): ``multi="count"`` puts weight 1 in each of its groups, ``multi="split"`` gives each
``1/|groups|`` so that every item weighs 1 in total. Items without a value have an all-zero row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from equirec.errors import ConfigError
from equirec.fairness.item_metrics import head_items


@dataclass(frozen=True)
class Groups:
    """One group label per unit.

    Attributes:
        name: The attribute (``gender``, ``activity``, ``gender*age_band``...).
        codes: ``int64`` code per unit, ``-1`` for a missing value.
        labels: Group names; ``labels[c]`` is the name of code ``c``.
    """

    name: str
    codes: np.ndarray
    labels: tuple[str, ...]

    @property
    def n_groups(self) -> int:
        return len(self.labels)

    def sizes(self) -> np.ndarray:
        """Units per group."""
        return np.bincount(self.codes[self.codes >= 0], minlength=self.n_groups)

    def subset(self, index: np.ndarray) -> Groups:
        """The same groups for a subset of the units (e.g. the users that were evaluated)."""
        return Groups(self.name, self.codes[index], self.labels)


def _label(value: Any) -> str:
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def categorical_groups(values: pd.Series | Sequence[Any], *, name: str) -> Groups:
    """One group per distinct value, ordered by value; missing values get code ``-1``."""
    series = pd.Series(list(values) if not isinstance(values, pd.Series) else values.to_numpy())
    missing = series.isna().to_numpy()
    text = series.map(_label).where(~missing)
    labels = sorted(text.dropna().unique().tolist())
    lookup = {label: i for i, label in enumerate(labels)}
    codes = np.array([-1 if m else lookup[t] for t, m in zip(text, missing, strict=True)])
    return Groups(name, codes.astype(np.int64), tuple(labels))


def quantile_groups(values: np.ndarray | pd.Series, *, name: str, bands: int = 4) -> Groups:
    """Cut numeric values into ``bands`` quantile bands (``q1`` lowest) labelled with their values.

    Bands are half-open, ``[low, high)``, and the last one is closed, so every value is in exactly
    one band and each label says which: integer-valued attributes (ages, counts) get the integers
    they hold (``q1 7–24``, ``q2 25–30``, ..., ``q4 43–73``; one value alone: ``q2 25``), other
    attributes the interval (``q1 [0.12, 0.5)``, ..., ``q4 [2.5, 9.1]``). The edges are the
    quantiles of the values present (NaN gets ``-1``), rounded before any value is assigned
    (integers: up to the next integer; others: to the fewest significant digits that keep the
    edges apart, the ends outwards), so a value on an edge is where its label says. Tied values
    can merge edges, and a band that would hold no value is merged into the one below, so heavily
    tied values give fewer bands.
    """
    if bands < 2:
        raise ConfigError(f"bands must be at least 2, got {bands}")
    v = np.asarray(values, dtype=np.float64)
    present = v[~np.isnan(v)]
    codes = np.full(len(v), -1, dtype=np.int64)
    if len(present) == 0:
        return Groups(name, codes, ())
    raw = np.quantile(present, np.linspace(0.0, 1.0, bands + 1))
    integer = bool(np.all(present == np.round(present))) and np.abs(present).max() < 2.0**52
    edges = _band_edges(raw, integer=integer)
    if len(edges) == 1:  # every value the same: one closed band
        edges = np.repeat(edges, 2)
    ok = ~np.isnan(v)
    while True:  # merge a band that holds no value into the one below
        band = np.searchsorted(edges[1:-1], v[ok], side="right")
        sizes = np.bincount(band, minlength=len(edges) - 1)
        empty = np.flatnonzero(sizes[1:] == 0)
        if not len(empty):
            break
        edges = np.delete(edges, empty[0] + 1)
    codes[ok] = band
    n = len(edges) - 1
    labels = tuple(
        f"q{i + 1} {_band_label(edges[i], edges[i + 1], last=i == n - 1, integer=integer)}"
        for i in range(n)
    )
    return Groups(name, codes, labels)


def _band_edges(raw: np.ndarray, *, integer: bool) -> np.ndarray:
    """Distinct, rounded band edges: the first at or below the smallest value, the last at or
    above the largest (a single edge when every value is the same)."""
    if integer:
        inner = np.ceil(raw[1:-1])
        return np.unique(np.concatenate([[raw[0]], inner, [raw[-1]]]))
    distinct = len(np.unique(raw))
    for digits in range(3, 16):
        rounded = np.unique(
            [
                _round_sig(raw[0], digits, np.floor),
                *(_round_sig(x, digits, np.round) for x in raw[1:-1]),
                _round_sig(raw[-1], digits, np.ceil),
            ]
        )
        if len(rounded) == distinct:
            return rounded
    return np.unique(raw)


def _round_sig(x: float, digits: int, how: Any) -> float:
    """``x`` rounded (``how``: ``np.floor``, ``np.round``, ``np.ceil``) to ``digits`` significant
    digits."""
    if x == 0 or not np.isfinite(x):
        return float(x)
    scale = 10.0 ** (int(np.floor(np.log10(abs(x)))) - digits + 1)
    return float(f"{how(x / scale) * scale:.{digits}g}")


def _band_label(low: float, high: float, *, last: bool, integer: bool) -> str:
    """The values a band holds: ``7–24`` (integers) or ``[0.12, 0.5)``, ``]`` for the last."""
    if integer:
        lo, hi = int(low), int(high) if last else int(high) - 1
        if lo == hi:
            return str(lo)
        return f"{lo} to {hi}" if lo < 0 or hi < 0 else f"{lo}–{hi}"
    close = "]" if last else ")"
    return f"[{_edge(low)}, {_edge(high)}{close}"


def _edge(x: float) -> str:
    return np.format_float_positional(x, trim="-")


def activity_groups(counts: np.ndarray, *, top: float = 0.05, name: str = "activity") -> Groups:
    """UGF's advantaged/disadvantaged users: the ``top`` share most active users vs the rest.

    ``ceil(top · n)`` users with the most known interactions form ``active`` (ties at the
    boundary broken by user index, so the group has exactly that size; the same cut as
    :func:`~equirec.fairness.item_metrics.head_items` with ``method="top"``); the others are
    ``inactive``.
    """
    if not 0.0 < top < 1.0:
        raise ConfigError(f"the active share must be in (0, 1), got {top}")
    active = head_items(np.asarray(counts, dtype=np.float64), method="top", cutoff=top)
    return Groups(name, np.where(active, 0, 1).astype(np.int64), ("active", "inactive"))


def intersection(a: Groups, b: Groups) -> Groups:
    """Groups of two attributes crossed (``F*18-24``); empty combinations are dropped."""
    both = (a.codes >= 0) & (b.codes >= 0)
    joint = np.where(both, a.codes * b.n_groups + b.codes, -1)
    present = np.unique(joint[joint >= 0])
    remap = np.full(a.n_groups * b.n_groups, -1, dtype=np.int64)
    remap[present] = np.arange(len(present))
    codes = np.where(joint >= 0, remap[np.maximum(joint, 0)], -1)
    labels = tuple(f"{a.labels[j // b.n_groups]}*{b.labels[j % b.n_groups]}" for j in present)
    return Groups(f"{a.name}*{b.name}", codes.astype(np.int64), labels)


@dataclass(frozen=True)
class ItemGroups:
    """Item-group membership.

    Attributes:
        name: The attribute.
        membership: ``(n_items, G)`` non-negative weights.
        labels: Group names.
        multi: ``"count"`` or ``"split"`` for multi-valued attributes, ``None`` otherwise.
    """

    name: str
    membership: np.ndarray
    labels: tuple[str, ...]
    multi: str | None = None


def item_groups_from_labels(groups: Groups) -> ItemGroups:
    """One-hot membership of a single-valued item attribute."""
    n = len(groups.codes)
    m = np.zeros((n, groups.n_groups))
    has = groups.codes >= 0
    m[np.flatnonzero(has), groups.codes[has]] = 1.0
    return ItemGroups(groups.name, m, groups.labels)


def multi_valued_groups(
    values: pd.Series | Sequence[Any], *, name: str, multi: str = "count"
) -> ItemGroups:
    """Membership of a multi-valued attribute (tuples of labels such as genres).

    Args:
        values: One tuple/list of labels per item (``None``/NaN or empty = no value).
        name: The attribute.
        multi: ``"count"``: weight 1 in every group of the item (an item with two genres counts
            fully in both); ``"split"``: weight ``1/|groups|`` in each, so every item weighs 1.
    """
    if multi not in ("count", "split"):
        raise ConfigError(f"multi must be 'count' or 'split', got {multi!r}")
    rows = [item_labels(v) for v in values]
    labels = sorted({label for row in rows for label in row})
    lookup = {label: i for i, label in enumerate(labels)}
    m = np.zeros((len(rows), len(labels)))
    for i, row in enumerate(rows):
        for label in row:
            m[i, lookup[label]] = 1.0
    if multi == "split":
        total = m.sum(axis=1, keepdims=True)
        m = np.divide(m, total, out=np.zeros_like(m), where=total > 0)
    return ItemGroups(name, m, tuple(labels), multi)


def item_labels(value: Any) -> tuple[str, ...]:
    """The labels of one value of a multi-valued attribute (a tuple of genres, one label, or
    none for ``None``/NaN), as text, each once."""
    if value is None:
        return ()
    if isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
        return tuple(dict.fromkeys(_label(v) for v in value if not pd.isna(v)))
    if pd.isna(value):
        return ()
    return (_label(value),)
