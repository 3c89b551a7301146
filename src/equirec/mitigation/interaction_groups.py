"""The group of every training interaction, and the interaction weight each group carries.

Used by the re-weighting and re-sampling of :mod:`equirec.mitigation.preprocessing` (whose
module docstring describes the groups): an interaction is grouped by an attribute of its user
(``by="user"``) or its item (``by="item"``), either a column of the dataset's attribute table
(categorical, or numeric in quantile bands) or a derived one computed from the data given
(``activity``, ``activity_band``, ``popularity``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from equirec.data.dataset import Dataset
from equirec.errors import ConfigError, DataError
from equirec.fairness.groups import (
    Groups,
    activity_groups,
    categorical_groups,
    quantile_groups,
)
from equirec.fairness.item_metrics import head_items

__all__ = ["ACTIVITY_TOP", "HEAD_SHARE", "ITEM_DERIVED", "NUMERIC_BANDS", "USER_DERIVED"]

ACTIVITY_TOP = 0.05
"""Share of the most active users in the derived ``activity`` group ``active`` (UGF)."""

HEAD_SHARE = 0.8
"""Share of interactions held by the ``head`` items of the derived ``popularity`` attribute."""

NUMERIC_BANDS = 4
"""Quantile bands of numeric attributes and of ``activity_band``."""

USER_DERIVED: tuple[str, ...] = ("activity", "activity_band")
ITEM_DERIVED: tuple[str, ...] = ("popularity",)
_BY = ("user", "item")


def _interaction_groups(dataset: Dataset, *, by: str, attribute: str) -> tuple[Groups, np.ndarray]:
    """The attribute's groups over the vocabulary, and the group code of every interaction."""
    if by not in _BY:
        raise ConfigError(f"unknown by={by!r}; use 'user' (user attribute) or 'item'")
    column = f"{by}_idx"
    idx = dataset.interactions[column].to_numpy()
    n = dataset.n_users if by == "user" else dataset.n_items
    counts = np.bincount(idx, minlength=n)
    if by == "user":
        kinds, table, derived = (
            dataset.user_attribute_kinds,
            dataset.user_attributes,
            USER_DERIVED,
        )
    else:
        kinds, table, derived = (
            dataset.item_attribute_kinds,
            dataset.item_attributes,
            ITEM_DERIVED,
        )
    if by == "user" and attribute == "activity":
        groups = activity_groups(counts, top=ACTIVITY_TOP)
    elif by == "user" and attribute == "activity_band":
        groups = quantile_groups(counts, name=attribute, bands=NUMERIC_BANDS)
    elif by == "item" and attribute == "popularity":
        head = head_items(counts, method="share", cutoff=HEAD_SHARE)
        groups = Groups(attribute, np.where(head, 0, 1).astype(np.int64), ("head", "tail"))
    elif attribute not in kinds or table is None:
        raise DataError(
            f"{by} attribute {attribute!r} is not in dataset {dataset.name!r}; "
            f"available: {_usable(kinds, derived)}"
        )
    elif kinds[attribute] == "categorical":
        groups = categorical_groups(table[attribute], name=attribute)
    elif kinds[attribute] == "numeric":
        values = table[attribute].to_numpy(dtype=np.float64)
        groups = quantile_groups(values, name=attribute, bands=NUMERIC_BANDS)
    elif kinds[attribute] == "multi":
        raise DataError(
            f"{by} attribute {attribute!r} is multi-valued (a {by} can belong to several "
            "groups), so an interaction has no single group to re-weight or re-sample; use a "
            f"single-valued attribute (e.g. {_suggestions(kinds, derived)}) or add a column "
            f"with one label per {by} (such as the primary genre)"
        )
    else:
        raise DataError(
            f"{by} attribute {attribute!r} is {kinds[attribute]}; only categorical and numeric "
            f"attributes define groups (e.g. {_suggestions(kinds, derived)})"
        )
    return groups, groups.codes[idx]


def _usable(kinds: Mapping[str, str], derived: tuple[str, ...]) -> list[str]:
    """Attributes that can define groups: categorical, numeric and derived ones, sorted."""
    return sorted({a for a, k in kinds.items() if k in ("categorical", "numeric")} | set(derived))


def _suggestions(kinds: Mapping[str, str], derived: tuple[str, ...]) -> str:
    return ", ".join(repr(a) for a in _usable(kinds, derived))


def _weights(dataset: Dataset) -> np.ndarray:
    w = dataset.interactions["weight"].to_numpy(dtype=np.float64)
    if not np.isfinite(w).all() or (w < 0).any():
        raise DataError(
            f"dataset {dataset.name!r}: interaction weights must be finite and >= 0 "
            f"(min {np.nanmin(w) if len(w) else 0!r}, {int((~np.isfinite(w)).sum())} not finite)"
        )
    return w


def _group_totals(
    dataset: Dataset, groups: Groups, row_codes: np.ndarray, attribute: str
) -> np.ndarray:
    w = _weights(dataset)
    known = row_codes >= 0
    totals = np.bincount(row_codes[known], weights=w[known], minlength=groups.n_groups)
    if not totals.sum() > 0:
        raise DataError(
            f"dataset {dataset.name!r}: no interaction with weight has a value of {attribute!r}"
        )
    return totals.astype(np.float64)
