"""Ranked lists: the one type top-k lists travel as, from models to evaluation and re-rankers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from equirec.errors import DataError

__all__ = ["RankedLists"]


@dataclass(frozen=True, eq=False)
class RankedLists:
    """Ranked item lists, one row per list (normally one per user): equirec's one list type.

    A model's top-k (:meth:`~equirec.models.base.Recommender.rank`), the candidates a re-ranker
    chooses from and the lists it returns, what evaluation scores and what the audit reads are all
    this type; :meth:`to_frame` / :meth:`from_frame` convert to and from the
    ``user, rank, item, score`` frame of ``recommendations.csv``. Immutable: the arrays are copied
    and made read-only.

    Attributes:
        items: ``(n_lists, N)`` int64 item indices, best first; ``-1`` marks padding of a list with
            fewer than ``N`` candidates.
        scores: ``(n_lists, N)`` float64 model scores of those items; NaN at padding.
        users: ``(n_lists,)`` int64 user index of every list.
        user_ids: The user vocabulary (position = internal user index), or ``None``.
        item_ids: The item vocabulary (position = internal item index), or ``None``; both are
            needed by :meth:`to_frame`.

    The constructor copies the arrays to these dtypes, sets the scores at padding to NaN and raises
    :class:`~equirec.errors.DataError` on inconsistent shapes, an item index below ``-1``, a
    non-finite score of a real item or an item repeated within a list.
    """

    items: np.ndarray
    scores: np.ndarray
    users: np.ndarray
    user_ids: pd.Index | None = field(default=None, repr=False, compare=False)
    item_ids: pd.Index | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        items = np.array(self.items, dtype=np.int64, copy=True)
        scores = np.array(self.scores, dtype=np.float64, copy=True)
        users = np.array(self.users, dtype=np.int64, copy=True)
        if items.ndim != 2:
            raise DataError(
                f"RankedLists.items must be a 2-d (n_lists, N) array, got shape {items.shape}."
            )
        if scores.shape != items.shape:
            raise DataError(
                f"RankedLists.scores has shape {scores.shape} but items has shape {items.shape}; "
                "give one score per candidate."
            )
        if users.shape != (items.shape[0],):
            raise DataError(
                f"RankedLists.users has shape {users.shape}; expected ({items.shape[0]},), "
                "one user index per list."
            )
        if items.size and items.min() < -1:
            raise DataError(
                f"RankedLists.items holds {items.min()}; item indices are >= 0 and -1 is padding."
            )
        valid = items >= 0
        if not np.isfinite(scores[valid]).all():
            row = int(np.nonzero((~np.isfinite(np.where(valid, scores, 0.0))).any(axis=1))[0][0])
            raise DataError(
                f"RankedLists.scores is NaN or infinite for a real item in list {row}; every "
                "candidate needs a finite score (only padding, item -1, may have none)."
            )
        scores[~valid] = np.nan
        if items.shape[1] > 1:
            ordered = np.sort(items, axis=1)
            dup = (ordered[:, 1:] == ordered[:, :-1]) & (ordered[:, 1:] >= 0)
            if dup.any():
                row = int(np.nonzero(dup.any(axis=1))[0][0])
                item = int(ordered[row, 1:][dup[row]][0])
                raise DataError(
                    f"List {row} holds item {item} more than once; every item may "
                    "appear at most once per list."
                )
        for array in (items, scores, users):
            array.setflags(write=False)
        object.__setattr__(self, "items", items)
        object.__setattr__(self, "scores", scores)
        object.__setattr__(self, "users", users)

    @property
    def n_lists(self) -> int:
        """Number of lists (rows)."""
        return int(self.items.shape[0])

    @property
    def width(self) -> int:
        """Number of candidate slots per list (``N``)."""
        return int(self.items.shape[1])

    @property
    def valid(self) -> np.ndarray:
        """``(n_lists, N)`` bool mask of the real (non-padding) candidates."""
        return self.items >= 0

    @property
    def lengths(self) -> np.ndarray:
        """``(n_lists,)`` number of real candidates of every list."""
        return self.valid.sum(axis=1)

    def check_items(self, n_items: int, *, what: str = "item side information") -> None:
        """Raise :class:`DataError` if a candidate item index is ``>= n_items``.

        Args:
            n_items: Number of items the re-ranker's per-item arrays cover.
            what: Name of those arrays, for the message.
        """
        if self.items.size and int(self.items.max()) >= n_items:
            raise DataError(
                f"A candidate has item index {int(self.items.max())} but the {what} covers only "
                f"{n_items} items; build both from the same item vocabulary."
            )

    def check_unseen(self, seen: Any, *, owner: str) -> None:
        """Raise :class:`DataError` if a candidate is among its user's known (training) items.

        Models' top-N lists exclude the items a user already has; re-ranking lists that hold
        them would waste slots on them and inflate a re-ranker's gains over the baseline.

        Args:
            seen: The known interactions, users x items: a scipy sparse matrix or array (stored
                non-zeros count) or a :class:`~equirec.data.history.History`.
            owner: Class name, for the messages.
        """
        leaked = self._seen_mask(seen, owner=owner)
        if leaked.any():
            r, c = np.argwhere(leaked)[0]
            raise DataError(
                f"{owner}: candidate item {int(self.items[r, c])} of list {int(r)} "
                f"(user {int(self.users[r])}) is one of the user's training items. "
                "Candidate lists must exclude training items (as the models' recommend does); "
                "re-ranking lists that contain them inflates the gains over the baseline."
            )

    def _seen_mask(self, seen: Any, *, owner: str) -> np.ndarray:
        """``(n_lists, N)`` mask of the candidates that are among their user's items in ``seen``."""
        if sp.issparse(seen):
            csr = sp.csr_array(seen)
            csr.eliminate_zeros()
            indptr, indices, n_users = csr.indptr, csr.indices, csr.shape[0]
        elif hasattr(seen, "indptr") and hasattr(seen, "items"):
            indptr, indices = np.asarray(seen.indptr), np.asarray(seen.items)
            n_users = len(indptr) - 1
        else:
            raise DataError(
                f"{owner}: seen must be a scipy sparse users x items matrix of training "
                f"interactions (or a History), got {type(seen).__name__}."
            )
        users = self.users
        if len(users) and (users.min() < 0 or users.max() >= n_users):
            raise DataError(
                f"{owner}: a candidate list belongs to user {int(users.max())} but seen covers "
                f"only {n_users} users; build both from the same user vocabulary."
            )
        starts = np.asarray(indptr[users], dtype=np.int64)
        counts = np.asarray(indptr[users + 1], dtype=np.int64) - starts
        total = int(counts.sum())
        valid = self.valid
        if total == 0 or not valid.any():
            return np.zeros_like(valid)
        offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
        seen_items = np.asarray(indices, dtype=np.int64)[offsets + np.arange(total)]
        seen_rows = np.repeat(np.arange(len(users), dtype=np.int64), counts)
        width = int(max(seen_items.max(), self.items.max())) + 1
        rows, cols = np.nonzero(valid)
        cand_keys = rows * width + self.items[rows, cols]
        mask = np.zeros_like(valid)
        mask[rows, cols] = np.isin(cand_keys, seen_rows * width + seen_items)
        return mask

    def select(self, lists: np.ndarray) -> RankedLists:
        """Lists made of a re-ranked selection of these lists, model scores carried along.

        Args:
            lists: ``(n_lists, k)`` item indices (``-1`` padding), every real item taken from the
                same row of :attr:`items`.

        Returns:
            New :class:`RankedLists` whose items are ``lists`` and whose scores are the scores these
            candidates give to the same items.

        Raises:
            DataError: if ``lists`` has the wrong number of rows or holds an item that is not a
                candidate of its row.
        """
        lists = np.asarray(lists, dtype=np.int64)
        if lists.ndim != 2 or lists.shape[0] != self.n_lists:
            raise DataError(f"A selection must have shape ({self.n_lists}, k); got {lists.shape}.")
        if self.width == 0 or lists.shape[1] == 0:
            if (lists >= 0).any():
                raise DataError("The selection holds items but the candidate lists are empty.")
            return self._with(
                np.full(lists.shape, -1, dtype=np.int64), np.full(lists.shape, np.nan)
            )
        # Position of every selected item within its row, via a per-row sort of the candidates.
        order = np.argsort(self.items, axis=1, kind="stable")
        sorted_items = np.take_along_axis(self.items, order, axis=1)
        pos = np.empty(lists.shape, dtype=np.int64)
        for r in range(self.n_lists):
            pos[r] = np.searchsorted(sorted_items[r], lists[r])
        pos = np.minimum(pos, self.width - 1)
        found = np.take_along_axis(sorted_items, pos, axis=1) == lists
        real = lists >= 0
        if (real & ~found).any():
            r, c = np.argwhere(real & ~found)[0]
            raise DataError(
                f"Item {int(lists[r, c])} in list {int(r)} is not one of that list's candidates."
            )
        cols = np.take_along_axis(order, pos, axis=1)
        scores = np.where(real, np.take_along_axis(self.scores, cols, axis=1), np.nan)
        return self._with(np.where(real, lists, -1), scores)

    def _with(self, items: np.ndarray, scores: np.ndarray) -> RankedLists:
        return RankedLists(
            items=items,
            scores=scores,
            users=self.users,
            user_ids=self.user_ids,
            item_ids=self.item_ids,
        )

    def head(self, k: int) -> RankedLists:
        """The first ``k`` items of every list."""
        return self._with(self.items[:, :k], self.scores[:, :k])

    @classmethod
    def from_frame(
        cls, recommendations: pd.DataFrame, *, user_ids: pd.Index, item_ids: pd.Index
    ) -> RankedLists:
        """Lists from a ``user, rank, item, score`` frame in original ids.

        Args:
            recommendations: One row per (user, item) with columns ``user``, ``item`` and
                ``score``; ``rank`` (1-based) is optional and orders each list when present,
                otherwise the score does (descending, ties in frame order).
            user_ids: The user vocabulary (position = internal user index).
            item_ids: The item vocabulary (position = internal item index).

        Returns:
            One list per distinct user, in order of first appearance in the frame, padded with
            ``-1`` to the longest list.

        Raises:
            DataError: On a missing column, an id not in the vocabularies, a NaN score or a user
                given the same item twice.
        """
        return _from_frame(recommendations, user_ids=user_ids, item_ids=item_ids)

    def to_frame(self) -> pd.DataFrame:
        """``user, rank, item, score`` in original ids (padding dropped), lists in row order.

        Raises:
            DataError: The lists carry no vocabularies.
        """
        if self.user_ids is None or self.item_ids is None:
            raise DataError(
                "these lists have no user/item vocabularies; build them with user_ids= and "
                "item_ids= to turn them into a frame"
            )
        keep = self.valid
        rows, ranks = np.nonzero(keep)
        return pd.DataFrame(
            {
                "user": self.user_ids[self.users[rows]],
                "rank": (ranks + 1).astype(np.int64),
                "item": self.item_ids[self.items[keep]],
                "score": self.scores[keep].astype(np.float64),
            }
        )


def _codes(values: pd.Series, vocab: pd.Index, what: str) -> np.ndarray:
    codes = vocab.get_indexer(pd.Index(values))
    if (codes < 0).any():
        bad = values.iloc[int(np.nonzero(codes < 0)[0][0])]
        bad = bad.item() if isinstance(bad, np.generic) else bad
        raise DataError(
            f"recommendations holds {what} {bad!r}, which is not in the {what} vocabulary; use "
            "the ids the model was trained with."
        )
    return codes.astype(np.int64)


def _from_frame(
    recommendations: pd.DataFrame, *, user_ids: pd.Index, item_ids: pd.Index
) -> RankedLists:
    missing = [c for c in ("user", "item", "score") if c not in recommendations.columns]
    if missing:
        raise DataError(
            f"recommendations lacks the column(s) {missing}; it needs user, item, score "
            "(and optionally rank), as returned by Recommender.recommend."
        )
    df = recommendations.reset_index(drop=True)
    users = _codes(df["user"], user_ids, "user")
    items = _codes(df["item"], item_ids, "item")
    scores = pd.to_numeric(df["score"], errors="coerce").to_numpy(dtype=np.float64)
    if np.isnan(scores).any():
        row = int(np.nonzero(np.isnan(scores))[0][0])
        raise DataError(f"recommendations row {row} has a missing or non-numeric score.")
    if "rank" in df.columns:
        rank = pd.to_numeric(df["rank"], errors="coerce").to_numpy(dtype=np.float64)
        if np.isnan(rank).any():
            row = int(np.nonzero(np.isnan(rank))[0][0])
            raise DataError(f"recommendations row {row} has a missing or non-numeric rank.")
        key = rank
    else:
        key = -scores
    if len(df) == 0:
        empty = np.zeros((0, 0))
        return RankedLists(
            items=empty, scores=empty, users=np.zeros(0), user_ids=user_ids, item_ids=item_ids
        )
    row_of_user, first = np.unique(users, return_index=True)
    list_order = np.argsort(first, kind="stable")
    list_users = row_of_user[list_order]
    list_of_row = np.empty(len(row_of_user), dtype=np.int64)
    list_of_row[list_order] = np.arange(len(row_of_user))
    lst = list_of_row[np.searchsorted(row_of_user, users)]
    order = np.lexsort((np.arange(len(df)), key, lst))
    lst, items, scores = lst[order], items[order], scores[order]
    counts = np.bincount(lst, minlength=len(list_users))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    col = np.arange(len(lst)) - np.repeat(starts, counts)
    width = int(counts.max()) if len(counts) else 0
    out_items = np.full((len(list_users), width), -1, dtype=np.int64)
    out_scores = np.full((len(list_users), width), np.nan)
    out_items[lst, col] = items
    out_scores[lst, col] = scores
    try:
        return RankedLists(
            items=out_items,
            scores=out_scores,
            users=list_users,
            user_ids=user_ids,
            item_ids=item_ids,
        )
    except DataError as err:
        raise DataError(f"recommendations: {err}") from None
