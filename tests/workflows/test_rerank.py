"""Re-ranking a run's stored lists end to end: every method, guarantees, no test labels read."""

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

import equirec.workflows.rundir
from equirec.cli import main
from equirec.errors import ConfigError
from equirec.fairness.item_metrics import head_items
from equirec.mitigation.registry import RERANKERS
from equirec.mitigation.rerank import FAIR
from equirec.mitigation.rerank.build import rerank_recommendations
from equirec.workflows.rerank import rerank_run
from equirec.workflows.rundir import open_run

METHODS = tuple(RERANKERS)

PARAMS = {
    "fair": {"p": 0.5},
    "detconstsort": {"target": "equal"},
    "calibrated": {"lam": 0.7},
    "mmr": {"lam": 0.5},
    "ugf": {"epsilon": 0.01, "solver": "greedy"},
    "cpfair": {"lambda_user": 0.5, "lambda_item": 0.5},
}


@pytest.fixture(scope="module")
def reranked(run_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("reranked")
    return {
        m: rerank_run(run_dir, method=m, params=PARAMS[m], k=10, out=folder / m) for m in METHODS
    }


@pytest.mark.parametrize("method", METHODS)
def test_every_method_reranks_within_the_candidates(run_dir, reranked, method):
    result = reranked[method]
    tmp_path = result.out.parent
    recs = result.recommendations
    stored = pd.read_csv(run_dir / "recommendations.csv")
    pairs = set(zip(stored["user"], stored["item"], strict=True))
    assert all(p in pairs for p in zip(recs["user"], recs["item"], strict=True))
    assert recs.groupby("user")["item"].nunique().eq(10).all()
    assert (tmp_path / method / "metrics.json").is_file()
    metrics = json.loads((tmp_path / method / "metrics.json").read_text())
    assert metrics["rerank"]["method"] == method
    assert 0.0 <= metrics["overall"]["ndcg@10"] <= 1.0


def test_fair_meets_its_prefix_minimums_on_every_list(run_dir):
    loaded = open_run(run_dir)
    known = loaded.known
    recs = rerank_recommendations(
        loaded.recommendations, known=known, method="fair", params={"p": 0.6}, k=10
    )
    protected = ~head_items(known.popularity, method="share", cutoff=0.8)
    table = FAIR(protected=protected, p=0.6).mtable(10)
    items = loaded.dataset.item_index(recs["item"])
    recs = recs.assign(protected=protected[items])
    for _, group in recs.sort_values("rank").groupby("user"):
        assert (np.cumsum(group["protected"].to_numpy()) >= table).all()


def test_no_reranker_reads_test_labels(run_dir, reranked, monkeypatch):
    """Shuffling the test items between users changes the metrics, never the lists."""
    original = reranked
    make_split = equirec.workflows.rundir.make_split

    def shuffled(dataset, config):
        split = make_split(dataset, config)
        test = split.test.interactions.copy()
        test["item"] = np.random.default_rng(0).permutation(test["item"].to_numpy())
        cols = ["user", "item", "timestamp", "weight"]
        return dataclasses.replace(split, test=split.test.with_interactions(test[cols]))

    monkeypatch.setattr(equirec.workflows.rundir, "make_split", shuffled)
    for method in METHODS:
        again = rerank_run(run_dir, method=method, params=PARAMS[method], k=10, write=False)
        pd.testing.assert_frame_equal(again.recommendations, original[method].recommendations)
        assert again.metrics["overall"]["ndcg@10"] != original[method].metrics["overall"]["ndcg@10"]


def test_cli_rerank_with_audit_and_errors(run_dir, tmp_path, capsys):
    out = tmp_path / "fair"
    assert (
        main(
            [
                "rerank",
                str(run_dir),
                "--method",
                "fair",
                "--param",
                "p=0.5",
                "--out",
                str(out),
                "--audit",
            ]
        )
        == 0
    )
    assert (out / "audit.json").is_file()
    assert main(["rerank", str(run_dir), "--method", "nope"]) == 2
    assert "unknown re-ranker 'nope'" in capsys.readouterr().err
    assert (
        main(
            [
                "rerank",
                str(run_dir),
                "--method",
                "fair",
                "--param",
                "p=0.5",
                "--param",
                "protected=provider=9",
            ]
        )
        == 2
    )
    assert "provider has groups" in capsys.readouterr().err
    assert main(["rerank", str(run_dir), "--method", "fair", "--param", "p=0.5", "--k", "500"]) == 2
    assert "fewer than k=500" in capsys.readouterr().err


def test_unknown_item_groups_message(run_dir):
    loaded = open_run(run_dir)
    known = loaded.known
    with pytest.raises(ConfigError, match="not a categorical item attribute"):
        rerank_recommendations(
            loaded.recommendations,
            known=known,
            method="detconstsort",
            params={"groups": "genres"},
            k=10,
        )


def test_deeper_candidates_from_the_saved_model(run_dir):
    """With the model's top 300 instead of the stored 100, FA*IR can meet p = 0.9 everywhere."""
    result = rerank_run(run_dir, method="fair", params={"p": 0.9}, k=10, depth=300, write=False)
    assert result.metrics["rerank"]["depth"] == 300
    loaded = open_run(run_dir)
    known = loaded.known
    protected = ~head_items(known.popularity, method="share", cutoff=0.8)
    table = FAIR(protected=protected, p=0.9).mtable(10)
    recs = result.recommendations
    recs = recs.assign(protected=protected[loaded.dataset.item_index(recs["item"])])
    met = [
        (np.cumsum(g["protected"].to_numpy()) >= table).all()
        for _, g in recs.sort_values("rank").groupby("user")
    ]
    assert all(met)


def test_chained_rerankers_keep_the_last_guarantee(run_dir):
    loaded = open_run(run_dir)
    known = loaded.known
    params = {"calibrated.lam": 0.8, "fair.p": 0.6}
    chained = rerank_recommendations(
        loaded.recommendations, known=known, method="calibrated+fair", params=params, k=10
    )
    alone = rerank_recommendations(
        loaded.recommendations, known=known, method="fair", params={"p": 0.6}, k=10
    )
    assert not chained.equals(alone)  # the calibration step changed what FA*IR saw
    protected = ~head_items(known.popularity, method="share", cutoff=0.8)
    table = FAIR(protected=protected, p=0.6).mtable(10)
    chained = chained.assign(protected=protected[loaded.dataset.item_index(chained["item"])])
    for _, group in chained.sort_values("rank").groupby("user"):
        assert (np.cumsum(group["protected"].to_numpy()) >= table).all()
    with pytest.raises(ConfigError, match=r"STEP\.KEY"):
        rerank_recommendations(
            loaded.recommendations, known=known, method="calibrated+fair", params={"p": 0.6}, k=10
        )
