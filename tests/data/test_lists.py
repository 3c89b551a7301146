"""RankedLists: the one list type, to and from the user/rank/item/score frame."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from equirec.data.lists import RankedLists
from equirec.errors import DataError

USERS = pd.Index(["a", "b", "c"], name="user")
ITEMS = pd.Index([10, 20, 30, 40], name="item")


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user": ["b", "b", "b", "a", "a"],
            "rank": [2, 1, 3, 1, 2],
            "item": [30, 10, 40, 20, 10],
            "score": [0.5, 0.9, 0.1, 2.0, 1.0],
        }
    )


def test_from_frame_orders_by_rank_and_pads():
    lists = RankedLists.from_frame(_frame(), user_ids=USERS, item_ids=ITEMS)
    assert lists.users.tolist() == [1, 0]  # first appearance
    assert lists.items.tolist() == [[0, 2, 3], [1, 0, -1]]
    assert np.isnan(lists.scores[1, 2]) and lists.lengths.tolist() == [3, 2]
    assert not lists.items.flags.writeable


def test_to_frame_round_trips_in_original_ids():
    lists = RankedLists.from_frame(_frame(), user_ids=USERS, item_ids=ITEMS)
    back = lists.to_frame()
    assert back["user"].tolist() == ["b", "b", "b", "a", "a"]
    assert back["item"].tolist() == [10, 30, 40, 20, 10]
    assert back["rank"].tolist() == [1, 2, 3, 1, 2] and back["rank"].dtype == np.int64
    again = RankedLists.from_frame(back, user_ids=USERS, item_ids=ITEMS)
    assert np.array_equal(again.items, lists.items) and np.array_equal(again.users, lists.users)


def test_head_and_select_keep_the_vocabularies():
    lists = RankedLists.from_frame(_frame(), user_ids=USERS, item_ids=ITEMS)
    top = lists.head(1)
    assert top.items.tolist() == [[0], [1]] and top.item_ids is ITEMS
    chosen = lists.select(np.array([[3, 0], [0, -1]]))
    assert chosen.scores[0].tolist() == [0.1, 0.9]
    assert chosen.to_frame()["item"].tolist() == [40, 10, 10]


def test_bad_input_is_named():
    with pytest.raises(DataError, match="holds item 1 more than once"):
        RankedLists(items=[[1, 1]], scores=[[1.0, 0.5]], users=[0])
    with pytest.raises(DataError, match="no user/item vocabularies"):
        RankedLists(items=[[1]], scores=[[1.0]], users=[0]).to_frame()
    bad = _frame().assign(item=[30, 10, 40, 20, 99])
    with pytest.raises(DataError, match="holds item 99, which is not in the item vocabulary"):
        RankedLists.from_frame(bad, user_ids=USERS, item_ids=ITEMS)
