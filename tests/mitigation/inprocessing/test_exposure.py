"""Exposure penalty: its formula and item groups from an item attribute."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from equirec.data import make_synthetic
from equirec.errors import ConfigError
from equirec.fairness.groups import Groups
from equirec.mitigation.inprocessing import ExposurePenalty


def test_exposure_penalty_formula():
    groups = Groups("provider", np.array([0, 0, 0, 1, -1]), ("p0", "p1"))
    term = ExposurePenalty(groups, lam=2.0)
    batch = {"users": torch.tensor([7, 7, 8])}
    uniform = {"user_repr": torch.zeros(3, 2), "item_table": torch.zeros(5, 2)}
    assert term(batch, uniform).item() == pytest.approx(0.0)
    # One user puts all mass on item 0 (group p0: 3 of 5 items): r_p0 = 5/3, r_p1 = 0.
    table = torch.zeros(5, 2)
    table[0, 0] = 100.0
    peaked = {"user_repr": torch.tensor([[1.0, 0.0]] * 3), "item_table": table}
    assert term(batch, peaked).item() == pytest.approx(2.0 * (5 / 3) ** 2, rel=1e-4)


def test_exposure_penalty_from_item_attribute():
    data = make_synthetic(n_users=20, n_items=12, n_interactions_per_user=4, seed=0)
    term = ExposurePenalty.from_item_attribute(data, "provider", lam=0.5)
    assert term.labels == ("0", "1") and term.codes.shape == (12,)
    with pytest.raises(ConfigError, match=r"'provider'"):
        ExposurePenalty.from_item_attribute(data, "studio")
    with pytest.raises(ConfigError, match="multi"):
        ExposurePenalty.from_item_attribute(data, "genres")
