"""Adaptive permutation p-values: the counting rule, when they stop, and agreement with the
critical value."""

from __future__ import annotations

import numpy as np
import pytest

from equirec.fairness.permutation import adaptive_p_value, critical_value


def _draws(values: np.ndarray):
    """A ``draw`` that hands out ``values`` in order (a deterministic stand-in for shuffles)."""
    state = {"at": 0}

    def draw(n: int) -> np.ndarray:
        out = values[state["at"] : state["at"] + n]
        state["at"] += n
        assert len(out) == n, "drew more permutations than planned"
        return out

    return draw


def test_fixed_number_counts_exceedances_phipson_smyth() -> None:
    null = np.r_[np.full(7, 5.0), np.zeros(93)]  # 7 of 100 reach 5
    r = adaptive_p_value(5.0, _draws(null), n_min=100)
    assert r.n_permutations == 100 and r.p_value == pytest.approx(8 / 101)
    assert len(r.null) == 100


def test_weak_evidence_stops_at_n_min_and_strong_evidence_runs_to_n_max() -> None:
    rng = np.random.default_rng(0)
    weak = adaptive_p_value(0.0, lambda n: rng.normal(size=n), n_min=200, n_max=10_000)
    assert weak.n_permutations == 200  # about half reach 0: far more than `hits`
    strong = adaptive_p_value(50.0, lambda n: rng.normal(size=n), n_min=200, n_max=10_000)
    assert strong.n_permutations == 10_000
    assert strong.p_value == pytest.approx(1 / 10_001)  # the smallest reachable
    # in between: it stops soon after `hits` exceedances, p close to hits / n
    mid = adaptive_p_value(3.0, lambda n: rng.normal(size=n), n_min=200, n_max=1_000_000, hits=20)
    assert 200 < mid.n_permutations < 1_000_000
    assert mid.p_value == pytest.approx(0.00135, rel=0.6)  # P(N(0,1) > 3)


@pytest.mark.parametrize("alpha", [0.05, 0.01, 0.1])
def test_critical_value_agrees_with_the_p_value(alpha: float) -> None:
    rng = np.random.default_rng(1)
    for n in (19, 99, 100, 199, 1000, 1999, 2000):
        null = np.round(rng.normal(size=n), 1)  # ties on purpose
        c = critical_value(null, alpha)
        for observed in np.r_[np.linspace(-1, 4, 101), null[:20]]:
            p = (1 + np.sum(null >= observed)) / (1 + n)
            assert (observed > c) == (p < alpha), (n, observed, c, p)


def test_critical_value_is_infinite_when_no_rejection_is_possible() -> None:
    assert critical_value(np.zeros(10), 0.05) == float("inf")  # p >= 1/11 > 0.05
