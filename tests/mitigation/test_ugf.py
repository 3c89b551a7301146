import inspect
import itertools
import warnings
from typing import ClassVar

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import OptimizeResult

import equirec.mitigation.rerank.selection as selection_module
import equirec.mitigation.rerank.selection_inputs as inputs_module
import equirec.mitigation.rerank.ugf as ugf_module
from equirec.errors import ConfigError, DataError
from equirec.mitigation.rerank.base import Candidates, Reranker, compose
from equirec.mitigation.rerank.ugf import UGF
from equirec.testing import RerankerChecks


def make_instance(n_lists=30, width=12, n_items=80, seed=0, short=()):
    """Random candidates (best first, distinct scores), groups and relevance estimates.

    Advantaged users (first quarter) get higher relevance estimates, so the top-k gap is positive.
    """
    rng = np.random.default_rng(seed)
    items = np.stack([rng.permutation(n_items)[:width] for _ in range(n_lists)])
    scores = -np.sort(-rng.random((n_lists, width)), axis=1)
    for row, length in short:
        items[row, length:] = -1
    groups = (np.arange(n_lists) >= n_lists // 4).astype(np.int64)
    rel = np.clip(rng.random((n_lists, width)) * scores + 0.4 * (groups == 0)[:, None], 0, 1)
    return Candidates(items=items, scores=scores, users=np.arange(n_lists)), groups, rel


def proxy_gap(lists, candidates, groups, rel, k, metric="ndcg"):
    """Independent computation of the documented estimated gap of output ``lists``."""
    values = []
    for r in range(candidates.n_lists):
        valid = candidates.items[r] >= 0
        k_u = min(k, int(valid.sum()))
        rel_of = dict(zip(candidates.items[r][valid], rel[r][valid], strict=True))
        got = sum(rel_of[i] for i in lists[r] if i >= 0)
        if metric == "ndcg":
            denom = np.sort(rel[r][valid])[::-1][:k_u].sum()
            values.append(got / denom if denom > 0 else 0.0)
        else:
            total = rel[r][valid].sum()
            values.append(2 * got / (k_u + total) if total > 0 else 0.0)
    values = np.array(values)
    return abs(values[groups == 0].mean() - values[groups == 1].mean())


def check_valid_lists(lists, candidates, k):
    assert lists.shape == (candidates.n_lists, k)
    assert lists.dtype == np.int64
    for r in range(candidates.n_lists):
        cand = candidates.items[r][candidates.items[r] >= 0]
        real = lists[r][lists[r] >= 0]
        assert len(real) == min(k, len(cand))
        assert (lists[r][len(real) :] == -1).all()  # padding at the end only
        assert len(set(real.tolist())) == len(real)
        assert set(real.tolist()) <= set(cand.tolist())
        score_of = dict(zip(cand, candidates.scores[r][candidates.items[r] >= 0], strict=True))
        ordered = [score_of[i] for i in real]
        assert ordered == sorted(ordered, reverse=True)


@pytest.mark.parametrize("solver", ["milp", "greedy", "auto"])
def test_large_epsilon_returns_top_k_by_score(solver):
    cands, groups, rel = make_instance()
    model = UGF(user_groups=groups, epsilon=1.0, solver=solver)
    out = model.rerank(cands, k=5, relevance=rel)
    np.testing.assert_array_equal(out, cands.items[:, :5])
    assert model.status_ == "optimal"
    assert model.gap_ == model.gap_before_


def test_small_epsilon_milp_meets_bound_and_costs_score():
    cands, groups, rel = make_instance()
    model = UGF(user_groups=groups, epsilon=0.02, solver="milp")
    out = model.rerank(cands, k=5, relevance=rel)
    assert model.status_ == "optimal"
    assert model.gap_before_ > 0.04
    assert model.gap_ <= 0.02 + 1e-7
    assert proxy_gap(out, cands, groups, rel, 5) == pytest.approx(model.gap_, abs=1e-9)
    top = UGF(user_groups=groups, epsilon=1.0).rerank(cands, k=5, relevance=rel)
    assert not np.array_equal(out, top)
    check_valid_lists(out, cands, 5)


def test_greedy_reduces_gap():
    cands, groups, rel = make_instance()
    model = UGF(user_groups=groups, epsilon=0.02, solver="greedy")
    out = model.rerank(cands, k=5, relevance=rel)
    assert model.status_ == "greedy"
    assert model.gap_ < model.gap_before_
    assert model.gap_ <= 0.02 + 1e-12
    assert proxy_gap(out, cands, groups, rel, 5) == pytest.approx(model.gap_, abs=1e-9)
    check_valid_lists(out, cands, 5)


@pytest.mark.parametrize("epsilon", [0.05, 0.02])
def test_milp_objective_at_least_greedy(epsilon):
    cands, groups, rel = make_instance(seed=3)
    exact = UGF(user_groups=groups, epsilon=epsilon, solver="milp")
    exact.rerank(cands, k=4, relevance=rel)
    greedy = UGF(user_groups=groups, epsilon=epsilon, solver="greedy")
    greedy.rerank(cands, k=4, relevance=rel)
    assert exact.status_ == "optimal"
    assert exact.gap_before_ > epsilon
    assert exact.objective_ >= greedy.objective_ - 1e-9
    assert exact.gap_ <= epsilon + 1e-7


def test_milp_matches_brute_force():
    cands, groups, rel = make_instance(n_lists=4, width=4, seed=7)
    groups = np.array([0, 1, 1, 1])
    k, epsilon = 2, 0.05
    model = UGF(user_groups=groups, epsilon=epsilon, solver="milp")
    model.rerank(cands, k=k, relevance=rel)
    assert model.gap_before_ > epsilon  # the constraint binds
    s = inputs_module.normalised_scores(cands)
    a = inputs_module.metric_weights(rel, cands.valid, np.full(4, k), "ndcg")
    coef = np.where(groups == 0, 1.0, -1.0 / 3)
    subsets = list(itertools.combinations(range(4), k))
    best = -np.inf
    for choice in itertools.product(subsets, repeat=4):
        gap = sum(coef[r] * a[r, list(c)].sum() for r, c in enumerate(choice))
        if abs(gap) <= epsilon:
            best = max(best, sum(s[r, list(c)].sum() for r, c in enumerate(choice)))
    assert np.isfinite(best)
    assert model.objective_ == pytest.approx(best, abs=1e-6)


def test_no_access_to_test_labels():
    # The only data rerank sees are the candidates and the caller's relevance estimates.
    assert list(inspect.signature(UGF.rerank).parameters) == [
        "self",
        "candidates",
        "k",
        "relevance",
    ]
    assert list(inspect.signature(UGF.__init__).parameters) == [
        "self",
        "user_groups",
        "epsilon",
        "metric",
        "solver",
        "time_limit",
    ]
    cands, groups, rel = make_instance()
    rng = np.random.default_rng(1)
    test_labels = (rng.random(rel.shape) < 0.1).astype(float)
    first = UGF(user_groups=groups, epsilon=0.03).rerank(cands, k=5, relevance=rel)
    rng.shuffle(test_labels)  # whatever the test labels are, nothing changes
    second = UGF(user_groups=groups, epsilon=0.03).rerank(cands, k=5, relevance=rel.copy())
    np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize("solver", ["milp", "greedy"])
def test_lists_shorter_than_k(solver):
    cands, groups, rel = make_instance(short=[(0, 3), (9, 0), (20, 5)])
    model = UGF(user_groups=groups, epsilon=0.03, solver=solver)
    out = model.rerank(cands, k=6, relevance=rel)
    check_valid_lists(out, cands, 6)
    assert (out[9] == -1).all()
    assert set(out[0][:3].tolist()) == set(cands.items[0][:3].tolist())
    assert (out[0][3:] == -1).all()


@pytest.mark.parametrize("solver", ["milp", "greedy"])
def test_f1_metric(solver):
    cands, groups, rel = make_instance(seed=2)
    model = UGF(user_groups=groups, epsilon=0.01, metric="f1", solver=solver)
    out = model.rerank(cands, k=5, relevance=rel)
    assert proxy_gap(out, cands, groups, rel, 5, "f1") == pytest.approx(model.gap_, abs=1e-9)
    assert model.gap_before_ > 0.01
    assert model.gap_ <= 0.01 + 1e-7


def test_binary_relevance_and_users_without_relevance():
    cands, groups, rel = make_instance(seed=4)
    rel = (rel > 0.5).astype(float)
    rel[np.flatnonzero(groups == 1)[:3]] = 0.0  # users with no estimated relevance: M = 0
    model = UGF(user_groups=groups, epsilon=0.05, solver="milp")
    out = model.rerank(cands, k=5, relevance=rel)
    assert model.gap_before_ > 0.05
    assert model.gap_ <= 0.05 + 1e-7
    assert model.n_variables_ <= 2 * 5 * cands.n_lists  # dominated candidates dropped
    assert proxy_gap(out, cands, groups, rel, 5) == pytest.approx(model.gap_, abs=1e-9)


def test_infeasible_falls_back_to_greedy_with_warning():
    cands, groups, rel = make_instance(n_lists=8, width=6)
    rel = np.where(groups[:, None] == 0, 1.0, 0.0) * np.ones_like(rel)  # gap 1 whatever is chosen
    model = UGF(user_groups=groups, epsilon=0.1, solver="milp")
    with pytest.warns(UserWarning, match="falling back to the greedy"):
        out = model.rerank(cands, k=3, relevance=rel)
    assert model.status_ == "infeasible"
    assert model.gap_ == pytest.approx(1.0)
    np.testing.assert_array_equal(out, cands.items[:, :3])


def test_auto_uses_greedy_above_threshold(monkeypatch):
    cands, groups, rel = make_instance()
    monkeypatch.setattr(ugf_module, "MILP_MAX_VARIABLES", 10)
    model = UGF(user_groups=groups, epsilon=0.02)
    model.rerank(cands, k=5, relevance=rel)
    assert model.status_ == "greedy"
    assert model.solve_seconds_ == 0.0


def test_single_group_warns_and_keeps_top_k():
    cands, _, rel = make_instance()
    model = UGF(user_groups=np.zeros(cands.n_lists, dtype=int), epsilon=0.0)
    with pytest.warns(UserWarning, match="single group"):
        out = model.rerank(cands, k=5, relevance=rel)
    np.testing.assert_array_equal(out, cands.items[:, :5])


def test_parameters_stored_as_given_and_protocol():
    groups = np.array([0, 1, 1])
    model = UGF(user_groups=groups, epsilon=-1, metric="bogus", solver="x", time_limit=0)
    assert model.user_groups is groups
    assert (model.epsilon, model.metric, model.solver, model.time_limit) == (-1, "bogus", "x", 0)
    assert UGF.name == "ugf"
    assert isinstance(UGF(user_groups=groups, epsilon=0.1), Reranker)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"epsilon": -0.1}, "epsilon"),
        ({"epsilon": float("nan")}, "epsilon"),
        ({"epsilon": True}, "epsilon"),
        ({"metric": "map"}, "metric"),
        ({"solver": "cplex"}, "solver"),
        ({"time_limit": 0}, "time_limit"),
        ({"user_groups": np.zeros(5, dtype=int)}, "one entry per list"),
        ({"user_groups": np.full(30, 2)}, "only 0 and 1"),
        ({"user_groups": np.array(["a"] * 30)}, "0/1"),
    ],
)
def test_bad_parameters_raise_config_error(params, match):
    cands, groups, rel = make_instance()
    kwargs = {"user_groups": groups, "epsilon": 0.1} | params
    with pytest.raises(ConfigError, match=match):
        UGF(**kwargs).rerank(cands, k=5, relevance=rel)


def test_bad_relevance_and_k():
    cands, groups, rel = make_instance()
    model = UGF(user_groups=groups, epsilon=0.1)
    with pytest.raises(DataError, match="shape"):
        model.rerank(cands, k=5, relevance=rel[:, :3])
    bad = rel.copy()
    bad[2, 4] = 1.5
    with pytest.raises(DataError, match=r"relevance\[2, 4\]"):
        model.rerank(cands, k=5, relevance=bad)
    with pytest.raises(ConfigError, match="k must be"):
        model.rerank(cands, k=0, relevance=rel)
    with pytest.raises(DataError, match="needs relevance="):
        model.rerank(cands, k=5)
    padded, _, prel = make_instance(short=[(1, 2)])
    prel[1, 5] = np.nan  # padding is ignored
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        UGF(user_groups=groups, epsilon=0.1).rerank(padded, k=5, relevance=prel)


def test_time_limit_keeps_incumbent_or_falls_back(monkeypatch):
    cands, groups, rel = make_instance()
    exact = UGF(user_groups=groups, epsilon=0.02, solver="milp")
    best = exact.rerank(cands, k=5, relevance=rel)
    real_milp = selection_module.milp

    def stopped_with_incumbent(*args, **kwargs):
        res = real_milp(*args, **kwargs)
        res.status = 1
        return res

    monkeypatch.setattr(selection_module, "milp", stopped_with_incumbent)
    model = UGF(user_groups=groups, epsilon=0.02, solver="milp")
    np.testing.assert_array_equal(model.rerank(cands, k=5, relevance=rel), best)
    assert model.status_ == "time_limit"

    monkeypatch.setattr(selection_module, "milp", lambda *a, **kw: OptimizeResult(status=1, x=None))
    with pytest.warns(UserWarning, match="no solution within time_limit"):
        out = model.rerank(cands, k=5, relevance=rel)
    assert model.status_ == "time_limit"
    greedy = UGF(user_groups=groups, epsilon=0.02, solver="greedy")
    np.testing.assert_array_equal(out, greedy.rerank(cands, k=5, relevance=rel))


def sparse_relevance(cands, rel, n_items=80):
    rows, cols = np.nonzero(cands.valid)
    users = cands.users[rows]
    return sp.csr_array(
        (rel[rows, cols], (users, cands.items[rows, cols])), shape=(cands.n_lists, n_items)
    )


class Reverse:
    """A re-ranker that reverses every list (to move candidates around in a pipeline)."""

    name = "reverse"

    def rerank(self, candidates, *, k):
        out = np.full((candidates.n_lists, k), -1, dtype=np.int64)
        for r in range(candidates.n_lists):
            real = candidates.items[r][candidates.items[r] >= 0][::-1][:k]
            out[r, : len(real)] = real
        return out


def test_sparse_relevance_is_looked_up_by_user_and_item():
    cands, groups, rel = make_instance(short=[(2, 4)])
    dense = UGF(user_groups=groups, epsilon=0.02).rerank(cands, k=5, relevance=rel)
    matrix = sparse_relevance(cands, rel)
    np.testing.assert_array_equal(
        UGF(user_groups=groups, epsilon=0.02).rerank(cands, k=5, relevance=matrix), dense
    )
    # Inside a pipeline the candidates reach UGF reordered; the sparse form stays aligned.
    piped = compose(Reverse(), UGF(user_groups=groups, epsilon=0.02))
    np.testing.assert_array_equal(piped.rerank(cands, k=5, relevance=matrix), dense)
    with pytest.raises(DataError, match="columns"):
        UGF(user_groups=groups, epsilon=0.02).rerank(cands, k=5, relevance=matrix[:, :10])
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        UGF(user_groups=groups, epsilon=0.02).rerank(cands, k=5, relevance=matrix * 3)


class TestUGF(RerankerChecks):
    method = "ugf"
    params: ClassVar = {"epsilon": 0.01}
    out_of_range: ClassVar = {"epsilon": -0.1}
