import numpy as np
import pytest
import scipy.sparse as sp

from equirec.evaluation.beyond import gini
from equirec.fairness.exposure import item_exposure
from equirec.fairness.paired import (
    SystemLists,
    coverage_statistic,
    estimates,
    gap_statistic,
    gini_statistic,
    mean_statistic,
    paired_tests,
    share_statistic,
)
from equirec.fairness.stats import holm

N_ITEMS = 30


def _system(values: np.ndarray, lists: np.ndarray) -> SystemLists:
    rows = np.repeat(np.arange(len(lists)), lists.shape[1])
    weights = np.tile(1.0 / np.log2(np.arange(2, lists.shape[1] + 2)), len(lists))
    exposure = sp.csr_matrix((weights, (rows, lists.ravel())), shape=(len(lists), N_ITEMS))
    return SystemLists(values=values[:, None], metrics=("ndcg@5",), exposure=exposure)


def _random(rng: np.random.Generator, n: int, *, shift: float = 0.0, top: int = N_ITEMS):
    values = np.clip(rng.random(n) * 0.5 + shift, 0, 1)
    lists = np.stack([rng.choice(top, 5, replace=False) for _ in range(n)])
    return _system(values, lists), values, lists


def test_statistics_know_their_values():
    rng = np.random.default_rng(0)
    system, values, lists = _random(rng, 40)
    values[3] = np.nan  # a user not evaluated is left out of the mean and the gaps
    system = _system(values, lists)
    codes = np.array([0, 1, 2, -1] * 10)
    tail = np.arange(N_ITEMS) >= 20
    stats = [
        mean_statistic("ndcg@5"),
        gap_statistic("ndcg@5", codes, 3, name="gap"),
        gini_statistic(),
        share_statistic(tail, name="tail"),
        coverage_statistic(),
    ]
    got = {e.name: e.value for e in estimates(stats, system, n_boot=0)}
    means = [np.nanmean(values[codes == g]) for g in range(3)]
    exposure = item_exposure(lists, n_items=N_ITEMS, k=5)
    assert got["ndcg@5"] == pytest.approx(np.nanmean(values))
    assert got["gap"] == pytest.approx(max(means) - min(means))
    assert got["gini_exposure"] == pytest.approx(gini(exposure))
    assert got["tail"] == pytest.approx(exposure[tail].sum() / exposure.sum())
    assert got["coverage"] == pytest.approx(len(np.unique(lists)) / N_ITEMS)


def test_identical_systems_differ_by_nothing():
    rng = np.random.default_rng(1)
    system, _, _ = _random(rng, 50)
    stats = [mean_statistic("ndcg@5"), gini_statistic(), coverage_statistic()]
    for result in paired_tests(stats, system, system, n_boot=50, n_permutations=99):
        assert result.difference == 0.0
        assert result.p_value == 1.0 and not result.significant


def test_a_shift_for_every_user_is_found_and_leaves_the_gaps_alone():
    rng = np.random.default_rng(2)
    a, values, lists = _random(rng, 60)
    b = _system(values + 0.1, lists)
    codes = np.arange(60) % 2
    stats = [mean_statistic("ndcg@5"), gap_statistic("ndcg@5", codes, 2, name="gap")]
    mean, gap = paired_tests(stats, a, b, n_boot=200, n_permutations=199, seed=3)
    assert mean.difference == pytest.approx(0.1)
    assert mean.ci_low == pytest.approx(0.1) and mean.ci_high == pytest.approx(0.1)
    assert mean.p_value == pytest.approx(1 / 200) and mean.significant
    assert gap.difference == pytest.approx(0.0, abs=1e-12)
    assert gap.p_value == 1.0


def test_more_diverse_lists_lower_the_gini_significantly():
    rng = np.random.default_rng(4)
    a, values, _ = _random(rng, 80, top=8)  # every list from 8 items
    b, _, _ = _random(rng, 80)  # from the whole catalogue
    b = SystemLists(values=values[:, None], metrics=b.metrics, exposure=b.exposure)
    gini_result, coverage_result = paired_tests(
        [gini_statistic(), coverage_statistic()], a, b, n_boot=50, n_permutations=199
    )
    assert gini_result.difference < -0.3 and gini_result.significant
    assert coverage_result.difference > 0.5 and coverage_result.significant
    # a resample repeats users, which biases catalogue statistics: no interval for them
    assert np.isnan(gini_result.ci_low) and np.isnan(coverage_result.ci_high)


def test_false_positives_stay_at_the_nominal_level():
    """Two exchangeable systems: the paired permutation test rejects about 5% of the time."""
    rejected = 0
    runs = 200
    for r in range(runs):
        rng = np.random.default_rng(100 + r)
        a, _, _ = _random(rng, 40)
        b, _, _ = _random(rng, 40)
        (result,) = paired_tests([mean_statistic("ndcg@5")], a, b, n_boot=0, n_permutations=99)
        rejected += result.p_value < 0.05
    assert 0.01 <= rejected / runs <= 0.10


def test_draws_do_not_depend_on_the_other_statistics():
    rng = np.random.default_rng(5)
    a, _, _ = _random(rng, 30)
    b, _, _ = _random(rng, 30)
    alone = paired_tests([mean_statistic("ndcg@5")], a, b, n_boot=100, n_permutations=99)
    along = paired_tests(
        [gini_statistic(), mean_statistic("ndcg@5")], a, b, n_boot=100, n_permutations=99
    )
    assert (alone[0].ci_low, alone[0].p_value) == (along[1].ci_low, along[1].p_value)


def test_systems_of_different_users_are_refused():
    rng = np.random.default_rng(6)
    a, _, _ = _random(rng, 30)
    b, _, _ = _random(rng, 31)
    with pytest.raises(ValueError, match="same users"):
        paired_tests([mean_statistic("ndcg@5")], a, b)


def test_holm_known_values():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm([]) == []
