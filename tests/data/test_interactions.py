"""load_interactions: column mapping, timestamps, attribute files and located error messages."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from equirec.data import load_interactions
from equirec.errors import ConfigError, DataError

Write = Callable[..., Path]


def test_csv_with_mapped_columns_and_ratings(write: Write) -> None:
    path = write("log.csv", "uid,mid,stars,ts\n1,a,4,30\n2,b,5,10\n1,b,3,20\n")
    ds = load_interactions(
        path, columns={"user": "uid", "item": "mid", "rating": "stars", "timestamp": "ts"}
    )
    assert (ds.n_users, ds.n_items, len(ds)) == (2, 2, 3)
    assert ds.interactions["timestamp"].tolist() == [10, 20, 30]
    assert ds.interactions["rating"].tolist() == [5.0, 3.0, 4.0]
    assert ds.interactions["user"].tolist() == [2, 1, 1]  # integer-like ids become ints
    assert ds.interactions["item"].tolist() == ["b", "b", "a"]
    assert ds.name == "log"
    assert "ts" in ds.info["timestamp"]


def test_same_named_columns_need_no_mapping_and_separator_is_sniffed(write: Write) -> None:
    path = write("log.tsv", "user\titem\ttimestamp\trating\tweight\nu1\ti1\t5\t1\t2.5\n")
    ds = load_interactions(path)
    assert ds.interactions.loc[0, "weight"] == 2.5
    assert ds.interactions.loc[0, "rating"] == 1.0
    assert load_interactions(write("s.csv", "user;item\nu1;i1\n")).n_items == 1


def test_a_column_mapped_to_one_role_is_not_used_for_another(write: Write) -> None:
    ds = load_interactions(
        write("log.csv", "user,item,weight\n1,a,4\n"), columns={"rating": "weight"}
    )
    assert ds.interactions.loc[0, "rating"] == 4.0 and ds.interactions.loc[0, "weight"] == 1.0


def test_without_timestamp_rows_are_taken_in_file_order(write: Write) -> None:
    ds = load_interactions(write("log.csv", "user,item\nu1,c\nu1,a\nu1,b\n"))
    assert ds.interactions["timestamp"].tolist() == [0, 1, 2]
    assert ds.interactions["item"].tolist() == ["c", "a", "b"]
    assert "row order" in ds.info["timestamp"]


def test_equal_timestamps_keep_file_order(write: Write) -> None:
    ds = load_interactions(write("log.csv", "user,item,timestamp\nu,c,1\nu,a,1\nu,b,0\n"))
    assert ds.interactions["item"].tolist() == ["b", "c", "a"]


def test_date_strings_become_unix_seconds(write: Write) -> None:
    path = write(
        "log.csv",
        "user,item,timestamp\nu,a,2024-01-02\nu,b,2024-01-01T00:00:10\n"
        "u,c,2024-01-01 00:00:00+01:00\n",
    )
    ds = load_interactions(path)
    base = int(pd.Timestamp("2024-01-01", tz="UTC").timestamp())
    assert ds.interactions["timestamp"].tolist() == [base - 3600, base + 10, base + 86400]
    assert ds.interactions["item"].tolist() == ["c", "b", "a"]
    assert "dates" in ds.info["timestamp"]


def test_attribute_files_and_multi_valued_columns(write: Write) -> None:
    log = write("log.csv", "userId,movieId,ts\n1,10,1\n2,20,2\n")
    users = write("users.csv", "userId,gender,age\n1,F,30\n2,M,40\n")
    items = write("items.csv", "id,genres,title\n10,Action|Drama,A\n20,,B\n")
    ds = load_interactions(
        log,
        columns={"user": "userId", "item": "movieId", "timestamp": "ts"},
        user_attributes=users,
        item_attributes=items,
        item_key="id",
        multi_valued={"genres": "|"},
        name="mine",
    )
    assert ds.name == "mine"
    assert ds.user_attributes is not None and ds.item_attributes is not None
    assert ds.user_attributes.loc[2, "gender"] == "M"
    assert ds.user_attribute_kinds == {"gender": "categorical", "age": "numeric"}
    assert ds.item_attributes.loc[10, "genres"] == ("Action", "Drama")
    assert ds.item_attributes.loc[20, "genres"] == ()
    assert ds.item_attribute_kinds["genres"] == "multi"


def test_attributes_may_cover_fewer_users(write: Write) -> None:
    log = write("log.csv", "user,item\nu1,a\nu2,b\n")
    ds = load_interactions(log, user_attributes=write("u.csv", "user,g\nu1,x\n"))
    assert ds.user_attributes is not None
    assert ds.user_attributes["g"].isna().tolist() == [False, True]


def test_parquet_log(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    path = tmp_path / "log.parquet"
    pd.DataFrame({"user": [1, 2], "item": ["a", "b"], "timestamp": [5, 3]}).to_parquet(path)
    ds = load_interactions(path)
    assert ds.interactions["user"].tolist() == [2, 1]


# -- errors ------------------------------------------------------------------------------------


def test_missing_column_lists_the_columns_present(write: Write) -> None:
    path = write("log.csv", "userId,movieId\n1,2\n")
    with pytest.raises(DataError) as err:
        load_interactions(path)
    msg = str(err.value)
    assert str(path) in msg and "'user'" in msg and "['userId', 'movieId']" in msg
    assert "columns=" in msg


def test_misnamed_mapped_column(write: Write) -> None:
    path = write("log.csv", "user,item,time\n1,2,3\n")
    with pytest.raises(DataError, match=r"no column 'timestamp' \(for the timestamp\).*'time'"):
        load_interactions(path, columns={"timestamp": "timestamp"})


def test_wrong_separator_is_pointed_out(write: Write) -> None:
    path = write("log.csv", "user;item\n1;2\n")
    with pytest.raises(DataError, match=r"separator is probably ';': pass sep=';'"):
        load_interactions(path, sep=",")


def test_non_numeric_timestamp_names_row_and_value(write: Write) -> None:
    path = write("log.csv", "user,item,timestamp\n1,a,10\n2,b,11\n3,c,oops\n")
    with pytest.raises(DataError) as err:
        load_interactions(path)
    msg = str(err.value)
    assert f"{path}, column 'timestamp', row 3 (line 4)" in msg and "'oops'" in msg


def test_unparsable_date_names_row_and_value(write: Write) -> None:
    path = write("log.csv", "user,item,when\n1,a,2024-01-01\n2,b,someday\n")
    with pytest.raises(DataError, match=r"column 'when', row 2 \(line 3\).*'someday'.*date"):
        load_interactions(path, columns={"timestamp": "when"})


def test_missing_timestamp(write: Write) -> None:
    path = write("log.csv", "user,item,timestamp\n1,a,10\n2,b,\n")
    with pytest.raises(DataError, match=r"row 2 \(line 3\): missing timestamp"):
        load_interactions(path)


@pytest.mark.parametrize("cell", ["", "  "])
def test_empty_id(write: Write, cell: str) -> None:
    path = write("log.csv", f"user,item\n1,a\n{cell},b\n")
    with pytest.raises(DataError, match=r"column 'user', row 2 \(line 3\): missing id"):
        load_interactions(path)


def test_nan_id_in_parquet(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    path = tmp_path / "log.parquet"
    pd.DataFrame({"user": [1.0, np.nan], "item": ["a", "b"]}).to_parquet(path)
    with pytest.raises(DataError, match=r"column 'user', row 2: missing id"):
        load_interactions(path)


def test_non_numeric_rating(write: Write) -> None:
    path = write("log.csv", "user,item,rating\n1,a,4\n2,b,five\n")
    with pytest.raises(DataError, match=r"column 'rating', row 2 \(line 3\): rating 'five'"):
        load_interactions(path)


@pytest.mark.parametrize(
    ("content", "expected"),
    [("", "is empty"), ("user,item\n", r"has a header \(\['user', 'item'\]\) but no data rows")],
)
def test_empty_files(write: Write, content: str, expected: str) -> None:
    with pytest.raises(DataError, match=expected):
        load_interactions(write("log.csv", content))


def test_binary_garbage(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(DataError, match="binary"):
        load_interactions(path)


def test_invalid_text_encoding_suggests_one(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_bytes("user,item\nJosé,a\n".encode("latin-1"))
    with pytest.raises(DataError, match=r"not valid utf-8.*encoding='latin-1'"):
        load_interactions(path)
    assert load_interactions(path, encoding="latin-1").user_ids[0] == "José"


def test_ragged_rows(write: Write) -> None:
    with pytest.raises(DataError, match=r"could not be parsed.*line 3"):
        load_interactions(write("log.csv", "user,item\n1,a\n2,b,c,d\n"))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_interactions(tmp_path / "nope.csv")


def test_parquet_content_with_csv_suffix(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_bytes(b"PAR1" + b"\x00" * 20)
    with pytest.raises(DataError, match=r"looks like a Parquet file"):
        load_interactions(path)


def test_damaged_parquet(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    path = tmp_path / "log.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match="could not be read as Parquet"):
        load_interactions(path)


def test_parquet_without_pyarrow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "log.parquet"
    path.write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(DataError, match=r"needs pyarrow: pip install equirec\[parquet\]"):
        load_interactions(path)


def test_attribute_rows_for_unknown_users_name_the_file(write: Write) -> None:
    log = write("log.csv", "user,item\n1,a\n")
    users = write("users.csv", "user,g\n1,x\n7,y\n")
    with pytest.raises(DataError) as err:
        load_interactions(log, user_attributes=users)
    msg = str(err.value)
    assert str(users) in msg and "user id 7" in msg and "row 2" in msg


def test_duplicate_attribute_rows(write: Write) -> None:
    log = write("log.csv", "user,item\n1,a\n")
    items = write("items.csv", "item,g\na,x\na,y\n")
    with pytest.raises(DataError, match=r"items.csv, column 'item', row 2 .*'a' appears twice"):
        load_interactions(log, item_attributes=items)


def test_attribute_file_without_the_key_column(write: Write) -> None:
    log = write("log.csv", "user,item\n1,a\n")
    items = write("items.csv", "movie,g\na,x\n")
    with pytest.raises(DataError, match=r"items.csv has no column 'item'.*item_key="):
        load_interactions(log, item_attributes=items)


def test_unknown_multi_valued_column(write: Write) -> None:
    log = write("log.csv", "user,item\n1,a\n")
    items = write("items.csv", "item,g\na,x\n")
    with pytest.raises(DataError, match=r"multi_valued.*\['genres'\].*\['g'\]"):
        load_interactions(log, item_attributes=items, multi_valued={"genres": "|"})


def test_unknown_column_key_is_a_config_error(write: Write) -> None:
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['usr'\]"):
        load_interactions(write("log.csv", "user,item\n1,a\n"), columns={"usr": "user"})
