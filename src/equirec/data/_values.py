"""Cleaning table columns into ids, timestamps, numbers and label tuples, with located errors."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from equirec.data._tables import TableRef, plain
from equirec.errors import DataError

_INTEGER = re.compile(r"[+-]?(0|[1-9][0-9]*)")


def clean_ids(values: pd.Series, *, ref: TableRef, column: str) -> pd.Series:
    """Ids as stripped strings, or as ``int64`` where the column is numeric.

    Raises:
        DataError: An id is missing or empty (names the file, column and row).
    """
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        _reject_missing(values.isna(), values, ref=ref, column=column, what="id")
        if pd.api.types.is_float_dtype(values):
            if not np.all(np.mod(values.to_numpy(), 1) == 0):
                return values.astype(str)
            return values.astype(np.int64)
        return values.astype(np.int64)
    text = values.astype("string").str.strip()
    _reject_missing(text.isna() | (text == ""), values, ref=ref, column=column, what="id")
    return text.astype(str)


def harmonize_ids(*columns: pd.Series) -> list[pd.Series]:
    """Give columns holding ids of the same entities one type.

    All integer-like (``"12"`` or ``12``, no leading zeros) -> ``int64``; otherwise strings, so
    that ids from an interaction log and from an attribute file compare equal.
    """
    if all(_integer_like(c) for c in columns):
        return [c.astype(np.int64) for c in columns]
    return [c.astype(str) for c in columns]


def parse_timestamps(values: pd.Series, *, ref: TableRef, column: str) -> tuple[pd.Series, str]:
    """Timestamps as numbers: numeric columns as they are, date strings as Unix seconds (UTC).

    Returns:
        The numeric timestamps and a description of how they were read (recorded in
        ``Dataset.info``).

    Raises:
        DataError: A timestamp is missing or cannot be parsed (names file, column, row, value).
    """
    hint = "fill it in, or drop the column to take interactions in file order"
    if pd.api.types.is_datetime64_any_dtype(values):
        _reject_missing(values.isna(), values, ref=ref, column=column, what="timestamp", fix=hint)
        return _seconds(pd.to_datetime(values, utc=True)), "dates (Unix seconds, UTC)"
    if pd.api.types.is_bool_dtype(values):
        raise DataError(f"{ref.path}: timestamp column {column!r} holds true/false values")
    if pd.api.types.is_numeric_dtype(values):
        _reject_missing(values.isna(), values, ref=ref, column=column, what="timestamp", fix=hint)
        return values, "numbers from the file"
    text = values.astype("string").str.strip()
    missing = text.isna() | (text == "")
    _reject_missing(missing, values, ref=ref, column=column, what="timestamp", fix=hint)
    numbers = pd.to_numeric(text, errors="coerce")
    if numbers.notna().sum() * 2 > len(text) or pd.notna(numbers.iloc[0]):
        bad = int(np.flatnonzero(numbers.isna().to_numpy())[0])
        raise DataError(
            f"{ref.at(column, bad)}: timestamp {plain(values.iloc[bad])!r} is not a number (the "
            f"other timestamps are); fix or remove the row"
        )
    dates = _parse_dates(text)
    if dates.isna().any():
        bad = int(np.flatnonzero(dates.isna().to_numpy())[0])
        raise DataError(
            f"{ref.at(column, bad)}: timestamp {plain(values.iloc[bad])!r} cannot be parsed as a "
            f"date (the first timestamp is {plain(values.iloc[0])!r}); use one date format for "
            f"the whole column (ISO 8601 such as 2024-05-01T12:00:00 is safest) or Unix seconds"
        )
    return _seconds(dates), "dates (Unix seconds, UTC)"


def to_numbers(values: pd.Series, *, ref: TableRef, column: str, what: str) -> pd.Series:
    """A numeric column (``rating``, ``weight``); non-numbers and missing values are errors."""
    fix = "fill it in or remove the row"
    if pd.api.types.is_bool_dtype(values):
        raise DataError(f"{ref.path}: {what} column {column!r} holds true/false values")
    numbers = values if pd.api.types.is_numeric_dtype(values) else _coerce(values)
    bad = numbers.isna() & values.notna() & (values.astype("string").str.strip() != "")
    if bad.any():
        pos = int(np.flatnonzero(bad.to_numpy())[0])
        raise DataError(
            f"{ref.at(column, pos)}: {what} {plain(values.iloc[pos])!r} is not a number; {fix}"
        )
    _reject_missing(numbers.isna(), values, ref=ref, column=column, what=what, fix=fix)
    finite = np.isfinite(numbers.to_numpy(dtype=np.float64))
    if not finite.all():
        pos = int(np.flatnonzero(~finite)[0])
        raise DataError(f"{ref.at(column, pos)}: {what} {plain(values.iloc[pos])!r} is not finite")
    return numbers.astype(np.float64)


def split_labels(values: pd.Series, sep: str, *, empty: frozenset[str] = frozenset()) -> pd.Series:
    """Separator-joined labels (``"Action|Comedy"``) as tuples; missing or ``empty`` -> ``()``."""

    def split(v: object) -> tuple[str, ...]:
        if isinstance(v, (tuple, list)):
            return tuple(str(x) for x in v)
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            return ()
        parts = (p.strip() for p in str(v).split(sep))
        return tuple(p for p in parts if p and p not in empty)

    return pd.Series([split(v) for v in values], index=values.index, dtype=object)


def _parse_dates(text: pd.Series) -> pd.Series:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        iso = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
        if not iso.isna().any():
            return iso
        inferred = pd.to_datetime(text, errors="coerce", utc=True)
    return iso if iso.isna().sum() <= inferred.isna().sum() else inferred


def _seconds(dates: pd.Series) -> pd.Series:
    seconds = (dates - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)
    seconds = seconds.astype(np.float64)
    if np.all(np.mod(seconds.to_numpy(), 1) == 0):
        return seconds.astype(np.int64)
    return seconds


def _coerce(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values.astype("string").str.strip(), errors="coerce")


def _integer_like(values: pd.Series) -> bool:
    if pd.api.types.is_integer_dtype(values):
        return True
    if pd.api.types.is_numeric_dtype(values):
        return False
    return bool(values.astype(str).str.fullmatch(_INTEGER).all())


def _reject_missing(
    missing: pd.Series,
    values: pd.Series,
    *,
    ref: TableRef,
    column: str,
    what: str,
    fix: str = "fill it in or remove the row",
) -> None:
    if missing.any():
        pos = int(np.flatnonzero(missing.to_numpy())[0])
        count = int(missing.sum())
        also = f" ({count} rows in all)" if count > 1 else ""
        raise DataError(f"{ref.at(column, pos)}: missing {what}{also}; {fix}")
