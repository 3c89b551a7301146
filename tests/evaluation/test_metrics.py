import math

import numpy as np
import pytest
import scipy.sparse as sp

from equirec.data.history import History
from equirec.evaluation.metrics import (
    ACCURACY_METRICS,
    accuracy_metrics,
    hit_matrix,
    ranking_metrics,
)


def _relevant(lists: list[list[int]], n_items: int) -> History:
    users = np.repeat(np.arange(len(lists)), [len(x) for x in lists])
    items = np.array([i for x in lists for i in x], dtype=np.int64)
    return History.from_arrays(users=users, items=items, n_users=len(lists), n_items=n_items)


def test_single_hit_at_rank_three():
    top = np.array([[4, 5, 7, 1, 2]])
    m = ranking_metrics(top, relevant=_relevant([[7]], 8), ks=[5]).iloc[0]
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
    assert m["precision@4"] == 0.5
    assert m["map@4"] == pytest.approx((1 + 2 / 3) / 2)
    assert m["map@1"] == 1.0  # min(|T|, k) = 1
    assert m["mrr@4"] == 1.0


def test_column_names_and_order():
    m = accuracy_metrics(np.zeros((2, 3), dtype=bool), np.array([1, 2]), ks=[3, 1])
    assert list(m.columns) == [f"{name}@{k}" for name in ACCURACY_METRICS for k in (1, 3)]
    assert (m.to_numpy() == 0).all()  # no hit: zero everywhere


def test_short_padded_lists_and_lists_narrower_than_k():
    # user 0: only two items left after exclusion, the second relevant; user 1 misses
    top = np.array([[3, 1, -1], [2, -1, -1]])
    m = ranking_metrics(top, relevant=_relevant([[1], [0]], 4), ks=[2, 5])
    assert m.loc[0, "ndcg@5"] == pytest.approx(1 / math.log2(3))
    assert m.loc[0, "precision@5"] == pytest.approx(1 / 5)  # divided by k, not by |L_u|
    assert m.loc[0, "mrr@2"] == 0.5
    assert m.loc[1, ["ndcg@5", "recall@5", "hit@5", "mrr@5", "map@5"]].eq(0).all()


def test_padding_never_hits_the_previous_users_last_item():
    # -1 in row 1 must not be read as item n_items - 1 of row 0
    hits = hit_matrix(np.array([[0], [-1]]), _relevant([[3], [3]], 4))
    assert hits.tolist() == [[False], [False]]


def test_duplicates_count_once_and_users_without_relevant_items_are_dropped():
    rel = _relevant([[2, 2, 5], [], [1]], n_items=6)
    top = np.array([[5, 2, -1], [0, 1, 2], [0, 3, 1]])
    assert hit_matrix(top, rel).tolist() == [[True, True, False], [False] * 3, [False, False, True]]
    m = ranking_metrics(top, relevant=rel, ks=[3])
    assert m["user"].tolist() == [0, 2]
    assert m.loc[0, "recall@3"] == 1.0  # |T_0| = 2 distinct items
    assert m.loc[0, "ndcg@3"] == pytest.approx(1.0)


def test_sparse_input_and_explicit_user_rows():
    matrix = sp.csr_matrix(([1.0, 1.0], ([0, 2], [4, 1])), shape=(3, 5))
    top = np.array([[1, 0], [4, 1]])  # rows for users 2 then 0
    m = ranking_metrics(top, relevant=matrix, users=np.array([2, 0]), ks=[2])
    assert m["user"].tolist() == [2, 0]
    assert m["mrr@2"].tolist() == [1.0, 1.0]


def test_bad_inputs():
    with pytest.raises(ValueError, match="at least one relevant"):
        accuracy_metrics(np.zeros((1, 2), dtype=bool), np.array([0]), ks=[2])
    with pytest.raises(ValueError, match="ks must be positive"):
        accuracy_metrics(np.zeros((1, 2), dtype=bool), np.array([1]), ks=[0])
    with pytest.raises(ValueError, match="outside the catalogue"):
        hit_matrix(np.array([[9]]), _relevant([[1]], 4))


def _brute_force(ranked: list[int], relevant: set[int], k: int) -> dict[str, float]:
    """Textbook definitions, one user at a time, straight from the formulas."""
    ranked = (ranked + [-1] * k)[:k]
    gains = [1.0 if i in relevant else 0.0 for i in ranked]
    dcg = sum(g / math.log2(r + 2) for r, g in enumerate(gains))
    idcg = sum(1 / math.log2(r + 2) for r in range(min(len(relevant), k)))
    precisions = [sum(gains[: r + 1]) / (r + 1) for r in range(k)]
    first = next((r + 1 for r, g in enumerate(gains) if g), None)
    return {
        "ndcg": dcg / idcg,
        "recall": sum(gains) / len(relevant),
        "hit": float(any(gains)),
        "precision": sum(gains) / k,
        "mrr": 1 / first if first else 0.0,
        "map": sum(p * g for p, g in zip(precisions, gains, strict=True)) / min(len(relevant), k),
    }


def test_against_brute_force_on_random_lists():
    rng = np.random.default_rng(0)
    n_users, n_items, width, ks = 40, 15, 8, [1, 3, 8, 12]
    lists = [list(rng.integers(0, n_items, size=rng.integers(0, 6))) for _ in range(n_users)]
    top = np.stack([rng.permutation(n_items)[:width] for _ in range(n_users)])
    short = rng.integers(0, width + 1, size=n_users)  # some lists end early (padding)
    top[np.arange(width)[None, :] >= short[:, None]] = -1
    got = ranking_metrics(top, relevant=_relevant(lists, n_items), ks=ks).set_index("user")
    evaluated = [u for u in range(n_users) if lists[u]]
    assert got.index.tolist() == evaluated
    for u in evaluated:
        ranked = [int(i) for i in top[u] if i >= 0]
        for k in ks:
            want = _brute_force(ranked, set(lists[u]), k)
            for name, value in want.items():
                assert got.loc[u, f"{name}@{k}"] == pytest.approx(value), (u, name, k)
