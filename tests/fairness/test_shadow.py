"""The shadow-model attack: a leak where the model memorised, chance where nothing was learnt."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from equirec.data.dataset import Dataset
from equirec.errors import ConfigError
from equirec.fairness.shadow import FEATURES, attack_features, shadow_attack
from equirec.models.ease import EASE
from equirec.models.popularity import Popularity


def _population(n_users: int, *, seed: int = 0, n_items: int = 100, length: int = 15) -> Dataset:
    """Users with random items: nothing to learn but each user's own items."""
    rng = np.random.default_rng(seed)
    rows = [
        (f"u{u}", f"i{i}", t)
        for u in range(n_users)
        for t, i in enumerate(rng.choice(n_items, size=length, replace=False))
    ]
    items = pd.Index([f"i{i}" for i in range(n_items)], name="item")
    return Dataset(
        interactions=pd.DataFrame(rows, columns=["user", "item", "timestamp"]), item_ids=items
    )


def _halves(data: Dataset) -> tuple[Dataset, Dataset]:
    first = data.interactions["user_idx"].to_numpy() < data.n_users // 2
    return data.subset(first), data.subset(~first)


def test_a_memorising_model_is_attacked_through_its_shadows():
    members, others = _halves(_population(200))
    model = EASE(l2=1.0).fit(members)
    got = shadow_attack(model, members, others, seed=0)
    assert got.target.auc > 0.8 and got.target.ci_low > 0.5
    assert got.shadow_auc > 0.8  # the shadows leak alike: the classifier learnt the signal
    assert (got.target.members, got.target.non_members, got.population) == (100, 100, 200)
    assert got.shadows == 1 and got.shadow_epochs is None


def test_users_the_model_never_saw_cannot_be_told_apart():
    """ "Members" and non-members drawn alike from users the target never trained on: chance,
    although the shadows (trained on them) do leak."""
    data = _population(300, seed=3)
    users = data.interactions["user_idx"].to_numpy()
    model = EASE(l2=1.0).fit(data.subset(users >= 200))
    claimed, others = data.subset(users < 100), data.subset((users >= 100) & (users < 200))
    got = shadow_attack(model, claimed, others)
    assert got.shadow_auc > 0.8
    assert got.target.ci_low < 0.5 < got.target.ci_high
    assert abs(got.target.auc - 0.5) < 0.1


def test_popularity_gives_away_members_of_a_small_log():
    """Counting a member's own items raises their popularity: a real leak the shadows learn."""
    members, others = _halves(_population(200, seed=3))
    got = shadow_attack(Popularity().fit(members), members, others, shadows=2, seed=1)
    assert got.target.ci_low > 0.5 and got.shadows == 2


def test_features_name_how_well_each_history_is_predicted():
    members, _ = _halves(_population(20))
    model = EASE(l2=1.0).fit(members)
    h = members.history()
    histories = [h.sequence(u) for u in range(10)]
    popularity = np.bincount(members.interactions["item_idx"], minlength=members.n_items)
    x = attack_features(model, histories, popularity=popularity, targets=3)
    assert x.shape == (10, len(FEATURES))
    mean, best, worst, top10 = x[:, 0], x[:, 1], x[:, 2], x[:, 3]
    assert (best <= mean).all() and (mean <= worst).all() and (best >= 1.0).all()
    assert ((top10 >= 0) & (top10 <= 1)).all()
    np.testing.assert_allclose(x[:, 4], np.log(15))


def test_bad_inputs_are_named():
    members, others = _halves(_population(20))
    model = EASE(l2=1.0).fit(members)
    with pytest.raises(ConfigError, match="shadows must be at least 1"):
        shadow_attack(model, members, others, shadows=0)
