"""The main job from Python: config dicts, test-time history and atomic run folders."""

import pytest

import equirec
from equirec.models.base import Recommender
from equirec.workflows.run import run


def _config(tmp_path, **evaluation):
    return {
        "seed": 1,
        "out": str(tmp_path / "run"),
        "data": {"dataset": "synthetic"},
        "model": {"name": "ease", "l2": 10.0},
        "evaluation": {"ks": [10], "keep_k": 20, **evaluation},
    }


def test_run_from_a_dict_and_test_history(tmp_path):
    both = equirec.run(_config(tmp_path), write=False)
    train_only = equirec.run(_config(tmp_path, history="train"), write=False)
    assert both.metrics["test_history"] == "train+valid"
    # no [mitigation] section: the model is fitted on the split's own training part
    assert both.metrics["mitigation"] is None and both.mitigation is None
    assert both.train is both.split.train
    assert train_only.metrics["test_history"] == "train"
    # the validation item is excluded either way; EASE scores differ with what it reads
    assert both.metrics["overall"]["ndcg@10"] != train_only.metrics["overall"]["ndcg@10"]
    valid = both.split.valid.interactions[["user", "item"]]
    for result in (both, train_only):
        recs = result.recommendations.merge(valid, on=["user", "item"])
        assert recs.empty
        assert result.recommendations.groupby("user").size().max() == 20


def test_arp_is_the_audits_arp_one_popularity_everywhere(tmp_path):
    """metrics.json's ARP and the audit's use the same popularity: known interactions."""
    from equirec.fairness.audit import audit
    from equirec.fairness.inputs import AuditData

    result = equirec.run(_config(tmp_path), write=False)
    assert result.metrics["popularity"] == "known interactions (train+valid)"
    data = AuditData.from_split(result.split, recommendations=result.recommendations)
    report = audit(data, k=10, leakage=False, n_boot=0, n_permutations=0).report
    assert result.metrics["overall"]["arp@10"] == pytest.approx(
        report["items"]["popularity"]["arp"]
    )


def test_a_crashed_run_leaves_no_run_folder(tmp_path, monkeypatch):
    def broken_save(self, path):
        raise RuntimeError("disk full")

    monkeypatch.setattr(Recommender, "save", broken_save)
    with pytest.raises(RuntimeError, match="disk full"):
        equirec.run(_config(tmp_path))
    assert not (tmp_path / "run").exists()
    assert list(tmp_path.iterdir()) == []  # no temporary folder left behind either


def test_exact_duplicate_rows_give_the_right_answer_and_a_warning(tmp_path, caplog):
    """Every row twice used to make every accuracy metric 0 (the test item was in the history)."""
    import pandas as pd

    from equirec.data import make_synthetic

    log = make_synthetic(n_users=80, n_items=40, seed=1).interactions[["user", "item", "timestamp"]]
    log = log.sort_values(["user", "timestamp"], kind="stable")
    clean, doubled = tmp_path / "clean.csv", tmp_path / "doubled.csv"
    log.to_csv(clean, index=False)
    pd.concat([log, log]).sort_values(["user", "timestamp"], kind="stable").to_csv(
        doubled, index=False
    )

    def metrics(path, **preprocess):
        config = {"data": {"interactions": str(path)}, "model": {"name": "pop"}}
        return equirec.run({**config, "preprocess": preprocess}, write=False).metrics

    base, fixed = metrics(clean), metrics(doubled)
    assert fixed["overall"]["ndcg@10"] == base["overall"]["ndcg@10"] > 0
    assert base["warnings"] == [] and fixed["dataset"]["exact_duplicates_dropped"] == len(log)
    assert f"dropped {len(log)} exact duplicate interaction(s)" in fixed["warnings"][0]
    kept = metrics(doubled, exact_duplicates="keep")
    assert kept["overall"]["ndcg@10"] == 0.0  # what the user asked for, but said loudly:
    assert "were already known before the test" in kept["warnings"][-1]
    assert any("already known" in r.getMessage() for r in caplog.records)


def test_k_beyond_the_catalogue_is_warned_about():
    config = {
        "data": {"dataset": "synthetic"},
        "model": {"name": "pop"},
        "evaluation": {"ks": [10, 5000], "keep_k": 5000},
    }
    result = equirec.run(config, write=False)
    n_items = result.metrics["dataset"]["items"]
    assert any(f"beyond the catalogue of {n_items} items" in w for w in result.metrics["warnings"])
    assert result.recommendations.groupby("user").size().max() <= n_items


def test_a_cold_items_run_has_both_target_slices(cold_run):
    import json

    import pandas as pd

    metrics = json.loads((cold_run / "metrics.json").read_text())
    assert metrics["split"] == "cold-items" and metrics["split_params"]["cold_frac"] == 0.3
    assert list(metrics)[:2] == ["overall", "slices"]
    slices = metrics["slices"]
    assert set(slices) == {"cold_target", "warm_target"}
    cold, warm = slices["cold_target"], slices["warm_target"]
    assert cold["events"] == metrics["split_params"]["cold_test_events"] > 0
    assert cold["events"] + warm["events"] == metrics["split_sizes"]["test"]
    assert cold["users"] + warm["users"] == metrics["evaluated_users"]  # one test item each
    assert {key for key in cold if "@" in key} <= set(metrics["overall"])  # every metric, every k
    assert cold["hit@10"] == 0.0 < warm["hit@10"]  # popularity never ranks an unseen item
    # the other outputs are as for any run
    per_user = pd.read_csv(cold_run / "per_user.csv")
    assert len(per_user) == metrics["evaluated_users"]
    assert not any(c.startswith(("cold", "warm")) for c in per_user.columns)


def test_a_run_without_cold_targets_has_no_slices(tmp_path):
    """Every item is trained on: metrics.json is exactly as before (no slices key)."""
    import pandas as pd

    rows = [(f"u{u}", f"i{(u + t) % 6}", t) for u in range(10) for t in range(5)]
    log = tmp_path / "log.csv"
    pd.DataFrame(rows, columns=["user", "item", "timestamp"]).to_csv(log, index=False)
    config = {"data": {"interactions": str(log)}, "model": {"name": "pop"}}
    result = equirec.run(config, write=False)
    assert "slices" not in result.metrics
    split = result.split
    assert set(split.test.interactions["item"]) <= set(split.train.interactions["item"])


def test_the_split_of_a_cold_items_run_is_read_back(cold_run):
    import json

    from equirec.workflows.rundir import open_run

    run = open_run(cold_run)
    assert run.config.split.method == "cold-items" and run.config.split.cold_frac == 0.3
    metrics = json.loads((cold_run / "metrics.json").read_text())
    assert run.split.params == metrics["split_params"]
    assert len(run.split.train) == metrics["split_sizes"]["train"]


def test_coldstart_writes_the_curve_of_a_saved_run(tmp_path, capsys):
    import pandas as pd

    from equirec.cli import main

    out = tmp_path / "ease"
    args = ["run", "--dataset", "synthetic", "--model", "ease", "--out", str(out), "-q"]
    assert main(args) == 0
    assert main(["coldstart", str(out), "--lengths", "1", "3", "-q"]) == 0
    curve = pd.read_csv(out / "cold_users.csv")
    assert curve["length"].tolist() == [1, 3] and (curve["model"] == "ease").all()
    assert curve["users"].nunique() == 1 and curve["ndcg@10"].between(0, 1).all()
    assert "hit@10" in capsys.readouterr().out
    assert main(["coldstart", str(out), "--lengths", "0", "-q"]) == 2


def test_coldstart_tests_the_gap_between_user_groups_at_every_length(tmp_path, capsys):
    import pandas as pd

    from equirec.cli import main

    folder = tmp_path / "ease"
    args = ["run", "--dataset", "synthetic", "--model", "ease", "--out", str(folder), "-q"]
    assert main(args) == 0
    code = main(["coldstart", str(folder), "--lengths", "1", "5", "--attributes", "group", "-q"])
    assert code == 0
    gaps = pd.read_csv(folder / "cold_users_gaps.csv")
    assert gaps["length"].tolist() == [1, 5] and (gaps["attribute"] == "group").all()
    assert ((gaps["low"] <= gaps["gap"]) & (gaps["gap"] <= gaps["high"])).all()
    assert gaps["p_value"].between(0, 1).all()
    assert {c for c in gaps.columns if c.startswith("mean[")}  # each group's mean
    assert "group gap in ndcg@10" in capsys.readouterr().out
    assert main(["coldstart", str(folder), "--attributes", "nope", "-q"]) == 2


def test_metrics_list_every_column_the_model_saw(tmp_path):
    base = {"seed": 0, "data": {"dataset": "synthetic"}}
    plain = run({**base, "out": str(tmp_path / "a"), "model": {"name": "pop"}}).metrics
    assert plain["model_inputs"] == {
        "interactions": ["user", "item", "timestamp"],
        "item_attributes": [],
        "user_attributes": [],  # the synthetic users' group never entered training
    }
    mitigated = run(
        {
            **base,
            "out": str(tmp_path / "b"),
            "model": {"name": "bpr", "epochs": 1, "dim": 4},
            "mitigation": {"method": "group_gap", "params": {"attribute": "group"}},
        }
    ).metrics
    assert mitigated["model_inputs"]["user_attributes"] == ["group"]
