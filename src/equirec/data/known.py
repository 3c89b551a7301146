"""What was known before the test: the one "known history" of a split, and what follows from it.

A model ranks a test user's items from what was known when the lists were made: the training
interactions and, by default, the validation ones after them (``history="train+valid"``). With
``history="train"`` the model reads the training part only, and the validation items are still
left out of the ranking. Evaluation, re-ranking side information, leakage probes and a saved
run's recommendations all read this one object, so they can never disagree about it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp

from equirec.data.dataset import Dataset
from equirec.data.history import History
from equirec.data.splits import Split
from equirec.errors import DataError

__all__ = ["KNOWN_HISTORIES", "KnownData", "KnownHistory"]

KnownHistory = Literal["train+valid", "train"]
KNOWN_HISTORIES: tuple[KnownHistory, ...] = ("train+valid", "train")


@dataclass(frozen=True)
class KnownData:
    """The interactions known before the test, with the whole vocabularies and attribute tables.

    Attributes:
        dataset: The known interactions as a :class:`Dataset` (training, then validation when it
            was read), sharing the split's vocabularies and attributes.
        history: What the model reads at test time, user by user in that order.
        exclude: Further histories whose items are left out of the ranking (the validation part
            when ``history="train"``); empty otherwise.
        mode: ``"train+valid"`` or ``"train"``.
        derived: What higher layers derive from it and reuse (the re-rankers' item groups),
            computed once per object; never part of its value.
    """

    dataset: Dataset
    history: History
    exclude: tuple[History, ...] = field(default=())
    mode: KnownHistory = "train+valid"
    derived: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_split(cls, split: Split, *, history: str = "train+valid") -> KnownData:
        """The known data of ``split``: its training part, then validation unless ``"train"``.

        Raises:
            DataError: ``history`` is neither ``"train+valid"`` nor ``"train"``.
        """
        if history not in KNOWN_HISTORIES:
            raise DataError(f"history must be 'train+valid' or 'train', got {history!r}")
        train_history = split.train.history()
        if history == "train":
            return cls(
                dataset=split.train,
                history=train_history,
                exclude=(split.valid.history(),),
                mode="train",
            )
        both = pd.concat([split.train.interactions, split.valid.interactions], ignore_index=True)
        cols = [c for c in ("user", "item", "timestamp", "rating", "weight") if c in both]
        return cls(
            dataset=split.train.with_interactions(both[cols], name="known"),
            history=train_history.concat(split.valid.history()),
            mode="train+valid",
        )

    @classmethod
    def from_dataset(cls, known: Dataset) -> KnownData:
        """Known data that is exactly ``known`` (nothing excluded besides its own items)."""
        return cls(dataset=known, history=known.history(), mode="train+valid")

    @cached_property
    def seen(self) -> sp.csr_matrix:
        """``(n_users, n_items)`` binary CSR of the known interactions."""
        return sp.csr_matrix(self.history.csr(binary=True))

    @cached_property
    def popularity(self) -> np.ndarray:
        """Known interactions per item, float64: every interaction counts 1, whatever its weight
        (the popularity of ARP, novelty, head/tail and the audit, all the same)."""
        return self.history.item_counts().astype(np.float64)

    @property
    def popularity_source(self) -> str:
        """What :attr:`popularity` counts, in words: ``"known interactions (train+valid)"``."""
        return f"known interactions ({self.mode})"

    @cached_property
    def activity(self) -> np.ndarray:
        """Known interactions per user, float64 (every interaction counts 1)."""
        return self.history.lengths().astype(np.float64)

    @property
    def users_with_history(self) -> np.ndarray:
        """Internal indices of the users with at least one known interaction."""
        return np.flatnonzero(self.history.lengths() > 0)
