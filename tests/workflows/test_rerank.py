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


def test_arp_counts_the_runs_known_interactions(run_dir, reranked):
    """The re-ranked run's ARP uses the same popularity as the run's and the audit's."""
    run = open_run(run_dir)
    metrics = reranked["mmr"].metrics
    assert metrics["popularity"] == json.loads((run_dir / "metrics.json").read_text())[
        "popularity"
    ] == "known interactions (train+valid)"  # fmt: skip
    recs = reranked["mmr"].recommendations
    pop = pd.Series(run.known.popularity, index=run.dataset.item_ids)
    arp = recs.assign(p=pop.reindex(recs["item"]).to_numpy()).groupby("user")["p"].mean().mean()
    assert metrics["overall"]["arp@10"] == pytest.approx(arp)


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


# -- guarantees kept, or reported list by list -------------------------------------------------
SMALL_FAIR = {"p": 0.5, "protected": "provider=small"}
SMALL = [f"i{i}" for i in range(30, 40)]  # provider "small" of the tiny_run fixture


def _meets_mtable(recs, protected_items, table):
    """Per user: whether every prefix of its list holds the m-table's protected count."""
    out = {}
    for user, group in recs.sort_values("rank").groupby("user"):
        flags = group["item"].isin(protected_items).to_numpy()
        out[user] = bool((np.cumsum(flags) >= table[: len(flags)]).all())
    return out


def test_deeper_candidates_keep_the_guarantee_and_the_rest_is_reported(tiny_run, tmp_path, caplog):
    caplog.set_level("INFO", logger="equirec")
    out = tmp_path / "fair"
    result = rerank_run(tiny_run, method="fair", params=SMALL_FAIR, k=10, out=out)
    table = FAIR(protected=np.ones(1, dtype=bool), p=0.5).mtable(10)
    met = _meets_mtable(result.recommendations, SMALL, table)
    # Only five stored top 10s hold enough small items; from deeper candidates every list but
    # u0's does.
    assert [u for u, ok in met.items() if not ok] == ["u0"]
    g = result.guarantee
    assert g is not None
    assert (g.lists, g.met, g.first, g.met_first, g.deepened) == (30, 29, 10, 5, 25)
    assert g.depth == 40 and g.deepening == "done"
    reason = f"only 1 protected item among all 24 unseen items; the top 10 needs {table[-1]}"
    assert g.unmet["user"].tolist() == ["u0"] and g.unmet["reason"].tolist() == [reason]
    assert "29 of 30 lists meet the guarantee" in g.summary()
    assert "1 not even from every item their user could be recommended" in g.summary()
    # written: guarantee.csv per list, a section of metrics.json
    csv = pd.read_csv(out / "guarantee.csv", keep_default_na=False)
    assert len(csv) == 30 and csv["guarantee_met"].sum() == 29
    assert csv.set_index("user").loc["u0", "reason"] == reason
    assert dict(zip(csv["user"], csv["guarantee_met"], strict=True)) == met
    metrics = json.loads((out / "metrics.json").read_text())
    section = metrics["guarantee"]
    assert (section["lists"], section["met"], section["unmet"]) == (30, 29, 1)
    assert section["unmet_lists"] == [{"user": "u0", "reason": reason}]
    assert "FA*IR, p = 0.5" in section["guarantee"]
    # the baseline beside the result, and the time taken
    assert metrics["baseline"]["ndcg@10"] == pytest.approx(
        json.loads((tiny_run / "metrics.json").read_text())["overall"]["ndcg@10"]
    )
    fairness = metrics["fairness"]
    assert fairness["metric"] == "tail_exposure_share" and fairness["better"] == "higher"
    assert fairness["value"] > fairness["baseline"]
    assert metrics["seconds"] >= metrics["rerank_seconds"] >= metrics["deeper_candidates_seconds"]
    logged = caplog.text
    assert "scoring the saved model's top 40 of 40 items" in logged
    assert "29 of 30 lists meet the guarantee" in logged and "user u0" in logged


def test_only_the_lists_that_need_them_get_deeper_candidates(tiny_run):
    kept = rerank_run(tiny_run, method="fair", params=SMALL_FAIR, deepen=False, write=False)
    deep = rerank_run(tiny_run, method="fair", params=SMALL_FAIR, write=False)
    assert kept.guarantee is not None and deep.guarantee is not None
    assert kept.guarantee.deepening == "off" and kept.guarantee.deepened == 0
    missed = set(kept.guarantee.unmet["user"])
    assert len(missed) == 25 and not missed & {"u20", "u21", "u22", "u23", "u24"}
    assert kept.guarantee.unmet["reason"].str.contains("among its 10 candidates").all()
    assert kept.metrics["guarantee"]["deepening"] == "off"
    table = deep.guarantee.table
    assert set(table.loc[table["deepened"], "user"]) == missed
    same = ~kept.recommendations["user"].isin(missed)
    pd.testing.assert_frame_equal(
        kept.recommendations[same].reset_index(drop=True),
        deep.recommendations[~deep.recommendations["user"].isin(missed)].reset_index(drop=True),
    )


def test_detconstsort_says_which_lists_the_catalogue_cannot_serve(tiny_run):
    # Target: the catalogue's shares (big 0.75, small 0.25): the top 10 needs 7 big, 2 small.
    result = rerank_run(tiny_run, method="detconstsort", params={"groups": "provider"}, write=False)
    g = result.guarantee
    assert g is not None and (g.met, g.lists, g.deepened) == (24, 30, 30)
    assert "big 0.75, small 0.25; the top 10 needs 7 big, 2 small" in g.guarantee
    reasons = dict(zip(g.unmet["user"], g.unmet["reason"], strict=True))
    assert reasons["u0"] == "only 1 small item among all 24 unseen items; the top 10 needs 2"
    assert reasons["u20"] == "only 6 big items among all 16 unseen items; the top 10 needs 7"
    assert set(reasons) == {"u0", "u20", "u21", "u22", "u23", "u24"}
    assert g.unmet["all_unseen"].all()


def test_without_a_saved_model_the_lists_that_miss_are_reported(tiny_run, tmp_path, caplog):
    import shutil

    copy = tmp_path / "no-model"
    shutil.copytree(tiny_run, copy, ignore=shutil.ignore_patterns("model"))
    result = rerank_run(copy, method="fair", params=SMALL_FAIR, write=False)
    g = result.guarantee
    assert g is not None and g.deepening == "no saved model"
    assert (g.met, g.deepened, g.depth) == (5, 0, None)
    assert g.unmet["reason"].str.startswith("only 0 protected items among its 10 candidates").all()
    assert "no saved model" in g.summary() and "no saved model" in caplog.text


def test_rerankers_without_a_guarantee_report_none(run_dir):
    result = rerank_run(run_dir, method="mmr", params={"lam": 0.5}, write=False)
    assert result.guarantee is None and result.metrics["guarantee"] is None
    assert result.metrics["fairness"]["metric"] == "ild"


def test_cli_rerank_prints_the_baseline_and_the_guarantee(tiny_run, tmp_path, capsys):
    argv = ["rerank", str(tiny_run), "--method", "fair", "--param", "p=0.5",
            "--param", "protected=provider=small", "--out", str(tmp_path / "fair")]  # fmt: skip
    assert main(argv) == 0
    captured = capsys.readouterr()
    out = " ".join(captured.out.split())  # rich wraps long lines
    assert "baseline (the run)" in out and "re-ranked (fair)" in out
    assert "tail_exposure_share" in out and "ndcg@10" in out
    assert "29 of 30 lists meet the guarantee (5 with their top 10 candidates, 25 re-ranked" in out
    assert "user u0: only 1 protected item among all 24 unseen items; the top 10 needs 3" in out
    assert "re-ranked in" in out and "s in all" in out
    assert "scoring the saved model's top 40 of 40 items" in captured.err
    assert main([*argv[:-2], "--out", str(tmp_path / "kept"), "--no-deepen"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "5 of 30 lists meet the guarantee; 25 cannot with their top 10 candidates" in out
    assert "... 20 more in guarantee.csv" in out


def test_reranking_stored_lists_in_python_warns_of_missed_guarantees(tiny_run, caplog):
    loaded = open_run(tiny_run)
    rerank_recommendations(
        loaded.recommendations, known=loaded.known, method="fair", params=SMALL_FAIR, k=10
    )
    assert "fair: 25 of 30 lists cannot meet the guarantee with their 10 candidates" in caplog.text
    assert "only 0 protected items among its 10 candidates" in caplog.text


def test_reranked_lists_of_a_cold_items_run_are_sliced_too(cold_run, tmp_path):
    run_metrics = json.loads((cold_run / "metrics.json").read_text())
    result = rerank_run(cold_run, method="mmr", params={"lam": 0.5}, k=10, out=tmp_path / "mmr")
    slices = json.loads((tmp_path / "mmr" / "metrics.json").read_text())["slices"]
    assert slices == result.metrics["slices"]
    for name in ("cold_target", "warm_target"):  # the same split read back: the same events
        assert slices[name]["events"] == run_metrics["slices"][name]["events"]
        assert slices[name]["users"] == run_metrics["slices"][name]["users"]
    assert slices["cold_target"]["hit@10"] == 0.0  # the candidates never held a cold item
