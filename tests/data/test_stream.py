"""Streaming a Parquet log by batches: the same log as reading it whole, in compact indices."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from equirec.data.stream import stream_parquet
from equirec.errors import DataError

pq = pytest.importorskip("pyarrow.parquet")
pa = pytest.importorskip("pyarrow")


def _log(tmp_path, n=1000, seed=0, **columns):
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "uid": [f"u{v}" for v in rng.integers(0, 60, n)],
            "movie": rng.integers(0, 300, n) * 7,
            "ts": rng.integers(0, 10**9, n),
            "stars": rng.integers(1, 6, n).astype(float),
        }
    )
    path = tmp_path / "log.parquet"
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=128)
    return path, frame


def test_streamed_log_equals_the_whole_log(tmp_path):
    path, frame = _log(tmp_path)
    log = stream_parquet(
        path, user="uid", item="movie", timestamp="ts", rating="stars", batch_rows=100
    )
    assert len(log) == 1000 and log.batches == 10 and log.row_groups == 8
    # vocabularies in order of first appearance, indices into them
    assert list(log.user_ids) == list(pd.unique(frame["uid"]))
    assert list(log.item_ids) == list(pd.unique(frame["movie"]))
    assert (log.user_ids[log.users] == frame["uid"]).all()
    assert (log.item_ids[log.items] == frame["movie"]).all()
    np.testing.assert_array_equal(log.timestamps, frame["ts"])
    np.testing.assert_array_equal(log.ratings, frame["stars"])
    assert log.users.dtype == np.int32 and log.items.dtype == np.int32
    data = log.to_dataset(name="streamed")
    assert (data.n_users, data.n_items, len(data)) == (60, frame["movie"].nunique(), 1000)
    got = data.interactions.sort_values(["timestamp", "user_idx"], kind="stable")
    want = frame.sort_values("ts", kind="stable")
    assert got["timestamp"].tolist() == want["ts"].tolist()


def test_missing_columns_and_values_are_named(tmp_path):
    path, _ = _log(tmp_path)
    with pytest.raises(DataError, match=r"no column\(s\) \['user'\]"):
        stream_parquet(path, item="movie", timestamp="ts")
    holes = pd.DataFrame({"user": ["a", None, "b"], "item": [1, 2, 3], "timestamp": [1, 2, 3]})
    bad = tmp_path / "holes.parquet"
    pq.write_table(pa.Table.from_pandas(holes, preserve_index=False), bad)
    with pytest.raises(DataError, match=r"column 'user' has 1 missing value\(s\) in rows 0-2"):
        stream_parquet(bad)
    with pytest.raises(DataError, match="does not exist"):
        stream_parquet(tmp_path / "nope.parquet")
