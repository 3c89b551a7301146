"""The Recommender base class rejects input a new user would plausibly give, naming the fix."""

from __future__ import annotations

import pandas as pd
import pytest

import equirec
from equirec.data.synthetic import make_synthetic
from equirec.errors import ConfigError, DataError
from equirec.models.popularity import Popularity


def test_fit_on_a_data_frame_says_how_to_make_a_dataset() -> None:
    frame = pd.DataFrame({"user": [1, 2], "item": [3, 4], "timestamp": [0, 1]})
    with pytest.raises(DataError, match=r"dataset must be an equirec Dataset, got DataFrame"):
        Popularity().fit(frame)  # type: ignore[arg-type]
    data = make_synthetic(n_users=20, n_items=10, n_interactions_per_user=3, seed=0)
    with pytest.raises(DataError, match=r"valid must be an equirec Dataset, got list"):
        Popularity().fit(data, valid=[])  # type: ignore[arg-type]


@pytest.mark.parametrize("k", [0, -3, 2.5, True])
def test_a_list_length_that_is_not_a_positive_integer_is_refused(k: object) -> None:
    data = make_synthetic(n_users=20, n_items=10, n_interactions_per_user=3, seed=0)
    model = Popularity().fit(data)
    with pytest.raises(ConfigError, match=r"k must be a positive integer \(the list length\)"):
        model.recommend(list(data.user_ids[:2]), k=k)  # type: ignore[arg-type]


def test_run_with_a_config_of_the_wrong_type_names_what_it_takes() -> None:
    with pytest.raises(ConfigError, match=r"RunConfig or a dict of its sections, got str"):
        equirec.run("config.toml", write=False)  # type: ignore[arg-type]
