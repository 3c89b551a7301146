import math

import numpy as np
import pytest

from equirec.errors import ConfigError
from equirec.models.itemknn import ItemKNN
from equirec.testing import RecommenderChecks

MATRIX = [  # 4 users x 4 items
    [1, 1, 0, 0],
    [1, 1, 1, 0],
    [0, 1, 1, 0],
    [1, 0, 0, 1],
]


class TestItemKNN(RecommenderChecks):
    model_class = ItemKNN  # the defaults


class TestItemKNNOneNeighbourNoShrink(RecommenderChecks):
    min_lift = 1.5  # one neighbour per item reaches about 2.2

    def model_factory(self) -> ItemKNN:
        return ItemKNN(k_neighbors=1, shrink=0.0)


def test_similarity_is_shrunk_cosine_by_hand(make_dataset):
    model = ItemKNN(k_neighbors=10, shrink=2.0).fit(make_dataset(MATRIX))
    w = model.similarity_.toarray()
    # item 0 (users 0, 1, 3) and item 1 (users 0, 1, 2): 2 common users, norms sqrt(3), sqrt(3)
    assert w[0, 1] == pytest.approx(2 / (3 + 2.0))
    # item 1 and item 2 (users 1, 2): 2 common users, norms sqrt(3), sqrt(2)
    assert w[1, 2] == pytest.approx(2 / (math.sqrt(6) + 2.0))
    # item 0 and item 3 (user 3): 1 common user, norms sqrt(3), 1
    assert w[0, 3] == pytest.approx(1 / (math.sqrt(3) + 2.0))
    assert w[2, 3] == 0.0  # no common user
    np.testing.assert_allclose(w, w.T)
    np.testing.assert_array_equal(np.diag(w), 0.0)


def test_scores_sum_the_similarities_of_the_history(make_dataset):
    model = ItemKNN(k_neighbors=10, shrink=2.0).fit(make_dataset(MATRIX))
    w = model.similarity_.toarray()
    scores = model.score_items(["u2"], [10, 40])["score"].to_numpy()
    np.testing.assert_allclose(scores, [w[1, 0] + w[2, 0], w[1, 3] + w[2, 3]], rtol=1e-6)


def test_keeps_the_k_most_similar_items_of_each_target(make_dataset):
    full = ItemKNN(k_neighbors=10, shrink=0.0).fit(make_dataset(MATRIX)).similarity_.toarray()
    top1 = ItemKNN(k_neighbors=1, shrink=0.0).fit(make_dataset(MATRIX)).similarity_.toarray()
    assert ((top1 > 0).sum(axis=0) == 1).all()
    for j in range(4):  # the kept neighbour of each target is its most similar item
        assert top1[:, j].max() == pytest.approx(full[:, j].max())


def test_rejects_bad_parameters(make_dataset):
    with pytest.raises(ConfigError, match="k_neighbors"):
        ItemKNN(k_neighbors=0).fit(make_dataset(MATRIX))
