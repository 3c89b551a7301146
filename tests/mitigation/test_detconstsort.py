"""DetConstSort: prefix minimums, the swap step, -1 items and validation."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest

from equirec.errors import ConfigError, DataError
from equirec.mitigation.rerank import Candidates, DetConstSort
from equirec.testing import RerankerChecks


def floor_min(p: float, length: int) -> int:
    return int(np.floor(p * length + 1e-9))


def ordered(n: int) -> Candidates:
    """One list whose i-th candidate is item i, scores descending."""
    return Candidates(items=[np.arange(n)], scores=[np.linspace(1.0, 0.0, n)], users=[0])


def random_lists(seed: int, n_lists: int = 40, width: int = 40, n_items: int = 150):
    rng = np.random.default_rng(seed)
    items = np.stack([rng.choice(n_items, size=width, replace=False) for _ in range(n_lists)])
    scores = np.sort(rng.normal(size=(n_lists, width)), axis=1)[:, ::-1]
    # skewed groups: group 0 frequent, group 2 rare
    groups = rng.choice(3, size=n_items, p=[0.7, 0.2, 0.1])
    return Candidates(items=items, scores=scores, users=np.arange(n_lists)), groups


@pytest.mark.parametrize(
    ("target", "k"),
    [([0.5, 0.3, 0.2], 10), ([0.34, 0.33, 0.33], 12), ([0.2, 0.2, 0.6], 8), ([0.6, 0.4, 0.0], 15)],
)
def test_every_prefix_meets_the_minimum_counts(target: list[float], k: int) -> None:
    cands, groups = random_lists(k)
    out = DetConstSort(item_groups=groups, target=np.array(target)).rerank(cands, k=k)
    checked = 0
    for r in range(cands.n_lists):
        available = np.bincount(groups[cands.items[r]], minlength=3)
        if (available < [floor_min(p, k) for p in target]).any():
            continue  # not enough candidates of some group
        checked += 1
        assert sorted(out[r].tolist()) == sorted(set(out[r].tolist()))
        assert set(out[r].tolist()) <= set(cands.items[r].tolist())
        for length in range(1, k + 1):
            counts = np.bincount(groups[out[r, :length]], minlength=3)
            for g, p in enumerate(target):
                assert counts[g] >= floor_min(p, length), (r, length, g)
    assert checked >= 10


def test_within_group_order_is_the_candidate_order() -> None:
    cands, groups = random_lists(5)
    out = DetConstSort(item_groups=groups, target=[0.4, 0.3, 0.3]).rerank(cands, k=12)
    for r in range(cands.n_lists):
        row = cands.items[r]
        for g in range(3):
            mine = out[r][groups[out[r]] == g]
            assert mine.tolist() == row[groups[row] == g][: len(mine)].tolist()


def test_swap_step_respects_max_indices_hand_example() -> None:
    # Group 0 holds the four best items, group 1 the next four; target 50/50.
    # k'=2: both minimums rise -> 0 (max index 2), then 4 (max index 2).
    # k'=4: both rise again -> 1 (max index 4) may not swap above 4, whose max index 2 forbids
    # moving down to position 3; then 5. (A 0-based literal reading of the pseudocode's test
    # would swap and leave the top 2 without any group-1 item.)
    groups = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    out = DetConstSort(item_groups=groups, target=[0.5, 0.5]).rerank(ordered(8), k=6)
    assert out[0].tolist() == [0, 4, 1, 5, 2, 6]


def test_swap_step_moves_a_better_late_item_up() -> None:
    # Group 1 (target 1/4) has the best item; its minimum only rises at k'=4. It is inserted at
    # slot 4 and swapped up past every worse item whose max index allows it.
    groups = np.array([1, 0, 0, 0, 0, 0, 0, 0])
    target = {0: 0.75, 1: 0.25}
    out = DetConstSort(item_groups=groups, target=target).rerank(ordered(8), k=4)
    # k'=2: item 1 (max 2); k'=3: item 2 (max 3); k'=4: item 0 then item 3. Item 0 swaps past
    # item 2 (max 3 >= 3) and item 1 (max 2 >= 2): it reaches the top.
    assert out[0].tolist() == [0, 1, 2, 3]


def test_target_equal_to_the_input_distribution_keeps_a_satisfying_input() -> None:
    rng = np.random.default_rng(0)
    kept = 0
    for _ in range(300):
        groups = rng.integers(0, 3, 14)
        k = 9
        target = np.bincount(groups[:k], minlength=3) / k
        satisfied = all(
            (np.bincount(groups[:m], minlength=3) >= np.floor(target * m + 1e-9)).all()
            for m in range(1, k + 1)
        )
        if not satisfied:
            continue
        kept += 1
        out = DetConstSort(item_groups=groups, target=target).rerank(ordered(14), k=k)
        assert out[0].tolist() == list(range(k))  # the top-k, unchanged
    assert kept > 20


def test_mapping_and_array_targets_agree() -> None:
    cands, groups = random_lists(9)
    a = DetConstSort(item_groups=groups, target=np.array([0.5, 0.25, 0.25])).rerank(cands, k=10)
    b = DetConstSort(item_groups=groups, target={2: 0.25, 0: 0.5, 1: 0.25}).rerank(cands, k=10)
    assert (a == b).all()


def test_ungrouped_items_only_fill_when_the_targeted_groups_run_out() -> None:
    groups = np.array([-1, 0, -1, 1, 0, -1, 1, 0])
    out = DetConstSort(item_groups=groups, target=[0.5, 0.5]).rerank(ordered(8), k=5)
    assert -1 not in groups[out[0]].tolist()  # five grouped candidates exist: no filler needed
    out = DetConstSort(item_groups=groups, target=[0.5, 0.5]).rerank(ordered(8), k=7)
    # only five grouped items: the two best ungrouped ones fill the last places, in order
    assert groups[out[0]].tolist()[:5].count(-1) == 0
    assert out[0, 5:].tolist() == [0, 2]
    # a group absent from the target behaves like group -1 (proportion 0)
    out = DetConstSort(item_groups=groups, target={0: 1.0}).rerank(ordered(8), k=3)
    assert out[0].tolist() == [1, 4, 7]


def test_an_exhausted_group_is_skipped_and_the_list_still_filled() -> None:
    groups = np.array([0, 0, 0, 0, 0, 1, 0, 0, 0, 0])
    out = DetConstSort(item_groups=groups, target=[0.5, 0.5]).rerank(ordered(10), k=6)
    assert out[0, 1] == 5  # the only group-1 item, at position 2 as its minimum asks
    assert len(set(out[0].tolist())) == 6 and (out[0] >= 0).all()


def test_lists_whose_candidates_lack_a_group_are_reported_by_group_name() -> None:
    # List 0: four group-1 items among ten candidates; list 1: a single one. Target 50/50,
    # k = 6: every prefix of length i needs floor(i / 2) of each group, the top 6 three.
    groups = np.array([0] * 6 + [1] * 4 + [0] * 9 + [1])
    items = np.array([np.arange(10), np.arange(10, 20)])
    cands = Candidates(items=items, scores=np.tile(np.linspace(1, 0, 10), (2, 1)), users=[0, 1])
    ds = DetConstSort(item_groups=groups, target=[0.5, 0.5], labels=("head", "tail"))
    out = ds.rerank(cands, k=6)
    check = ds.guarantee_
    assert check is not None and check.met.tolist() == [True, False]
    assert check.feasible.tolist() == [True, False] and check.shortfall.tolist() == [0, 2]
    assert check.reasons[1] == "only 1 tail item among its 10 candidates; the top 6 needs 3"
    assert "head 0.5, tail 0.5" in check.guarantee and "3 head, 3 tail" in check.guarantee
    for length in range(1, 7):  # list 0 holds its minimums
        counts = np.bincount(groups[out[0, :length]], minlength=2)
        assert (counts >= length // 2).all()
    unnamed = DetConstSort(item_groups=groups, target=[0.5, 0.5])
    unnamed.rerank(cands, k=6)
    assert unnamed.guarantee_ is not None
    assert unnamed.guarantee_.reasons[1].startswith("only 1 group 1 item among its 10")


def test_check_guarantee_of_the_candidate_order() -> None:
    groups = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    ds = DetConstSort(item_groups=groups, target=[0.5, 0.5])
    check = ds.check_guarantee(ordered(8).items[:, :6], ordered(8), k=6, exhaustive=True)
    assert check.met.tolist() == [False] and check.feasible.tolist() == [True]
    assert check.reasons[0] == "its top 2 holds 0 group 1 items, fewer than the 1 required"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target": [0.5, 0.6]}, "sum to 1"),
        ({"target": [1.5, -0.5]}, "non-negative"),
        ({"target": [np.nan, 1.0]}, "finite"),
        ({"target": np.ones((1, 2)) / 2}, "1-d array"),
        ({"target": {"a": 1.0}}, "group codes"),
        ({"target": {0: "x"}}, "must be numbers"),
        ({"item_groups": np.array([0.0, 1.0, 0.0])}, "integer group codes"),
        ({"item_groups": np.array([0, -2, 1])}, "-1 = no group"),
        ({"item_groups": np.zeros((3, 1), dtype=int)}, "1-d int array"),
    ],
)
def test_parameter_validation(kwargs: dict, message: str) -> None:
    params = {"item_groups": np.array([0, 1, 0]), "target": [0.5, 0.5], **kwargs}
    with pytest.raises(ConfigError, match=message):
        DetConstSort(**params).rerank(ordered(3), k=2)


def test_proportions_within_tolerance_are_accepted_and_items_must_be_covered() -> None:
    ds = DetConstSort(item_groups=np.array([0, 1, 0]), target=[0.5 + 5e-7, 0.5])
    assert ds.rerank(ordered(3), k=2).shape == (1, 2)
    with pytest.raises(DataError, match="item_groups array covers only 3 items"):
        ds.rerank(ordered(5), k=2)


class TestDetConstSort(RerankerChecks):
    method = "detconstsort"
    params: ClassVar = {"target": "equal"}
    out_of_range: ClassVar = {"target": {"head": 0.2, "tail": 0.9}}  # sums to 1.1
