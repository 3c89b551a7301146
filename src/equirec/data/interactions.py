"""Load any CSV or Parquet interaction log (plus optional attribute files) as a :class:`Dataset`."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from equirec.data._tables import TableRef, plain, read_table, require_columns
from equirec.data._values import (
    clean_ids,
    harmonize_ids,
    parse_timestamps,
    split_labels,
    to_numbers,
)
from equirec.data.dataset import AttributeKind, Dataset
from equirec.data.plausibility import check_attributes, check_log
from equirec.errors import ConfigError, DataError

LOG_COLUMNS = ("user", "item", "timestamp", "rating", "weight")
"""Our names of interaction columns; ``user`` and ``item`` are required, the rest optional."""


def load_interactions(
    path: str | Path,
    *,
    columns: Mapping[str, str] | None = None,
    sep: str | None = None,
    encoding: str = "utf-8",
    user_attributes: str | Path | None = None,
    item_attributes: str | Path | None = None,
    user_key: str | None = None,
    item_key: str | None = None,
    multi_valued: Mapping[str, str] | None = None,
    name: str | None = None,
) -> Dataset:
    """Read an interaction log, and optionally user / item attribute tables, into a Dataset.

    Files ending in ``.parquet`` / ``.pq`` are read as Parquet (``pip install equirec[parquet]``);
    anything else as delimited text with a header line.

    Args:
        path: The interaction log, one row per interaction.
        columns: Our column name -> the file's column name, for ``user``, ``item``, ``timestamp``,
            ``rating`` and ``weight``. Names not mapped are looked up as they are (a ``rating``
            column is used if the file has one). ``user`` and ``item`` are required.
        sep: Field separator of text files; ``None`` sniffs it from each file's header line
            (``,``, tab, ``;`` or ``|``).
        encoding: Text encoding of text files.
        user_attributes: Optional table with one row per user (e.g. gender, age).
        item_attributes: Optional table with one row per item (e.g. genres, provider).
        user_key: Id column of ``user_attributes``; defaults to the log's user column name.
        item_key: Id column of ``item_attributes``; defaults to the log's item column name.
        multi_valued: Attribute column -> separator of its labels (``{"genres": "|"}``); those
            columns become tuples of labels (attribute kind ``multi``).
        name: Dataset name for reports; defaults to the log's file name without suffix.

    Returns:
        The dataset. Without a timestamp column, interactions are taken in file order
        (timestamp = row number), which ``dataset.info["timestamp"]`` records. Date strings are
        parsed into Unix seconds (UTC).

    Raises:
        ConfigError: ``columns`` has a key other than the five above.
        DataError: A file is missing, empty, binary or malformed; a column is absent (the message
            lists the columns present); an id, timestamp, rating or weight is missing or invalid
            (the message names file, column, row and value); an attribute file has rows for
            users/items absent from the log or duplicate ids.
    """
    mapping = _column_mapping(columns)
    log, ref = read_table(
        path,
        sep=sep,
        encoding=encoding,
        dtype={mapping.get("user", "user"): str, mapping.get("item", "item"): str},
        what="interaction file",
    )
    explicit = set(mapping.values())
    resolved = {
        role: mapping.get(role, role)
        for role in LOG_COLUMNS
        if role in mapping or role not in explicit  # a mapped column is not looked up again
    }
    required = {role: resolved[role] for role in ("user", "item")}
    for role in ("timestamp", "rating", "weight"):
        if role in mapping:
            required[role] = resolved[role]
    require_columns(log, required, ref=ref, what="interaction file", option="columns")
    present = {role: col for role, col in resolved.items() if col in log.columns}
    if len(set(present.values())) < len(present):
        raise ConfigError(f"columns maps two roles to the same file column: {present}")

    name = name or Path(path).stem
    info: dict[str, Any] = {"source": str(ref.path)}
    frame = _interaction_frame(log, present, ref=ref, info=info)
    warnings = check_log(frame, present)
    multi = dict(multi_valued or {})

    user_table = item_table = None
    user_kinds: dict[str, AttributeKind] = {}
    item_kinds: dict[str, AttributeKind] = {}
    if user_attributes is not None:
        key = user_key or present["user"]
        user_table, user_kinds = _attribute_table(
            user_attributes, key=key, sep=sep, encoding=encoding, multi=multi, what="user"
        )
        warnings += check_attributes(user_table, user_kinds, what="user", declared=multi)
        info["user_attributes_source"] = str(user_attributes)
    if item_attributes is not None:
        key = item_key or present["item"]
        item_table, item_kinds = _attribute_table(
            item_attributes, key=key, sep=sep, encoding=encoding, multi=multi, what="item"
        )
        warnings += check_attributes(item_table, item_kinds, what="item", declared=multi)
        info["item_attributes_source"] = str(item_attributes)
    unused = set(multi) - set(user_kinds) - set(item_kinds)
    if unused:
        available = sorted(set(user_kinds) | set(item_kinds))
        raise DataError(
            f"multi_valued names column(s) {sorted(unused)} that no attribute file has; "
            f"attribute columns are {available}"
        )

    frame["user"], frame["item"], user_table, item_table = _harmonize(frame, user_table, item_table)
    if user_table is not None:
        _check_known(user_table, frame["user"], path=user_attributes, what="user")
    if item_table is not None:
        _check_known(item_table, frame["item"], path=item_attributes, what="item")
    if warnings:
        info["warnings"] = warnings
    return Dataset(
        interactions=frame,
        user_attributes=user_table,
        item_attributes=item_table,
        user_attribute_kinds=user_kinds,
        item_attribute_kinds=item_kinds,
        name=name,
        info=info,
    )


def _column_mapping(columns: Mapping[str, str] | None) -> dict[str, str]:
    mapping = dict(columns or {})
    unknown = sorted(set(mapping) - set(LOG_COLUMNS))
    if unknown:
        raise ConfigError(
            f"columns has unknown key(s) {unknown}; keys are our column names {list(LOG_COLUMNS)} "
            f"and values the file's column names, e.g. columns={{'user': 'userId'}}"
        )
    bad = {k: v for k, v in mapping.items() if not isinstance(v, str) or not v}
    if bad:
        raise ConfigError(f"columns values must be non-empty column names, got {bad}")
    return mapping


def _interaction_frame(
    log: pd.DataFrame, present: Mapping[str, str], *, ref: TableRef, info: dict[str, Any]
) -> pd.DataFrame:
    frame = pd.DataFrame(index=log.index)
    for role in ("user", "item"):
        frame[role] = clean_ids(log[present[role]], ref=ref, column=present[role])
    if "timestamp" in present:
        frame["timestamp"], how = parse_timestamps(
            log[present["timestamp"]], ref=ref, column=present["timestamp"]
        )
        info["timestamp"] = f"column {present['timestamp']!r}: {how}"
    else:
        frame["timestamp"] = np.arange(len(log), dtype=np.int64)
        info["timestamp"] = "row order (no timestamp column; timestamp = row number)"
    for role in ("rating", "weight"):
        if role in present:
            frame[role] = to_numbers(log[present[role]], ref=ref, column=present[role], what=role)
    return frame.reset_index(drop=True)


def _attribute_table(
    path: str | Path,
    *,
    key: str,
    sep: str | None,
    encoding: str,
    multi: Mapping[str, str],
    what: str,
) -> tuple[pd.DataFrame, dict[str, AttributeKind]]:
    label = f"{what} attribute file"
    table, ref = read_table(path, sep=sep, encoding=encoding, dtype={key: str}, what=label)
    require_columns(table, {f"{what} id": key}, ref=ref, what=label, option=f"{what}_key")
    ids = clean_ids(table[key], ref=ref, column=key)
    dup = ids.duplicated()
    if dup.any():
        pos = int(np.flatnonzero(dup.to_numpy())[0])
        raise DataError(
            f"{ref.at(key, pos)}: {what} id {plain(ids.iloc[pos])!r} appears twice; {label}s need "
            f"one row per {what}"
        )
    table = table.drop(columns=[key])
    table.index = pd.Index(ids.to_numpy(), name=what)
    kinds: dict[str, AttributeKind] = {}
    for col, sep_ in multi.items():
        if col in table.columns:
            table[col] = split_labels(table[col], sep_)
            kinds[col] = "multi"
    for col in table.columns:
        kinds.setdefault(
            col, "numeric" if pd.api.types.is_numeric_dtype(table[col]) else "categorical"
        )
    return table, kinds


def _harmonize(
    frame: pd.DataFrame, user_table: pd.DataFrame | None, item_table: pd.DataFrame | None
) -> tuple[pd.Series, pd.Series, pd.DataFrame | None, pd.DataFrame | None]:
    out_tables: list[pd.DataFrame | None] = []
    out_ids: list[pd.Series] = []
    for role, table in (("user", user_table), ("item", item_table)):
        if table is None:
            (ids,) = harmonize_ids(frame[role])
            out_tables.append(None)
        else:
            ids, keys = harmonize_ids(frame[role], pd.Series(table.index))
            table = table.copy()
            table.index = pd.Index(keys.to_numpy(), name=role)
            out_tables.append(table)
        out_ids.append(ids)
    return out_ids[0], out_ids[1], out_tables[0], out_tables[1]


def _check_known(
    table: pd.DataFrame, ids: pd.Series, *, path: str | Path | None, what: str
) -> None:
    unknown = ~table.index.isin(pd.unique(ids))
    if unknown.any():
        pos = int(np.flatnonzero(unknown)[0])
        raise DataError(
            f"{what} attribute file {path}: {int(unknown.sum())} row(s) for {what}s absent from "
            f"the interactions, e.g. {what} id {plain(table.index[pos])!r} (row {pos + 1}); remove "
            f"those rows, or check that {what}_key names the id column and that the ids match the "
            f"log's"
        )
