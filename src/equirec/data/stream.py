"""Reading a Parquet interaction log larger than memory allows for pandas, by row groups.

:func:`stream_parquet` reads the user, item and timestamp (and optionally rating) columns one
batch of rows at a time (pyarrow's ``iter_batches``, so at most one batch is decoded at once)
and builds the user and item vocabularies as it goes: every batch's ids are looked up in the
vocabulary so far, and the ids not seen before are appended in order of first appearance. What
it keeps is compact: per interaction a 32-bit user index, a 32-bit item index and a 64-bit
timestamp (plus a 32-bit rating), preallocated from the file's row count, and each distinct id
once. A 20M-row log with string ids thus costs about 320 MB, where a pandas frame of it costs
several GB. :meth:`StreamedLog.to_dataset` turns it into a :class:`~equirec.data.Dataset`
(categorical id columns, so the ids are not copied per row).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from equirec.data.dataset import Dataset
from equirec.errors import ConfigError, DataError

__all__ = ["StreamedLog", "stream_parquet"]


@dataclass(frozen=True)
class StreamedLog:
    """An interaction log in vocabulary indices.

    Attributes:
        user_ids, item_ids: The vocabularies, in order of first appearance.
        users, items: Per interaction, the user's and the item's position in them (int32).
        timestamps: Per interaction (int64).
        ratings: Per interaction (float32), or ``None`` when the log has none.
        row_groups: Row groups of the file.
        batches: Batches read.
    """

    user_ids: pd.Index
    item_ids: pd.Index
    users: np.ndarray
    items: np.ndarray
    timestamps: np.ndarray
    ratings: np.ndarray | None
    row_groups: int
    batches: int

    def __len__(self) -> int:
        return len(self.users)

    def to_dataset(self, *, name: str = "custom") -> Dataset:
        """The log as a :class:`Dataset` (ids as categoricals over the vocabularies)."""
        frame = pd.DataFrame(
            {
                "user": pd.Categorical.from_codes(self.users, categories=self.user_ids),
                "item": pd.Categorical.from_codes(self.items, categories=self.item_ids),
                "timestamp": self.timestamps,
            }
        )
        if self.ratings is not None:
            frame["rating"] = self.ratings
        return Dataset(
            interactions=frame, user_ids=self.user_ids, item_ids=self.item_ids, name=name
        )


class _Vocabulary:
    """Ids in order of first appearance, growing batch by batch."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.index = pd.Index([], name=name)

    def codes(self, column: object) -> np.ndarray:
        """The vocabulary positions of a batch's column (a pyarrow array), new ids appended.

        The column is dictionary-encoded first, so only its distinct ids are looked up.
        """
        import pyarrow.compute as pc

        encoded = pc.dictionary_encode(column)
        distinct = np.asarray(encoded.dictionary.to_numpy(zero_copy_only=False))
        where = self.index.get_indexer(pd.Index(distinct))
        new = where < 0
        if new.any():  # in order of first appearance: the dictionary's order
            self.index = self.index.append(pd.Index(distinct[new], name=self.name))
            where[new] = np.arange(len(self.index) - int(new.sum()), len(self.index))
        positions = np.asarray(encoded.indices.to_numpy(zero_copy_only=False))
        return where.astype(np.int32)[positions]


def stream_parquet(
    path: str | Path,
    *,
    user: str = "user",
    item: str = "item",
    timestamp: str = "timestamp",
    rating: str | None = None,
    batch_rows: int = 1 << 20,
) -> StreamedLog:
    """Read a Parquet log batch by batch into vocabulary indices (see the module docstring).

    Args:
        path: The Parquet file.
        user, item, timestamp: Its columns holding them.
        rating: Its rating column, if any is wanted.
        batch_rows: Rows decoded at once (memory: about this many rows of the chosen columns).

    Raises:
        DataError: A missing file or column, or a missing value in a column read.
        ConfigError: Parquet support is not installed, or ``batch_rows`` < 1.
    """
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise ConfigError("reading Parquet needs pyarrow: pip install 'equirec[parquet]'") from exc
    if batch_rows < 1:
        raise ConfigError(f"batch_rows must be >= 1, not {batch_rows!r}")
    path = Path(path)
    if not path.is_file():
        raise DataError(f"interaction log {path} does not exist")
    file = pq.ParquetFile(path)
    wanted = [c for c in (user, item, timestamp, rating) if c is not None]
    names = file.schema_arrow.names
    missing = [c for c in wanted if c not in names]
    if missing:
        raise DataError(
            f"interaction log {path}: no column(s) {missing}; its columns are {names}; name "
            "them with user=, item=, timestamp="
        )
    n = file.metadata.num_rows
    users, items = np.empty(n, dtype=np.int32), np.empty(n, dtype=np.int32)
    times = np.empty(n, dtype=np.int64)
    ratings = None if rating is None else np.empty(n, dtype=np.float32)
    vocab = _Vocabulary("user"), _Vocabulary("item")
    start = batches = 0
    for batch in file.iter_batches(batch_size=int(batch_rows), columns=wanted):
        size = batch.num_rows
        for column in wanted:
            nulls = batch.column(column).null_count
            if nulls:
                raise DataError(
                    f"interaction log {path}: column {column!r} has {nulls} missing value(s) "
                    f"in rows {start}-{start + size - 1}; drop or fill them"
                )
        rows = slice(start, start + size)
        users[rows] = vocab[0].codes(batch.column(user))
        items[rows] = vocab[1].codes(batch.column(item))
        times[rows] = np.asarray(batch.column(timestamp).to_numpy(zero_copy_only=False)).astype(
            np.int64
        )
        if ratings is not None:
            ratings[rows] = batch.column(rating).to_numpy(zero_copy_only=False)
        start += size
        batches += 1
    return StreamedLog(
        user_ids=vocab[0].index,
        item_ids=vocab[1].index,
        users=users[:start],
        items=items[:start],
        timestamps=times[:start],
        ratings=None if ratings is None else ratings[:start],
        row_groups=file.metadata.num_row_groups,
        batches=batches,
    )
