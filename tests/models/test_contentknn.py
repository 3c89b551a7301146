"""Content-kNN: mean content cosine to the user's last items, known values by hand, cold items
scored like any other, a saved model, clear errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from equirec.data.dataset import Dataset
from equirec.errors import ConfigError
from equirec.models import Recommender
from equirec.models.contentknn import ContentKNN


def _data() -> Dataset:
    """4 items: genres {a}, {a, b}, {b}, {a} (item 3 appears in no interaction), a year each."""
    vocab = pd.Index(["i0", "i1", "i2", "i3"], name="item")
    items = pd.DataFrame(
        {"genres": [("a",), ("a", "b"), ("b",), ("a",)], "year": [1990.0, 2000.0, 2000.0, 1990.0]},
        index=vocab,
    )
    log = pd.DataFrame(
        {"user": ["u", "u", "v", "v", "v"], "item": ["i0", "i1", "i2", "i1", "i0"], "timestamp": 0}
    )
    return Dataset(interactions=log, item_attributes=items, item_ids=vocab, name="content")


def test_scores_are_mean_cosines_by_hand():
    data = _data()
    model = ContentKNN(content_attributes=["genres"]).fit(data)
    unit = np.array([[1, 0], [1, 1], [0, 1], [1, 0]]) / np.sqrt([1, 2, 1, 1])[:, None]
    np.testing.assert_allclose(model.content_, unit, rtol=1e-6)
    got = model.score_users(np.array([0]), history=data.history()).numpy()[0]  # u: i0, i1
    np.testing.assert_allclose(got, unit @ (unit[0] + unit[1]), rtol=1e-6)
    # item 3 was never seen, and scores exactly like its content twin i0
    assert got[3] == pytest.approx(got[0])


def test_blocks_weigh_the_same_and_window_keeps_the_last_items():
    data = _data()
    both = ContentKNN(content_attributes=["genres", "year"]).fit(data)
    np.testing.assert_allclose(np.linalg.norm(both.content_, axis=1), 1.0, rtol=1e-6)
    # genres and year each contribute a unit block, so every row is 1/sqrt(2) of each
    np.testing.assert_allclose(np.linalg.norm(both.content_[:, :2], axis=1), np.sqrt(0.5))
    last = ContentKNN(content_attributes=["genres"], window=1).fit(data)
    got = last.score_users(np.array([1]), history=data.history()).numpy()[0]  # v's last: i0
    np.testing.assert_allclose(got, last.content_ @ last.content_[0], rtol=1e-6)


def test_save_load_and_bad_parameters(tmp_path):
    data = _data()
    model = ContentKNN().fit(data)  # every attribute by default
    assert model.content_.shape == (4, 3)
    model.save(tmp_path / "m")
    loaded = Recommender.load(tmp_path / "m")
    pd.testing.assert_frame_equal(loaded.recommend(k=2), model.recommend(k=2))
    with pytest.raises(ConfigError, match="window must be"):
        ContentKNN(window=0).fit(data)
    bare = Dataset(interactions=data.interactions[["user", "item", "timestamp"]])
    with pytest.raises(ConfigError, match="contentknn needs item attributes"):
        ContentKNN().fit(bare)
    with pytest.raises(ConfigError, match="unknown item attribute 'title'"):
        ContentKNN(content_attributes=["title"]).fit(data)
