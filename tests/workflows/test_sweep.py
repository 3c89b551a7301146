"""`equirec sweep`: one grid over a trained run, baseline first, Pareto points marked.

Re-rankers re-rank the stored lists; training-time methods retrain the run once per point."""

import json

import pandas as pd
import pytest

from equirec.cli import main
from equirec.errors import ConfigError
from equirec.mitigation.registry import default_fairness
from equirec.mitigation.tradeoff import grid_points, pareto
from equirec.workflows import sweep
from equirec.workflows.rundir import open_run
from equirec.workflows.sweep import sweep_run


def test_grid_points_and_pareto():
    assert grid_points({"a": [1, 2], "b": ["x"]}) == [{"a": 1, "b": "x"}, {"a": 2, "b": "x"}]
    # (accuracy, fairness higher-better): (0.9, 0.1) and (0.8, 0.5) on the frontier, (0.7, 0.4) not
    assert pareto([0.9, 0.8, 0.7], [0.1, 0.5, 0.4], "higher") == [True, True, False]
    assert pareto([0.9, 0.8, 0.7], [0.1, 0.5, 0.4], "lower") == [True, False, False]
    assert pareto([0.9, None], [0.1, 0.2], "higher") == [True, False]


def test_sweep_fair_tail_exposure(run_dir, tmp_path, capsys):
    out = tmp_path / "sweep"
    code = main(
        [
            "sweep",
            str(run_dir),
            "--method",
            "fair",
            "--grid",
            "p=0.3,0.6",
            "--param",
            "alpha=0.1",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    result = json.loads((out / "sweep.json").read_text())
    labels = [p["label"] for p in result["points"]]
    assert labels == ["baseline", "p=0.3", "p=0.6"]
    tail = [p["fairness"] for p in result["points"]]
    assert tail[2] >= tail[1] >= tail[0]  # a stronger p never exposes the tail less
    assert result["params"]["fairness_metric"] == "tail_exposure_share"
    assert result["points"][0]["accuracy_change"] == 0.0
    table = pd.read_csv(out / "sweep.csv")
    assert len(table) == 3 and "pareto" in table.columns
    assert "<svg" in (out / "sweep.html").read_text()
    assert "fair sweep" in capsys.readouterr().out


def test_sweep_errors(run_dir, capsys):
    with pytest.raises(ConfigError, match="unknown fairness metric"):
        sweep_run(run_dir, method="fair", grid={"p": [0.5]}, fairness_metric="x", write=False)
    assert main(["sweep", str(run_dir), "--method", "fair", "--grid", "p"]) == 2
    assert "write name=v1,v2" in capsys.readouterr().err


def test_sweep_of_a_training_method_retrains_once_per_point(run_dir, tmp_path, monkeypatch):
    calls = []

    def counting_run(config, **options):
        calls.append(config)
        return real_run(config, **options)

    real_run = sweep.run
    monkeypatch.setattr(sweep, "run", counting_run)
    out = tmp_path / "sweep"
    argv = ["sweep", str(run_dir), "--method", "adversary", "--grid", "lam=0.5,1",
            "--param", "attributes=group", "--param", "hidden=0", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    stored = open_run(run_dir).config
    assert [c.mitigation.params["lam"] for c in calls] == [0.5, 1.0]
    for config in calls:  # the stored run's data, split, model and seed; nothing written
        assert config.mitigation.method == "adversary" and config.out is None
        assert (config.seed, config.split, config.model) == (
            stored.seed,
            stored.split,
            stored.model,
        )
    result = json.loads((out / "sweep.json").read_text())
    points = result["points"]
    assert [p["label"] for p in points] == ["baseline", "lam=0.5", "lam=1"]
    params = result["params"]
    assert params["fairness_metric"] == "leakage_auc" and params["retrained"] is True
    assert params["user_attribute"] == "group" and "group" in params["fairness_label"]
    for p in points:  # leakage of every model (the stored one's too) and the group NDCG gap
        assert 0.0 <= p["fairness"] <= 1.0 and p["fairness"] == p["metrics"]["leakage_auc"]
        assert p["metrics"]["ndcg_gap"] is not None
    assert "mitigation" not in points[0] and points[0]["accuracy_change"] == 0.0
    assert points[2]["mitigation"]["params"]["lam"] == 1.0
    assert points[2]["mitigation"]["params"]["hidden"] == 0
    assert points[1]["metrics"] != points[2]["metrics"]
    table = pd.read_csv(out / "sweep.csv")
    assert list(table["label"]) == ["baseline", "lam=0.5", "lam=1"]
    assert "leakage_auc" in table.columns
    page = (out / "sweep.html").read_text()
    assert "baseline (the run)" in page and "model retrained per point" in page


def test_group_gap_sweep_trades_the_attribute_gap(run_dir):
    result = sweep_run(
        run_dir, method="group_gap", grid={"lam": [5.0]}, fixed={"attribute": "group"}, write=False
    )
    assert result["params"]["fairness_metric"] == "ndcg_gap"
    assert "leakage_auc" not in result["points"][0]["metrics"]  # no probe unless asked
    assert [p["fairness"] == p["metrics"]["ndcg_gap"] for p in result["points"]] == [True, True]
    assert default_fairness("reweight", {"by": "item"}) == "exposure_gap"
    assert default_fairness("resample", {"by": "user"}) == "ndcg_gap"
    assert default_fairness("ipw") == default_fairness("exposure") == "tail_exposure_share"


def test_training_sweep_errors_before_any_training(run_dir, monkeypatch, capsys):
    def no_training(*args, **kwargs):
        raise AssertionError("nothing may be trained on bad input")

    monkeypatch.setattr(sweep, "run", no_training)
    adversary = {"method": "adversary", "fixed": {"attributes": "group"}, "write": False}
    with pytest.raises(ConfigError, match=r"depth \(--depth\) .*applies to re-rankers only"):
        sweep_run(run_dir, grid={"lam": [1]}, depth=50, **adversary)
    with pytest.raises(
        ConfigError,
        match=r"sweep point lamda=1: mitigation 'adversary': unknown parameter\(s\) \['lamda'\]",
    ):
        sweep_run(run_dir, grid={"lamda": [1]}, **adversary)
    with pytest.raises(
        ConfigError, match=r"'adversary': missing required parameter\(s\) 'attributes'"
    ):
        sweep_run(run_dir, method="adversary", grid={"lam": [1]}, write=False)
    with pytest.raises(ConfigError, match=r"unknown method 'nope'; re-rankers .*training-time"):
        sweep_run(run_dir, method="nope", grid={"lam": [1]}, write=False)
    with pytest.raises(ConfigError, match=r"'leakage_auc' probes the model's user repr"):
        sweep_run(run_dir, method="fair", grid={"p": [0.5]}, fairness_metric="leakage_auc")
    with pytest.raises(ConfigError, match=r"'ndcg_gap' needs a user attribute"):
        sweep_run(run_dir, method="popularity", grid={"lam": [1]}, fairness_metric="ndcg_gap")
    argv = ["sweep", str(run_dir), "--method", "adversary", "--grid", "lam=1",
            "--param", "attributes=group", "--depth", "50"]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "--depth" in err and "Traceback" not in err
    assert main([*argv[:-2], "--param", "lam_=2"]) == 2
    assert (
        "mitigation 'adversary': unknown parameter(s) ['lam_']; valid parameters are"
        in capsys.readouterr().err
    )


def test_rerank_sweep_counts_guarantees_and_times_every_point(
    tiny_run, tmp_path, monkeypatch, capsys
):
    from equirec.workflows.rundir import RunFolder

    scored = []
    real_rank = RunFolder.rank

    def counting_rank(self, users, *, k):
        scored.extend((int(u), k) for u in users)
        return real_rank(self, users, k=k)

    monkeypatch.setattr(RunFolder, "rank", counting_rank)
    out = tmp_path / "sweep"
    argv = ["sweep", str(tiny_run), "--method", "fair", "--grid", "p=0.3,0.5",
            "--param", "protected=provider=small", "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    captured = capsys.readouterr()
    result = json.loads((out / "sweep.json").read_text())
    points = result["points"]
    assert [p["label"] for p in points] == ["baseline", "p=0.3", "p=0.5"]
    assert "guarantee" not in points[0] and all(p["seconds"] >= 0 for p in points)
    assert points[2]["guarantee"]["met"] == 29 and points[2]["guarantee"]["lists"] == 30
    assert points[2]["guarantee"]["deepening"] == "done"
    assert result["params"]["deepen"] is True
    # deeper candidates scored once per user and depth, whatever the number of points
    assert len(scored) == len(set(scored)) and scored
    table = pd.read_csv(out / "sweep.csv")
    assert table["guarantee_met"].tolist()[2] == 29 and "seconds" in table.columns
    text = " ".join(captured.out.split())
    assert "guarantee met" in text and "29/30" in text and "seconds" in text
    assert "2 point(s) and the baseline in" in text
    assert "sweep point 1/2 (fair): p=0.3" in captured.err


@pytest.fixture(scope="module")
def private_run(tmp_path_factory):
    """A small SASRec on the synthetic log, a fifth of its users held out of training."""
    folder = tmp_path_factory.mktemp("private")
    (folder / "run.toml").write_text(
        '[data]\ndataset = "synthetic"\n[split]\nholdout_users = 0.2\n'
        '[model]\nname = "sasrec"\nepochs = 1\nmax_len = 20\ndim = 16\nlayers = 1\n'
    )
    out = folder / "run"
    assert main(["run", "--config", str(folder / "run.toml"), "--out", str(out), "-q"]) == 0
    return out


def test_privacy_sweep_retrains_privately_and_attacks_membership(private_run, tmp_path, capsys):
    out = tmp_path / "sweep"
    argv = ["sweep", str(private_run), "--method", "privacy", "--grid", "epsilon=1",
            "--param", "attribute=group", "--param", "max_grad_norm=0.5",
            "--out", str(out)]  # fmt: skip
    assert main(argv) == 0
    result = json.loads((out / "sweep.json").read_text())
    params, points = result["params"], result["points"]
    assert params["fairness_metric"] == "membership_auc" and params["stage"] == "in"
    assert [p["label"] for p in points] == ["baseline", "epsilon=1"]
    spent = points[1]["privacy"]
    assert spent["epsilon"] == pytest.approx(1.0, rel=0.02) and spent["max_grad_norm"] == 0.5
    for p in points:  # membership, leakage and the group gap of every model
        assert 0.0 <= p["metrics"]["membership_auc"] <= 1.0
        assert 0.0 <= p["metrics"]["leakage_auc"] <= 1.0
        assert p["metrics"]["ndcg_gap"] is not None
    assert points[0]["metrics"] != points[1]["metrics"]
    assert "membership inference" in (out / "sweep.html").read_text()


def test_epsilon_inf_is_training_as_the_run_did(private_run):
    assert sweep.privacy_point({}, {"epsilon": "inf"}) is None
    assert sweep.privacy_point({"delta": 1e-4}, {"epsilon": float("inf")}) is None
    assert sweep.privacy_point({"delta": 1e-4}, {"epsilon": 3}) == {"delta": 1e-4, "epsilon": 3}
    config = open_run(private_run).config
    public = sweep._point_config(config, "privacy", None, label="epsilon=inf")
    private = sweep._point_config(config, "privacy", {"epsilon": 3}, label="epsilon=3")
    same = {k: v for k, v in config.model.items() if k != "privacy"}
    assert public.model == same and config.model["privacy"] is None
    assert private.model == {**same, "privacy": {"epsilon": 3}}
    assert public.out is None and public.mitigation.method is None


def test_privacy_sweep_errors(run_dir, private_run, tmp_path):
    with pytest.raises(ConfigError, match=r"unknown key\(s\) \['lam'\]"):
        sweep_run(private_run, method="privacy", grid={"lam": [1]}, write=False)
    with pytest.raises(ConfigError, match=r"point epsilon=high: privacy\.epsilon must be a number"):
        sweep_run(private_run, method="privacy", grid={"epsilon": [8, "high"]}, write=False)
    with pytest.raises(ConfigError, match="'ease' cannot be trained privately"):
        ease = tmp_path / "ease"
        main(["run", "--dataset", "synthetic", "--model", "ease", "--out", str(ease), "-q"])
        sweep_run(ease, method="privacy", grid={"epsilon": [1]}, write=False)
    with pytest.raises(ConfigError, match="users held out"):  # BPR, nobody held out
        sweep_run(
            run_dir,
            method="privacy",
            grid={"epsilon": [1]},
            fairness_metric="membership_auc",
            write=False,
        )
