"""Most-popular baseline: every user gets the items with the most training interactions."""

from __future__ import annotations

import numpy as np
import torch

from equirec.data.dataset import Dataset
from equirec.data.history import History
from equirec.models.base import Recommender
from equirec.models.registry import register


@register
class Popularity(Recommender):
    """Rank items by their number of training interactions (distinct users, by default).

    Args:
        count: ``"users"`` counts each user once per item; ``"interactions"`` counts repeats.
    """

    name = "pop"

    def __init__(self, *, count: str = "users") -> None:
        self.count = count

    def _fit(self, train: History, *, valid: History | None, dataset: Dataset) -> None:
        if self.count == "users":
            counts = np.asarray(train.csr(binary=True).sum(axis=0)).ravel()
        elif self.count == "interactions":
            counts = train.item_counts()
        else:
            raise ValueError(
                f"Popularity.count must be 'users' or 'interactions', not {self.count!r}"
            )
        self.counts_ = torch.as_tensor(counts, dtype=torch.float32)

    def _score(self, users: np.ndarray, history: History) -> torch.Tensor:
        return self.counts_.expand(len(users), -1)

    def _state(self) -> dict[str, torch.Tensor]:
        return {"counts": self.counts_}

    def _load_state(self, state: dict[str, torch.Tensor]) -> None:
        self.counts_ = state["counts"]
