import pandas as pd

from equirec.models.popularity import Popularity
from equirec.testing import RecommenderChecks


class TestPopularity(RecommenderChecks):
    model_class = Popularity
    min_lift = 1.1  # ignores the clusters but not the skew within them (about 1.3)


def test_counts_distinct_users_or_every_interaction(make_dataset):
    d = make_dataset([[1, 1, 0], [1, 1, 0], [1, 0, 1]])
    repeats = pd.DataFrame({"user": ["u2", "u2"], "item": [30, 30], "timestamp": [50, 51]})
    d = d.with_interactions(pd.concat([d.interactions[["user", "item", "timestamp"]], repeats]))

    by_users = Popularity().fit(d)
    recs = by_users.recommend(["u0"], k=3, exclude_seen=False)
    assert recs["item"].tolist() == [10, 20, 30]
    assert recs["score"].tolist() == [3.0, 2.0, 1.0]

    by_interactions = Popularity(count="interactions").fit(d)
    scored = by_interactions.score_items(["u0"], [10, 20, 30])
    assert scored["score"].tolist() == [3.0, 2.0, 3.0]
