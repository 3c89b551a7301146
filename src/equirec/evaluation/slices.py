"""Metrics by target slice: test events on items the model never trained on, and the others.

A test event is *cold-target* when its item has no interaction in the training data, *warm-target*
otherwise. Each slice is scored on the same full rankings as the overall metrics (seen items
excluded as there): every user's relevant items are restricted to the slice's items, and the
means run over the users with at least one test item in the slice (the others have nothing
relevant there, so their metrics are undefined). The two slices partition the test events; a
user with test items in both counts in both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

from equirec.data.history import History
from equirec.errors import EquirecError
from equirec.evaluation.metrics import ranking_metrics, relevant_matrix

__all__ = ["COLD_TARGET", "WARM_TARGET", "slice_metrics", "target_slices"]

COLD_TARGET = "cold_target"
"""Test events whose item has no training interaction."""
WARM_TARGET = "warm_target"
"""Test events whose item has at least one training interaction."""


def target_slices(*, train: History, test: History) -> dict[str, np.ndarray]:
    """Item masks of the cold-target and warm-target slices of ``test``.

    Args:
        train: The training interactions (an item without any there is cold).
        test: The held-out interactions, with the same vocabularies.

    Returns:
        ``{"cold_target": mask, "warm_target": ~mask}`` (boolean masks over the catalogue), or
        an empty dict when no test event is cold-target (nothing to slice).

    Raises:
        EquirecError: The two histories have different catalogues.
    """
    if train.n_items != test.n_items:
        raise EquirecError(
            f"target slices: the training data has {train.n_items} items but the test data "
            f"{test.n_items}; use parts of the same split"
        )
    cold = train.item_counts() == 0
    if not cold[test.items].any():
        return {}
    return {COLD_TARGET: cold, WARM_TARGET: ~cold}


def slice_metrics(
    top_items: np.ndarray,
    *,
    relevant: History,
    users: np.ndarray,
    slices: Mapping[str, np.ndarray],
    ks: Sequence[int],
) -> dict[str, dict[str, Any]]:
    """Accuracy metrics of the same ranked lists, with the relevant items restricted per slice.

    Args:
        top_items: ``(U, K)`` ranked lists (internal item indices, ``-1`` pads), as scored for
            the overall metrics.
        relevant: Held-out items of every user.
        users: The user (row of ``relevant``) of every list.
        slices: Slice name -> boolean mask over the catalogue of the items in the slice.
        ks: Cut-offs.

    Returns:
        For every slice: ``events`` (test interactions of the listed users on the slice's
        items), ``users`` (those with at least one), then the mean of every metric of
        :func:`~equirec.evaluation.metrics.ranking_metrics` at every ``k`` over those users
        (``None`` for a slice without users).

    Raises:
        EquirecError: A mask does not have one boolean per catalogue item.
    """
    rows = np.asarray(users, dtype=np.int64)
    top = np.asarray(top_items)
    rel = relevant_matrix(relevant, rows)
    listed = np.zeros(relevant.n_users, dtype=bool)
    listed[rows] = True
    event_items = relevant.items[listed[relevant.users()]]
    out: dict[str, dict[str, Any]] = {}
    for name, mask in slices.items():
        m = np.asarray(mask)
        if m.dtype != bool or m.shape != (relevant.n_items,):
            raise EquirecError(
                f"slice {name!r}: expected one boolean per catalogue item "
                f"({relevant.n_items}), got dtype {m.dtype} and shape {m.shape}"
            )
        in_slice = sp.csr_matrix(rel @ sp.diags(m.astype(np.float32)))
        frame = ranking_metrics(top, relevant=in_slice, ks=ks).drop(columns="user")
        means = {c: (float(frame[c].mean()) if len(frame) else None) for c in frame.columns}
        out[name] = {"events": int(m[event_items].sum()), "users": len(frame), **means}
    return out
