import math

import numpy as np
import pytest

from equirec.evaluation.beyond import (
    catalogue_metrics,
    entropy,
    gini,
    popularity_metrics,
    recommendation_counts,
)


def test_gini_of_known_vectors():
    assert gini(np.array([1, 1, 1, 1])) == 0.0
    assert gini(np.array([0, 0, 0, 4])) == pytest.approx(3 / 4)  # (n - 1) / n
    # ascending [0, 1, 3]: (−2·0 + 0·1 + 2·3) / (3·4) = 0.5
    assert gini(np.array([3, 0, 1])) == pytest.approx(0.5)
    assert gini(np.zeros(3)) == 0.0


def test_entropy_in_nats():
    assert entropy(np.array([1, 1, 0])) == pytest.approx(math.log(2))
    assert entropy(np.array([5])) == 0.0
    assert entropy(np.zeros(2)) == 0.0


def test_catalogue_metrics_count_never_recommended_items():
    top = np.array([[0, 1], [0, 2], [0, -1]])
    assert recommendation_counts(top, n_items=5).tolist() == [3, 1, 1, 0, 0]
    m = catalogue_metrics(top, n_items=5, ks=[1, 2])
    assert m["coverage@1"] == pytest.approx(1 / 5)
    assert m["coverage@2"] == pytest.approx(3 / 5)
    # counts [3, 1, 1, 0, 0] ascending [0, 0, 1, 1, 3]: (−4·0 −2·0 + 0·1 + 2·1 + 4·3) / (5·5)
    assert m["gini@2"] == pytest.approx(14 / 25)
    assert m["gini@1"] == pytest.approx(4 / 5)  # one item holds everything among 5
    assert m["entropy@2"] == pytest.approx(-(0.6 * math.log(0.6) + 2 * 0.2 * math.log(0.2)))


def test_popularity_metrics_per_user_skip_padding_and_smooth():
    pop = np.array([10.0, 0.0, 4.0])
    top = np.array([[0, 2], [1, -1], [-1, -1]])
    m = popularity_metrics(top, popularity=pop, n_users=9, ks=[1, 2])
    assert list(m.columns) == ["arp@1", "arp@2", "novelty@1", "novelty@2"]
    assert m["arp@2"].tolist()[:2] == [7.0, 0.0]
    assert m.loc[0, "arp@1"] == 10.0
    assert m.loc[1, "novelty@2"] == pytest.approx(-math.log2(1 / 10))
    assert m.loc[0, "novelty@2"] == pytest.approx((-math.log2(11 / 10) - math.log2(5 / 10)) / 2)
    assert m.loc[2].isna().all()  # empty list: undefined, not zero
    raw = popularity_metrics(top, popularity=pop, n_users=9, ks=[2], smoothing=0.0)
    assert math.isinf(raw.loc[1, "novelty@2"])  # unsmoothed: φ = 0 is infinitely novel
