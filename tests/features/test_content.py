"""Item content: one-hot, multi-hot, standardised numbers and text blocks, with missing values
and bad attributes named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from equirec.data.dataset import Dataset
from equirec.errors import ConfigError, DataError
from equirec.features.content import item_content


class FakeEncoder:
    """Texts to 3-d vectors by their length (the real encoder is tested in test_text.py)."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def encode(self, texts):
        self.seen.extend(texts)
        return np.array([[len(t), 1.0, 0.0] for t in texts], dtype=np.float32)


def _data(items: pd.DataFrame, kinds=None) -> Dataset:
    log = pd.DataFrame({"user": ["u"] * len(items), "item": items.index, "timestamp": 0})
    return Dataset(interactions=log, item_attributes=items, item_attribute_kinds=kinds)


def test_each_kind_becomes_its_block():
    items = pd.DataFrame(
        {
            "provider": ["a", "b", None, "a"],
            "genres": [("x",), ("x", "y"), (), ("y",)],
            "year": [1990.0, 2000.0, np.nan, 2010.0],
            "title": ["Up", "Heat", "", "Casino"],
        },
        index=pd.Index(["i1", "i2", "i3", "i4"], name="item"),
    )
    data = _data(items, {"title": "text", "year": "numeric"})
    encoder = FakeEncoder()
    got = item_content(data, ["provider", "genres", "year", "title"], text_encoder=encoder)
    m = got.matrix
    assert [(b.attribute, b.kind, b.width, b.missing) for b in got.blocks] == [
        ("provider", "categorical", 2, 1),
        ("genres", "multi", 2, 1),
        ("year", "numeric", 2, 1),
        ("title", "text", 4, 1),
    ]
    np.testing.assert_array_equal(m[:, :2], [[1, 0], [0, 1], [0, 0], [1, 0]])
    np.testing.assert_array_equal(m[:, 2:4], [[1, 0], [1, 1], [0, 0], [0, 1]])
    z = m[[0, 1, 3], 4]
    np.testing.assert_allclose([z.mean(), z.std()], [0.0, 1.0], atol=1e-6)  # standardised
    np.testing.assert_array_equal(m[:, 5], [0, 0, 1, 0])  # the missing year's indicator
    assert m[2, 4] == 0.0
    np.testing.assert_array_equal(m[:, 6], [2, 4, 0, 6])  # text vectors, zeros without text
    np.testing.assert_array_equal(m[:, 9], [0, 0, 1, 0])
    assert encoder.seen == ["Up", "Heat", "Casino"]  # an empty title is not encoded
    assert len(got.warnings) == 4 and "1 of 4 items have no title" in got.warnings[3]


def test_bad_attributes_are_named():
    items = pd.DataFrame(
        {"title": [None, ""], "year": ["1990", "soon"]}, index=pd.Index(["i1", "i2"], name="item")
    )
    data = _data(items, {"title": "text", "year": "numeric"})
    with pytest.raises(ConfigError, match=r"unknown item attribute 'genre'.*'title': 'text'"):
        item_content(data, ["genre"])
    with pytest.raises(DataError, match="'title' is empty: no item has text"):
        item_content(data, ["title"], text_encoder=FakeEncoder())
    with pytest.raises(DataError, match=r"'year': 1 value\(s\) are not numbers, e.g. 'soon'"):
        item_content(data, ["year"])
    with pytest.raises(ConfigError, match="at least one"):
        item_content(data, [])
    with pytest.raises(ConfigError, match="more than once"):
        item_content(data, ["year", "year"])
    no_items = Dataset(interactions=pd.DataFrame({"user": ["u"], "item": ["i"], "timestamp": [0]}))
    with pytest.raises(ConfigError, match="no item attributes"):
        item_content(no_items, ["title"])


def test_user_features_are_encoded_like_item_content():
    from equirec.features.content import user_content

    log = pd.DataFrame({"user": ["a", "b", "c"], "item": ["i", "i", "i"], "timestamp": 0})
    users = pd.DataFrame(
        {"gender": ["F", "M", None], "age": [20.0, 40.0, 30.0]},
        index=pd.Index(["a", "b", "c"], name="user"),
    )
    data = Dataset(interactions=log, user_attributes=users)
    got = user_content(data, ["gender", "age"])
    np.testing.assert_array_equal(got.matrix[:, :2], [[1, 0], [0, 1], [0, 0]])
    np.testing.assert_allclose(got.matrix[:, 2], [-1.2247449, 1.2247449, 0.0], rtol=1e-6)
    assert "1 of 3 users have no gender" in got.warnings[0]
    with pytest.raises(ConfigError, match="unknown user attribute 'occupation'"):
        user_content(data, ["occupation"])


def test_other_data_is_encoded_like_the_source_and_unknown_labels_are_named():
    source = _data(
        pd.DataFrame(
            {"genres": [("Children",), ("Drama",)], "year": [1990.0, 2010.0]},
            index=pd.Index(["s1", "s2"], name="item"),
        ),
        {"year": "numeric"},
    )
    fitted = item_content(source, ["genres", "year"])
    target = _data(
        pd.DataFrame(
            {"genres": [("Children's", "Drama"), ("Children's",), ("Noir",)], "year": [2000.0] * 3},
            index=pd.Index(["t1", "t2", "t3"], name="item"),
        ),
        {"year": "numeric"},
    )
    got = item_content(target, ["ignored"], like=fitted.blocks)
    assert [b.attribute for b in got.blocks] == ["genres", "year"]  # the source's blocks
    np.testing.assert_array_equal(got.matrix[:, :2], [[0, 1], [0, 0], [0, 0]])  # its columns
    np.testing.assert_allclose(got.matrix[:, 2], 0.0, atol=1e-6)  # its mean 2000 and scale
    (warning,) = got.warnings
    assert "2 genres label(s) here are unknown" in warning
    assert "\"Children's\" (2 rows), 'Noir' (1 rows)" in warning
