"""Compact per-user interaction histories in internal indices.

A :class:`History` is what models consume: for every user (internal index ``0..n_users-1``) the
items they interacted with, in chronological order (ties kept in file order), with one weight per
interaction. It is a CSR-like structure (``indptr`` / ``items`` / ``weights``) so it converts
cheaply to a sparse user x item matrix or to padded sequences.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class History:
    """Chronological interaction lists of every user, in internal indices.

    Attributes:
        indptr: ``(n_users + 1,)`` offsets; user ``u`` owns ``items[indptr[u]:indptr[u + 1]]``.
        items: Internal item indices, chronological within each user.
        weights: One float weight per interaction (1.0 unless re-weighted).
        n_items: Size of the item catalogue (the vocabulary, not only the items present).
    """

    indptr: np.ndarray
    items: np.ndarray
    weights: np.ndarray
    n_items: int

    def __post_init__(self) -> None:
        if self.indptr.ndim != 1 or self.indptr[0] != 0 or self.indptr[-1] != len(self.items):
            raise ValueError("History.indptr must start at 0 and end at len(items)")
        if len(self.weights) != len(self.items):
            raise ValueError("History.weights must have one entry per item")

    @classmethod
    def from_arrays(
        cls,
        *,
        users: np.ndarray,
        items: np.ndarray,
        n_users: int,
        n_items: int,
        weights: np.ndarray | None = None,
    ) -> History:
        """Build from parallel arrays already in chronological order (a stable sort keeps it)."""
        users = np.asarray(users, dtype=np.int64)
        items = np.asarray(items, dtype=np.int64)
        w = (
            np.ones(len(items), dtype=np.float32)
            if weights is None
            else np.asarray(weights, dtype=np.float32)
        )
        order = np.argsort(users, kind="stable")
        counts = np.bincount(users, minlength=n_users)
        indptr = np.zeros(n_users + 1, dtype=np.int64)
        np.cumsum(counts, out=indptr[1:])
        return cls(indptr=indptr, items=items[order], weights=w[order], n_items=int(n_items))

    @classmethod
    def from_sequences(cls, sequences: Sequence[np.ndarray], *, n_items: int) -> History:
        """One user per sequence of internal item indices (each chronological), in order."""
        lengths = [len(seq) for seq in sequences]
        items = [np.asarray(seq, dtype=np.int64) for seq in sequences]
        return cls.from_arrays(
            users=np.repeat(np.arange(len(sequences), dtype=np.int64), lengths),
            items=np.concatenate(items) if items else np.zeros(0, dtype=np.int64),
            n_users=len(sequences),
            n_items=n_items,
        )

    @property
    def n_users(self) -> int:
        return len(self.indptr) - 1

    def __len__(self) -> int:
        return len(self.items)

    def lengths(self) -> np.ndarray:
        """Number of interactions of every user."""
        return np.diff(self.indptr)

    def users(self) -> np.ndarray:
        """The user index of every interaction (parallel to ``items``)."""
        return np.repeat(np.arange(self.n_users, dtype=np.int64), self.lengths())

    def sequence(self, user: int) -> np.ndarray:
        """The chronological item indices of one user."""
        return self.items[self.indptr[user] : self.indptr[user + 1]]

    def sequences(self, *, min_length: int = 0) -> list[np.ndarray]:
        """The chronological item indices of every user with at least ``min_length`` items."""
        return [self.sequence(int(u)) for u in np.flatnonzero(self.lengths() >= max(1, min_length))]

    def rows(self, users: np.ndarray) -> sp.csr_matrix:
        """Binary ``(len(users), n_items)`` matrix of the items of the given users.

        Costs time in the number of those users' interactions only (not the whole history), so it
        can be called for every scoring batch.

        Args:
            users: Internal user indices (a batch).
        """
        users = np.asarray(users, dtype=np.int64)
        starts, ends = self.indptr[users], self.indptr[users + 1]
        lengths = ends - starts
        indptr = np.zeros(len(users) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        offsets = np.arange(indptr[-1]) - np.repeat(indptr[:-1], lengths)
        items = self.items[np.repeat(starts, lengths) + offsets]
        data = np.ones(len(items), dtype=np.float32)
        m = sp.csr_matrix((data, items, indptr), shape=(len(users), self.n_items))
        m.sum_duplicates()
        m.data[:] = 1.0
        return m

    def csr(self, *, binary: bool = True) -> sp.csr_matrix:
        """User x item sparse matrix; duplicates collapse to 1 if ``binary``, else weights sum."""
        data = np.ones(len(self.items), dtype=np.float32) if binary else self.weights
        m = sp.csr_matrix(
            (data, self.items, self.indptr.copy()), shape=(self.n_users, self.n_items)
        )
        m.sum_duplicates()
        if binary:
            m.data[:] = 1.0
        return m

    def item_counts(self) -> np.ndarray:
        """Number of interactions of every item of the catalogue (zeros included)."""
        return np.bincount(self.items, minlength=self.n_items)

    def padded(self, users: np.ndarray, max_len: int) -> np.ndarray:
        """Last ``max_len`` items of each user, left-padded with ``-1``.

        Returns an array of shape ``(len(users), max_len)``.
        """
        out = np.full((len(users), max_len), -1, dtype=np.int64)
        for row, u in enumerate(users):
            seq = self.sequence(int(u))[-max_len:]
            if len(seq):
                out[row, max_len - len(seq) :] = seq
        return out

    def concat(self, later: History) -> History:
        """Append ``later``'s interactions after this history's, user by user."""
        if later.n_users != self.n_users or later.n_items != self.n_items:
            raise ValueError("histories must share the same vocabularies to be concatenated")
        users = np.concatenate([self.users(), later.users()])
        items = np.concatenate([self.items, later.items])
        weights = np.concatenate([self.weights, later.weights])
        return History.from_arrays(
            users=users, items=items, weights=weights, n_users=self.n_users, n_items=self.n_items
        )
