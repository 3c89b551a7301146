import math

import numpy as np
import pytest
import scipy.sparse as sp

from equirec.errors import EquirecError
from equirec.fairness.item_metrics import (
    catalogue_exposure,
    head_items,
    popularity_bias,
    reo,
    rsp,
)

C = 1 / math.log2(3)  # v_2 of the log attention


def _csr(rows: list[list[int]], n_items: int) -> sp.csr_matrix:
    m = np.zeros((len(rows), n_items))
    for r, items in enumerate(rows):
        m[r, items] = 1.0
    return sp.csr_matrix(m)


def test_head_items_share_includes_the_crossing_item():
    pop = np.array([5.0, 3.0, 2.0, 0.0])
    # running shares 0.5, 0.8, 1.0, 1.0
    assert head_items(pop, cutoff=0.8).tolist() == [True, True, False, False]  # reaches 0.8
    assert head_items(pop, cutoff=0.6).tolist() == [True, True, False, False]  # item 1 crosses
    assert head_items(pop, cutoff=0.5).tolist() == [True, False, False, False]
    assert not head_items(np.zeros(3)).any()  # no interactions: no head


def test_head_items_ties_by_index():
    pop = np.array([2.0, 4.0, 2.0, 2.0])
    # descending, ties by index: [1, 0, 2, 3]; shares 0.4, 0.6, 0.8 -> 0.7 crossed at item 2
    assert head_items(pop, cutoff=0.7).tolist() == [True, True, True, False]
    # top: ceil(0.5·4) = 2 -> items 1, 0; ceil(0.2·4) = 1 -> item 1
    assert head_items(pop, method="top", cutoff=0.5).tolist() == [True, True, False, False]
    assert head_items(pop, method="top", cutoff=0.2).tolist() == [False, True, False, False]
    # 0.6·5 = 3.0000000000000004 in floating point: still 3 items
    assert head_items(np.arange(5.0), method="top", cutoff=0.6).sum() == 3


def test_head_items_validates_options():
    for cutoff in (0.0, 1.0, 1.5):
        with pytest.raises(EquirecError, match="cutoff"):
            head_items(np.ones(3), cutoff=cutoff)
    with pytest.raises(EquirecError, match="method"):
        head_items(np.ones(3), method="pareto")


POP = np.array([10.0, 6.0, 2.0, 2.0, 0.0])
# shares 0.5, 0.8 -> head {0, 1}, tail {2, 3, 4}
TAIL = ~head_items(POP)
BIAS_LISTS = np.array([[0, 2, 4], [1, -1, -1], [-1, -1, -1], [3, 2, 1]])


def test_popularity_bias_per_list():
    assert TAIL.tolist() == [False, False, True, True, True]
    table = popularity_bias(BIAS_LISTS, popularity=POP, tail=TAIL, k=3)
    # row 0: (10 + 2 + 0)/3 = 4, tail {2, 4}; row 1: 6, no tail; row 2 empty;
    # row 3: (2 + 2 + 6)/3 = 10/3, tail {3, 2}
    np.testing.assert_allclose(table["arp"], [4.0, 6.0, np.nan, 10 / 3])
    np.testing.assert_allclose(table["aplt"], [2 / 3, 0.0, np.nan, 2 / 3])
    assert table["aclt"].tolist() == [2, 0, 0, 2]


def test_popularity_bias_cut_at_k():
    table = popularity_bias(BIAS_LISTS, popularity=POP, tail=TAIL, k=2)
    # row 0: [0, 2] -> 6, 1 tail; row 3: [3, 2] -> 2, 2 tail
    np.testing.assert_allclose(table["arp"], [6.0, 6.0, np.nan, 2.0])
    np.testing.assert_allclose(table["aplt"], [0.5, 0.0, np.nan, 1.0])
    assert table["aclt"].tolist() == [1, 0, 0, 2]
    with pytest.raises(EquirecError, match="tail"):
        popularity_bias(BIAS_LISTS, popularity=POP, tail=TAIL.astype(int), k=2)


# 3 users, 4 items, k = 2; the third list is shorter than k
LISTS = np.array([[0, 2], [0, 1], [1, -1]])
SEEN = _csr([[1], [3], [0, 2]], 4)
SINGLE = np.array([[1.0, 0, 0], [1, 0, 0], [0, 1, 0], [0, 1, 0]])  # A {0, 1}, B {2, 3}, C {}


def test_rsp_single_valued_with_an_empty_group():
    out = rsp(LISTS, seen=SEEN, membership=SINGLE, k=2)
    # recommended: item 0 ×2, item 1 ×2, item 2 ×1 -> A 4, B 1
    # candidates: 3 users × 2 items − seen (A: items 1, 0 once each; B: 3, 2) -> A 4, B 4
    # P = [1, 0.25], C undefined; mean 0.625, population std 0.375 -> RSP 0.6
    np.testing.assert_allclose(out["by_group"], [1.0, 0.25, np.nan])
    assert out["value"] == pytest.approx(0.6)


def test_rsp_multi_valued_count_and_split():
    # item 1 is in A and B
    count = np.array([[1.0, 0], [1, 1], [0, 1], [0, 1]])
    out = rsp(LISTS, seen=SEEN, membership=count, k=2)
    # A: rec 2 + 2 = 4, candidates 3·2 − 2 = 4 -> 1; B: rec 2 + 1 = 3, candidates 3·3 − 3 = 6
    # -> 0.5; mean 0.75, std 0.25 -> 1/3
    np.testing.assert_allclose(out["by_group"], [1.0, 0.5])
    assert out["value"] == pytest.approx(1 / 3)
    split = np.array([[1.0, 0], [0.5, 0.5], [0, 1], [0, 1]])
    out = rsp(LISTS, seen=SEEN, membership=split, k=2)
    # A: rec 2 + 0.5·2 = 3, candidates 3·1.5 − (1 + 0.5) = 3 -> 1
    # B: rec 0.5·2 + 1 = 2, candidates 3·2.5 − (0.5 + 1 + 1) = 5 -> 0.4; mean 0.7, std 0.3
    np.testing.assert_allclose(out["by_group"], [1.0, 0.4])
    assert out["value"] == pytest.approx(3 / 7)


def test_rsp_accepts_dense_seen_and_checks_its_shape():
    out = rsp(LISTS, seen=SEEN.toarray(), membership=SINGLE, k=2)
    assert out["value"] == pytest.approx(0.6)
    with pytest.raises(EquirecError, match="seen"):
        rsp(LISTS, seen=SEEN[:2], membership=SINGLE, k=2)


def test_reo_group_without_relevant_items_is_left_out():
    relevant = _csr([[2, 3], [1], [1, 3]], 4)
    # A {0, 1}, B {2, 3}, C {0}: item 0 is never relevant, D {}
    m = np.array([[1.0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 1, 0, 0]])
    out = reo(LISTS, relevant=relevant, membership=m, k=2)
    # hits: user 0 item 2, user 1 item 1, user 2 item 1
    # held out: item 1 ×2, item 2 ×1, item 3 ×2
    # A: 2/2 = 1; B: 1/(1 + 2) = 1/3; C: 0/0 -> nan; D -> nan
    # over A, B: mean 2/3, population std 1/3 -> REO 0.5
    np.testing.assert_allclose(out["by_group"], [1.0, 1 / 3, np.nan, np.nan])
    assert out["value"] == pytest.approx(0.5)


def test_reo_nothing_relevant_recommended():
    relevant = _csr([[3], [3], [3]], 4)
    out = reo(LISTS, relevant=relevant, membership=SINGLE, k=2)
    # A has no relevant item (nan); B: 0/3 = 0 -> mean 0, REO undefined
    np.testing.assert_allclose(out["by_group"], [np.nan, 0.0, np.nan])
    assert math.isnan(out["value"])


def test_catalogue_exposure_counts_never_recommended_items():
    lists = np.array([[0, 1, 2], [1, 0, -1], [2, -1, -1]])
    out = catalogue_exposure(lists, n_items=5, k=3)
    # counts [2, 2, 2, 0, 0]: coverage 3/5, 2 never recommended, entropy log 3
    # gini of counts: sorted [0, 0, 2, 2, 2]: (0·2 + 2·2 + 4·2)/(5·6) = 0.4
    # exposure [1 + C, 1 + C, 1.5, 0, 0], sorted [0, 0, 1.5, 1 + C, 1 + C]:
    # (0·1.5 + 2(1 + C) + 4(1 + C)) / (5·(3.5 + 2C)) ≈ 0.411
    assert out["coverage"] == pytest.approx(0.6)
    assert out["never_recommended"] == 2
    assert isinstance(out["never_recommended"], int)
    assert out["entropy"] == pytest.approx(math.log(3))
    assert out["gini_counts"] == pytest.approx(0.4)
    assert out["gini_exposure"] == pytest.approx(6 * (1 + C) / (5 * (3.5 + 2 * C)))
    # with every rank weighted 1 the exposure is the count
    flat = catalogue_exposure(lists, n_items=5, k=3, attention="geometric", patience=1.0)
    assert flat["gini_exposure"] == pytest.approx(0.4)
