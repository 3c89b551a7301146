"""What an audit reads, checked and turned into indexed arrays: :class:`AuditData`.

An audit needs the ranked lists (from equirec or from any other system), the held-out relevant
items, the interactions known before the lists were made (for popularity, activity, the items each
user could be recommended, and taste profiles) and the attribute tables, all in original ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from equirec.data.known import KnownData
from equirec.data.lists import RankedLists
from equirec.data.splits import Split
from equirec.errors import DataError


@dataclass(frozen=True)
class AuditData:
    """Lists, relevance, history and attributes over one user and one item vocabulary.

    Attributes:
        user_ids: Every user (original ids); internal user index = position.
        item_ids: The catalogue (original ids); internal item index = position.
        lists: ``(n_lists, K)`` item indices in rank order, ``-1`` padding.
        list_users: User index of every list.
        relevant: ``(n_users, n_items)`` binary CSR of held-out relevant items.
        seen: ``(n_users, n_items)`` binary CSR of interactions known before the lists.
        popularity: Interactions per item in ``seen``'s log (repeats counted).
        activity: Interactions per user in the same log.
        user_attributes: Indexed by ``user_ids`` (missing users: NaN rows).
        item_attributes: Indexed by ``item_ids``.
        user_attribute_kinds, item_attribute_kinds: ``categorical``/``numeric``/``multi``/``text``.
    """

    user_ids: pd.Index
    item_ids: pd.Index
    lists: np.ndarray
    list_users: np.ndarray
    relevant: sp.csr_matrix
    seen: sp.csr_matrix
    popularity: np.ndarray
    activity: np.ndarray
    user_attributes: pd.DataFrame
    item_attributes: pd.DataFrame
    user_attribute_kinds: dict[str, str]
    item_attribute_kinds: dict[str, str]

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def list_length(self) -> int:
        """Longest list (``K``)."""
        return int((self.lists >= 0).sum(axis=1).max()) if len(self.lists) else 0

    @classmethod
    def from_frames(
        cls,
        *,
        recommendations: pd.DataFrame,
        test: pd.DataFrame,
        train: pd.DataFrame,
        user_attributes: pd.DataFrame | None = None,
        item_attributes: pd.DataFrame | None = None,
        items: Sequence[Any] | pd.Index | None = None,
        user_attribute_kinds: dict[str, str] | None = None,
        item_attribute_kinds: dict[str, str] | None = None,
    ) -> AuditData:
        """Check and index tables in original ids.

        Args:
            recommendations: ``user``, ``item`` and ``rank`` (1 = top) or ``score`` (higher =
                better); without either, each user's rows are taken in file order.
            test: ``user``, ``item``: held-out relevant items.
            train: ``user``, ``item``: interactions known when the lists were made.
            user_attributes: Indexed by user id.
            item_attributes: Indexed by item id.
            items: The whole catalogue; default every item of ``train``, ``test``, the lists
                and ``item_attributes``. Items never recommended must be in it for exposure and
                Gini to be right.
            user_attribute_kinds, item_attribute_kinds: Attribute kinds where the dtype is not
                enough (tuples -> ``multi``, numbers -> ``numeric``, else ``categorical``).
        """
        _require(recommendations, ("user", "item"), "recommendations")
        _require(test, ("user", "item"), "test")
        _require(train, ("user", "item"), "train")
        if len(recommendations) == 0:
            raise DataError("recommendations: the table is empty; nothing to audit")
        if len(test) == 0:
            raise DataError("test: the table is empty; the audit needs held-out relevant items")
        if items is None:
            parts = [train["item"], test["item"], recommendations["item"]]
            if item_attributes is not None:
                parts.append(item_attributes.index.to_series())
            item_ids = pd.Index(pd.unique(pd.concat(parts, ignore_index=True)), name="item")
        else:
            item_ids = pd.Index(items, name="item")
            if not item_ids.is_unique:
                raise DataError("items: the catalogue lists some item ids more than once")
        user_parts = [train["user"], test["user"], recommendations["user"]]
        user_ids = pd.Index(pd.unique(pd.concat(user_parts, ignore_index=True)), name="user")
        lists, list_users = _lists(recommendations, user_ids, item_ids)
        n_users, n_items = len(user_ids), len(item_ids)
        relevant = _matrix(test, user_ids, item_ids, "test", binary=True)
        counts = _matrix(train, user_ids, item_ids, "train", binary=False)
        seen = counts.copy()
        seen.data[:] = 1.0
        return cls(
            user_ids=user_ids,
            item_ids=item_ids,
            lists=lists,
            list_users=list_users,
            relevant=relevant,
            seen=seen,
            popularity=np.asarray(counts.sum(axis=0)).ravel().astype(np.float64),
            activity=np.asarray(counts.sum(axis=1)).ravel().astype(np.float64),
            user_attributes=_attributes(user_attributes, user_ids, "user", n_users),
            item_attributes=_attributes(item_attributes, item_ids, "item", n_items),
            user_attribute_kinds=_kinds(user_attributes, user_attribute_kinds),
            item_attribute_kinds=_kinds(item_attributes, item_attribute_kinds),
        )

    @classmethod
    def from_split(
        cls,
        split: Split,
        *,
        recommendations: pd.DataFrame | RankedLists,
        history: str = "train+valid",
    ) -> AuditData:
        """Audit inputs of an equirec split: its test part, and what was known before it.

        Args:
            split: The split the lists were made on.
            recommendations: The lists (:class:`~equirec.data.lists.RankedLists` or a
                ``user, rank, item, score`` frame in original ids).
            history: What was known: ``"train+valid"`` or ``"train"`` (see
                :class:`~equirec.data.known.KnownData`).
        """
        known = KnownData.from_split(split, history=history)
        if isinstance(recommendations, RankedLists):
            recommendations = recommendations.to_frame()
        data = known.dataset
        return cls.from_frames(
            recommendations=recommendations,
            test=split.test.interactions[["user", "item"]],
            train=data.interactions[["user", "item"]],
            user_attributes=data.user_attributes,
            item_attributes=data.item_attributes,
            items=data.item_ids,
            user_attribute_kinds=dict(data.user_attribute_kinds),
            item_attribute_kinds=dict(data.item_attribute_kinds),
        )


def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"{what}: missing column(s) {missing}; it has {list(frame.columns)}; "
            f"expected at least {list(columns)}"
        )


def _index(vocab: pd.Index, values: pd.Series, what: str, column: str) -> np.ndarray:
    idx = vocab.get_indexer(pd.Index(values))
    if (idx < 0).any():
        bad = values[idx < 0].iloc[0]
        raise DataError(
            f"{what}: {column} {bad!r} is not in the catalogue of {len(vocab)} {column}s "
            f"({int((idx < 0).sum())} row(s)); pass the full catalogue with items=..."
        )
    return idx.astype(np.int64)


def _lists(
    recs: pd.DataFrame, user_ids: pd.Index, item_ids: pd.Index
) -> tuple[np.ndarray, np.ndarray]:
    if recs["user"].isna().any() or recs["item"].isna().any():
        raise DataError("recommendations: some rows have no user or item id (NaN)")
    df = recs.reset_index(drop=True)
    df = df.assign(_order=np.arange(len(df)))
    if "rank" in df.columns:
        if not pd.api.types.is_numeric_dtype(df["rank"]) or df["rank"].isna().any():
            raise DataError("recommendations: column 'rank' must hold numbers (1 = top)")
        df = df.sort_values(["user", "rank", "_order"], kind="stable")
    elif "score" in df.columns:
        if not pd.api.types.is_numeric_dtype(df["score"]):
            raise DataError("recommendations: column 'score' must hold numbers")
        df = df.assign(_neg=-df["score"]).sort_values(["user", "_neg", "_order"], kind="stable")
    dup = df.duplicated(["user", "item"])
    if dup.any():
        row = df[dup].iloc[0]
        raise DataError(
            f"recommendations: item {row['item']!r} appears twice in the list of user "
            f"{row['user']!r}; every list must hold distinct items"
        )
    users = _index(user_ids, df["user"], "recommendations", "user")
    items = _index(item_ids, df["item"], "recommendations", "item")
    order = np.argsort(users, kind="stable")
    users, items = users[order], items[order]
    list_users, starts, lengths = np.unique(users, return_index=True, return_counts=True)
    out = np.full((len(list_users), int(lengths.max())), -1, dtype=np.int64)
    pos = np.arange(len(users)) - np.repeat(starts, lengths)
    out[np.repeat(np.arange(len(list_users)), lengths), pos] = items
    return out, list_users


def _matrix(
    frame: pd.DataFrame, user_ids: pd.Index, item_ids: pd.Index, what: str, *, binary: bool
) -> sp.csr_matrix:
    users = _index(user_ids, frame["user"], what, "user")
    items = _index(item_ids, frame["item"], what, "item")
    m = sp.csr_matrix((np.ones(len(users)), (users, items)), shape=(len(user_ids), len(item_ids)))
    m.sum_duplicates()
    if binary:
        m.data[:] = 1.0
    return m


def _attributes(table: pd.DataFrame | None, ids: pd.Index, what: str, n: int) -> pd.DataFrame:
    if table is None:
        return pd.DataFrame(index=ids)
    if not table.index.is_unique:
        dup = table.index[table.index.duplicated()][0]
        raise DataError(f"{what} attributes: {what} {dup!r} has more than one row")
    return table.reindex(ids)


def _kinds(table: pd.DataFrame | None, given: dict[str, str] | None) -> dict[str, str]:
    if table is None:
        return {}
    given = given or {}
    kinds: dict[str, str] = {}
    for col in table.columns:
        if col in given:
            kinds[str(col)] = given[col]
        elif pd.api.types.is_numeric_dtype(table[col]):
            kinds[str(col)] = "numeric"
        elif table[col].map(lambda v: isinstance(v, (tuple, list))).any():
            kinds[str(col)] = "multi"
        else:
            kinds[str(col)] = "categorical"
    return kinds
