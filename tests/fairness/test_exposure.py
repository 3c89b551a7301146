import math

import numpy as np
import pytest

from equirec.errors import EquirecError
from equirec.evaluation.beyond import gini
from equirec.fairness.exposure import (
    catalogue_share,
    disparate_treatment,
    equity_of_attention,
    exposure_by_popularity_decile,
    exposure_share,
    group_exposure,
    item_exposure,
    lorenz_curve,
    position_weights,
)

C = 1 / math.log2(3)  # v_2 of the log attention, ≈ 0.6309

# three lists over a catalogue of 5 items: list 1 and 2 are shorter than k = 3 (padding -1),
# items 3 and 4 are never recommended
LISTS = np.array([[0, 1, 2], [1, 0, -1], [2, -1, -1]])

# membership of 4 items in groups A, B, C: item 0 in A and B (multi-valued), item 1 in A,
# item 2 in B, item 3 in no group; group C has no item
COUNT = np.array([[1.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
SPLIT = np.array([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
EXPOSURE = np.array([3.0, 1.0, 0.0, 2.0])


def test_position_weights_log_and_geometric():
    # 1/log2(2), 1/log2(3), 1/log2(4)
    np.testing.assert_allclose(position_weights(3), [1.0, C, 0.5])
    # patience**(j - 1)
    np.testing.assert_allclose(
        position_weights(3, attention="geometric", patience=0.5), [1.0, 0.5, 0.25]
    )
    np.testing.assert_allclose(position_weights(2, attention="geometric", patience=1.0), [1, 1])
    assert position_weights(0).shape == (0,)


def test_position_weights_reject_bad_options():
    with pytest.raises(EquirecError, match="unknown attention"):
        position_weights(3, attention="linear")
    with pytest.raises(EquirecError, match="patience"):
        position_weights(3, attention="geometric", patience=0.0)
    with pytest.raises(EquirecError, match="k must be"):
        position_weights(-1)


def test_item_exposure_log_with_padding_and_unrecommended_items():
    exposure = item_exposure(LISTS, n_items=5, k=3)
    # item 0: rank 1 in list 0 (1) + rank 2 in list 1 (C); item 1 the same the other way round
    # item 2: rank 3 in list 0 (0.5) + rank 1 in list 2 (1); items 3, 4: never shown -> 0
    np.testing.assert_allclose(exposure, [1 + C, 1 + C, 1.5, 0.0, 0.0])


def test_item_exposure_geometric():
    exposure = item_exposure(LISTS, n_items=5, k=3, attention="geometric", patience=0.5)
    # weights 1, 0.5, 0.25: item 0 = 1 + 0.5, item 1 = 0.5 + 1, item 2 = 0.25 + 1
    np.testing.assert_allclose(exposure, [1.5, 1.5, 1.25, 0.0, 0.0])


def test_item_exposure_uses_only_the_first_k_ranks():
    exposure = item_exposure(LISTS, n_items=5, k=2)
    # rank 3 of list 0 (item 2) is cut: item 2 keeps rank 1 of list 2 only
    np.testing.assert_allclose(exposure, [1 + C, 1 + C, 1.0, 0.0, 0.0])


def test_item_exposure_sums_to_n_lists_times_weights_without_padding():
    rng = np.random.default_rng(0)
    lists = np.stack([rng.permutation(6)[:4] for _ in range(7)])
    for attention in ("log", "geometric"):
        exposure = item_exposure(lists, n_items=6, k=4, attention=attention)
        assert exposure.sum() == pytest.approx(7 * position_weights(4, attention=attention).sum())


def test_item_exposure_rejects_items_outside_the_catalogue():
    with pytest.raises(EquirecError, match="outside the catalogue"):
        item_exposure(LISTS, n_items=2, k=3)
    with pytest.raises(EquirecError, match="padding"):
        item_exposure(np.array([[0, -2]]), n_items=2, k=2)


def test_group_exposure_count_and_split_membership():
    # count: A = (3 + 1) / 2 = 2; B = (3 + 0) / 2 = 1.5; C has no item -> nan
    np.testing.assert_allclose(group_exposure(EXPOSURE, COUNT), [2.0, 1.5, np.nan])
    # split: A = (0.5·3 + 1) / 1.5 = 5/3; B = (0.5·3 + 0) / 1.5 = 1
    np.testing.assert_allclose(group_exposure(EXPOSURE, SPLIT), [5 / 3, 1.0, np.nan])


def test_exposure_share_and_catalogue_share():
    # total exposure 6; count: A 4/6, B 3/6 (item 0 counted twice: shares sum to 7/6), C 0
    np.testing.assert_allclose(exposure_share(EXPOSURE, COUNT), [4 / 6, 3 / 6, 0.0])
    # split: A 2.5/6, B 1.5/6; item 3 (no group) holds the missing 2/6
    np.testing.assert_allclose(exposure_share(EXPOSURE, SPLIT), [2.5 / 6, 1.5 / 6, 0.0])
    # catalogue of 4 items: count A 2/4, B 2/4; split A 1.5/4, B 1.5/4
    np.testing.assert_allclose(catalogue_share(COUNT), [0.5, 0.5, 0.0])
    np.testing.assert_allclose(catalogue_share(SPLIT), [0.375, 0.375, 0.0])
    assert np.isnan(exposure_share(np.zeros(4), COUNT)).all()


def test_group_exposure_checks_membership_shape():
    with pytest.raises(EquirecError, match="membership"):
        group_exposure(EXPOSURE, COUNT[:3])


def test_disparate_treatment():
    exposure = np.array([3.0, 1.0, 0.0, 2.0])
    relevance = np.array([2.0, 0.0, 1.0, 0.0])
    # G0 = {0, 2}: Exp 1.5, U 1.5 -> 1; G1 = {1, 3}: U 0 -> nan; G2 empty -> nan
    m = np.array([[1.0, 0, 0], [0, 1, 0], [1, 0, 0], [0, 1, 0]])
    np.testing.assert_allclose(disparate_treatment(exposure, relevance, m), [1.0, np.nan, np.nan])
    # G0 = {0, 1}: Exp 2, U 1 -> 2; G1 = {2, 3}: Exp 1, U 0.5 -> 2 (no disparate treatment)
    m2 = np.array([[1.0, 0], [1, 0], [0, 1], [0, 1]])
    np.testing.assert_allclose(disparate_treatment(exposure, relevance, m2), [2.0, 2.0])


def test_equity_of_attention_zero_when_attention_equals_relevance():
    lists = np.array([[0, 1, 2], [2, 0, 1]])
    relevance = np.tile(position_weights(3), (2, 1))  # relevance proportional to attention
    assert equity_of_attention(lists, relevance=relevance, k=3) == pytest.approx(0.0, abs=1e-12)
    geo = np.tile(position_weights(3, attention="geometric", patience=0.5), (2, 1))
    value = equity_of_attention(lists, relevance=geo * 7, k=3, attention="geometric", patience=0.5)
    assert value == pytest.approx(0.0, abs=1e-12)


def test_equity_of_attention_hand_computed_log():
    lists = np.array([[0, 1], [1, 2]])
    relevance = np.array([[1.0, 0.0], [0.0, 0.0]])  # list 1 has no relevant item
    a2 = C / (1 + C)  # normalised attention of rank 2 (≈ 0.387); rank 1: a1 = 1 − a2 ≈ 0.613
    # A = [a1, a2 + a1, a2]; R = [1, 0, 0] (list 1 gives attention but no relevance)
    # Σ|A − R| = (1 − a1) + 1 + a2 = 1 + 2·a2 ≈ 1.774
    raw = equity_of_attention(lists, relevance=relevance, k=2, normalize=False)
    assert raw == pytest.approx(1 + 2 * a2)
    assert equity_of_attention(lists, relevance=relevance, k=2) == pytest.approx((1 + 2 * a2) / 2)


def test_equity_of_attention_geometric():
    lists = np.array([[0, 1], [1, 2]])
    relevance = np.array([[1.0, 0.0], [0.0, 0.0]])
    # weights 1, 0.5 -> normalised 2/3, 1/3: Σ|A − R| = 1 + 2/3 = 5/3, over 2 lists 5/6
    value = equity_of_attention(
        lists, relevance=relevance, k=2, attention="geometric", patience=0.5
    )
    assert value == pytest.approx(5 / 6)


def test_equity_of_attention_padding_and_empty_lists():
    lists = np.array([[0, -1], [-1, -1], [1, 0]])
    # the 9 at a padded position and the whole empty list are ignored
    relevance = np.array([[1.0, 9.0], [3.0, 3.0], [0.0, 1.0]])
    a1 = 1 / (1 + C)  # normalised attention of rank 1; rank 2: a2 = 1 − a1
    # list 0: item 0 gets attention 1 and relevance 1; list 2: item 1 a1 vs 0, item 0 a2 vs 1
    # A = [1 + a2, a1], R = [2, 0]: Σ = (1 − a2) + a1 = 2·a1; 2 non-empty lists -> a1
    raw = equity_of_attention(lists, relevance=relevance, k=2, normalize=False)
    assert raw == pytest.approx(2 * a1)
    assert equity_of_attention(lists, relevance=relevance, k=2) == pytest.approx(a1)
    assert math.isnan(equity_of_attention(np.full((2, 2), -1), relevance=np.ones((2, 2)), k=2))


def test_equity_of_attention_checks_relevance_shape():
    with pytest.raises(EquirecError, match="relevance"):
        equity_of_attention(LISTS, relevance=np.ones((2, 3)), k=3)
    with pytest.raises(EquirecError, match="non-negative"):
        equity_of_attention(LISTS, relevance=-np.ones((3, 3)), k=3)


def test_lorenz_curve_includes_never_recommended_items():
    x, y = lorenz_curve(np.array([0.0, 3.0, 1.0, 0.0]))
    # sorted [0, 0, 1, 3], total 4: all 5 vertices (5 <= 101 points)
    np.testing.assert_allclose(x, [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_allclose(y, [0, 0, 0, 0.25, 1])
    # Gini = 1 − 2·area: trapezoids 0.25·(0 + 0 + 0.125 + 0.625) = 0.1875 -> 0.625
    area = float(np.sum((x[1:] - x[:-1]) * (y[1:] + y[:-1]) / 2))
    assert 1 - 2 * area == pytest.approx(gini(np.array([0.0, 3.0, 1.0, 0.0])))


def test_lorenz_curve_downsampled():
    x, y = lorenz_curve(np.arange(10.0), points=3)
    # x = 0, 0.5, 1; the 5 least exposed items hold 0+1+2+3+4 = 10 of 45
    np.testing.assert_allclose(x, [0, 0.5, 1])
    np.testing.assert_allclose(y, [0, 10 / 45, 1])


def test_lorenz_curve_all_zero_is_the_diagonal():
    x, y = lorenz_curve(np.zeros(3))
    np.testing.assert_allclose(y, x)
    np.testing.assert_allclose(x, [0, 1 / 3, 2 / 3, 1])
    x, y = lorenz_curve(np.zeros(0))
    np.testing.assert_allclose(x, [0, 1])
    np.testing.assert_allclose(y, [0, 1])
    with pytest.raises(EquirecError, match="points"):
        lorenz_curve(np.ones(3), points=1)


def test_exposure_by_popularity_decile_breaks_ties_by_index():
    popularity = np.array([5.0, 1, 1, 3, 0, 1, 2])
    exposure = np.array([1.0, 0, 2, 3, 0, 4, 0])
    table = exposure_by_popularity_decile(exposure, popularity, bins=3)
    # ascending, ties by index: [4, 1, 2, 5, 6, 3, 0] split 3 + 2 + 2:
    # [4, 1, 2] (pop 0..1), [5, 6] (pop 1..2: item 5 ties with 1, 2 but has a higher index),
    # [3, 0] (pop 3..5); exposure 2, 4, 4 of 10
    assert list(table.columns) == [
        "decile",
        "n_items",
        "popularity_min",
        "popularity_max",
        "exposure_share",
    ]
    assert table["decile"].tolist() == [1, 2, 3]
    assert table["n_items"].tolist() == [3, 2, 2]
    assert table["popularity_min"].tolist() == [0.0, 1.0, 3.0]
    assert table["popularity_max"].tolist() == [1.0, 2.0, 5.0]
    np.testing.assert_allclose(table["exposure_share"], [0.2, 0.4, 0.4])


def test_exposure_by_popularity_decile_more_bins_than_items():
    table = exposure_by_popularity_decile(np.array([1.0, 3.0]), np.array([2.0, 1.0]), bins=3)
    # item 1 (pop 1) first, then item 0 (pop 2), last band empty
    assert table["n_items"].tolist() == [1, 1, 0]
    np.testing.assert_allclose(table["exposure_share"], [0.75, 0.25, 0.0])
    assert np.isnan(table["popularity_min"].iloc[2])
    assert np.isnan(exposure_by_popularity_decile(np.zeros(2), np.ones(2))["exposure_share"]).all()
    assert len(exposure_by_popularity_decile(np.zeros(2), np.ones(2))) == 10
