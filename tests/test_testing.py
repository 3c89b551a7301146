"""The conformance mixins of ``equirec.testing``: importable without pytest, and they catch bugs."""

from __future__ import annotations

import subprocess
import sys
import unittest
from typing import Any, ClassVar

import numpy as np
import pytest

from equirec.data.known import KnownData
from equirec.mitigation.rerank.base import Candidates, Reranker
from equirec.testing import RerankerChecks
from equirec.testing.asserts import raises


def test_importable_without_pytest():
    code = "import sys; sys.modules['pytest'] = None; import equirec.testing"
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_raises():
    with raises(ValueError, match="bad") as caught:
        raise ValueError("a bad value")
    assert caught.message == "a bad value"
    with pytest.raises(AssertionError, match="ValueError not raised"), raises(ValueError):
        pass
    with pytest.raises(AssertionError, match="does not match"), raises(ValueError, match="x"):
        raise ValueError("y")
    with pytest.raises(KeyError), raises(ValueError):
        raise KeyError("other exceptions pass through")


# --- broken re-rankers the checks must catch ---------------------------------------------


class Foreign(Reranker):
    """Takes the lists of the previous user."""

    name: ClassVar[str] = "fair"

    def _rerank(self, candidates: Candidates, k: int) -> np.ndarray:
        return np.roll(candidates.items[:, :k], 1, axis=0)


class Repeats(Reranker):
    """Repeats the best candidate."""

    name: ClassVar[str] = "fair"

    def _rerank(self, candidates: Candidates, k: int) -> np.ndarray:
        return np.repeat(candidates.items[:, :1], k, axis=1)


class PadsWithZero(Reranker):
    """Fills short lists with item 0."""

    name: ClassVar[str] = "fair"

    def _rerank(self, candidates: Candidates, k: int) -> np.ndarray:
        return np.maximum(candidates.items[:, :k], 0)


class Shuffles(Reranker):
    """A random order at every call."""

    name: ClassVar[str] = "fair"

    def _rerank(self, candidates: Candidates, k: int) -> np.ndarray:
        rng = np.random.default_rng()
        return np.stack([rng.permutation(row)[:k] for row in candidates.items])


class KeepsTop(Reranker):
    """Changes nothing."""

    name: ClassVar[str] = "fair"

    def _rerank(self, candidates: Candidates, k: int) -> np.ndarray:
        return candidates.items[:, :k]


class Duck:
    """Not a Reranker: no checks of k."""

    name: ClassVar[str] = "fair"

    def rerank(self, candidates: Candidates, *, k: Any) -> np.ndarray:
        return np.asarray(candidates.items[:, :k])


class ReadsTest(KeepsTop):
    """Acts differently when built from the shuffled split (stands for a test-data leak)."""

    leak: bool = False

    def _rerank(self, candidates: Candidates, k: int) -> np.ndarray:
        top = candidates.items[:, :k]
        return top[::-1].copy() if self.leak else top


def _checks(broken: type) -> RerankerChecks:
    class Checks(RerankerChecks):
        method = "fair"
        params: ClassVar = {"p": 0.6}
        out_of_range: ClassVar = {"p": 1.5}

        def make(self, known: KnownData, candidates: Candidates) -> tuple[Any, dict[str, Any]]:
            reranker = broken()
            reranker.leak = known is self.case.shuffled_known
            return reranker, {}

    return Checks()


@pytest.mark.parametrize(
    ("broken", "check"),
    [
        (Foreign, "test_chooses_only_among_each_lists_candidates"),
        (Repeats, "test_never_repeats_an_item_within_a_list"),
        (PadsWithZero, "test_pads_short_lists_with_minus_one"),
        (Shuffles, "test_is_deterministic"),
        (KeepsTop, "test_changes_some_list"),
        (Duck, "test_rejects_a_bad_k"),
        (Duck, "test_is_a_reranker"),
        (ReadsTest, "test_never_reads_test_data"),
    ],
)
def test_the_reranker_checks_catch_a_broken_reranker(broken, check):
    checks = _checks(broken)
    with pytest.raises(AssertionError):
        getattr(checks, check)()


def test_the_parameter_checks_need_an_out_of_range_example():
    class Undeclared(RerankerChecks):
        method = "fair"
        params: ClassVar = {"p": 0.6}

    with pytest.raises(AssertionError, match="declare out_of_range"):
        Undeclared().test_an_out_of_range_value_is_rejected_before_any_work()


def test_recommender_checks_skip_what_is_not_declared():
    from equirec.models.popularity import Popularity
    from equirec.testing import RecommenderChecks

    class Checks(RecommenderChecks):
        model_class = Popularity
        min_lift = None
        deterministic = False

    for check in (
        Checks().test_finds_the_planted_clusters,
        Checks().test_same_parameters_same_recommendations,
    ):
        with pytest.raises(unittest.SkipTest):
            check()
