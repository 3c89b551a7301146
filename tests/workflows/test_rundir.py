"""A run folder read back gives the run's own lists, from Python, in one call."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import equirec
from equirec.errors import DataError
from equirec.models import Recommender
from equirec.workflows.rundir import open_run


@pytest.fixture(scope="module")
def ease_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "ease"
    equirec.run({"data": {"dataset": "synthetic"}, "model": {"name": "ease"}, "out": str(out)})
    return out


@pytest.mark.parametrize("name", ["run_dir", "ease_dir"])
def test_recommend_reproduces_the_stored_lists(name, request):
    folder = request.getfixturevalue(name)
    run = equirec.open_run(folder)
    stored = pd.read_csv(folder / "recommendations.csv")
    again = run.recommend(k=100)
    assert (
        again[["user", "rank", "item"]]
        .astype(str)
        .equals(stored[["user", "rank", "item"]].astype(str))
    )
    np.testing.assert_allclose(again["score"], stored["score"], rtol=1e-5)
    some = list(pd.unique(stored["user"]))[:3]
    top3 = run.recommend(users=some, k=3)
    assert top3["user"].tolist() == np.repeat(some, 3).tolist()


@pytest.mark.parametrize("name", ["run_dir", "ease_dir"])
def test_a_saved_model_never_recommends_what_the_run_knew(name, request):
    """Recommender.load(...).recommend knows training and validation, as the run did."""
    folder = request.getfixturevalue(name)
    run = open_run(folder)
    model = Recommender.load(folder / "model")
    users = pd.unique(run.recommendations["user"])
    recs = model.recommend(users, k=10)
    known = run.known.dataset.interactions[["user", "item"]].astype(str)
    pairs = set(map(tuple, known.to_numpy()))
    assert not any((str(u), str(i)) in pairs for u, i in recs[["user", "item"]].to_numpy())
    stored = run.recommendations.groupby("user").head(10).reset_index(drop=True)
    assert recs[["user", "item"]].astype(str).equals(stored[["user", "item"]].astype(str))


def test_open_run_rejects_what_is_not_a_run(tmp_path):
    with pytest.raises(DataError, match="no such run folder"):
        open_run(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"missing config\.json"):
        open_run(tmp_path / "empty")
