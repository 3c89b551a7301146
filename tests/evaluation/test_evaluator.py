import math

import numpy as np
import pandas as pd
import pytest

from equirec.data.dataset import Dataset
from equirec.errors import EquirecError
from equirec.evaluation import evaluate
from equirec.models import Popularity


def _data():
    # popularity in training: a (3 users) > b (2) > c (1) > d, e (0)
    rows = [
        ("u1", "a", 1), ("u1", "b", 2), ("u1", "d", 9),
        ("u2", "a", 1), ("u2", "c", 2), ("u2", "b", 3), ("u2", "e", 9),
        ("u3", "a", 1), ("u3", "c", 8),
    ]  # fmt: skip
    d = Dataset(interactions=pd.DataFrame(rows, columns=["user", "item", "timestamp"]))
    return d.subset(d.interactions.timestamp < 8), d.subset(d.interactions.timestamp >= 8)


def test_popularity_evaluation_by_hand():
    train, test = _data()
    model = Popularity().fit(train)
    result = evaluate(model, test=test, ks=[1, 2], keep_k=3)
    per_user = result.per_user.set_index("user")
    # u1 saw a, b -> ranking c, d, e: test item d at rank 2
    assert per_user.loc["u1", "ndcg@2"] == pytest.approx(1 / math.log2(3))
    assert per_user.loc["u1", "hit@1"] == 0.0
    # u2 saw a, b, c -> ranking d, e (tie, broken by index): e at rank 2
    assert per_user.loc["u2", "mrr@2"] == pytest.approx(0.5)
    # u3 saw a -> ranking b, c: c at rank 2
    assert per_user.loc["u3", "recall@2"] == 1.0
    assert result.overall["hit@2"] == 1.0
    recs = result.recommendations
    seen = set(map(tuple, train.interactions[["user", "item"]].to_numpy()))
    assert not any((u, i) in seen for u, i in recs[["user", "item"]].to_numpy())
    assert recs.groupby("user").size().to_dict() == {"u1": 3, "u2": 2, "u3": 3}
    assert result.overall["coverage@1"] == pytest.approx(3 / 5)  # c (u1), d (u2), b (u3)


def test_exclusions_are_honoured_and_sampled_evaluation_warns():
    train, test = _data()
    model = Popularity().fit(train)
    result = evaluate(model, test=test, ks=[1], keep_k=5, exclude=[test.history()])
    assert result.overall["hit@1"] == 0.0  # test items removed from the rankings
    with pytest.warns(UserWarning, match="not comparable"):
        sampled = evaluate(model, test=test, ks=[1], keep_k=1, sampled_negatives=1, seed=0)
    assert sampled.params["protocol"].startswith("sampled")
    assert set(sampled.per_user.user) == {"u1", "u2", "u3"}


def test_bad_arguments():
    train, test = _data()
    model = Popularity().fit(train)
    with pytest.raises(EquirecError, match=r"keep_k \(5\) must be at least"):
        evaluate(model, test=test, ks=[10], keep_k=5)
    other = Dataset(interactions=pd.DataFrame({"user": ["x"], "item": ["y"], "timestamp": [0]}))
    with pytest.raises(EquirecError, match="vocabularies"):
        evaluate(model, test=other)
    empty = train.subset(np.zeros(len(train), dtype=bool))
    with pytest.raises(EquirecError, match="no interactions"):
        evaluate(model, test=empty)
