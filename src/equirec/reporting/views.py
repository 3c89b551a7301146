"""Views shared by the page templates, and small readers of significance and p-values.

A view holds what a template shows, already written for people (plain text, escaped by the
template) or, for charts, :class:`markupsafe.Markup` built and escaped in Python.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from equirec.reporting.formatting import as_float, flatten, fmt_p

__all__ = [
    "Figure",
    "KeyValue",
    "Parameter",
    "ParametersView",
    "Stat",
    "StatsLine",
    "p_eq",
    "p_text",
    "parameters_view",
    "significant",
    "slug",
]


@dataclass(frozen=True)
class Figure:
    """A chart (``None``: a caption only) and its caption: a bold lead, then the text."""

    chart: Markup | None
    lead: str = ""
    caption: str = ""


@dataclass(frozen=True)
class KeyValue:
    """A row of a table of named numbers: name (with an optional subscript), value, gloss."""

    name: str
    value: str
    explain: str = ""
    sub: str = ""


@dataclass(frozen=True)
class Stat:
    """A labelled value of a line of statistics."""

    label: str
    value: str


@dataclass(frozen=True)
class StatsLine:
    """Labelled values, the p-value text and significance (``None``: not tested)."""

    stats: Sequence[Stat]
    p_text: str
    significant: bool | None


@dataclass(frozen=True)
class Parameter:
    """A row of the parameters footer: a plain name, what it means, its key and value."""

    name: str
    explain: str
    key: str
    value: str


@dataclass(frozen=True)
class ParametersView:
    """The parameters footer: rows in one or more columns (``grid``)."""

    columns: Sequence[Sequence[Parameter]]
    generated: str
    grid: bool = False


def parameters_view(
    params: Mapping[str, Any],
    generated: str,
    *,
    columns: int,
    names: Mapping[str, tuple[str, str]] | None = None,
) -> ParametersView:
    """The parameters of a report, flattened (``head.method``), in ``columns`` columns.

    Args:
        params: The report's ``params``.
        generated: The closing note (what made the page from what).
        columns: 1 for a single table, 2 for two side by side (halves, the first the longer).
        names: Key (``head.method``, or ``grid`` for every ``grid.*`` key) -> plain name and
            explanation; other keys are named by themselves, underscores as spaces.

    Returns:
        The footer's view (no columns when there is no parameter).
    """
    names = names or {}

    def row(key: str, value: str) -> Parameter:
        head, _, rest = key.partition(".")
        if key in names:
            name, explain = names[key]
        elif rest and head in names:
            name, explain = names[head]
            name = f"{name}: {rest}"
        else:
            name, explain = key.replace("_", " ").replace(".", ": "), ""
        return Parameter(name=name, explain=explain, key=key, value=value)

    rows = [row(key, value) for key, value in flatten(params)]
    if not rows:
        return ParametersView([], generated, grid=columns > 1)
    if columns <= 1:
        return ParametersView([rows], generated)
    half = (len(rows) + 1) // 2
    parts = [part for part in (rows[:half], rows[half:]) if part]
    return ParametersView(parts, generated, grid=True)


def p_eq(value: Any) -> str:
    """``p = 0.030`` or ``p < 0.001``."""
    text = fmt_p(value)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def p_text(entry: Mapping[str, Any]) -> str:
    """``p = 0.030 (adjusted 0.21)``: the p-value, and the adjusted one if the entry has it."""
    text = p_eq(entry.get("p_value"))
    if "p_adjusted" in entry:
        text += f" (adjusted {fmt_p(entry.get('p_adjusted'))})"
    return text


def significant(entry: Mapping[str, Any], alpha: float) -> bool | None:
    """The entry's ``significant`` flag, else its (adjusted) p-value below ``alpha``; ``None``
    when neither is there (not tested)."""
    flag = entry.get("significant")
    if isinstance(flag, bool):
        return flag
    p = as_float(entry.get("p_adjusted"))
    if p is None:
        p = as_float(entry.get("p_value"))
    return None if p is None else p < alpha


def slug(text: str, index: int) -> str:
    """An anchor made of ``text`` (lower case, dashes) and ``index`` (unique on the page)."""
    base = re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")[:40]
    return f"{base or 'x'}-{index}"
