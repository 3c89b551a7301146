"""The taste-groups split shared by the in-processing tests (one per test module)."""

from __future__ import annotations

import pytest

from equirec.data.splits import split_dataset

from ._common import _taste_groups


@pytest.fixture(scope="module")
def encoded():
    return split_dataset(_taste_groups(), method="loo")
