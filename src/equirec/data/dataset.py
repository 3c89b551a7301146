"""The :class:`Dataset`: an interaction log with id vocabularies and attribute tables.

Original user and item ids are kept end to end: the vocabularies ``user_ids`` / ``item_ids`` map
internal indices (positions) back to them, and every output of equirec speaks original ids. Subsets
(train / validation / test parts of a split) share the vocabularies of the dataset they come from,
so the catalogue a model ranks over is always the whole catalogue.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from equirec.data._tables import plain
from equirec.data.history import History
from equirec.errors import DataError

AttributeKind = Literal["categorical", "numeric", "multi", "text"]
"""How an attribute column is interpreted.

``categorical``: one label per row (gender, occupation); ``numeric``: a number (age, year);
``multi``: a tuple of labels (genres); ``text``: free text (title), for content models later.
"""

INTERACTION_COLUMNS = ("user", "item", "timestamp")


class Dataset:
    """Interactions (user, item, timestamp, optional rating and weight) plus attribute tables.

    Args:
        interactions: One row per interaction with columns ``user``, ``item``, ``timestamp`` and
            optionally ``rating`` and ``weight``. Rows are put in chronological order with a stable
            sort, so interactions with equal timestamps keep their order in the input.
        user_attributes: Optional table indexed by original user id (e.g. gender, age, occupation).
        item_attributes: Optional table indexed by original item id (e.g. title, year, genres).
        user_attribute_kinds: :data:`AttributeKind` of each user attribute column; inferred
            (numeric dtype -> ``numeric``, otherwise ``categorical``) where not given.
        item_attribute_kinds: Same for item attributes (tuples/lists -> ``multi``).
        name: A short name used in reports.
        user_ids: Vocabulary of users (defaults to users in order of first appearance).
        item_ids: Vocabulary of items (defaults to items in order of first appearance). Subsets keep
            the vocabulary of their parent, so items without interactions stay in the catalogue.
        info: Free-form provenance recorded in results (source file, preprocessing applied...).
    """

    def __init__(
        self,
        *,
        interactions: pd.DataFrame,
        user_attributes: pd.DataFrame | None = None,
        item_attributes: pd.DataFrame | None = None,
        user_attribute_kinds: Mapping[str, AttributeKind] | None = None,
        item_attribute_kinds: Mapping[str, AttributeKind] | None = None,
        name: str = "custom",
        user_ids: pd.Index | None = None,
        item_ids: pd.Index | None = None,
        info: Mapping[str, Any] | None = None,
    ) -> None:
        missing = [c for c in INTERACTION_COLUMNS if c not in interactions.columns]
        if missing:
            raise DataError(
                f"dataset {name!r}: interactions lack column(s) {missing}; "
                f"expected columns {list(INTERACTION_COLUMNS)} (plus optional 'rating', 'weight')"
            )
        self.name = name
        self.info: dict[str, Any] = dict(info or {})
        if user_ids is None:
            user_ids = pd.Index(pd.unique(interactions["user"]), name="user")
        if item_ids is None:
            item_ids = pd.Index(pd.unique(interactions["item"]), name="item")
        self.user_ids: pd.Index = user_ids
        self.item_ids: pd.Index = item_ids
        if not self.user_ids.is_unique or not self.item_ids.is_unique:
            raise DataError(f"dataset {name!r}: user and item vocabularies must be unique")

        df = interactions.copy()
        df["user_idx"] = self._lookup(self.user_ids, df["user"], "user")
        df["item_idx"] = self._lookup(self.item_ids, df["item"], "item")
        if "weight" not in df.columns:
            df["weight"] = np.float32(1.0)
        df = df.sort_values("timestamp", kind="stable").reset_index(drop=True)
        self.interactions: pd.DataFrame = df

        self.user_attributes = _attribute_table(user_attributes, self.user_ids, "user", name)
        self.item_attributes = _attribute_table(item_attributes, self.item_ids, "item", name)
        self.user_attribute_kinds = _kinds(self.user_attributes, user_attribute_kinds)
        self.item_attribute_kinds = _kinds(self.item_attributes, item_attribute_kinds)

    @staticmethod
    def _lookup(vocab: pd.Index, values: pd.Series, what: str) -> np.ndarray:
        idx = vocab.get_indexer(pd.Index(values))
        if (idx < 0).any():
            bad = plain(values[idx < 0].iloc[0])
            raise DataError(f"{what} id {bad!r} is not in the {what} vocabulary")
        return idx.astype(np.int64)

    # -- sizes -----------------------------------------------------------------------------------
    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def __len__(self) -> int:
        return len(self.interactions)

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, users={self.n_users}, items={self.n_items}, "
            f"interactions={len(self)})"
        )

    def item_titles(self) -> list[str | None]:
        """Every item's title (its ``title`` attribute, when it is non-empty text), by position;
        ``None`` where an item has none."""
        table = self.item_attributes
        if table is None or "title" not in table.columns:
            return [None] * self.n_items
        return [t if isinstance(t, str) and t else None for t in table["title"].tolist()]

    # -- views -----------------------------------------------------------------------------------
    def history(self) -> History:
        """Chronological item lists of every user of the vocabulary, in internal indices."""
        df = self.interactions
        return History.from_arrays(
            users=df["user_idx"].to_numpy(),
            items=df["item_idx"].to_numpy(),
            weights=df["weight"].to_numpy(dtype=np.float32),
            n_users=self.n_users,
            n_items=self.n_items,
        )

    def subset(self, mask: np.ndarray | pd.Series, *, name: str | None = None) -> Dataset:
        """Rows selected by a boolean mask, with the same vocabularies and attribute tables."""
        rows = self.interactions.loc[np.asarray(mask, dtype=bool), self._public_columns()]
        return self._derive(rows, name=name or self.name)

    def with_interactions(self, interactions: pd.DataFrame, *, name: str | None = None) -> Dataset:
        """A dataset with other interactions but this one's vocabularies and attributes."""
        return self._derive(interactions, name=name or self.name)

    def _derive(self, rows: pd.DataFrame, *, name: str) -> Dataset:
        return Dataset(
            interactions=rows,
            user_attributes=self.user_attributes,
            item_attributes=self.item_attributes,
            user_attribute_kinds=self.user_attribute_kinds,
            item_attribute_kinds=self.item_attribute_kinds,
            name=name,
            user_ids=self.user_ids,
            item_ids=self.item_ids,
            info=self.info,
        )

    def _public_columns(self) -> list[str]:
        return [c for c in self.interactions.columns if c not in ("user_idx", "item_idx")]

    def restrict_vocabulary(self) -> Dataset:
        """A copy whose vocabularies hold only the users and items that have interactions.

        Used after filtering (k-core, rating threshold) so that removed users and items leave the
        catalogue too.
        """
        df = self.interactions[self._public_columns()]
        users = self.user_ids[
            np.bincount(self.interactions["user_idx"], minlength=self.n_users) > 0
        ]
        items = self.item_ids[
            np.bincount(self.interactions["item_idx"], minlength=self.n_items) > 0
        ]
        ua = None if self.user_attributes is None else self.user_attributes.loc[users]
        ia = None if self.item_attributes is None else self.item_attributes.loc[items]
        return Dataset(
            interactions=df,
            user_attributes=ua,
            item_attributes=ia,
            user_attribute_kinds=self.user_attribute_kinds,
            item_attribute_kinds=self.item_attribute_kinds,
            name=self.name,
            user_ids=users,
            item_ids=items,
            info=self.info,
        )

    def user_index(self, users: Iterable[Any]) -> np.ndarray:
        """Internal indices of original user ids; unknown ids raise a :class:`DataError`."""
        return self._lookup(self.user_ids, pd.Series(list(users)), "user")

    def item_index(self, items: Iterable[Any]) -> np.ndarray:
        """Internal indices of original item ids; unknown ids raise a :class:`DataError`."""
        return self._lookup(self.item_ids, pd.Series(list(items)), "item")

    def stats(self) -> dict[str, Any]:
        """Summary numbers recorded with every result."""
        df = self.interactions
        n_active_users = int(df["user_idx"].nunique()) if len(df) else 0
        n_active_items = int(df["item_idx"].nunique()) if len(df) else 0
        return {
            "name": self.name,
            "users": self.n_users,
            "items": self.n_items,
            "interactions": len(df),
            "active_users": n_active_users,
            "active_items": n_active_items,
            "density": len(df) / max(1, self.n_users * self.n_items),
            "user_attributes": list(self.user_attribute_kinds),
            "item_attributes": list(self.item_attribute_kinds),
            **{k: v for k, v in self.info.items() if isinstance(v, (str, int, float, bool))},
        }


def _attribute_table(
    table: pd.DataFrame | None, vocab: pd.Index, what: str, name: str
) -> pd.DataFrame | None:
    if table is None:
        return None
    if not table.index.is_unique:
        dup = table.index[table.index.duplicated()][0]
        raise DataError(f"dataset {name!r}: {what} attribute table has duplicate {what} id {dup!r}")
    unknown = table.index.difference(vocab)
    if len(unknown):
        raise DataError(
            f"dataset {name!r}: {what} attribute table has {len(unknown)} row(s) for {what}s "
            f"absent from the interactions, e.g. {what} id {unknown[0]!r}; remove them or check "
            f"the id column"
        )
    return table.reindex(vocab)


def _kinds(
    table: pd.DataFrame | None, given: Mapping[str, AttributeKind] | None
) -> dict[str, AttributeKind]:
    if table is None:
        return {}
    given = dict(given or {})
    kinds: dict[str, AttributeKind] = {}
    for col in table.columns:
        if col in given:
            kinds[col] = given[col]
        elif pd.api.types.is_numeric_dtype(table[col]):
            kinds[col] = "numeric"
        elif table[col].map(lambda v: isinstance(v, (tuple, list))).any():
            kinds[col] = "multi"
        else:
            kinds[col] = "categorical"
    return kinds
