"""Checks of input that is valid but probably not what the user meant, as plain-language warnings.

A file can parse cleanly and still be read wrongly: genres written ``Action|Comedy`` but not
declared multi-valued become hundreds of combined categories (and calibration and diversity,
which need single genres, silently find none); a title column becomes a "group" of one item
each; a column mapping that points the rating at a timestamp column gives ratings in the
billions. Nothing here changes the data except one thing that is never what anyone means — a
free-text column used as groups, whose kind becomes ``text``; every finding is a warning that
names the column and how to fix it, recorded in ``dataset.info["warnings"]`` (and so in the
run's ``metrics.json``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import pandas as pd

from equirec.data.dataset import AttributeKind

log = logging.getLogger(__name__)

LABEL_SEPARATORS: tuple[str, ...] = ("|", ";", ",", "/")
"""Separators looked for in attribute values that may hold several labels."""

MIN_ROWS = 20
"""Fewer rows than this are too few to judge a column by its values."""


def _share_with(values: pd.Series, sep: str) -> float:
    return float(values.str.contains(sep, regex=False).mean())


def multi_valued_separator(values: pd.Series) -> str | None:
    """The separator a text column's values seem to join labels with, or ``None``.

    A column looks multi-valued when at least 20% of its values hold the separator and the
    labels they split into are few (at most 200) and repeated (each used three times on
    average): ``Action|Comedy`` and ``Comedy|Drama`` share ``Comedy``. Free text (titles with
    commas) splits into labels that are nearly all distinct, so it is not taken for one.
    """
    text = values.dropna()
    text = text[text.map(lambda v: isinstance(v, str))].astype(str)
    if len(text) < MIN_ROWS:
        return None
    for sep in LABEL_SEPARATORS:
        if _share_with(text, sep) < 0.2:
            continue
        labels = text.str.split(sep, regex=False).explode().str.strip()
        labels = labels[labels != ""]
        n_labels = labels.nunique()
        if len(labels) >= 3 * n_labels and n_labels <= 200:
            return sep
    return None


def check_attributes(
    table: pd.DataFrame,
    kinds: dict[str, AttributeKind],
    *,
    what: str,
    declared: Mapping[str, str],
) -> list[str]:
    """Warnings about one attribute table; free-text columns become kind ``text`` in ``kinds``.

    Args:
        table: The attribute table (one row per user or item).
        kinds: Its column kinds, updated in place.
        what: ``"user"`` or ``"item"``.
        declared: The multi-valued columns the user declared (column -> separator).
    """
    out: list[str] = []
    for col in table.columns:
        if kinds.get(col) != "categorical" or col in declared:
            continue
        values = table[col]
        sep = multi_valued_separator(values)
        if sep is not None:
            share = _share_with(values.dropna().astype(str), sep)
            out.append(
                f"{what} attribute {col!r} looks multi-valued ({share:.0%} of its values hold "
                f"{sep!r}) but is read as {values.nunique()} single categories; if its "
                f"values are lists, declare it: --multi-valued {col}='{sep}' on the command "
                f'line, or multi_valued = {{{col} = "{sep}"}} under [data]'
            )
            continue
        present = values.dropna()
        if len(present) >= MIN_ROWS and present.nunique() > 0.9 * len(present):
            kinds[col] = "text"
            out.append(
                f"{what} attribute {col!r} has a different value for nearly every {what} "
                f"({present.nunique()} of {len(present)}): it is read as free text (a name or "
                "title), not as groups to compare"
            )
    for text in out:
        log.warning(text)
    return out


def check_log(frame: pd.DataFrame, present: Mapping[str, str]) -> list[str]:
    """Warnings about an interaction log whose column mapping probably points at wrong columns.

    Args:
        frame: The parsed log (``user``, ``item``, ``timestamp`` and optional ``rating``,
            ``weight``).
        present: Our column name -> the file's column it was read from.
    """
    out: list[str] = []
    n = len(frame)
    if n < MIN_ROWS:
        return out
    for role in ("user", "item"):
        distinct = frame[role].nunique()
        if distinct > 0.9 * n:
            out.append(
                f"the {role} column {present[role]!r} has a different value in nearly every row "
                f"({distinct} of {n}): every interaction would be a new {role}; check columns "
                f"(e.g. --columns {role}=<the {role} id column>)"
            )
    if "rating" in present:
        rating = frame["rating"]
        if rating.nunique() > 100 and float(rating.abs().max()) > 1e5:
            out.append(
                f"the rating column {present['rating']!r} has {rating.nunique()} distinct values "
                f"up to {float(rating.max()):.0f}: it looks like an id or a timestamp, not a "
                "rating; check columns (e.g. --columns rating=<the rating column>)"
            )
    if "timestamp" in present and frame["timestamp"].nunique() <= 10 and n >= 100:
        out.append(
            f"the timestamp column {present['timestamp']!r} has only "
            f"{frame['timestamp'].nunique()} distinct values in {n} rows: it looks like a "
            "rating or a category, so the chronological order (leave-one-out, temporal splits, "
            "sequences) is mostly ties; check columns (e.g. --columns timestamp=<the time column>)"
        )
    for text in out:
        log.warning(text)
    return out
