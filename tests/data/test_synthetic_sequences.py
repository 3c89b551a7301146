import numpy as np
import pandas as pd
import pytest

from equirec.data import make_sequential
from equirec.errors import ConfigError


def _next_item_hit_rate(frame: pd.DataFrame, k: int = 10) -> tuple[float, float]:
    """Hit rate@k of the last item from the first half of users' transition counts (the top
    successors of the user's previous item) and from popularity."""
    frame = frame.sort_values(["user_idx", "timestamp"])
    users = frame.user.unique()
    fit = frame[frame.user.isin(users[: len(users) // 2])]
    held = frame[frame.user.isin(users[len(users) // 2 :])]
    pairs = pd.DataFrame({"prev": fit.item.to_numpy()[:-1], "next": fit.item.to_numpy()[1:]})
    pairs = pairs[fit.user.to_numpy()[:-1] == fit.user.to_numpy()[1:]]
    top = pairs.groupby(["prev", "next"]).size().rename("n").reset_index()
    top = top.sort_values(["prev", "n"], ascending=[True, False]).groupby("prev").head(k)
    successors = top.groupby("prev")["next"].apply(set).to_dict()
    popular = set(fit.item.value_counts().index[:k])
    last_two = held.groupby("user").tail(2)
    prev, last = last_two.item.to_numpy()[0::2], last_two.item.to_numpy()[1::2]
    by_order = np.mean([b in successors.get(a, set()) for a, b in zip(prev, last, strict=True)])
    by_popularity = np.mean([b in popular for b in last])
    return float(by_order), float(by_popularity)


def test_histories_are_distinct_ordered_and_reproducible() -> None:
    a = make_sequential(n_users=300, n_items=200, mean_length=30, seed=3)
    b = make_sequential(n_users=300, n_items=200, mean_length=30, seed=3)
    pd.testing.assert_frame_equal(a.interactions, b.interactions)
    frame = a.interactions
    lengths = frame.groupby("user").size()
    assert len(lengths) == 300 and lengths.min() >= 5
    assert abs(lengths.mean() - 30) < 5
    assert not frame.duplicated(["user", "item"]).any()
    ordered = frame.sort_values(["user_idx", "timestamp"])
    assert (ordered.groupby("user").timestamp.diff().dropna() == 60).all()
    assert a.info["follow"] == 0.4 and len(a.item_ids) == 200


def test_the_order_carries_the_signal_it_is_given() -> None:
    planted = make_sequential(n_users=800, n_items=150, mean_length=40, seed=0).interactions
    by_order, by_popularity = _next_item_hit_rate(planted)
    assert by_order > 0.2 and by_order > 2 * by_popularity  # 0.25 against 0.10
    # follow = 0: the previous item says no more than popularity does
    unordered = make_sequential(n_users=800, n_items=150, mean_length=40, follow=0.0).interactions
    by_order, by_popularity = _next_item_hit_rate(unordered)
    assert by_order < by_popularity + 0.05


def test_a_user_may_consume_the_whole_catalogue() -> None:
    d = make_sequential(n_users=20, n_items=12, mean_length=12, min_length=12, seed=1)
    assert (d.interactions.groupby("user").item.nunique() == 12).all()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"n_successors": 0}, "n_successors"),
        ({"follow": 1.5}, "follow"),
        ({"min_length": 10, "mean_length": 5}, "min_length"),
        ({"n_items": 1}, "n_items"),
    ],
)
def test_bad_parameters_are_named(params: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_sequential(**params)
