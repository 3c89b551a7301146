import inspect
import itertools
from typing import ClassVar

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import OptimizeResult

import equirec.mitigation.rerank.cpfair as cpfair_module
import equirec.mitigation.rerank.selection as selection_module
import equirec.mitigation.rerank.selection_inputs as inputs_module
from equirec.data.history import History
from equirec.errors import ConfigError, DataError
from equirec.mitigation.rerank.base import Candidates, Reranker
from equirec.mitigation.rerank.cpfair import CPFair, popular_items
from equirec.testing import RerankerChecks


def make_instance(n_lists=24, width=10, n_items=50, seed=0, short=()):
    """Random candidates where popular items score higher; advantaged users (first quarter) get
    higher relevance estimates. Returns candidates, user groups, item groups, relevance."""
    rng = np.random.default_rng(seed)
    popular = popular_items(rng.zipf(1.6, n_items).astype(float))
    items = np.stack([rng.permutation(n_items)[:width] for _ in range(n_lists)])
    raw = rng.random((n_lists, width)) + 0.4 * popular[items]
    order = np.argsort(-raw, axis=1)
    items = np.take_along_axis(items, order, axis=1)
    scores = np.take_along_axis(raw, order, axis=1)
    for row, length in short:
        items[row, length:] = -1
    groups = (np.arange(n_lists) >= n_lists // 4).astype(np.int64)
    rel = np.clip(rng.random((n_lists, width)) * scores / 1.4, 0, 1)
    rel[groups == 0, :3] = 1.0
    cands = Candidates(items=items, scores=scores, users=np.arange(n_lists))
    return cands, groups, popular, rel


def gaps(lists, cands, groups, popular, rel, k):
    """Independent computation of the documented user gap, item gap and long-tail share."""
    m = []
    for r in range(cands.n_lists):
        valid = cands.items[r] >= 0
        rel_of = dict(zip(cands.items[r][valid], rel[r][valid], strict=True))
        ideal = np.sort(rel[r][valid])[::-1][: min(k, int(valid.sum()))].sum()
        got = sum(rel_of[i] for i in lists[r] if i >= 0)
        m.append(got / ideal if ideal > 0 else 0.0)
    m = np.array(m)
    user_gap = abs(m[groups == 0].mean() - m[groups == 1].mean())
    rec = lists[lists >= 0]
    item_gap = abs(popular[rec].sum() / popular.sum() - (~popular[rec]).sum() / (~popular).sum())
    return user_gap, item_gap, float((~popular[rec]).mean())


def check_valid_lists(lists, cands, k):
    assert lists.shape == (cands.n_lists, k)
    for r in range(cands.n_lists):
        cand = cands.items[r][cands.items[r] >= 0]
        real = lists[r][lists[r] >= 0]
        assert len(real) == min(k, len(cand))
        assert (lists[r][len(real) :] == -1).all()
        assert len(set(real.tolist())) == len(real)
        assert set(real.tolist()) <= set(cand.tolist())


@pytest.mark.parametrize("solver", ["milp", "greedy", "auto"])
def test_zero_lambdas_return_top_k_by_score(solver):
    cands, groups, popular, rel = make_instance()
    model = CPFair(
        user_groups=groups, item_groups=popular, lambda_user=0, lambda_item=0.0, solver=solver
    )
    out = model.rerank(cands, k=4, relevance=rel)
    np.testing.assert_array_equal(out, cands.items[:, :4])
    assert model.status_ == "optimal"


def test_long_tail_share_grows_with_lambda_item():
    cands, groups, popular, rel = make_instance()
    shares, item_gaps = [], []
    for lam in [0.0, 0.5, 1.0, 2.0, 4.0, 8.0]:
        model = CPFair(
            user_groups=groups, item_groups=popular, lambda_user=0.0, lambda_item=lam, solver="milp"
        )
        out = model.rerank(cands, k=4, relevance=rel)
        check_valid_lists(out, cands, 4)
        _, item_gap, share = gaps(out, cands, groups, popular, rel, 4)
        assert share == pytest.approx(model.long_tail_share_)
        assert item_gap == pytest.approx(model.item_gap_)
        shares.append(share)
        item_gaps.append(item_gap)
    assert all(b >= a - 1e-12 for a, b in itertools.pairwise(shares))
    assert all(b <= a + 1e-9 for a, b in itertools.pairwise(item_gaps))
    assert shares[-1] > shares[0]


def test_user_gap_shrinks_with_lambda_user():
    cands, groups, popular, rel = make_instance(seed=1)
    user_gaps = []
    for lam in [0.0, 2.0, 5.0, 10.0, 40.0]:
        model = CPFair(
            user_groups=groups, item_groups=popular, lambda_user=lam, lambda_item=0.0, solver="milp"
        )
        out = model.rerank(cands, k=4, relevance=rel)
        user_gap, _, _ = gaps(out, cands, groups, popular, rel, 4)
        assert user_gap == pytest.approx(model.user_gap_)
        user_gaps.append(user_gap)
    assert all(b <= a + 1e-9 for a, b in itertools.pairwise(user_gaps))
    assert user_gaps[-1] < 0.5 * user_gaps[0]


def test_milp_matches_brute_force_and_beats_greedy():
    cands, groups, popular, rel = make_instance(n_lists=4, width=4, n_items=12, seed=6)
    groups = np.array([0, 1, 1, 1])
    k, lam_u, lam_i = 2, 3.0, 1.0
    exact = CPFair(
        user_groups=groups, item_groups=popular, lambda_user=lam_u, lambda_item=lam_i, solver="milp"
    )
    exact.rerank(cands, k=k, relevance=rel)
    greedy = CPFair(
        user_groups=groups,
        item_groups=popular,
        lambda_user=lam_u,
        lambda_item=lam_i,
        solver="greedy",
    )
    greedy.rerank(cands, k=k, relevance=rel)
    s = inputs_module.normalised_scores(cands)
    a = inputs_module.metric_weights(rel, cands.valid, np.full(4, k), "ndcg")
    coef = np.where(groups == 0, 1.0, -1.0 / 3)
    q = np.where(popular, 1 / popular.sum(), -1 / (~popular).sum())[cands.items]
    best = -np.inf
    for choice in itertools.product(itertools.combinations(range(4), k), repeat=4):
        cols = [list(c) for c in choice]
        gu = sum(coef[r] * a[r, c].sum() for r, c in enumerate(cols))
        gi = sum(q[r, c].sum() for r, c in enumerate(cols))
        value = sum(s[r, c].sum() for r, c in enumerate(cols)) - lam_u * abs(gu) - lam_i * abs(gi)
        best = max(best, value)
    assert exact.objective_ == pytest.approx(best, abs=1e-6)
    assert exact.objective_ > exact.objective_before_ + 1e-3  # the penalties change the lists
    assert greedy.objective_ <= exact.objective_ + 1e-9
    assert greedy.objective_ > greedy.objective_before_


@pytest.mark.parametrize("solver", ["milp", "greedy"])
def test_both_sides_and_short_lists(solver):
    cands, groups, popular, rel = make_instance(seed=2, short=[(0, 2), (5, 0), (11, 4)])
    model = CPFair(
        user_groups=groups, item_groups=popular, lambda_user=5.0, lambda_item=2.0, solver=solver
    )
    out = model.rerank(cands, k=5, relevance=rel)
    check_valid_lists(out, cands, 5)
    assert (out[5] == -1).all()
    assert set(out[0][:2].tolist()) == set(cands.items[0][:2].tolist())
    assert model.objective_ >= model.objective_before_ - 1e-9
    assert model.item_gap_ < model.item_gap_before_
    assert model.user_gap_ < model.user_gap_before_


def test_greedy_improves_objective_and_auto_threshold(monkeypatch):
    cands, groups, popular, rel = make_instance(seed=3)
    monkeypatch.setattr(cpfair_module, "MILP_MAX_VARIABLES", 10)
    model = CPFair(user_groups=groups, item_groups=popular, lambda_user=5.0, lambda_item=2.0)
    out = model.rerank(cands, k=4, relevance=rel)
    assert model.status_ == "greedy"
    assert model.objective_ > model.objective_before_
    user_gap, item_gap, _ = gaps(out, cands, groups, popular, rel, 4)
    assert (user_gap, item_gap) == pytest.approx((model.user_gap_, model.item_gap_))


def test_seen_items_are_never_returned():
    cands, groups, popular, rel = make_instance()
    rows, cols = [], []
    for r in range(cands.n_lists):  # training items: any item that is not a candidate
        others = np.setdiff1d(np.arange(len(popular)), cands.items[r])[:5]
        rows += [r] * len(others)
        cols += others.tolist()
    seen = sp.csr_array((np.ones(len(rows)), (rows, cols)), shape=(cands.n_lists, len(popular)))
    model = CPFair(user_groups=groups, item_groups=popular, lambda_user=2.0, lambda_item=2.0)
    out = model.rerank(cands, k=4, relevance=rel, seen=seen)
    for r in range(cands.n_lists):
        assert not set(out[r].tolist()) & set(seen[[r], :].indices.tolist())
    # A candidate the user saw in training is a leak: refused, whatever form seen takes.
    leaky = sp.lil_array(seen)
    leaky[3, cands.items[3, 7]] = 1
    with pytest.raises(DataError, match=r"list 3 \(user 3\) is one of the user's training"):
        model.rerank(cands, k=4, relevance=rel, seen=leaky.tocsr())
    history = History.from_arrays(
        users=np.array([3]), items=cands.items[3, [7]], n_users=cands.n_lists, n_items=50
    )
    with pytest.raises(DataError, match="training items"):
        model.rerank(cands, k=4, relevance=rel, seen=history)
    with pytest.raises(DataError, match="covers only"):
        model.rerank(cands, k=4, relevance=rel, seen=sp.csr_array((2, 50)))
    explicit_zero = sp.csr_array(
        (np.array([0.0]), (np.array([3]), cands.items[3, [7]])), shape=seen.shape
    )
    model.rerank(cands, k=4, relevance=rel, seen=explicit_zero)  # stored zeros are not seen


def test_popular_items():
    pop = np.array([5, 9, 9, 1, 0, 3, 4, 9, 2, 1])
    assert np.flatnonzero(popular_items(pop)).tolist() == [1, 2]  # 20%: ties by index
    assert np.flatnonzero(popular_items(pop, top=0.35)).tolist() == [0, 1, 2, 7]
    assert popular_items(np.arange(100), top=0.07).sum() == 7
    assert popular_items(np.array([1.0, 2.0]), top=0.1).tolist() == [False, True]
    with pytest.raises(ConfigError, match="top"):
        popular_items(pop, top=1.0)
    with pytest.raises(DataError, match="finite"):
        popular_items(np.array([1.0, -2.0]))


def test_signature_and_parameters():
    assert list(inspect.signature(CPFair.rerank).parameters) == [
        "self",
        "candidates",
        "k",
        "relevance",
        "seen",
    ]
    groups, items = np.array([0, 1]), np.array([True, False])
    model = CPFair(user_groups=groups, item_groups=items, lambda_user=-1, lambda_item="x")
    assert model.user_groups is groups and model.item_groups is items
    assert (model.lambda_user, model.lambda_item, model.solver, model.time_limit) == (
        -1,
        "x",
        "auto",
        30.0,
    )
    assert CPFair.name == "cpfair"
    assert isinstance(model, Reranker)


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"lambda_user": -0.5}, "lambda_user"),
        ({"lambda_item": -1}, "lambda_item"),
        ({"lambda_item": float("inf")}, "lambda_item"),
        ({"solver": "gurobi"}, "solver"),
        ({"time_limit": -3}, "time_limit"),
        ({"user_groups": np.zeros(3, dtype=int)}, "one entry per list"),
        ({"user_groups": np.full(24, -1)}, "only 0 and 1"),
        ({"item_groups": np.zeros(10, dtype=bool)}, "has 10 entries"),
        ({"item_groups": np.full(50, 3)}, "only 0 and 1"),
        ({"item_groups": np.ones(50, dtype=bool)}, "every item as popular"),
        ({"item_groups": np.zeros(50, dtype=bool)}, "no item as popular"),
        ({"item_groups": np.zeros((50, 2), dtype=bool)}, "1-d"),
    ],
)
def test_bad_parameters_raise_config_error(params, match):
    cands, groups, popular, rel = make_instance()
    kwargs = {
        "user_groups": groups,
        "item_groups": popular,
        "lambda_user": 1.0,
        "lambda_item": 1.0,
    } | params
    with pytest.raises(ConfigError, match=match):
        CPFair(**kwargs).rerank(cands, k=4, relevance=rel)


def test_bad_relevance():
    cands, groups, popular, rel = make_instance()
    model = CPFair(user_groups=groups, item_groups=popular, lambda_user=1.0, lambda_item=1.0)
    with pytest.raises(DataError, match="shape"):
        model.rerank(cands, k=4, relevance=rel[:5])
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        model.rerank(cands, k=4, relevance=rel - 0.5)
    with pytest.raises(DataError, match="needs relevance="):
        model.rerank(cands, k=4)


def test_time_limit_without_solution_falls_back_to_greedy(monkeypatch):
    cands, groups, popular, rel = make_instance(seed=3)
    kwargs = {"user_groups": groups, "item_groups": popular, "lambda_user": 5.0}
    greedy = CPFair(**kwargs, lambda_item=2.0, solver="greedy").rerank(cands, k=4, relevance=rel)
    monkeypatch.setattr(selection_module, "milp", lambda *a, **kw: OptimizeResult(status=1, x=None))
    model = CPFair(**kwargs, lambda_item=2.0, solver="milp", time_limit=1)
    with pytest.warns(UserWarning, match="no solution within time_limit=1"):
        out = model.rerank(cands, k=4, relevance=rel)
    assert model.status_ == "time_limit"
    np.testing.assert_array_equal(out, greedy)


def test_sparse_relevance_matches_dense():
    cands, groups, popular, rel = make_instance(seed=4)
    rows, cols = np.nonzero(cands.valid)
    matrix = sp.coo_matrix(
        (rel[rows, cols], (cands.users[rows], cands.items[rows, cols])), shape=(24, 50)
    )
    model = CPFair(user_groups=groups, item_groups=popular, lambda_user=5.0, lambda_item=2.0)
    dense = model.rerank(cands, k=4, relevance=rel)
    np.testing.assert_array_equal(model.rerank(cands, k=4, relevance=matrix), dense)


class TestCPFair(RerankerChecks):
    method = "cpfair"
    params: ClassVar = {"lambda_user": 1.0, "lambda_item": 20.0}
    out_of_range: ClassVar = {"lambda_item": -1.0}
