"""The counterfactual search and the ranking rule it checks, on scorers whose answer is known."""

from __future__ import annotations

import numpy as np
import pytest

from equirec.errors import ConfigError
from equirec.explain.counterfactual import counterfactual, leave_one_out
from equirec.explain.ranking import margins, ranks


def linear(weights: np.ndarray, bias: np.ndarray):
    """Scores ``bias + Σ weights[j]`` over the history's items (an EASE-like model)."""

    def score(histories):
        return np.stack([bias + weights[np.asarray(h, dtype=int)].sum(axis=0) for h in histories])

    return score


def test_ranks_follow_topk_ties_by_item_index_and_leave_out_excluded_items():
    scores = np.array([[1.0, 3.0, 3.0, 2.0, 5.0]])
    assert ranks(scores, 2, excluded=np.array([], dtype=int))[0] == 2  # 4 and 1 (tie, lower id)
    assert ranks(scores, 1, excluded=np.array([], dtype=int))[0] == 1
    assert ranks(scores, 2, excluded=np.array([4]))[0] == 1
    # margin to the k-th best competitor: 3 - 5 at k=1, 3 - 3 at k=2 (item 1), 3 - 2 at k=3
    got = [margins(scores, 2, np.array([], dtype=int), k=k)[0] for k in (1, 2, 3)]
    assert got == [-2.0, 0.0, 1.0]


def test_the_fewest_items_are_found_and_checked():
    # history 0, 1, 2 each add 1 to item 4; item 5 has a constant 1.5; item 3 scores 0
    weights = np.zeros((6, 6))
    weights[[0, 1, 2], 4] = 1.0
    bias = np.array([0, 0, 0, 0, 0, 1.5])
    history = np.array([0, 1, 2])
    for beam in (1, 4):
        found = counterfactual(linear(weights, bias), history, 4, k=1, excluded=history, beam=beam)
        assert found.valid and len(found.positions) == 2  # one removal leaves 2 > 1.5
        assert (found.rank_before, found.rank_after) == (0, 1)
        assert found.score_before == 3.0 and found.score_after == 1.0
        np.testing.assert_allclose(found.effects, [1.0, 1.0, 1.0])
    # one item carrying the score alone is found at size 1
    weights[0, 4] = 3.0
    bias[5] = 2.5
    found = counterfactual(linear(weights, bias), history, 4, k=1, excluded=history)
    assert found.valid and found.positions == (0,) and found.scored == 4


def test_an_item_no_removal_can_move_is_reported_invalid():
    weights = np.zeros((4, 4))
    bias = np.array([0, 0, 0, 9.0])  # item 3 is first whatever the history
    found = counterfactual(
        linear(weights, bias), np.array([0, 1, 2]), 3, k=1, excluded=np.array([0, 1, 2])
    )
    assert not found.valid and found.rank_after == 0
    # an item not in the list has nothing to take out
    found = counterfactual(
        linear(weights, bias), np.array([0, 1]), 2, k=1, excluded=np.array([0, 1])
    )
    assert not found.valid and found.positions == () and found.rank_before == 1


def test_leave_one_out_is_the_score_drop_of_each_single_removal():
    weights = np.array([[0, 0, 2.0], [0, 0, -1.0], [0, 0, 0.5]])
    effects, scores = leave_one_out(linear(weights, np.zeros(3)), np.array([0, 1, 2]), 2)
    np.testing.assert_allclose(effects, [2.0, -1.0, 0.5])
    assert scores.shape == (4, 3) and scores[0, 2] == 1.5


@pytest.mark.parametrize(
    "kwargs,match",
    [({"k": 0}, "k must be"), ({"max_size": 0}, "max_size"), ({"beam": True}, "beam")],
)
def test_bad_search_settings_are_named(kwargs, match):
    score = linear(np.zeros((3, 3)), np.zeros(3))
    settings = {"k": 1, **kwargs}
    with pytest.raises(ConfigError, match=match):
        counterfactual(score, np.array([0]), 2, excluded=np.array([0]), **settings)
    with pytest.raises(ConfigError, match="empty history"):
        counterfactual(score, np.array([], dtype=int), 2, k=1, excluded=np.array([0]))


def test_items_beyond_the_window_are_not_rescored_and_have_no_effect():
    calls = []
    weights = np.zeros((7, 7))
    weights[[3, 4], 5] = 1.0
    base = linear(weights, np.array([0, 0, 0, 0, 0, 0, 0.5]))  # item 6 competes

    def last_three(histories):  # a model that reads only the last 3 items
        calls.append(len(histories))
        return base([h[-3:] for h in histories])

    history = np.array([0, 1, 2, 3, 4])
    effects, scores = leave_one_out(last_three, history, 5, window=3)
    assert calls == [4]  # the whole history and its last 3 removals
    np.testing.assert_allclose(effects, [0, 0, 0, 1, 1])  # removing 2 pulls 1 in: no change
    assert scores.shape == (6, 7)
    found = counterfactual(last_three, history, 5, k=1, excluded=history, window=3)
    assert found.valid and found.positions == (3, 4)
