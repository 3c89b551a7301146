import numpy as np
import pandas as pd
import pytest

from equirec.errors import DataError
from equirec.fairness.inputs import AuditData


def _frames():
    recs = pd.DataFrame(
        {
            "user": ["b", "a", "a", "a", "b"],
            "item": ["x", "z", "x", "y", "w"],
            "score": [0.1, 0.9, 0.5, 0.7, 0.3],
        }
    )
    test = pd.DataFrame({"user": ["a", "b", "c"], "item": ["x", "y", "y"]})
    train = pd.DataFrame({"user": ["a", "a", "b", "c", "c"], "item": ["w", "w", "z", "x", "w"]})
    return recs, test, train


def test_lists_ordered_by_score_padded_and_indexed():
    recs, test, train = _frames()
    data = AuditData.from_frames(
        recommendations=recs, test=test, train=train, items=["w", "x", "y", "z", "v"]
    )
    assert data.n_items == 5
    ids = data.item_ids
    lists = {
        data.user_ids[u]: [ids[i] for i in row if i >= 0]
        for u, row in zip(data.list_users, data.lists, strict=True)
    }
    assert lists == {"a": ["z", "y", "x"], "b": ["w", "x"]}
    assert data.list_length == 3
    assert (data.lists[data.list_users.tolist().index(data.user_ids.get_loc("b"))] == -1).sum() == 1
    # popularity counts repeats, seen is binary
    assert data.popularity.tolist() == [3, 1, 0, 1, 0]
    assert data.activity[data.user_ids.get_loc("a")] == 2
    assert data.seen.sum() == 4
    assert data.relevant.sum() == 3


def test_rank_column_wins_and_file_order_is_the_fallback():
    recs = pd.DataFrame({"user": [1, 1, 1], "item": [7, 8, 9], "rank": [3, 1, 2]})
    test = pd.DataFrame({"user": [1], "item": [9]})
    data = AuditData.from_frames(recommendations=recs, test=test, train=test)
    assert [data.item_ids[i] for i in data.lists[0]] == [8, 9, 7]
    data = AuditData.from_frames(recommendations=recs[["user", "item"]], test=test, train=test)
    assert [data.item_ids[i] for i in data.lists[0]] == [7, 8, 9]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda r, t, tr: (r.drop(columns="item"), t, tr), r"recommendations: missing column"),
        (lambda r, t, tr: (r.iloc[:0], t, tr), "recommendations: the table is empty"),
        (lambda r, t, tr: (r, t.iloc[:0], tr), "test: the table is empty"),
        (lambda r, t, tr: (pd.concat([r, r.iloc[:1]]), t, tr), "appears twice in the list"),
        (lambda r, t, tr: (r.assign(score="high"), t, tr), "'score' must hold numbers"),
    ],
)
def test_bad_input_is_named(change, message):
    recs, test, train = _frames()
    recs, test, train = change(recs, test, train)
    with pytest.raises(DataError, match=message):
        AuditData.from_frames(recommendations=recs, test=test, train=train)


def test_item_outside_given_catalogue():
    recs, test, train = _frames()
    with pytest.raises(DataError, match="item 'z' is not in the catalogue"):
        AuditData.from_frames(recommendations=recs, test=test, train=train, items=["w", "x", "y"])


def test_attribute_tables_aligned_and_kinds_inferred():
    recs, test, train = _frames()
    users = pd.DataFrame({"gender": ["F", "M"], "age": [20, 30]}, index=["a", "b"])
    items = pd.DataFrame(
        {"genres": [("g1",), ("g1", "g2"), (), ("g2",)]}, index=["w", "x", "y", "z"]
    )
    data = AuditData.from_frames(
        recommendations=recs,
        test=test,
        train=train,
        user_attributes=users,
        item_attributes=items,
    )
    assert data.user_attribute_kinds == {"gender": "categorical", "age": "numeric"}
    assert data.item_attribute_kinds == {"genres": "multi"}
    assert data.user_attributes.index.equals(data.user_ids)
    assert np.isnan(data.user_attributes.loc["c", "age"])
