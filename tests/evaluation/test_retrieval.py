"""Approximate top-k retrieval through faiss: close to exact ranking, seen items never listed."""

from __future__ import annotations

import json

import numpy as np
import pytest

from equirec.cli import main
from equirec.data import make_synthetic, split_dataset
from equirec.errors import ConfigError
from equirec.evaluation.retrieval import ann_ranker, topk_recall
from equirec.models.bpr import BPR
from equirec.models.ease import EASE
from equirec.workflows.rundir import open_run

pytest.importorskip("faiss")


@pytest.fixture(scope="module")
def fitted():
    data = make_synthetic(n_users=300, n_items=400, seed=1)
    train = split_dataset(data, method="loo").train
    return BPR(dim=16, epochs=5, seed=0, device="cpu").fit(train), train


@pytest.mark.parametrize(
    ("method", "params", "least"),
    [
        ("hnsw", {"ef_search": 64}, 0.95),
        ("ivf", {"nlist": 20, "nprobe": 20}, 1.0),  # every cluster searched: exact
        ("ivf", {"nlist": 20, "nprobe": 1}, 0.1),  # one cluster: fast, far from exact
    ],
)
def test_the_index_finds_what_exact_ranking_does(fitted, method, params, least):
    model, train = fitted
    users = np.arange(train.n_users)
    exact = model.rank(users, k=10)
    approx = ann_ranker(model, method=method, params=params)(users, k=10)
    recall = topk_recall(exact.to_frame(), approx.to_frame(), k=10)
    assert least <= recall <= 1.0
    if least < 1.0 and method == "ivf":
        assert recall < 0.95  # the approximation is real
    seen = train.history()
    for row, user in enumerate(users):
        got = approx.items[row]
        assert not set(got[got >= 0]) & set(seen.sequence(user))  # seen items excluded
        scores = approx.scores[row][got >= 0]
        assert np.all(np.diff(scores) <= 1e-5)  # best first
    np.testing.assert_allclose(  # the scores are the model's own
        approx.scores[0][:3], model.score_users(users[:1])[0, approx.items[0][:3]], rtol=1e-4
    )


def test_bad_retrieval_settings_are_named(fitted):
    model, train = fitted
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['ef'\] for hnsw"):
        ann_ranker(model, method="hnsw", params={"ef": 10})
    with pytest.raises(ConfigError, match="nprobe must be a positive integer"):
        ann_ranker(model, method="ivf", params={"nprobe": 0})
    with pytest.raises(ConfigError, match="retrieval must be one of exact, hnsw, ivf"):
        ann_ranker(model, method="lsh", params={})
    with pytest.raises(ConfigError, match="scores by a user vector and an item table"):
        ann_ranker(EASE().fit(train), method="hnsw", params={})


def test_bad_retrieval_settings_stop_a_run_before_training():
    from equirec.workflows.config import RunConfig

    bad = {"retrieval": "hnsw", "retrieval_params": {"ef": 8}}
    with pytest.raises(ConfigError, match=r"config: evaluation.retrieval_params: unknown key"):
        RunConfig.from_dict({"model": {"name": "bpr"}, "evaluation": bad})
    # faiss is here: an index is fine
    RunConfig.from_dict({"model": {"name": "bpr"}, "evaluation": {"retrieval": "hnsw"}}).check()


def test_a_run_reports_what_approximate_retrieval_changed(tmp_path):
    (tmp_path / "run.toml").write_text(
        '[data]\ndataset = "synthetic"\n[model]\nname = "bpr"\nepochs = 3\n'
        '[evaluation]\nretrieval = "hnsw"\nretrieval_params = {ef_search = 32}\n'
    )
    assert main(["run", "--config", str(tmp_path / "run.toml"), "--out", str(tmp_path / "r")]) == 0
    report = json.loads((tmp_path / "r" / "metrics.json").read_text())["retrieval"]
    assert report["method"] == "hnsw" and report["params"] == {"hnsw_m": 32, "ef_search": 32}
    assert 0.9 <= report["recall@10_vs_exact"] <= 1.0
    for name in ("ndcg@10", "gini@10", "coverage@10"):
        assert set(report["metrics"][name]) == {"exact", "approximate"}
    assert report["metrics"]["ndcg@10"]["approximate"] == pytest.approx(
        json.loads((tmp_path / "r" / "metrics.json").read_text())["overall"]["ndcg@10"]
    )
    # the run folder ranks as the run did, through the index: `equirec recommend` and serving
    folder = open_run(tmp_path / "r")
    again = folder.recommend(k=10)
    stored = folder.recommendations[folder.recommendations["rank"] <= 10]
    assert again[["user", "item"]].astype(str).values.tolist() == (
        stored[["user", "item"]].astype(str).values.tolist()
    )
