"""equirec recommend: a saved run's lists for known users (reproducing the run), new users and
sessions from given histories, a policy, output files and clear errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from equirec.cli import main
from equirec.errors import ConfigError, DataError, OutputExistsError
from equirec.workflows.recommend import recommend, write_recommendations
from equirec.workflows.rerank import rerank_run
from equirec.workflows.rundir import open_run


@pytest.fixture(scope="module")
def runs(tmp_path_factory, run_dir):
    """EASE and a 2-epoch SASRec on the synthetic log, beside the shared BPR run."""
    out = {"bpr": run_dir}
    for model, extra in (("ease", []), ("sasrec", ["--epochs", "2"])):
        folder = tmp_path_factory.mktemp("rec") / model
        args = ["run", "--dataset", "synthetic", "--model", model, *extra, "--out", str(folder)]
        assert main([*args, "--quiet"]) == 0
        out[model] = folder
    return out


def _stored_top(folder, k):
    stored = pd.read_csv(folder / "recommendations.csv")
    return stored[stored["rank"] <= k].reset_index(drop=True)


@pytest.mark.parametrize("model", ["ease", "sasrec", "bpr"])
def test_all_reproduces_the_runs_recommendations(runs, model, capsys):
    folder = runs[model]
    assert main(["recommend", str(folder), "--all", "--k", "10", "--quiet"]) == 0
    got = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out))
    expected = _stored_top(folder, 10)
    assert list(got.columns) == ["user", "rank", "item", "score"]
    pd.testing.assert_frame_equal(
        got[["user", "rank", "item"]].astype(str), expected[["user", "rank", "item"]].astype(str)
    )
    np.testing.assert_allclose(got["score"], expected["score"], rtol=1e-6)


def test_known_users_by_id_and_from_a_file(runs, tmp_path, capsys):
    folder = runs["ease"]
    expected = _stored_top(folder, 5)
    some = [str(u) for u in pd.unique(expected["user"])[[3, 0, 7]]]
    got = recommend(folder, users=some, k=5).frame
    assert [str(u) for u in pd.unique(got["user"])] == some  # the order asked
    want = expected.set_index(expected["user"].astype(str)).loc[some]
    assert got["item"].astype(str).tolist() == want["item"].astype(str).tolist()
    users_file = tmp_path / "users.txt"
    users_file.write_text("user\n" + "\n".join(some) + "\n")
    assert main(["recommend", str(folder), "--users-file", str(users_file), "--k", "5", "-q"]) == 0
    from_file = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out))
    assert from_file["item"].astype(str).tolist() == want["item"].astype(str).tolist()


@pytest.mark.parametrize("model", ["ease", "sasrec"])
def test_a_new_user_with_a_known_users_history_gets_that_users_list(runs, model):
    """Scored from the given items alone: the known history of user u as a new session."""
    run = open_run(runs[model])
    u = 5
    items = run.dataset.item_ids[run.known.history.sequence(u)].tolist()
    new = recommend(run, histories={"someone": items}, k=10).frame
    known = recommend(run, users=[run.dataset.user_ids[u]], k=10).frame
    assert new["item"].tolist() == known["item"].tolist()
    assert set(new["user"]) == {"someone"}
    assert not set(new["item"]) & set(items)  # the given items are excluded


def test_models_that_cannot_score_a_new_user_fall_back_to_popularity_and_say_so(runs, caplog):
    run = open_run(runs["bpr"])
    items = run.dataset.item_ids[:3].tolist()
    result = recommend(run, histories={"x": items, "y": []}, k=5)
    assert any("bpr cannot score a user it was not trained on" in n for n in result.notes)
    popular = run.dataset.item_ids[np.argsort(-run.known.popularity, kind="stable")]
    x = result.frame[result.frame["user"] == "x"]["item"].tolist()
    assert x == [i for i in popular if i not in items][:5]
    ease = recommend(runs["ease"], histories={"empty": []}, k=3)
    assert any("an empty history gives nothing to score from" in n for n in ease.notes)
    assert "ranked by popularity" in caplog.text


def test_a_history_table_orders_by_timestamp(runs, tmp_path, capsys):
    run = open_run(runs["sasrec"])
    items = run.dataset.item_ids[run.known.history.sequence(2)].tolist()
    table = pd.DataFrame({"user": "s", "item": items, "timestamp": np.arange(len(items))})
    path = tmp_path / "history.csv"
    table.iloc[::-1].to_csv(path, index=False)  # shuffled file order, timestamps give the order
    assert main(["recommend", str(runs["sasrec"]), "--history", str(path), "--k", "5", "-q"]) == 0
    got = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out))
    in_order = recommend(run, histories={"s": items}, k=5).frame
    assert got["item"].astype(str).tolist() == in_order["item"].astype(str).tolist()


def test_a_policy_reranks_like_rerank(runs, tmp_path):
    folder = runs["ease"]
    via_rerank = rerank_run(folder, method="fair", params={"p": 0.5}, k=10, out=tmp_path / "r")
    via_recommend = recommend(folder, all_users=True, k=10, policy="fair", params={"p": 0.5})
    assert via_recommend.policy == {"method": "fair", "params": {"p": 0.5}}
    merged = via_recommend.frame.merge(
        via_rerank.recommendations, on=["user", "rank"], suffixes=("", "_rerank")
    )
    assert len(merged) == len(via_recommend.frame)
    assert (merged["item"] == merged["item_rerank"]).all()


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".parquet"])
def test_out_files_are_written_once(runs, tmp_path, suffix):
    out = tmp_path / f"recs{suffix}"
    args = ["recommend", str(runs["ease"]), "--all", "--k", "3", "--out", str(out), "-q"]
    assert main(args) == 0
    if suffix == ".csv":
        frame = pd.read_csv(out)
    elif suffix == ".jsonl":
        frame = pd.DataFrame([json.loads(line) for line in out.read_text().splitlines()])
    else:
        frame = pd.read_parquet(out)
    assert len(frame) == 3 * len(_stored_top(runs["ease"], 1))
    assert main(args) == 2  # never replaced without --overwrite
    assert main([*args, "--overwrite"]) == 0


def test_bad_requests_name_the_value(runs, tmp_path, capsys):
    folder = runs["ease"]
    with pytest.raises(DataError, match=r"user id\(s\) the run does not know: 'nobody'"):
        recommend(folder, users=["nobody"])
    with pytest.raises(DataError, match=r"item id\(s\) the run does not know: 'no-such-item'"):
        recommend(folder, histories={"x": ["no-such-item"]})
    with pytest.raises(ConfigError, match="exactly one of users"):
        recommend(folder, users=["1"], all_users=True)
    with pytest.raises(ConfigError, match="k must be a positive integer, got 0"):
        recommend(folder, all_users=True, k=0)
    with pytest.raises(ConfigError, match="a policy re-ranks the lists of users the run knows"):
        recommend(folder, histories={"x": []}, policy="fair", params={"p": 0.5})
    with pytest.raises(ConfigError, match=r"write \.csv, \.jsonl or \.parquet"):
        write_recommendations(pd.DataFrame(), tmp_path / "x.txt", overwrite=False)
    for args, message in [
        (["--users", "nobody"], "does not know: 'nobody'"),
        (["--all", "--rerank", "nope"], "unknown re-ranker 'nope'"),
        (["--all", "--rerank", "fair", "--param", "p=2"], "p must be a number in (0, 1)"),
        (["--all", "--k", "0"], "k must be a positive integer"),
        (["--users-file", str(tmp_path / "missing.txt")], "does not exist"),
    ]:
        assert main(["recommend", str(folder), *args]) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err
    with pytest.raises(OutputExistsError):
        path = tmp_path / "taken.csv"
        path.write_text("mine")
        write_recommendations(pd.DataFrame({"a": [1]}), path, overwrite=False)
    assert (tmp_path / "taken.csv").read_text() == "mine"
