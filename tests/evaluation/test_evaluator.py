import math

import numpy as np
import pandas as pd
import pytest

from equirec.data.dataset import Dataset
from equirec.errors import EquirecError
from equirec.evaluation import evaluate
from equirec.models import Popularity

ACCURACY = ["ndcg@1", "ndcg@2", "recall@2", "hit@1", "hit@2", "precision@2", "mrr@2", "map@2"]


def _data():
    # training popularity: a (3) > b (2) > c (1) > d, e (0); item indices a0 b1 d2 c3 e4
    rows = [
        ("u1", "a", 1), ("u1", "b", 2), ("u1", "d", 9),
        ("u2", "a", 1), ("u2", "c", 2), ("u2", "b", 3), ("u2", "e", 9),
        ("u3", "a", 1), ("u3", "c", 8),
    ]  # fmt: skip
    d = Dataset(interactions=pd.DataFrame(rows, columns=["user", "item", "timestamp"]))
    return d.subset(d.interactions.timestamp < 8), d.subset(d.interactions.timestamp >= 8)


def test_popularity_evaluation_by_hand(monkeypatch):
    train, test = _data()
    model = Popularity().fit(train)
    calls = []
    topk = model.topk
    monkeypatch.setattr(model, "topk", lambda *a, **kw: calls.append(kw) or topk(*a, **kw))
    result = evaluate(model, test=test, ks=[2, 1], keep_k=3)
    assert len(calls) == 1 and calls[0]["k"] == 3 and calls[0]["exclude_seen"] is True
    # lists: u1 (saw a, b) -> c, d, e; u2 (saw a, b, c) -> d, e (tie broken by index);
    # u3 (saw a) -> b, c, d. Every test item (d, e, c) sits at rank 2.
    per_user = result.per_user.set_index("user")
    assert per_user.index.tolist() == ["u1", "u2", "u3"]
    assert per_user["ndcg@2"].tolist() == pytest.approx([1 / math.log2(3)] * 3)
    assert per_user["hit@1"].eq(0).all() and per_user["recall@2"].eq(1).all()
    assert per_user["mrr@2"].eq(0.5).all() and per_user["map@2"].eq(0.5).all()
    assert per_user["precision@2"].eq(0.5).all()
    # ARP with φ = training interactions: u1 (c 1, d 0), u2 (d 0, e 0), u3 (b 2, c 1)
    assert per_user["arp@2"].tolist() == [0.5, 0.0, 1.5]
    assert per_user["arp@1"].tolist() == [1.0, 0.0, 2.0]
    # novelty@1 = −log2((φ + 1) / (3 + 1)) of the first item
    assert per_user["novelty@1"].tolist() == pytest.approx([1.0, 2.0, -math.log2(3 / 4)])

    assert result.overall["arp@2"] == pytest.approx(2 / 3)
    assert result.overall["hit@2"] == 1.0
    assert result.overall["coverage@1"] == pytest.approx(3 / 5)  # c, d, b
    assert result.overall["coverage@2"] == pytest.approx(4 / 5)  # a never recommended
    # counts a0 b1 c2 d2 e1 -> ascending [0, 1, 1, 2, 2]: (−2 + 0 + 4 + 8) / (5·6)
    assert result.overall["gini@2"] == pytest.approx(1 / 3)
    assert result.params == {
        "ks": [1, 2],
        "keep_k": 3,
        "exclude_seen": True,
        "protocol": "full ranking",
        "sampled_negatives": None,
        "seed": 0,
        "novelty_smoothing": 1.0,
        "popularity": "training interactions",
        "evaluated_users": 3,
        "unreachable_relevant": 0,
    }

    recs = result.recommendations
    assert list(recs.columns) == ["user", "rank", "item", "score"]
    assert recs.groupby("user")["item"].apply(list).to_dict() == {
        "u1": ["c", "d", "e"],
        "u2": ["d", "e"],
        "u3": ["b", "c", "d"],
    }
    seen = set(map(tuple, train.interactions[["user", "item"]].to_numpy()))
    assert not any((u, i) in seen for u, i in recs[["user", "item"]].to_numpy())


def test_exclusions_are_honoured_and_counted():
    train, test = _data()
    model = Popularity().fit(train)
    result = evaluate(model, test=test, ks=[5], keep_k=5, exclude=[test.history()])
    assert result.overall["hit@5"] == 0.0  # test items removed from the rankings
    assert result.params["unreachable_relevant"] == 3
    held = set(map(tuple, test.interactions[["user", "item"]].to_numpy()))
    assert not any(tuple(p) in held for p in result.recommendations[["user", "item"]].to_numpy())


def test_cutoffs_beyond_the_catalogue_and_given_popularity():
    train, test = _data()
    model = Popularity().fit(train)
    pop = np.array([1.0, 1.0, 5.0, 1.0, 1.0])  # d is "popular" under this φ
    result = evaluate(model, test=test, ks=[10], keep_k=10, popularity=pop)
    per_user = result.per_user.set_index("user")
    assert per_user.loc["u1", "precision@10"] == pytest.approx(0.1)
    assert per_user.loc["u2", "arp@10"] == pytest.approx(3.0)  # (d 5 + e 1) / 2
    assert result.params["popularity"] == "given"


def test_sampled_evaluation_warns_and_matches_full_ranking_with_every_negative():
    train, test = _data()
    model = Popularity().fit(train)
    full = evaluate(model, test=test, ks=[1, 2], keep_k=2)
    with pytest.warns(UserWarning, match="not comparable"):
        every = evaluate(model, test=test, ks=[1, 2], keep_k=2, sampled_negatives=50)
    assert every.params["protocol"].startswith("sampled")
    assert every.params["sampled_negatives"] == 50
    assert every.recommendations.empty
    pd.testing.assert_frame_equal(
        every.per_user[["user", *ACCURACY]], full.per_user[["user", *ACCURACY]]
    )

    with pytest.warns(UserWarning):
        one = evaluate(model, test=test, ks=[1], keep_k=1, sampled_negatives=1, seed=3)
    with pytest.warns(UserWarning):
        again = evaluate(model, test=test, ks=[1], keep_k=1, sampled_negatives=1, seed=3)
    pd.testing.assert_frame_equal(one.per_user, again.per_user)
    # u2's only unseen non-test item is d, which ties with e and wins on index: always a miss
    assert one.per_user.set_index("user").loc["u2", "hit@1"] == 0.0
    with pytest.warns(UserWarning):
        seen = evaluate(
            model, test=test, ks=[10], keep_k=10, sampled_negatives=1, exclude=[test.history()]
        )
    assert seen.overall["hit@10"] == 0.0  # seen test items miss, as in full ranking, at any k


def test_bad_arguments():
    train, test = _data()
    model = Popularity().fit(train)
    with pytest.raises(EquirecError, match=r"keep_k \(5\) must be at least"):
        evaluate(model, test=test, ks=[10], keep_k=5)
    with pytest.raises(EquirecError, match="ks must be positive"):
        evaluate(model, test=test, ks=[0])
    with pytest.raises(EquirecError, match="one value per catalogue item"):
        evaluate(model, test=test, popularity=np.ones(2))
    with pytest.raises(EquirecError, match="sampled_negatives must be positive"):
        evaluate(model, test=test, sampled_negatives=0)
    other = Dataset(interactions=pd.DataFrame({"user": ["x"], "item": ["y"], "timestamp": [0]}))
    with pytest.raises(EquirecError, match="vocabularies"):
        evaluate(model, test=other)
    with pytest.raises(EquirecError, match="model's vocabularies"):
        evaluate(model, test=test, history=other.history())
    empty = train.subset(np.zeros(len(train), dtype=bool))
    with pytest.raises(EquirecError, match="no interactions"):
        evaluate(model, test=empty)
