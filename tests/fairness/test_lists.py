import math

import numpy as np
import pytest
import scipy.sparse as sp

from equirec.errors import EquirecError
from equirec.fairness.lists import calibration_kl, genre_profiles, intra_list_diversity

# genres A, B: item 0 A, item 1 B, item 2 A+B (p(g|i) = 0.5, 0.5), item 3 no genre
GENRES = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])


def _csr(rows: list[list[int]], n_items: int) -> sp.csr_matrix:
    m = np.zeros((len(rows), n_items))
    for r, items in enumerate(rows):
        m[r, items] = 1.0
    return sp.csr_matrix(m)


# user 0: history {0, 1} -> p = [0.5, 0.5]; list [2, 3] -> q = [0.5, 0.5] (item 3 skipped)
# user 1: history {0, 2, 3} -> p = ([1, 0] + [0.5, 0.5]) / 2 = [0.75, 0.25]; list [0] -> q = [1, 0]
# user 2: history {3} only: no genre -> nan
# user 3: list [3] has no genre -> nan; user 4: empty list -> nan
LISTS = np.array([[2, 3], [0, -1], [0, 1], [3, -1], [-1, -1]])
SEEN = _csr([[0, 1], [0, 2, 3], [3], [0], [1]], 4)


def test_calibration_kl_hand_computed():
    out = calibration_kl(LISTS, seen=SEEN, item_genres=GENRES, k=2)
    # user 1: q̃ = 0.99·[1, 0] + 0.01·[0.75, 0.25] = [0.9975, 0.0025]
    # C_KL = 0.75·ln(0.75/0.9975) + 0.25·ln(0.25/0.0025) ≈ −0.2139 + 1.1513 = 0.9374
    expected = 0.75 * math.log(0.75 / 0.9975) + 0.25 * math.log(100)
    assert out[0] == pytest.approx(0.0, abs=1e-12)  # same genre mix as the history
    assert out[1] == pytest.approx(expected)
    assert np.isnan(out[2:]).all()


def test_calibration_kl_alpha():
    # alpha = 0: user 1's list misses genre B of the history -> infinite
    out = calibration_kl(LISTS, seen=SEEN, item_genres=GENRES, k=2, alpha=0.0)
    assert out[0] == pytest.approx(0.0, abs=1e-12)
    assert math.isinf(out[1])
    # history all A, list all B: q̃ = [0.01, 0.99] -> C_KL = 1·ln(1/0.01) = −ln α, the maximum
    worst = calibration_kl(np.array([[1]]), seen=_csr([[0]], 4), item_genres=GENRES, k=1)
    assert worst[0] == pytest.approx(-math.log(0.01))
    with pytest.raises(EquirecError, match="alpha"):
        calibration_kl(LISTS, seen=SEEN, item_genres=GENRES, k=2, alpha=1.5)


def test_calibration_kl_small_when_list_mix_is_close_to_history():
    # history [0.5, 0.5]; list of 3 items [0, 1, 2] -> q = ([1, 0] + [0, 1] + [.5, .5]) / 3 = p
    out = calibration_kl(np.array([[0, 1, 2]]), seen=_csr([[0, 1]], 4), item_genres=GENRES, k=3)
    assert out[0] == pytest.approx(0.0, abs=1e-12)
    # [0, 2, 1] cut at k = 2: q = ([1, 0] + [.5, .5]) / 2 = [0.75, 0.25] vs p = [0.5, 0.5]
    # q̃ = 0.99·q + 0.01·p = [0.7475, 0.2525]; C_KL = ½ln(½/0.7475) + ½ln(½/0.2525) ≈ 0.1406
    out = calibration_kl(np.array([[0, 2, 1]]), seen=_csr([[0, 1]], 4), item_genres=GENRES, k=2)
    qt = 0.99 * np.array([0.75, 0.25]) + 0.01 * np.array([0.5, 0.5])
    assert out[0] == pytest.approx(0.5 * math.log(0.5 / qt[0]) + 0.5 * math.log(0.5 / qt[1]))


def test_genre_profiles_average_over_users_with_both_distributions():
    table = genre_profiles(LISTS, seen=SEEN, item_genres=GENRES, k=2)
    # users 0 and 1 only: history ([.5, .5] + [.75, .25]) / 2, recommended ([.5, .5] + [1, 0]) / 2
    assert list(table.columns) == ["history", "recommended"]
    np.testing.assert_allclose(table["history"], [0.625, 0.375])
    np.testing.assert_allclose(table["recommended"], [0.75, 0.25])
    empty = genre_profiles(LISTS[2:], seen=SEEN[2:], item_genres=GENRES, k=2)
    assert empty.isna().all().all()


def test_intra_list_diversity_cosine():
    lists = np.array([[0, 1, 2], [0, 3, -1], [2, -1, -1], [-1, -1, -1], [0, 0, -1]])
    out = intra_list_diversity(lists, item_features=GENRES, k=3)
    # [0, 1, 2]: d(0,1) = 1 − 0, d(0,2) = d(1,2) = 1 − 1/√2 -> (3 − √2)/3 ≈ 0.5286
    # [0, 3]: item 3 has no feature: similarity 0 -> 1; [2] and [] -> nan; [0, 0] -> 0
    np.testing.assert_allclose(out, [(3 - math.sqrt(2)) / 3, 1.0, np.nan, np.nan, 0.0])
    # k = 2 keeps [0, 1] of the first list only
    assert intra_list_diversity(lists, item_features=GENRES, k=2)[0] == pytest.approx(1.0)


def test_intra_list_diversity_jaccard():
    features = GENRES * 3  # binarised: non-zero counts as 1
    lists = np.array([[0, 1, 2], [0, 3, -1], [3, 3, -1]])
    out = intra_list_diversity(lists, item_features=features, k=3, metric="jaccard")
    # J(0,1) = 0 -> 1, J(0,2) = J(1,2) = 1/2 -> 0.5: mean 2/3
    # [0, 3]: intersection 0 -> 1; [3, 3]: both without features: similarity 0 -> 1
    np.testing.assert_allclose(out, [2 / 3, 1.0, 1.0])
    with pytest.raises(EquirecError, match="metric"):
        intra_list_diversity(lists, item_features=features, k=3, metric="euclidean")
