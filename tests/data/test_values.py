"""Column cleaning helpers: ids, timestamps, numbers, label tuples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from equirec.data._tables import TableRef, sniff_separator
from equirec.data._values import clean_ids, harmonize_ids, parse_timestamps, split_labels
from equirec.errors import DataError

REF = TableRef(Path("log.csv"))


@pytest.mark.parametrize(
    ("header", "sep"), [("a,b", ","), ("a\tb", "\t"), ("a;b;c", ";"), ("a|b", "|"), ("ab", ",")]
)
def test_sniff_separator(header: str, sep: str) -> None:
    assert sniff_separator(header + "\n1,2\n") == sep


def test_ids_are_stripped_and_integer_like_ids_become_ints() -> None:
    ids = clean_ids(pd.Series([" 1", "2 "], dtype=object), ref=REF, column="user")
    assert ids.tolist() == ["1", "2"]
    (ints,) = harmonize_ids(ids)
    assert ints.dtype == np.int64 and ints.tolist() == [1, 2]
    mixed = harmonize_ids(pd.Series([1, 2]), pd.Series(["1", "u2"]))
    assert [s.tolist() for s in mixed] == [["1", "2"], ["1", "u2"]]
    (zeros,) = harmonize_ids(pd.Series(["007", "7"]))  # leading zeros stay distinct strings
    assert zeros.tolist() == ["007", "7"]


def test_float_ids_with_nan_are_rejected() -> None:
    with pytest.raises(DataError, match=r"log.csv, column 'item', row 2 \(line 3\): missing id"):
        clean_ids(pd.Series([1.0, np.nan]), ref=REF, column="item")


@pytest.mark.parametrize("values", [["10", "x"], ["10", "11", "x"], ["x", "10", "11"]])
def test_a_non_number_among_numbers_is_named(values: list[str]) -> None:
    with pytest.raises(DataError, match=r"timestamp 'x' is not a number"):
        parse_timestamps(pd.Series(values, dtype=object), ref=REF, column="t")


def test_non_iso_dates_of_one_format() -> None:
    ts, how = parse_timestamps(pd.Series(["03/15/2024", "03/16/2024"]), ref=REF, column="t")
    assert ts.tolist()[1] - ts.tolist()[0] == 86400 and "dates" in how


def test_fractional_seconds_are_kept() -> None:
    ts, _ = parse_timestamps(
        pd.Series(["2024-01-01T00:00:00.5", "2024-01-01T00:00:01"]), ref=REF, column="t"
    )
    assert ts.tolist()[1] - ts.tolist()[0] == pytest.approx(0.5)


def test_split_labels() -> None:
    labels = split_labels(
        pd.Series(["a|b", "", None, "(none)", " c | "]), "|", empty=frozenset({"(none)"})
    )
    assert labels.tolist() == [("a", "b"), (), (), (), ("c",)]
