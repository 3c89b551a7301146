import numpy as np
import pytest

from equirec.fairness.list_similarity import (
    jaccard_at_k,
    prag_at_k,
    sensitivity,
    sensitivity_test,
    serp_at_k,
)


def test_similarities_know_their_values():
    neutral = ["a", "b", "c", "d"]
    assert jaccard_at_k(neutral, neutral, 4) == 1.0
    assert jaccard_at_k(["a", "b", "x", "y"], neutral, 4) == pytest.approx(2 / 6)
    assert jaccard_at_k([], [], 3) == 1.0
    # SERP*: rank weights 4, 3, 2, 1 of the sensitive list, over K(K+1)/2 = 10
    assert serp_at_k(["d", "c", "b", "a"], neutral, 4) == 1.0  # same items, any order
    assert serp_at_k(["a", "x", "c", "y"], neutral, 4) == pytest.approx((4 + 2) / 10)
    # PRAG*: pairs (i < j) of the sensitive list whose order the neutral list keeps
    assert prag_at_k(neutral, neutral, 4) == 1.0
    assert prag_at_k(["d", "c", "b", "a"], neutral, 4) == 0.0
    # a > x (x not in neutral: below all), a > c kept, x first: never counted, c > ... : 3 of 6
    assert prag_at_k(["a", "x", "c", "y"], neutral, 4) == pytest.approx((1 + 1 + 1 + 0 + 0 + 1) / 6)
    assert prag_at_k(["a"], ["a"], 1) == 1.0 and prag_at_k(["z"], ["a"], 1) == 0.0
    assert jaccard_at_k(["a", "a", "b"], ["a", "b"], 2) == 1.0  # a repeat counts once


def test_snsr_and_snsv_known_values():
    sim = np.array([[0.9, 0.5, 0.7], [0.7, 0.3, 0.5]])  # value means 0.8, 0.4, 0.6
    snsr, snsv = sensitivity(sim)
    assert snsr == pytest.approx(0.4)
    assert snsv == pytest.approx(np.std([0.8, 0.4, 0.6]))


def test_the_permutation_test_finds_a_shift_and_holds_its_level():
    rng = np.random.default_rng(0)
    shifted = rng.random((40, 2)) * 0.2 + np.array([0.6, 0.4])
    found = sensitivity_test(shifted, ["m", "f"], n_boot=200, n_permutations=199, rng=rng)
    assert found.p_value == pytest.approx(1 / 200)
    assert found.snsr_ci[0] <= found.snsr <= found.snsr_ci[1]
    assert found.values["m"][0] > found.values["f"][0]
    rejected = 0
    for r in range(200):
        null = np.random.default_rng(r).random((30, 3))
        test = sensitivity_test(
            null, ["a", "b", "c"], n_boot=0, n_permutations=99, rng=np.random.default_rng(r)
        )
        rejected += test.p_value < 0.05
    assert 0.01 <= rejected / 200 <= 0.10
