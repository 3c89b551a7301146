"""Conformance checks every registered re-ranker must pass, as a test-class mixin (no pytest).

A re-ranker's test names it in the registry, gives parameters that make it act and one value
its checks reject::

    from equirec.testing import RerankerChecks

    class TestFAIR(RerankerChecks):
        method = "fair"                  # registry name
        params = {"p": 0.5}              # parameters that make it act
        out_of_range = {"p": 1.5}        # a value outside the valid range

The checks build the re-ranker the way the workflows do
(:func:`equirec.mitigation.rerank.build.build`: parameters checked by the registry, side
information from :class:`~equirec.data.known.KnownData` only) on :func:`reranker_case`, a small
synthetic split with random-score candidate lists, some shorter than ``k`` and one empty. They
check the lists (only each list's own candidates, no repeats, ``-1`` padding at the end, as long
as the candidates allow), ``k`` (0, -1, 2.5 and ``True`` rejected), determinism, that no test
interaction is read, that a re-ranker with a guarantee keeps it on every list whose candidates
allow it and says why on every other, and the registry's messages for a missing, unknown,
wrongly typed or out-of-range parameter.

``method`` may also chain registered re-rankers (``"calibrated+fair"``, parameters
``STEP.KEY``): the steps are then built on the same candidates and applied as a
:class:`~equirec.mitigation.rerank.base.Pipeline` (fine for side information that does not
depend on the candidates' order); the parameter checks are left to the steps' own classes.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import unittest
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, ClassVar

import numpy as np

from equirec.data.known import KnownData
from equirec.data.splits import Split, split_dataset
from equirec.data.synthetic import make_synthetic
from equirec.errors import ConfigError
from equirec.mitigation.registry import RERANKERS, Method
from equirec.mitigation.rerank.base import Candidates, Pipeline, Reranker
from equirec.mitigation.rerank.build import build, split_chain
from equirec.mitigation.rerank.guarantee import GuaranteeCheck
from equirec.params import docstring_args
from equirec.testing.asserts import raises

__all__ = ["RerankerCase", "RerankerChecks", "reranker_case"]

N_USERS = 80
"""Users of the synthetic case (one candidate list each)."""
N_ITEMS = 60
"""Items of the synthetic case."""
WIDTH = 20
"""Candidate slots per list."""
SHORT_EVERY = 4
"""Every ``SHORT_EVERY``-th list (from the first) is cut to ``index % k`` candidates."""


@dataclass(frozen=True)
class RerankerCase:
    """The data of :class:`RerankerChecks` (see :func:`reranker_case`).

    Attributes:
        split: A leave-one-out split of a small synthetic log.
        shuffled: The same split with the test items shuffled between users.
        known: :meth:`KnownData.from_split` of ``split``.
        shuffled_known: :meth:`KnownData.from_split` of ``shuffled``.
        candidates: One list per user, best first, the user's known items excluded.
    """

    split: Split
    shuffled: Split
    known: KnownData
    shuffled_known: KnownData
    candidates: Candidates


@lru_cache(maxsize=4)
def reranker_case(seed: int = 0, k: int = 5) -> RerankerCase:
    """A small synthetic split and candidate lists from random scores (cached: do not modify).

    The scores are standard normal noise plus twice the item's known popularity share, so that
    popular items tend to lead, as a model's would. Every list holds the :data:`WIDTH` best
    unseen items; every :data:`SHORT_EVERY`-th list is cut to ``index % k`` candidates (the
    first to none), so some lists are shorter than ``k``.
    """
    data = make_synthetic(
        n_users=N_USERS, n_items=N_ITEMS, n_interactions_per_user=8, n_genres=6, seed=seed
    )
    split = split_dataset(data, method="loo", seed=seed)
    rng = np.random.default_rng(seed)
    test = split.test.interactions.copy()
    test["item"] = rng.permutation(test["item"].to_numpy())
    columns = [c for c in ("user", "item", "timestamp", "rating", "weight") if c in test]
    shuffled = dataclasses.replace(split, test=split.test.with_interactions(test[columns]))
    known = KnownData.from_split(split)
    popularity = known.popularity / max(float(known.popularity.max()), 1.0)
    scores = rng.normal(size=(data.n_users, data.n_items)) + 2.0 * popularity
    scores[known.seen.toarray() > 0] = -np.inf
    order = np.argsort(-scores, axis=1, kind="stable")[:, :WIDTH]
    top = np.take_along_axis(scores, order, axis=1)
    items = np.where(np.isfinite(top), order, -1)
    for row in range(0, data.n_users, SHORT_EVERY):
        items[row, row % k :] = -1
    candidates = Candidates(
        items=items, scores=np.where(items >= 0, top, np.nan), users=np.arange(data.n_users)
    )
    return RerankerCase(split, shuffled, known, KnownData.from_split(shuffled), candidates)


class RerankerChecks:
    """Mixin: the behaviour every registered re-ranker must have (see the module docstring).

    Subclass it in a ``Test...`` class and set :attr:`method`, :attr:`params` and
    :attr:`out_of_range`; override :meth:`make` to check a re-ranker built another way.
    """

    method: ClassVar[str]
    """Registry name (:data:`~equirec.mitigation.registry.RERANKERS`), or a chain ``"a+b"``."""
    params: ClassVar[Mapping[str, Any]] = {}
    """Parameters under which it changes some lists (``STEP.KEY`` for a chain)."""
    out_of_range: ClassVar[Mapping[str, Any]] = {}
    """One parameter with a value of the right type outside its valid range, e.g. ``{"p": 1.5}``;
    the re-ranker must reject it with a :class:`ConfigError` naming it (and a scalar value)."""
    wrong_type: ClassVar[Mapping[str, Any]] = {}
    """One parameter with a value of the wrong type (default: a list for the first parameter)."""
    k: ClassVar[int] = 5
    """Length of the re-ranked lists."""
    acts: ClassVar[bool] = True
    """Under :attr:`params` some list differs from its top ``k`` candidates."""
    seed: ClassVar[int] = 0
    """Seed of :func:`reranker_case`."""

    _lists: ClassVar[np.ndarray | None] = None

    # -- building ----------------------------------------------------------------------------
    @property
    def case(self) -> RerankerCase:
        """The shared synthetic case."""
        return reranker_case(self.seed, self.k)

    def make(self, known: KnownData, candidates: Candidates) -> tuple[Reranker, dict[str, Any]]:
        """The re-ranker and the side keywords of its ``rerank`` call, as the workflows build them.

        Args:
            known: What was known before the lists.
            candidates: The candidate lists.
        """
        built = [build(step, params, known, candidates) for step, params in self._steps()]
        if len(built) == 1:
            reranker, side = built[0]
            return reranker, side
        merged: dict[str, Any] = {}
        for _, side in built:
            merged.update(side)
        return Pipeline([reranker for reranker, _ in built]), merged

    def rerank(
        self, candidates: Candidates | None = None, *, known: KnownData | None = None, k: Any = None
    ) -> np.ndarray:
        """A freshly built re-ranker applied to ``candidates`` (default: the case's)."""
        candidates = self.case.candidates if candidates is None else candidates
        reranker, side = self.make(self.case.known if known is None else known, candidates)
        return reranker.rerank(candidates, k=self.k if k is None else k, **side)

    @property
    def lists(self) -> np.ndarray:
        """The re-ranked lists of the case (computed once per class)."""
        cls = type(self)
        lists = cls.__dict__.get("_lists")
        if lists is None:
            lists = self.rerank()
            cls._lists = lists
        return lists

    def _steps(self) -> list[tuple[str, dict[str, Any]]]:
        return split_chain(self.method, self.params)

    def _entry(self) -> Method:
        steps = self._steps()
        if len(steps) > 1:
            raise unittest.SkipTest("a chain: the parameter checks belong to its steps' classes")
        assert steps[0][0] in RERANKERS, f"{steps[0][0]!r} is not in RERANKERS"
        return RERANKERS[steps[0][0]]

    # -- the lists ---------------------------------------------------------------------------
    def test_is_a_reranker(self) -> None:
        reranker, _ = self.make(self.case.known, self.case.candidates)
        assert isinstance(reranker, Reranker), f"{reranker!r} does not derive from Reranker"
        if len(self._steps()) == 1:
            assert reranker.name == self.method, f"name {reranker.name!r} != {self.method!r}"

    def test_returns_k_int64_columns_per_list(self) -> None:
        lists = self.lists
        assert lists.dtype == np.int64, f"dtype {lists.dtype}, expected int64"
        assert lists.shape == (self.case.candidates.n_lists, self.k), f"shape {lists.shape}"

    def test_chooses_only_among_each_lists_candidates(self) -> None:
        items = self.case.candidates.items
        for row, out in enumerate(self.lists):
            foreign = set(out[out >= 0].tolist()) - set(items[row][items[row] >= 0].tolist())
            assert not foreign, f"list {row} holds {sorted(foreign)}, not among its candidates"

    def test_never_repeats_an_item_within_a_list(self) -> None:
        for row, out in enumerate(self.lists):
            real = out[out >= 0]
            assert len(set(real.tolist())) == len(real), f"list {row} repeats an item: {out}"

    def test_pads_short_lists_with_minus_one(self) -> None:
        lengths = self.case.candidates.lengths
        assert (lengths < self.k).any(), "the case should hold lists shorter than k"
        for row, out in enumerate(self.lists):
            n_real = int((out >= 0).sum())
            assert n_real == min(self.k, int(lengths[row])), (
                f"list {row} has {n_real} items for {int(lengths[row])} candidates and k={self.k}"
            )
            assert (out[n_real:] == -1).all() and (out >= -1).all(), (
                f"list {row} is not padded with -1 at the end: {out}"
            )

    def test_lists_without_candidates_are_all_padding(self) -> None:
        users = self.case.candidates.users[:3]
        empty = Candidates(items=np.zeros((3, 0)), scores=np.zeros((3, 0)), users=users)
        assert (self.rerank(empty) == -1).all()
        none = Candidates(items=np.zeros((0, 0)), scores=np.zeros((0, 0)), users=np.zeros(0))
        assert self.rerank(none).shape == (0, self.k)

    def test_rejects_a_bad_k(self) -> None:
        for bad in (0, -1, 2.5, True):
            with raises(ConfigError, match="k must be an integer >= 1"):
                self.rerank(k=bad)

    def test_is_deterministic(self) -> None:
        again = self.rerank()
        assert np.array_equal(again, self.lists), "two builds gave different lists"
        reranker, side = self.make(self.case.known, self.case.candidates)
        first = reranker.rerank(self.case.candidates, k=self.k, **side)
        second = reranker.rerank(self.case.candidates, k=self.k, **side)
        assert np.array_equal(first, second), "the same re-ranker gave different lists twice"

    def test_never_reads_test_data(self) -> None:
        case = self.case
        assert not case.split.test.interactions["item"].equals(
            case.shuffled.test.interactions["item"]
        )
        shuffled = self.rerank(known=case.shuffled_known)
        assert np.array_equal(shuffled, self.lists), "the lists depend on the test interactions"

    def test_changes_some_list(self) -> None:
        if not self.acts:
            raise unittest.SkipTest("declared not to act under its params (acts = False)")
        top = self.case.candidates.items[:, : self.k]
        top = np.pad(top, ((0, 0), (0, self.k - top.shape[1])), constant_values=-1)
        assert not np.array_equal(self.lists, top), (
            f"{self.method} with {dict(self.params)} kept every list's top {self.k}; give "
            "params that make it act (or set acts = False)"
        )

    def test_keeps_its_guarantee_wherever_the_candidates_allow(self) -> None:
        candidates = self.case.candidates
        reranker, side = self.make(self.case.known, candidates)
        lists = reranker.rerank(candidates, k=self.k, **side)
        check = reranker.guarantee_
        again = reranker.check_guarantee(lists, candidates, k=self.k)
        if check is None:
            assert again is None, "rerank left guarantee_ = None but check_guarantee checks"
            raise unittest.SkipTest(f"{self.method} promises nothing checkable per list")
        assert isinstance(check, GuaranteeCheck), f"guarantee_ is {check!r}"
        assert again is not None and np.array_equal(check.met, again.met)
        assert check.n_lists == candidates.n_lists, f"{check.n_lists} lists checked"
        broken = np.flatnonzero(check.feasible & ~check.met)
        assert not broken.size, (
            f"lists {broken[:5].tolist()} miss the guarantee although their candidates hold "
            f"enough: {[check.reasons[r] for r in broken[:3]]}"
        )
        for row in range(check.n_lists):
            assert bool(check.reasons[row]) == (not check.met[row]), (
                f"list {row}: met={bool(check.met[row])} but reason {check.reasons[row]!r}"
            )
            assert (check.shortfall[row] == 0) == check.met[row]

    # -- the parameters ----------------------------------------------------------------------
    def test_constructor_takes_typed_documented_keyword_parameters(self) -> None:
        cls = self._entry().implementation
        documented = docstring_args(cls)
        for param in list(inspect.signature(cls.__init__).parameters.values())[1:]:
            assert param.kind is param.KEYWORD_ONLY, f"{param.name} is not keyword-only"
            assert param.annotation is not param.empty, f"{param.name} has no type annotation"
            assert documented.get(param.name), f"{param.name} is not in the docstring's Args:"

    def test_a_missing_required_parameter_is_named(self) -> None:
        entry = self._entry()
        fields = entry.params_model().model_fields
        assert set(entry.resolve(self.params)) == set(fields)
        for key in [name for name, field in fields.items() if field.is_required()]:
            params = {name: v for name, v in self.params.items() if name != key}
            with raises(ConfigError) as caught:
                entry.resolve(params)
            assert f"missing required parameter(s) {key!r}" in caught.message, caught.message

    def test_an_unknown_parameter_is_named_with_the_valid_ones(self) -> None:
        entry = self._entry()
        valid = ", ".join(entry.params_model().model_fields)
        with raises(ConfigError) as caught:
            entry.resolve({**self.params, "no_such_parameter": 1})
        expected = f"unknown parameter(s) ['no_such_parameter']; valid parameters are: {valid}"
        assert expected in caught.message, caught.message

    def test_a_wrong_type_is_named_with_the_expected_type(self) -> None:
        entry = self._entry()
        wrong = dict(self.wrong_type) or {next(iter(entry.params_model().model_fields)): ["x"]}
        assert len(wrong) == 1, "wrong_type names one parameter"
        ((key, value),) = wrong.items()
        with raises(ConfigError) as caught:
            entry.resolve({**self.params, key: value})
        assert f"{self.method!r}: {key}={value!r} is not valid: expected " in caught.message, (
            caught.message
        )

    def test_an_out_of_range_value_is_rejected_before_any_work(self) -> None:
        entry = self._entry()
        assert len(self.out_of_range) == 1, "declare out_of_range = {parameter: bad value}"
        ((key, value),) = self.out_of_range.items()
        params = {**self.params, key: value}
        named = re.compile(rf"\b{re.escape(key)}\b")
        with raises(ConfigError) as caught:
            entry.resolve(params)
            reranker, _ = build(self.method, params, self.case.known, self.case.candidates)
            # Without the side keywords: the parameter check must come before anything else.
            reranker.rerank(self.case.candidates, k=self.k)
        assert named.search(caught.message), f"{key!r} not named in: {caught.message}"
        if isinstance(value, int | float | str):
            assert repr(value) in caught.message or str(value) in caught.message, (
                f"{value!r} not in: {caught.message}"
            )
