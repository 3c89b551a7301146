"""Train / validation / test splits (leave-one-out, global temporal, random per-user holdout)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from equirec.data.dataset import Dataset


@dataclass(frozen=True)
class Split:
    """The three parts of a split; all share the vocabularies of the dataset they come from.

    Attributes:
        train: Interactions the model learns from.
        valid: Held-out interactions for early stopping and tuning (may be empty).
        test: Held-out interactions for the final evaluation.
        name: Split method name (``loo``, ``temporal``, ``random``).
        params: The split's parameters (seed, fractions...), recorded with results.
    """

    train: Dataset
    valid: Dataset
    test: Dataset
    name: str
    params: dict[str, Any] = field(default_factory=dict)
