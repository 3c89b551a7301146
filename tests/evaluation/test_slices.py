"""Metrics by target slice: a case by hand, the partition of the events, a cold-blind model."""

import math

import numpy as np
import pytest

from equirec.data import make_synthetic, split_dataset
from equirec.data.history import History
from equirec.errors import EquirecError
from equirec.evaluation import COLD_TARGET, WARM_TARGET, evaluate, slice_metrics, target_slices
from equirec.models import Popularity

COLD_ITEMS = np.array([False, False, True, False, True])  # items 2 and 4 never trained on
_METRICS = ("ndcg", "recall", "hit", "precision", "mrr", "map")


def _history(users: list[int], items: list[int], n_users: int) -> History:
    return History.from_arrays(
        users=np.array(users), items=np.array(items), n_users=n_users, n_items=5
    )


def test_slice_metrics_by_hand() -> None:
    top = np.array(
        [
            [2, 0, 1],  # u0: its cold target 2 at rank 1
            [0, 1, 3],  # u1: its cold target 4 not listed
            [1, 0, 3],  # u2: its warm target 0 at rank 2
            [1, 4, 0],  # u3: warm target 1 at rank 1, cold target 4 at rank 2
        ]
    )
    relevant = _history([0, 1, 2, 3, 3], [2, 4, 0, 4, 1], n_users=4)
    slices = {COLD_TARGET: COLD_ITEMS, WARM_TARGET: ~COLD_ITEMS}
    out = slice_metrics(top, relevant=relevant, users=np.arange(4), slices=slices, ks=[1, 3])
    g = 1 / math.log2(3)  # the gain at rank 2
    cold, warm = out[COLD_TARGET], out[WARM_TARGET]
    assert (cold["events"], cold["users"], warm["events"], warm["users"]) == (3, 3, 2, 2)
    assert cold["ndcg@1"] == pytest.approx(1 / 3)
    assert cold["ndcg@3"] == pytest.approx((1 + 0 + g) / 3)
    assert cold["hit@3"] == pytest.approx(2 / 3) and cold["mrr@3"] == pytest.approx(0.5)
    assert cold["recall@3"] == pytest.approx(2 / 3) and cold["precision@3"] == pytest.approx(2 / 9)
    # u3's warm slice holds item 1 alone, found at rank 1: a perfect list for that slice
    assert warm["ndcg@3"] == pytest.approx((g + 1) / 2)
    assert warm["hit@1"] == pytest.approx(0.5) and warm["map@3"] == pytest.approx(0.75)
    assert list(cold) == ["events", "users", *(f"{m}@{k}" for m in _METRICS for k in (1, 3))]


def test_a_slice_without_users_has_no_values() -> None:
    top = np.array([[0, 1, 3]])
    relevant = _history([0], [1], n_users=1)
    out = slice_metrics(
        top, relevant=relevant, users=np.arange(1), slices={"c": COLD_ITEMS}, ks=[2]
    )
    assert out["c"]["events"] == 0 and out["c"]["users"] == 0 and out["c"]["ndcg@2"] is None


def test_bad_slice_mask() -> None:
    relevant = _history([0], [1], n_users=1)
    with pytest.raises(EquirecError, match="slice 'c': expected one boolean per catalogue item"):
        slice_metrics(
            np.array([[0]]), relevant=relevant, users=np.arange(1), slices={"c": [1, 0]}, ks=[1]
        )


def test_target_slices() -> None:
    train = _history([0, 0, 1], [0, 1, 3], n_users=2)
    masks = target_slices(train=train, test=_history([0, 1], [4, 0], n_users=2))
    assert masks[COLD_TARGET].tolist() == COLD_ITEMS.tolist()
    assert masks[WARM_TARGET].tolist() == (~COLD_ITEMS).tolist()
    # every test item trained on: nothing to slice
    assert target_slices(train=train, test=_history([0, 1], [3, 0], n_users=2)) == {}
    with pytest.raises(EquirecError, match="training data has 5 items but the test data 6"):
        target_slices(
            train=train,
            test=History.from_arrays(
                users=np.array([0]), items=np.array([5]), n_users=2, n_items=6
            ),
        )


@pytest.fixture(scope="module")
def cold_split():
    return split_dataset(make_synthetic(n_users=300, n_items=150, seed=3), method="cold-items")


def test_slices_partition_the_events_of_one_ranking(cold_split) -> None:
    split = cold_split
    model = Popularity().fit(split.train)
    masks = target_slices(train=split.train.history(), test=split.test.history())
    result = evaluate(model, test=split.test, ks=[10], item_slices=masks)
    cold, warm = result.slices[COLD_TARGET], result.slices[WARM_TARGET]
    assert cold["events"] + warm["events"] == len(split.test)
    assert cold["events"] == split.params["cold_test_events"] > 0
    # one test event per user (leave-one-out): the users split too, and the overall mean is the
    # users' weighted mean of the two slices (the same lists scored)
    assert cold["users"] + warm["users"] == len(result.per_user)
    for name in ("ndcg@10", "recall@10", "mrr@10"):
        mixed = (cold["users"] * cold[name] + warm["users"] * warm[name]) / len(result.per_user)
        assert mixed == pytest.approx(result.overall[name])
    # an ID-only model never saw the cold items: it never recommends them
    assert cold["hit@10"] == 0.0 and warm["hit@10"] > 0.0
    # without slices asked for, nothing changes
    plain = evaluate(model, test=split.test, ks=[10])
    assert plain.slices == {} and plain.overall == result.overall


def test_slices_need_full_ranking(cold_split) -> None:
    model = Popularity().fit(cold_split.train)
    masks = target_slices(train=cold_split.train.history(), test=cold_split.test.history())
    with pytest.raises(EquirecError, match="item_slices are scored on full rankings"):
        evaluate(model, test=cold_split.test, ks=[10], sampled_negatives=50, item_slices=masks)
