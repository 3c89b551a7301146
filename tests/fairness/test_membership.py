"""The membership attack: chance when nobody was trained on, a leak when the model memorised."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from equirec.data.dataset import Dataset
from equirec.errors import ConfigError
from equirec.fairness.membership import auc, membership_attack
from equirec.models.bpr import BPR
from equirec.models.ease import EASE


def _random_log(n_users: int, *, seed: int, n_items: int = 100, length: int = 15) -> Dataset:
    """Users with random items: nothing to learn but each user's own items."""
    rng = np.random.default_rng(seed)
    rows = [
        (f"u{seed}-{u}", f"i{i}", t)
        for u in range(n_users)
        for t, i in enumerate(rng.choice(n_items, size=length, replace=False))
    ]
    items = pd.Index([f"i{i}" for i in range(n_items)], name="item")
    log = pd.DataFrame(rows, columns=["user", "item", "timestamp"])
    return Dataset(interactions=log, item_ids=items)


def _histories(data: Dataset, model) -> list[np.ndarray]:
    index = {item: j for j, item in enumerate(model.item_ids_)}
    return [
        np.array([index[i] for i in group.sort_values("timestamp")["item"]])
        for _, group in data.interactions.groupby("user", sort=True)
    ]


def test_auc_counts_pairs():
    assert auc(np.array([3.0, 4.0]), np.array([1.0, 2.0])) == 1.0
    assert auc(np.array([1.0]), np.array([1.0])) == 0.5
    assert auc(np.array([1.0, 3.0]), np.array([2.0])) == 0.5


def test_users_the_model_never_saw_cannot_be_told_apart():
    model = EASE(l2=1.0).fit(_random_log(100, seed=0))
    a, b = _histories(_random_log(100, seed=1), model), _histories(_random_log(100, seed=2), model)
    got = membership_attack(model, a, b, rng=np.random.default_rng(0))
    assert got.ci_low < 0.5 < got.ci_high and abs(got.auc - 0.5) < 0.1
    assert (got.members, got.non_members, got.targets) == (100, 100, 5)


def test_a_model_that_memorised_its_users_gives_them_away():
    train = _random_log(100, seed=0)
    model = EASE(l2=1.0).fit(train)  # little shrinkage: it learns each user's co-occurrences
    members = _histories(train, model)
    others = _histories(_random_log(100, seed=1), model)
    got = membership_attack(model, members, others, rng=np.random.default_rng(0))
    assert got.auc > 0.8 and got.ci_low > 0.5


def test_bad_inputs_are_named():
    data = _random_log(10, seed=0)
    ease = EASE().fit(data)
    histories = _histories(data, ease)
    rng = np.random.default_rng(0)
    with pytest.raises(ConfigError, match="needs members and non-members"):
        membership_attack(ease, histories, [], rng=rng)
    with pytest.raises(ConfigError, match="history 1 has 1 item"):
        membership_attack(ease, histories, [histories[0], histories[1][:1]], rng=rng)
    bpr = BPR(dim=4, epochs=1, device="cpu").fit(data)
    with pytest.raises(ConfigError, match="bpr scores users by learned vectors"):
        membership_attack(bpr, histories, histories, rng=rng)


def test_stratified_weights_redraw_each_stratum_to_its_size():
    from equirec.fairness.leakage_metrics import stratified_weights

    strata = [np.array([0, 2, 4]), np.array([1, 3])]
    chunks = list(stratified_weights(strata, 5, n_boot=7, rng=np.random.default_rng(0)))
    weights = np.concatenate(chunks)
    assert weights.shape == (7, 5)
    np.testing.assert_array_equal(weights[:, strata[0]].sum(axis=1), 3)  # as many as it holds
    np.testing.assert_array_equal(weights[:, strata[1]].sum(axis=1), 2)
    assert len({tuple(row) for row in weights}) > 1  # resamples differ


def test_the_audit_section_reports_the_attack_with_or_without_an_interval():
    from equirec.fairness.membership import membership_section

    data = _random_log(200, seed=0)
    first = data.interactions["user_idx"].to_numpy() < 100
    members, others = data.subset(first), data.subset(~first)
    model = EASE(l2=1.0).fit(members)  # memorises its members
    section = membership_section(model, members, others, n_boot=200, rng=np.random.default_rng(0))
    assert (section["members"], section["non_members"], section["targets"]) == (100, 100, 5)
    assert section["confidence"] == 0.95 and section["shadow"] is None
    rank = section["rank"]
    assert rank["ci_low"] <= rank["auc"] <= rank["ci_high"] and rank["leaks"] is True
    point = membership_section(model, members, others, n_boot=0, rng=np.random.default_rng(0))
    assert point["rank"] == {"auc": rank["auc"], "ci_low": None, "ci_high": None, "leaks": False}
