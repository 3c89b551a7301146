"""FA*IR: m-tables, the significance adjustment and the greedy re-ranking, in both directions."""

from __future__ import annotations

import itertools
from typing import ClassVar

import numpy as np
import pytest
from scipy.stats import binom

from equirec.errors import ConfigError, DataError
from equirec.mitigation.rerank import FAIR, Candidates
from equirec.mitigation.rerank.fair import (
    _adjusted,
    _merge_lists,
    _merge_rows,
    adjust_alpha,
    fail_probability,
    mtable,
)
from equirec.testing import RerankerChecks

# Table 1 of Zehlike et al. (2017): m_{α,p}(k) for α = 0.1 (unadjusted), k = 1..12.
PAPER_TABLE_1 = {
    0.1: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
    0.2: [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1],
    0.3: [0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 2],
    0.4: [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 3],
    0.5: [0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 3, 4],
    0.6: [0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5],
    0.7: [0, 1, 1, 2, 2, 3, 3, 4, 5, 5, 6, 6],
}


def brute_force_fail(table: np.ndarray, p: float) -> float:
    """P(a ranking with i.i.d. Bernoulli(p) protected positions fails some prefix test)."""
    k = len(table)
    total = 0.0
    for flags in itertools.product((0, 1), repeat=k):
        if (np.cumsum(flags) < table).any():
            n_prot = sum(flags)
            total += p**n_prot * (1 - p) ** (k - n_prot)
    return total


def make(flags: list[bool], *, offset: int = 0) -> tuple[Candidates, np.ndarray]:
    """One list whose i-th candidate is item ``offset + i``, protected per ``flags``."""
    n = len(flags)
    items = np.arange(offset, offset + n)[None, :]
    scores = np.linspace(1.0, 0.0, n)[None, :]
    protected = np.zeros(offset + n, dtype=bool)
    protected[offset:] = flags
    return Candidates(items=items, scores=scores, users=[0]), protected


# --- m-tables -------------------------------------------------------------------------------


@pytest.mark.parametrize("p", sorted(PAPER_TABLE_1))
def test_unadjusted_mtable_matches_table_1_of_the_paper(p: float) -> None:
    assert mtable(12, p, 0.1).tolist() == PAPER_TABLE_1[p]


def test_mtable_is_the_strict_inverse_cdf_of_definition_3_1() -> None:
    # m(i) = min{x : F(x; i, p) > α}; F(0; 3, 0.5) = 0.125 exactly, so at α = 0.125 one
    # protected item is needed in the top 3 (scipy's ppf, a ">=" inverse, would say 0).
    assert binom.cdf(0, 3, 0.5) == 0.125
    assert binom.ppf(0.125, 3, 0.5) == 0
    assert mtable(3, 0.5, 0.125).tolist() == [0, 0, 1]
    for k, p, alpha in [(15, 0.3, 0.1), (20, 0.6, 0.05)]:
        table = mtable(k, p, alpha)
        for i, m in enumerate(table, start=1):
            assert binom.cdf(m, i, p) > alpha
            assert m == 0 or binom.cdf(m - 1, i, p) <= alpha


def test_reference_implementation_values() -> None:
    # Values from the fairsearchcore test-suite (the authors' library).
    assert mtable(10, 0.2, 0.15).tolist() == [0] * 8 + [1, 1]
    assert fail_probability(mtable(10, 0.2, 0.15), 0.2) == pytest.approx(0.8**9)
    _, table = adjust_alpha(30, 0.3, 0.05)
    assert table.tolist() == [0] * 10 + [1] * 6 + [2] * 5 + [3] * 4 + [4] * 5
    assert fail_probability(table, 0.3) == pytest.approx(0.04877730797178359, abs=1e-12)


@pytest.mark.parametrize(
    ("table", "p"),
    [
        ([0, 0, 0, 1, 1, 1, 2, 2, 3, 3], 0.5),
        ([0, 1, 1, 2, 2, 3, 3, 4], 0.7),
        ([0, 0, 0, 0, 0, 1, 1, 1, 1, 2], 0.25),
        ([1, 1, 2], 0.5),
    ],
)
def test_fail_probability_dynamic_programme_equals_enumeration(table: list[int], p: float) -> None:
    t = np.array(table)
    assert fail_probability(t, p) == pytest.approx(brute_force_fail(t, p), abs=1e-12)


def test_adjusted_table_for_p_half_alpha_tenth_k12_by_hand() -> None:
    alpha_c, table = adjust_alpha(12, 0.5, 0.1)
    # Unadjusted (Table 1) fails a fair ranking 14.6% of the time, too often.
    assert brute_force_fail(np.array(PAPER_TABLE_1[0.5]), 0.5) == pytest.approx(0.14599609375)
    # Adjusted: the most demanding table failing at most 10%: 77/1024 = 7.5%.
    assert table.tolist() == [0, 0, 0, 0, 1, 1, 1, 2, 2, 3, 3, 3]
    assert brute_force_fail(table, 0.5) == pytest.approx(77 / 1024)
    assert alpha_c == pytest.approx(binom.cdf(2, 10, 0.5))  # = 56/1024, a CDF break point
    assert mtable(12, 0.5, alpha_c).tolist() == table.tolist()


@pytest.mark.parametrize(("k", "p", "alpha"), [(12, 0.5, 0.1), (25, 0.3, 0.1), (40, 0.6, 0.05)])
def test_adjustment_is_conservative_and_maximal(k: int, p: float, alpha: float) -> None:
    alpha_c, table = adjust_alpha(k, p, alpha)
    assert 0 < alpha_c <= alpha
    assert (table <= mtable(k, p, alpha)).all()
    assert fail_probability(table, p) <= alpha
    # The next more demanding table (next CDF break point above alpha_c) fails too often.
    i = np.arange(1, k + 1)[:, None]
    cdf = binom.cdf(np.arange(k + 1)[None, :], i, p)
    above = np.sort(cdf[(cdf > alpha_c) & (cdf <= alpha)])
    if above.size:
        assert fail_probability(mtable(k, p, float(above[0])), p) > alpha


@pytest.mark.parametrize(("k", "p", "alpha"), [(10, 0.2, 0.15), (50, 0.5, 0.1), (30, 0.8, 0.01)])
def test_mtable_is_monotone_with_unit_steps(k: int, p: float, alpha: float) -> None:
    table = FAIR(protected=np.ones(3, dtype=bool), p=p, alpha=alpha).mtable(k)
    steps = np.diff(np.concatenate([[0], table]))
    assert set(steps.tolist()) <= {0, 1}


def test_adjustment_is_cached_per_k_p_alpha() -> None:
    fair = FAIR(protected=np.ones(3, dtype=bool), p=0.37, alpha=0.09)
    fair.mtable(17)
    hits = _adjusted.cache_info().hits
    fair.mtable(17)
    FAIR(protected=np.zeros(5, dtype=bool), p=0.37, alpha=0.09).adjusted_alpha(17)
    assert _adjusted.cache_info().hits == hits + 2


# --- re-ranking -----------------------------------------------------------------------------


def random_lists(seed: int, n_lists: int = 40, width: int = 30, n_items: int = 100):
    rng = np.random.default_rng(seed)
    items = np.stack([rng.choice(n_items, size=width, replace=False) for _ in range(n_lists)])
    scores = np.sort(rng.normal(size=(n_lists, width)), axis=1)[:, ::-1]
    protected = rng.random(n_items) < 0.25
    return Candidates(items=items, scores=scores, users=np.arange(n_lists)), protected


@pytest.mark.parametrize(("p", "k"), [(0.3, 10), (0.5, 10), (0.5, 20), (0.7, 15)])
def test_every_prefix_meets_the_mtable_and_groups_keep_their_order(p: float, k: int) -> None:
    cands, protected = random_lists(int(p * 10) + k)
    fair = FAIR(protected=protected, p=p, alpha=0.1)
    out = fair.rerank(cands, k=k)
    table = fair.mtable(k)
    for r in range(cands.n_lists):
        row = cands.items[r]
        if protected[row].sum() < table[-1]:
            continue
        assert (np.cumsum(protected[out[r]]) >= table).all()
        assert fair.shortfall_[r] == 0
        for mask in (protected, ~protected):
            # within each group: the input's best items, in input order
            expected = row[mask[row]][: mask[out[r]].sum()]
            assert out[r][mask[out[r]]].tolist() == expected.tolist()


def test_protected_on_top_keeps_the_input_order() -> None:
    # Protected items are the best-scored: nothing may move (no demotion of the protected group,
    # no favouring of the unprotected group).
    cands, protected = make([True] * 6 + [False] * 14)
    for p in (0.1, 0.5, 0.9):
        out = FAIR(protected=protected, p=p, alpha=0.1).rerank(cands, k=10)
        assert out[0].tolist() == list(range(10))


def test_protected_at_the_bottom_are_promoted_just_enough() -> None:
    cands, protected = make([False] * 15 + [True] * 15)
    fair = FAIR(protected=protected, p=0.5, alpha=0.1)
    out = fair.rerank(cands, k=15)[0]
    table = fair.mtable(15)
    assert table[-1] > 0
    # exactly the minimum number of protected items in every prefix: no more
    assert np.cumsum(protected[out]).tolist() == table.tolist()
    # promoted protected items come in their own order, unprotected ones keep theirs
    assert out[protected[out]].tolist() == list(range(15, 15 + table[-1]))
    assert out[~protected[out]].tolist() == list(range(15 - table[-1]))


def test_random_inputs_never_demote_protected_nor_promote_unprotected_items() -> None:
    cands, protected = random_lists(11)
    out = FAIR(protected=protected, p=0.6, alpha=0.1).rerank(cands, k=20)
    for r in range(cands.n_lists):
        position = {int(it): i for i, it in enumerate(cands.items[r])}
        for new, item in enumerate(out[r]):
            if protected[item]:
                assert new <= position[int(item)]
            else:
                assert new >= position[int(item)]


@pytest.mark.parametrize(
    "pattern", ["FFFFFFTTTTTT", "TTTTTTFFFFFF", "FTFFFTFFTTFT", "TFFFFFFFFFTT"]
)
def test_swapping_the_protected_group_is_symmetric(pattern: str) -> None:
    flags = [c == "T" for c in pattern]
    cands, protected = make(flags)
    out = FAIR(protected=protected, p=0.5, alpha=0.1).rerank(cands, k=8)[0]
    # Same positions, group roles swapped: the other group is protected and lies where the first
    # one did. The output must follow the same group pattern.
    swapped_cands, swapped_protected = make([not f for f in flags])
    swapped_out = FAIR(protected=~swapped_protected, p=0.5, alpha=0.1).rerank(swapped_cands, k=8)
    assert (~swapped_protected[swapped_out[0]]).tolist() == protected[out].tolist()
    assert swapped_out[0].tolist() == out.tolist()


def test_too_few_protected_candidates_fills_and_reports_shortfall() -> None:
    cands, protected = make([False] * 8 + [True] + [False] * 5)
    fair = FAIR(protected=protected, p=0.5, alpha=0.1)
    out = fair.rerank(cands, k=12)[0]
    table = fair.mtable(12)
    first_needed = int(np.argmax(table >= 1))
    assert out[first_needed] == 8  # the only protected item, as early as the table asks
    assert (out >= 0).all() and len(set(out.tolist())) == 12  # the list is still filled
    assert fair.shortfall_.tolist() == [table[-1] - 1]


def test_lists_with_too_few_protected_candidates_are_reported_with_the_reason() -> None:
    # List 0 holds six protected candidates, list 1 a single one: FA*IR fills both, but only
    # list 0 can keep the m-table, and the check says so (it used to be silent).
    flags = [[False] * 8 + [True] * 6, [False] * 8 + [True] + [False] * 5]
    items = np.array([np.arange(14), np.arange(14, 28)])
    protected = np.concatenate([np.array(f) for f in flags])
    cands = Candidates(items=items, scores=np.tile(np.linspace(1, 0, 14), (2, 1)), users=[3, 4])
    fair = FAIR(protected=protected, p=0.5, alpha=0.1)
    out = fair.rerank(cands, k=12)
    needed = int(fair.mtable(12)[-1])
    check = fair.guarantee_
    assert check is not None and check.met.tolist() == [True, False]
    assert check.n_met == 1 and check.feasible.tolist() == [True, False]
    assert check.shortfall.tolist() == fair.shortfall_.tolist() == [0, needed - 1]
    assert check.reasons == (
        "",
        f"only 1 protected item among its 14 candidates; the top 12 needs {needed}",
    )
    assert "FA*IR, p = 0.5, alpha = 0.1" in check.guarantee
    # The same lists, the candidates being every item the users could be recommended.
    every = fair.check_guarantee(out, cands, k=12, exhaustive=np.array([False, True]))
    assert every.reasons[1] == (
        f"only 1 protected item among all 14 unseen items; the top 12 needs {needed}"
    )


def test_check_guarantee_reads_any_lists() -> None:
    # The input order breaks the m-table although the candidates could meet it.
    cands, protected = make([False] * 15 + [True] * 15)
    fair = FAIR(protected=protected, p=0.5, alpha=0.1)
    table = fair.mtable(15)
    first = int(np.argmax(table > 0))
    check = fair.check_guarantee(cands.items[:, :15], cands, k=15)
    assert check.met.tolist() == [False] and check.feasible.tolist() == [True]
    assert check.shortfall.tolist() == [int(table[-1])]
    assert check.reasons[0].startswith(f"its top {first + 1} holds 0 protected items")
    assert fair.check_guarantee(fair.rerank(cands, k=15), cands, k=15).met.tolist() == [True]


def test_short_lists_apply_the_k_table_to_their_prefixes() -> None:
    items = np.array([[0, 1, 2, 3, 4, 5, -1, -1], [6, 7, -1, -1, -1, -1, -1, -1]])
    scores = np.where(items >= 0, 1.0, np.nan)
    protected = np.zeros(8, dtype=bool)
    protected[[4, 5, 7]] = True
    fair = FAIR(protected=protected, p=0.6, alpha=0.1)
    cands = Candidates(items=items, scores=scores, users=[0, 1])
    out = fair.rerank(cands, k=10)
    table = fair.mtable(10)
    assert (out[:, 6:] == -1).all() and (out[1, 2:] == -1).all()
    assert (np.cumsum(protected[out[0, :6]]) >= table[:6]).all()
    assert sorted(out[0, :6].tolist()) == [0, 1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"p": 0.0}, r"p must be a number in \(0, 1\)"),
        ({"p": 1.0}, r"p must be a number in \(0, 1\)"),
        ({"p": "0.5"}, r"p must be a number in \(0, 1\)"),
        ({"p": 0.5, "alpha": 1.5}, r"alpha must be a number in \(0, 1\)"),
        ({"p": 0.5, "alpha": 0.0}, r"alpha must be a number in \(0, 1\)"),
        ({"p": 0.5, "protected": np.array([0.2, 0.5])}, "bool mask"),
        ({"p": 0.5, "protected": np.ones((2, 2), dtype=bool)}, "1-d bool array"),
    ],
)
def test_parameter_validation(kwargs: dict, message: str) -> None:
    params = {"protected": np.ones(4, dtype=bool), **kwargs}
    fair = FAIR(**params)  # __init__ only stores
    cands = Candidates(items=[[0, 1]], scores=[[1, 0]], users=[0])
    with pytest.raises(ConfigError, match=message):
        fair.rerank(cands, k=2)


def test_protected_mask_must_cover_the_candidates() -> None:
    fair = FAIR(protected=np.array([1, 0, 1]), p=0.5)  # 0/1 ints accepted
    assert fair.rerank(Candidates(items=[[1, 0]], scores=[[1, 0]], users=[0]), k=2).tolist() == [
        [1, 0]
    ]
    with pytest.raises(DataError, match="protected mask covers only 3 items"):
        fair.rerank(Candidates(items=[[5, 0]], scores=[[1, 0]], users=[0]), k=2)


class TestFAIR(RerankerChecks):
    method = "fair"
    params: ClassVar = {"p": 0.6}
    out_of_range: ClassVar = {"p": 1.5}


def test_the_list_by_list_merge_equals_the_all_lists_merge():
    rng = np.random.default_rng(0)
    for trial in range(300):
        n, width, k = int(rng.integers(1, 12)), int(rng.integers(1, 30)), int(rng.integers(1, 15))
        items = np.stack([rng.permutation(60)[:width] for _ in range(n)]).astype(np.int64)
        lengths = rng.integers(0, width + 1, size=n)  # padded lists, some empty
        items[np.arange(width)[None, :] >= lengths[:, None]] = -1
        valid = items >= 0
        is_prot = valid & (rng.random((n, width)) < rng.uniform(0.05, 0.9))
        table = np.asarray(adjust_alpha(k, float(rng.uniform(0.1, 0.9)), 0.1)[1])
        rows = _merge_rows(items, valid, is_prot, table, k)
        lists = _merge_lists(items, valid, is_prot, table, k)
        np.testing.assert_array_equal(rows[0], lists[0], err_msg=f"trial {trial}")
        np.testing.assert_array_equal(rows[1], lists[1], err_msg=f"trial {trial}")
