import math

import numpy as np
import pytest

from equirec.data.history import History
from equirec.evaluation.metrics import (
    accuracy_metrics,
    catalogue_metrics,
    entropy,
    gini,
    hit_matrix,
    popularity_metrics,
)


def _relevant(lists: list[list[int]], n_items: int) -> History:
    users = np.repeat(np.arange(len(lists)), [len(x) for x in lists])
    items = np.array([i for x in lists for i in x], dtype=np.int64)
    return History.from_arrays(users=users, items=items, n_users=len(lists), n_items=n_items)


def test_single_hit_at_rank_three():
    hits = np.array([[False, False, True, False, False]])
    m = accuracy_metrics(hits, np.array([1]), ks=[5]).iloc[0]
    assert m["ndcg@5"] == pytest.approx(1 / math.log2(4))
    assert m["mrr@5"] == pytest.approx(1 / 3)
    assert m["map@5"] == pytest.approx(1 / 3)
    assert m["precision@5"] == pytest.approx(0.2)
    assert m["recall@5"] == 1.0 and m["hit@5"] == 1.0


def test_two_relevant_items_and_cutoffs():
    hits = np.array([[True, False, True, False]])
    m = accuracy_metrics(hits, np.array([2]), ks=[1, 2, 4]).iloc[0]
    assert m["ndcg@1"] == 1.0
    assert m["ndcg@2"] == pytest.approx(1.0 / (1 + 1 / math.log2(3)))
    assert m["ndcg@4"] == pytest.approx((1 + 1 / math.log2(4)) / (1 + 1 / math.log2(3)))
    assert m["recall@2"] == 0.5 and m["recall@4"] == 1.0
    assert m["map@4"] == pytest.approx((1 + 2 / 3) / 2)
    assert m["map@1"] == 1.0  # min(|T|, k) = 1
    assert m["mrr@4"] == 1.0


def test_no_hit_gives_zero_everywhere():
    m = accuracy_metrics(np.zeros((1, 3), dtype=bool), np.array([1]), ks=[3]).iloc[0]
    assert (m == 0).all()


def test_hit_matrix_handles_padding_and_duplicates():
    rel = _relevant([[2, 2, 5], [1]], n_items=6)
    top = np.array([[5, 2, -1], [0, 3, 1]])
    hits = hit_matrix(top, rel, np.array([0, 1]))
    assert hits.tolist() == [[True, True, False], [False, False, True]]


def test_against_brute_force_on_random_lists():
    rng = np.random.default_rng(0)
    n_users, n_items, k = 30, 25, 10
    lists = [
        list(rng.choice(n_items, size=rng.integers(1, 5), replace=False)) for _ in range(n_users)
    ]
    top = np.stack([rng.permutation(n_items)[:k] for _ in range(n_users)])
    rel = _relevant(lists, n_items)
    got = accuracy_metrics(
        hit_matrix(top, rel, np.arange(n_users)), np.array([len(x) for x in lists]), ks=[k]
    )
    for u in range(n_users):
        t = set(lists[u])
        gains = [1.0 if i in t else 0.0 for i in top[u]]
        dcg = sum(g / math.log2(r + 2) for r, g in enumerate(gains))
        idcg = sum(1 / math.log2(r + 2) for r in range(min(len(t), k)))
        precisions = [sum(gains[: r + 1]) / (r + 1) for r in range(k)]
        ap = sum(p * g for p, g in zip(precisions, gains, strict=True)) / min(len(t), k)
        first = next((r + 1 for r, g in enumerate(gains) if g), None)
        assert got.loc[u, f"ndcg@{k}"] == pytest.approx(dcg / idcg)
        assert got.loc[u, f"map@{k}"] == pytest.approx(ap)
        assert got.loc[u, f"mrr@{k}"] == pytest.approx(1 / first if first else 0.0)
        assert got.loc[u, f"recall@{k}"] == pytest.approx(sum(gains) / len(t))


def test_gini_entropy_and_catalogue_metrics_include_never_recommended_items():
    assert gini(np.array([1, 1, 1, 1])) == 0.0
    assert gini(np.array([0, 0, 0, 4])) == pytest.approx(3 / 4)
    # x ascending = [0, 1, 3]: (−2·0 + 0·1 + 2·3) / (3·4) = 0.5
    assert gini(np.array([3, 0, 1])) == pytest.approx(0.5)
    assert entropy(np.array([1, 1, 0])) == pytest.approx(math.log(2))
    top = np.array([[0, 1], [0, 2], [0, -1]])
    m = catalogue_metrics(top, n_items=5, ks=[1, 2])
    assert m["coverage@1"] == pytest.approx(1 / 5)
    assert m["coverage@2"] == pytest.approx(3 / 5)
    assert m["gini@2"] == pytest.approx(gini(np.array([3, 1, 1, 0, 0])))


def test_popularity_metrics_skip_padding():
    pop = np.array([10.0, 0.0, 4.0])
    top = np.array([[0, 2], [1, -1]])
    m = popularity_metrics(top, popularity=pop, n_users=9, ks=[2])
    assert m["arp@2"].tolist() == [7.0, 0.0]
    assert m.loc[1, "novelty@2"] == pytest.approx(-math.log2(1 / 10))
    assert m.loc[0, "novelty@2"] == pytest.approx((-math.log2(11 / 10) - math.log2(5 / 10)) / 2)
