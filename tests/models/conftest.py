"""Model-test helpers: detailed assertion messages from the conformance mixin, tiny datasets."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pandas as pd
import pytest

pytest.register_assert_rewrite("equirec.testing")

from equirec.data.dataset import Dataset  # noqa: E402  (after the assertion-rewrite hook)

MakeDataset = Callable[[Sequence[Sequence[int]]], Dataset]


def dataset_from_matrix(matrix: Sequence[Sequence[int]]) -> Dataset:
    """A dataset from a small binary user x item matrix (users ``u0..``, items ``10, 20, ...``).

    Internal indices follow the matrix (every user and item is in the vocabulary in order), so
    learned matrices can be compared with hand computations directly.
    """
    rows = [
        (f"u{u}", 10 * (i + 1), t)
        for u, row in enumerate(matrix)
        for t, (i, x) in enumerate(enumerate(row))
        if x
    ]
    df = pd.DataFrame(rows, columns=["user", "item", "timestamp"])
    return Dataset(
        interactions=df,
        user_ids=pd.Index([f"u{u}" for u in range(len(matrix))], name="user"),
        item_ids=pd.Index([10 * (i + 1) for i in range(len(matrix[0]))], name="item"),
        name="matrix",
    )


@pytest.fixture
def make_dataset() -> MakeDataset:
    """``make_dataset(matrix)``: see :func:`dataset_from_matrix`."""
    return dataset_from_matrix
