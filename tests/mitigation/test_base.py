"""Candidates, frame conversion, pipelines and the contract every re-ranker keeps."""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from equirec.errors import ConfigError, DataError
from equirec.mitigation.rerank import (
    FAIR,
    MMR,
    Calibrated,
    Candidates,
    DetConstSort,
    Pipeline,
    Reranker,
    candidates_from_frame,
    compose,
    lists_to_frame,
)
from equirec.mitigation.rerank.base import check_k, check_unit_interval, minmax_per_list
from equirec.testing import RerankerChecks

N_ITEMS = 60


def random_candidates(
    rng: np.random.Generator, n_lists: int = 12, width: int = 20, short: bool = True
) -> Candidates:
    """Score-sorted lists of distinct items; some lists shorter (padded with -1)."""
    items = np.full((n_lists, width), -1, dtype=np.int64)
    scores = np.full((n_lists, width), np.nan)
    for r in range(n_lists):
        length = int(rng.integers(3, width + 1)) if short and r % 3 == 0 else width
        items[r, :length] = rng.choice(N_ITEMS, size=length, replace=False)
        scores[r, :length] = np.sort(rng.normal(size=length))[::-1]
    return Candidates(items=items, scores=scores, users=np.arange(n_lists))


def all_rerankers(rng: np.random.Generator) -> list[Any]:
    genres = (rng.random((N_ITEMS, 4)) < 0.4).astype(float)
    return [
        FAIR(protected=rng.random(N_ITEMS) < 0.3, p=0.4, alpha=0.1),
        DetConstSort(item_groups=rng.integers(-1, 3, N_ITEMS), target=[0.5, 0.3, 0.2]),
        Calibrated(item_genres=genres, lam=0.7),
        MMR(item_features=rng.normal(size=(N_ITEMS, 5)), lam=0.5),
    ]


def run(reranker: Any, cands: Candidates, k: int, rng: np.random.Generator) -> np.ndarray:
    if isinstance(reranker, Calibrated):
        hist = sp.random(cands.n_lists, N_ITEMS, density=0.1, format="csr", random_state=1)
        return reranker.rerank(cands, k=k, history=hist)
    return reranker.rerank(cands, k=k)


# --- Candidates -------------------------------------------------------------------------------


def test_candidates_normalises_dtypes_padding_and_is_read_only() -> None:
    c = Candidates(items=[[3, 1, -1]], scores=[[2, 1, 7]], users=[5])
    assert c.items.dtype == np.int64 and c.scores.dtype == np.float64 and c.users.dtype == np.int64
    assert np.isnan(c.scores[0, 2])  # padding score forced to NaN
    assert c.n_lists == 1 and c.width == 3 and c.lengths.tolist() == [2]
    with pytest.raises(ValueError):
        c.items[0, 0] = 9


@pytest.mark.parametrize(
    ("items", "scores", "users", "message"),
    [
        ([[1, 2]], [[1.0]], [0], "scores has shape"),
        ([[1, 2]], [[1.0, 0.0]], [0, 1], "users has shape"),
        ([1, 2], [1.0, 0.0], [0], "2-d"),
        ([[1, -2]], [[1.0, 0.0]], [0], "-1 is padding"),
        ([[1, 2]], [[1.0, np.nan]], [0], "finite score"),
        ([[4, 2, 4]], [[3.0, 2.0, 1.0]], [0], "item 4 more than once"),
    ],
)
def test_candidates_rejects_bad_input(items: Any, scores: Any, users: Any, message: str) -> None:
    with pytest.raises(DataError, match=message):
        Candidates(items=items, scores=scores, users=users)


def test_select_carries_model_scores_and_rejects_foreign_items() -> None:
    c = Candidates(items=[[5, 3, 9], [1, 2, -1]], scores=[[3, 2, 1], [6, 5, 0]], users=[0, 1])
    chosen = c.select(np.array([[9, 5], [2, -1]]))
    assert chosen.items.tolist() == [[9, 5], [2, -1]]
    assert chosen.scores[0].tolist() == [1.0, 3.0] and chosen.scores[1, 0] == 5.0
    with pytest.raises(DataError, match="not one of that list's candidates"):
        c.select(np.array([[9, 1], [2, -1]]))
    with pytest.raises(DataError, match="shape"):
        c.select(np.array([[9, 5]]))


def test_check_items_names_the_side_information() -> None:
    c = Candidates(items=[[5, 3]], scores=[[1, 0]], users=[0])
    with pytest.raises(DataError, match="covers only 4 items"):
        c.check_items(4, what="protected mask")


# --- frames ---------------------------------------------------------------------------------


USERS = pd.Index(["u1", "u2", "u3"])
ITEMS = pd.Index(["a", "b", "c", "d"])


def test_candidates_from_frame_orders_by_rank_and_pads_short_lists() -> None:
    recs = pd.DataFrame(
        {
            "user": ["u3", "u3", "u1", "u1", "u1"],
            "rank": [2, 1, 1, 3, 2],
            "item": ["a", "d", "c", "b", "a"],
            "score": [0.5, 0.9, 3.0, 1.0, 2.0],
        }
    )
    c = candidates_from_frame(recs, user_ids=USERS, item_ids=ITEMS)
    assert c.users.tolist() == [2, 0]  # lists in order of first appearance
    assert c.items.tolist() == [[3, 0, -1], [2, 0, 1]]
    assert c.scores[1].tolist() == [3.0, 2.0, 1.0] and np.isnan(c.scores[0, 2])


def test_candidates_from_frame_without_rank_sorts_by_score() -> None:
    recs = pd.DataFrame({"user": ["u2"] * 3, "item": ["a", "b", "c"], "score": [1.0, 3.0, 2.0]})
    c = candidates_from_frame(recs, user_ids=USERS, item_ids=ITEMS)
    assert c.items.tolist() == [[1, 2, 0]]


def test_frame_round_trip_keeps_ids_ranks_and_scores() -> None:
    recs = pd.DataFrame(
        {
            "user": ["u1", "u1", "u2", "u2", "u2"],
            "rank": [1, 2, 1, 2, 3],
            "item": ["c", "a", "d", "b", "a"],
            "score": [3.0, 1.0, 5.0, 4.0, 2.0],
        }
    )
    c = candidates_from_frame(recs, user_ids=USERS, item_ids=ITEMS)
    back = lists_to_frame(c.items, c, user_ids=USERS, item_ids=ITEMS)
    pd.testing.assert_frame_equal(back, recs)
    # a re-ranked selection keeps each item's model score and renumbers the ranks
    swapped = lists_to_frame(np.array([[0, 2, -1], [1, -1, -1]]), c, user_ids=USERS, item_ids=ITEMS)
    assert swapped.to_dict("list") == {
        "user": ["u1", "u1", "u2"],
        "rank": [1, 2, 1],
        "item": ["a", "c", "b"],
        "score": [1.0, 3.0, 4.0],
    }


def test_empty_frame_gives_no_lists() -> None:
    recs = pd.DataFrame({"user": [], "rank": [], "item": [], "score": []})
    c = candidates_from_frame(recs, user_ids=USERS, item_ids=ITEMS)
    assert c.n_lists == 0 and c.width == 0
    assert lists_to_frame(c.items, c, user_ids=USERS, item_ids=ITEMS).empty


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pd.DataFrame({"user": ["u1"], "item": ["a"]}), "lacks the column"),
        (pd.DataFrame({"user": ["zz"], "item": ["a"], "score": [1.0]}), "user 'zz'"),
        (pd.DataFrame({"user": ["u1"], "item": ["zz"], "score": [1.0]}), "item 'zz'"),
        (pd.DataFrame({"user": ["u1"], "item": ["a"], "score": [None]}), "score"),
        (
            pd.DataFrame({"user": ["u1", "u1"], "item": ["a", "a"], "score": [1.0, 2.0]}),
            "more than once",
        ),
    ],
)
def test_candidates_from_frame_rejects_bad_frames(frame: pd.DataFrame, message: str) -> None:
    with pytest.raises(DataError, match=message):
        candidates_from_frame(frame, user_ids=USERS, item_ids=ITEMS)


# --- helpers --------------------------------------------------------------------------------


def test_check_k_and_unit_interval() -> None:
    assert check_k(np.int64(3)) == 3
    for bad in (0, -1, 2.0, True, "3"):
        with pytest.raises(ConfigError, match="k must be an integer >= 1"):
            check_k(bad)
    assert check_unit_interval(0, name="lam", owner="X", closed=True) == 0.0
    with pytest.raises(ConfigError, match=r"X: p must be a number in \(0, 1\)"):
        check_unit_interval(1.0, name="p", owner="X")


def test_minmax_per_list() -> None:
    c = Candidates(items=[[1, 2, 3], [4, 5, -1]], scores=[[4, 2, 0], [7, 7, 0]], users=[0, 1])
    out = minmax_per_list(c)
    assert out[0].tolist() == [1.0, 0.5, 0.0]
    assert out[1, :2].tolist() == [1.0, 1.0] and np.isnan(out[1, 2])


# --- the re-ranker contract -----------------------------------------------------------------


@pytest.mark.parametrize("which", range(4))
@pytest.mark.parametrize("k", [1, 5, 25])
def test_every_reranker_keeps_the_contract(which: int, k: int) -> None:
    rng = np.random.default_rng(which)
    reranker = all_rerankers(rng)[which]
    assert isinstance(reranker, Reranker)
    cands = random_candidates(rng)
    out = run(reranker, cands, k, rng)
    assert out.shape == (cands.n_lists, k) and out.dtype == np.int64
    for r in range(cands.n_lists):
        row = out[r]
        real = row[row >= 0]
        own = set(cands.items[r][cands.items[r] >= 0].tolist())
        assert set(real.tolist()) <= own  # only the list's own candidates
        assert len(set(real.tolist())) == len(real)  # no duplicates
        assert len(real) == min(k, len(own))  # as long as the candidates allow
        assert (row[len(real) :] == -1).all()  # padding only at the end


@pytest.mark.parametrize("which", range(4))
def test_every_reranker_handles_empty_and_all_padding_lists(which: int) -> None:
    rng = np.random.default_rng(which)
    reranker = all_rerankers(rng)[which]
    padded = Candidates(items=[[-1, -1], [4, -1]], scores=[[0, 0], [1, 0]], users=[0, 1])
    assert run(reranker, padded, 3, rng).tolist() == [[-1, -1, -1], [4, -1, -1]]
    empty = Candidates(items=np.zeros((2, 0)), scores=np.zeros((2, 0)), users=[0, 1])
    assert run(reranker, empty, 2, rng).tolist() == [[-1, -1], [-1, -1]]


@pytest.mark.parametrize("which", range(4))
def test_every_reranker_validates_k_and_item_range(which: int) -> None:
    rng = np.random.default_rng(which)
    reranker = all_rerankers(rng)[which]
    cands = random_candidates(rng)
    with pytest.raises(ConfigError, match="k must be"):
        run(reranker, cands, 0, rng)
    foreign = Candidates(items=[[N_ITEMS + 3]], scores=[[1.0]], users=[0])
    with pytest.raises(DataError, match=f"item index {N_ITEMS + 3}"):
        run(reranker, foreign, 2, rng)


def test_names_and_params_as_given() -> None:
    rng = np.random.default_rng(0)
    names = [r.name for r in all_rerankers(rng)]
    assert names == ["fair", "detconstsort", "calibrated", "mmr"]
    mask = np.array([True, False])
    fair = FAIR(protected=mask, p=0.3)
    assert fair.get_params() == {"protected": mask, "p": 0.3, "alpha": 0.1}
    assert fair.protected is mask  # stored as given, not copied or validated


# --- pipelines ------------------------------------------------------------------------------


class Reverse:
    """Test re-ranker: reverses the real candidates; records what it saw."""

    name: ClassVar[str] = "reverse"

    def __init__(self) -> None:
        self.seen: list[Candidates] = []

    def rerank(self, candidates: Candidates, *, k: int) -> np.ndarray:
        self.seen.append(candidates)
        out = np.full((candidates.n_lists, k), -1, dtype=np.int64)
        for r in range(candidates.n_lists):
            real = candidates.items[r][candidates.items[r] >= 0][::-1][:k]
            out[r, : len(real)] = real
        return out


class Shift:
    """Test re-ranker with a side argument: drops the first ``skip`` candidates."""

    name: ClassVar[str] = "shift"

    def rerank(self, candidates: Candidates, *, k: int, skip: int = 0) -> np.ndarray:
        out = np.full((candidates.n_lists, k), -1, dtype=np.int64)
        real = candidates.items[:, skip : skip + k]
        out[:, : real.shape[1]] = real
        return out


def test_pipeline_feeds_each_step_the_previous_output_with_scores() -> None:
    c = Candidates(items=[[1, 2, 3, 4]], scores=[[4, 3, 2, 1]], users=[7])
    first, second = Reverse(), Reverse()
    out = compose(first, second).rerank(c, k=2)
    assert out.tolist() == [[1, 2]]  # reversed twice; the first step kept all four items
    assert second.seen[0].items.tolist() == [[4, 3, 2, 1]]
    assert second.seen[0].scores.tolist() == [[1, 2, 3, 4]]  # model scores carried along
    assert second.seen[0].users.tolist() == [7]
    # depth limits what the intermediate steps keep
    assert compose(Reverse(), Reverse(), depth=2).rerank(c, k=2).tolist() == [[3, 4]]
    assert isinstance(compose(first), Pipeline)


def test_pipeline_routes_side_arguments_to_the_steps_that_take_them() -> None:
    c = Candidates(items=[[1, 2, 3, 4]], scores=[[4, 3, 2, 1]], users=[0])
    assert compose(Reverse(), Shift()).rerank(c, k=2, skip=1).tolist() == [[3, 2]]
    with pytest.raises(ConfigError, match=r"accepts the argument\(s\) \['skp'\]"):
        compose(Reverse(), Shift()).rerank(c, k=2, skp=1)


def test_pipeline_validation() -> None:
    c = Candidates(items=[[1, 2]], scores=[[1, 0]], users=[0])
    with pytest.raises(ConfigError, match="at least one"):
        compose().rerank(c, k=1)
    with pytest.raises(ConfigError, match="depth=1 is smaller than k=2"):
        compose(Reverse(), depth=1).rerank(c, k=2)
    with pytest.raises(ConfigError, match="no rerank method"):
        Pipeline([object()]).rerank(c, k=1)  # type: ignore[list-item]


def test_compose_calibrated_then_fair_meets_fair_prefix_constraints() -> None:
    rng = np.random.default_rng(3)
    n_lists, width, k = 30, 30, 10
    items = np.stack([rng.choice(N_ITEMS, size=width, replace=False) for _ in range(n_lists)])
    scores = np.sort(rng.normal(size=(n_lists, width)), axis=1)[:, ::-1]
    cands = Candidates(items=items, scores=scores, users=np.arange(n_lists))
    protected = np.zeros(N_ITEMS, dtype=bool)
    protected[rng.choice(N_ITEMS, size=20, replace=False)] = True
    genres = (rng.random((N_ITEMS, 3)) < 0.5).astype(float)
    hist = sp.random(n_lists, N_ITEMS, density=0.1, format="csr", random_state=2)
    fair = FAIR(protected=protected, p=0.5, alpha=0.1)
    out = compose(Calibrated(item_genres=genres, lam=0.8), fair).rerank(cands, k=k, history=hist)
    table = fair.mtable(k)
    enough = (protected[items].sum(axis=1) >= table[-1]).all()
    assert enough
    assert (np.cumsum(protected[out], axis=1) >= table).all()
    assert (fair.shortfall_ == 0).all()


# --- the base class -------------------------------------------------------------------------


class TakeFirst(Reranker):
    """Test re-ranker: every list's first candidates, as a (read-only) view narrower than k."""

    name: ClassVar[str] = "take_first"

    def _rerank(self, candidates: Candidates, k: int) -> np.ndarray:
        return candidates.items[:, :k]


class WrongShape(Reranker):
    """Test re-ranker with a bug: one list too many."""

    name: ClassVar[str] = "wrong_shape"

    def _rerank(self, candidates: Candidates, k: int) -> np.ndarray:
        return np.zeros((candidates.n_lists + 1, k), dtype=np.int64)


def test_the_base_pads_narrow_lists_into_a_fresh_int64_array() -> None:
    c = Candidates(items=[[1, 2], [3, -1]], scores=[[2, 1], [1, 0]], users=[0, 1])
    out = TakeFirst().rerank(c, k=4)
    assert out.tolist() == [[1, 2, -1, -1], [3, -1, -1, -1]]
    assert out.dtype == np.int64 and out.flags.writeable
    out[0, 0] = 9  # a copy, not the candidates' read-only items
    assert c.items[0, 0] == 1


def test_a_bug_in_rerank_is_reported_not_returned() -> None:
    c = Candidates(items=[[1, 2]], scores=[[2, 1]], users=[0])
    with pytest.raises(RuntimeError, match=r"WrongShape._rerank returned shape \(2, 3\)"):
        WrongShape().rerank(c, k=3)


def test_parameters_are_checked_first_even_without_candidates() -> None:
    empty = Candidates(items=np.zeros((2, 0)), scores=np.zeros((2, 0)), users=[0, 1])
    with pytest.raises(ConfigError, match="p must be a number"):
        FAIR(protected=np.ones(3, dtype=bool), p=2.0).rerank(empty, k=2)
    with pytest.raises(ConfigError, match="k must be"):
        FAIR(protected=np.ones(3, dtype=bool), p=0.5).rerank(empty, k=0)
    fair = FAIR(protected=np.ones(3, dtype=bool), p=0.5)
    assert fair.rerank(empty, k=2).tolist() == [[-1, -1], [-1, -1]]
    assert fair.shortfall_.tolist() == [0, 0]


def test_rerank_takes_the_side_keywords_of__rerank_only() -> None:
    c = Candidates(items=[[1, 2]], scores=[[2, 1]], users=[0])
    with pytest.raises(TypeError, match=r"unexpected keyword argument\(s\) \['history'\]"):
        FAIR(protected=np.ones(3, dtype=bool), p=0.5).rerank(c, k=2, history=None)
    signature = inspect.signature(Calibrated.rerank)
    assert list(signature.parameters) == ["self", "candidates", "k", "history"]
    assert signature.parameters["k"].kind is inspect.Parameter.KEYWORD_ONLY
    assert Calibrated.rerank.__doc__ == Calibrated._rerank.__doc__
    assert Calibrated.rerank.__qualname__ == "Calibrated.rerank"


def test_the_base_is_abstract_and_pipelines_are_rerankers() -> None:
    with pytest.raises(TypeError):
        Reranker()  # type: ignore[abstract]

    class NoRerank(Reranker):
        name: ClassVar[str] = "none"

    with pytest.raises(TypeError):
        NoRerank()  # type: ignore[abstract]
    assert isinstance(compose(TakeFirst()), Reranker)
    assert not isinstance(Reverse(), Reranker)  # duck-typed steps still work in a pipeline


def test_get_params_reads_the_constructor() -> None:
    mmr = MMR(item_features=np.ones((2, 2)), lam=0.3)
    assert list(mmr.get_params()) == ["item_features", "lam", "similarity"]
    assert compose(mmr, depth=5).get_params() == {"steps": [mmr], "depth": 5}


class TestCalibratedThenFAIR(RerankerChecks):
    """The conformance checks on a chain, run as a Pipeline of its registered steps."""

    method = "calibrated+fair"
    params: ClassVar = {"calibrated.lam": 0.8, "fair.p": 0.6}
