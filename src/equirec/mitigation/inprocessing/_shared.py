"""What the in-processing loss terms share: parameter and group-code checks, batch plumbing.

Private to :mod:`equirec.mitigation.inprocessing`: the checks of ``lam`` and of group codes, the
user groups of a dataset attribute, and the helpers that read a batch (the first row of every
user, the users and their representations, a zero attached to the graph).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch

from equirec.data.dataset import Dataset
from equirec.errors import ConfigError, DataError
from equirec.fairness.groups import Groups, categorical_groups
from equirec.training.trainer import Batch, Outputs


def _check_lam(lam: float, what: str) -> float:
    value = float(lam)
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"{what}: lam (λ) must be a finite number >= 0, got {lam!r}")
    return value


def _codes(groups: Groups | np.ndarray | torch.Tensor | Sequence[int], what: str) -> np.ndarray:
    """Integer codes (``-1`` = no group) from :class:`Groups` or an array of codes."""
    raw = groups.codes if isinstance(groups, Groups) else groups
    if isinstance(raw, torch.Tensor):
        raw = raw.detach().cpu().numpy()
    arr = np.asarray(raw)
    if arr.ndim != 1:
        raise DataError(f"{what}: group codes must be 1-D (one per unit), got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise DataError(f"{what}: group codes must be integers (-1 = missing), got {arr.dtype}")
    codes = arr.astype(np.int64)
    if (codes < -1).any():
        raise DataError(f"{what}: group codes must be >= -1 (-1 = missing), got {codes.min()}")
    return codes


def _n_classes(codes: np.ndarray, name: str, what: str, *, unit: str = "user") -> int:
    present = np.unique(codes[codes >= 0])
    if len(present) < 2:
        raise ConfigError(
            f"{what}: {unit} attribute {name!r} has {len(present)} class(es) with a value; "
            "it needs at least two to debias"
        )
    return int(codes.max()) + 1


def _user_groups(dataset: Dataset, attribute: str, what: str) -> Groups:
    """The categorical groups of a user attribute of ``dataset`` (ConfigError if unusable)."""
    kinds = dataset.user_attribute_kinds
    if dataset.user_attributes is None or attribute not in kinds:
        raise ConfigError(
            f"{what}: unknown user attribute {attribute!r}; the dataset {dataset.name!r} has "
            f"{sorted(kinds) if kinds else 'no user attributes'}"
        )
    if kinds[attribute] not in ("categorical", "numeric"):
        raise ConfigError(
            f"{what}: user attribute {attribute!r} is {kinds[attribute]}; use a categorical one "
            "(or a numeric one, each value a class)"
        )
    return categorical_groups(dataset.user_attributes[attribute], name=attribute)


def _first_rows(users: torch.Tensor) -> torch.Tensor:
    """Row of the first occurrence of every distinct user, in order of first occurrence."""
    uniq, inverse = torch.unique(users, return_inverse=True)
    rows = torch.arange(len(users), device=users.device)
    first = torch.full((len(uniq),), len(users), dtype=rows.dtype, device=users.device)
    first = first.scatter_reduce(0, inverse, rows, reduce="amin")
    return torch.sort(first).values


def _zero(tensor: torch.Tensor) -> torch.Tensor:
    """A zero scalar attached to the graph of ``tensor`` (so ``backward`` works)."""
    return tensor.sum() * 0.0


def _users_and_reprs(
    batch: Batch, outputs: Outputs, what: str
) -> tuple[torch.Tensor, torch.Tensor]:
    if "users" not in batch or "user_repr" not in outputs:
        raise DataError(
            f"{what}: needs batch['users'] and outputs['user_repr'] (BPR, SASRec and BERT4Rec "
            f"provide them); got batch keys {sorted(batch)} and outputs keys {sorted(outputs)}"
        )
    users, reprs = batch["users"], outputs["user_repr"]
    if users.dim() != 1 or reprs.dim() != 2 or users.shape[0] != reprs.shape[0]:
        raise DataError(
            f"{what}: batch['users'] {tuple(users.shape)} and outputs['user_repr'] "
            f"{tuple(reprs.shape)} must have one row per user row (B,) and (B, D)"
        )
    return users, reprs
