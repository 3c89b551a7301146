"""The gap test: Welch statistics, simultaneous intervals that agree with the test, and its level
and power for ML-100K's group sizes (the fast version of benchmarks/gap_coverage.py)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from equirec.fairness.gaps import gap_test

# ML-100K: gender, the 7 age bands, the 21 occupations
GENDER = [273, 670]
SMALL = [20, 923]
AGE = [36, 198, 301, 194, 80, 73, 61]
OCCUPATION = [7, 7, 9, 12, 12, 14, 16, 18, 26, 27, 28, 31, 32, 45, 51, 66, 67, 79, 95, 105, 196]


def _ndcg_like(n: int, rng: np.random.Generator) -> np.ndarray:
    """Per-user NDCG@10 of a weak recommender: mostly 0, a skewed spread above it."""
    hit = rng.random(n) < 0.35
    return np.where(hit, rng.beta(1.2, 3.0, n), 0.0)


def _codes(sizes: list[int]) -> np.ndarray:
    return np.repeat(np.arange(len(sizes)), sizes)


def test_two_groups_statistic_is_welch_t() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.normal(0.3, 1.0, 40), rng.normal(0.0, 2.0, 90)
    test = gap_test(np.r_[a, b], _codes([40, 90]), n_groups=2, confidence=0.95,
                    n_permutations=200, rng=rng, prior_df=0)  # fmt: skip
    assert test is not None
    welch = stats.ttest_ind(a, b, equal_var=False).statistic
    assert test.statistic == pytest.approx(abs(welch))
    assert test.means == pytest.approx([a.mean(), b.mean()])
    se = np.sqrt(a.var(ddof=1) / 40 + b.var(ddof=1) / 90)
    d = a.mean() - b.mean()
    assert test.pair_low[0, 1] == pytest.approx(d - test.critical * se)
    assert test.pair_high[0, 1] == pytest.approx(d + test.critical * se)
    assert test.pair_low[1, 0] == pytest.approx(-test.pair_high[0, 1])  # the same interval
    assert test.gap_high == pytest.approx(abs(d) + test.critical * se)


def test_moderated_variance_shrinks_small_groups_towards_the_pooled_variance() -> None:
    rng = np.random.default_rng(7)
    small = np.zeros(7)  # 7 alike users: their own variance is 0
    big = rng.normal(0.5, 1.0, 300)
    values, codes = np.r_[small, big], _codes([7, 300])
    welch = gap_test(values, codes, n_groups=2, confidence=0.95, n_permutations=100, rng=rng,
                     prior_df=0)  # fmt: skip
    moderated = gap_test(values, codes, n_groups=2, confidence=0.95, n_permutations=100,
                         rng=rng, prior_df=30)  # fmt: skip
    assert welch is not None and moderated is not None
    pooled = values.var(ddof=1)
    var_small = 30 * pooled / (6 + 30)
    var_big = (299 * big.var(ddof=1) + 30 * pooled) / (299 + 30)
    se = np.sqrt(var_small / 7 + var_big / 300)
    assert moderated.statistic == pytest.approx(big.mean() / se)
    assert welch.statistic == pytest.approx(big.mean() / np.sqrt(big.var(ddof=1) / 300))


def test_interval_excludes_zero_exactly_when_p_is_below_the_level() -> None:
    rng = np.random.default_rng(1)
    agree = []
    for r in range(60):
        sizes = [OCCUPATION, AGE, SMALL, GENDER][r % 4]
        codes = _codes(sizes)
        values = _ndcg_like(len(codes), rng) + (r % 3) * 0.02 * (codes == 0)
        t = gap_test(values, codes, n_groups=len(sizes), confidence=0.95, n_permutations=199,
                     max_permutations=800, rng=rng)  # fmt: skip
        assert t is not None
        agree.append((t.gap_low > 0) == (t.p_value < 0.05))
        assert (t.gap_low > 0) == bool(t.significant_pairs())
    assert all(agree)


def test_nan_and_ungrouped_units_are_left_out_and_one_group_is_no_test() -> None:
    rng = np.random.default_rng(2)
    values = np.r_[rng.normal(size=50), np.nan, 100.0]
    codes = np.r_[np.repeat([0, 1], 25), 0, -1]
    t = gap_test(values, codes, n_groups=3, confidence=0.95, n_permutations=50, rng=rng)
    assert t is not None and list(t.groups) == [0, 1]  # group 2 is empty: not compared
    assert t.means == pytest.approx([values[:25].mean(), values[25:50].mean()])
    one = gap_test(values[:25], np.zeros(25, int), n_groups=2, confidence=0.95,
                   n_permutations=50, rng=rng)  # fmt: skip
    assert one is None


def test_constant_groups_that_differ_are_a_certain_gap() -> None:
    values = np.r_[np.zeros(30), np.ones(30)]
    for prior_df in (0.0, 30.0):
        rng = np.random.default_rng(3)
        t = gap_test(values, _codes([30, 30]), n_groups=2, confidence=0.95, n_permutations=100,
                     max_permutations=100, rng=rng, prior_df=prior_df)  # fmt: skip
        assert t is not None and t.p_value == pytest.approx(1 / 101) and t.gap_low > 0.5
    # Welch's own variances are 0: the gap is known exactly
    assert t is not None and prior_df == 30.0
    welch = gap_test(values, _codes([30, 30]), n_groups=2, confidence=0.95, n_permutations=100,
                     rng=np.random.default_rng(3), prior_df=0)  # fmt: skip
    assert welch is not None and welch.statistic == float("inf")
    assert welch.gap_low == welch.gap_high == pytest.approx(1.0)


def test_a_clear_gap_gets_a_p_value_far_below_what_n_permutations_allows() -> None:
    rng = np.random.default_rng(4)
    codes = _codes(GENDER)
    values = _ndcg_like(len(codes), rng) + 0.15 * (codes == 1)
    t = gap_test(values, codes, n_groups=2, confidence=0.95, n_permutations=500,
                 max_permutations=20_000, rng=rng)  # fmt: skip
    assert t is not None and t.n_permutations == 20_000
    assert t.p_value == pytest.approx(1 / 20_001)


@pytest.mark.parametrize("sizes", [GENDER, SMALL, AGE, OCCUPATION], ids=["2", "20/923", "7", "21"])
def test_no_gap_interval_contains_zero_95_percent(sizes: list[int]) -> None:
    """Level of the test = coverage of 0 by the interval, for ML-100K's group sizes.

    The old method (bootstrap of the two groups extreme in the data) covered 0 in 84% of
    simulations for 20/923, 62% for 7 groups and 39% for 21. With 600 simulations the binomial
    99% band around 95% is ±2.3 points.
    """
    rng = np.random.default_rng(5)
    codes = _codes(sizes)
    covered = 0
    n_sims = 600
    for _ in range(n_sims):
        t = gap_test(_ndcg_like(len(codes), rng), codes, n_groups=len(sizes), confidence=0.95,
                     n_permutations=100, max_permutations=100, rng=rng)  # fmt: skip
        assert t is not None
        covered += t.gap_low == 0.0
    assert abs(covered / n_sims - 96 / 101) < 0.023, covered / n_sims  # level: 5 / 101


def test_power_on_a_planted_gap() -> None:
    """A 0.05 NDCG gap between ML-100K's genders (half the mean) is found almost always."""
    rng = np.random.default_rng(6)
    codes = _codes(GENDER)
    found = 0
    for _ in range(60):
        values = _ndcg_like(len(codes), rng) + 0.05 * (codes == 1)
        t = gap_test(values, codes, n_groups=2, confidence=0.95, n_permutations=100,
                     max_permutations=100, rng=rng)  # fmt: skip
        assert t is not None
        found += t.p_value < 0.05
    assert found >= 54, found


def test_adaptive_permutations_keep_the_level() -> None:
    """With the audit's adaptive permutations (more where p is small) p < 0.05 stays at ~5%."""
    rng = np.random.default_rng(8)
    codes = _codes(AGE)
    rejected, n_sims = 0, 400
    for _ in range(n_sims):
        t = gap_test(_ndcg_like(len(codes), rng), codes, n_groups=len(AGE), confidence=0.95,
                     n_permutations=100, max_permutations=2000, rng=rng)  # fmt: skip
        assert t is not None and 100 <= t.n_permutations <= 2000
        rejected += t.p_value < 0.05
    # binomial 99% band around 5% for 400 simulations: 2.2% to 7.8%
    assert 0.022 <= rejected / n_sims <= 0.078, rejected / n_sims
