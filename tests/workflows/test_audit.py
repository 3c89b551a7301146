"""`equirec run --audit` and `equirec audit RUN_DIR` end to end, and their error messages."""

import json
import shutil

import pytest

from equirec.cli import main
from equirec.reporting.formatting import fmt_pct


def test_audit_command_writes_json_and_html(run_dir, capsys):
    code = main(
        ["audit", str(run_dir), "--k", "10", "--n-boot", "100", "--intersect", "group*activity"]
    )
    assert code == 0
    report = json.loads((run_dir / "audit.json").read_text())
    assert {"group", "activity", "group*activity"} <= set(report["users"])
    assert report["params"]["model"] == "bpr" and report["params"]["dataset"] == "synthetic"
    assert report["params"]["k"] == 10
    assert report["items"]["groups"]["provider"]["by_group"]
    leak = report["leakage"]["group"]
    assert {"representations", "lists"} <= set(leak)
    assert 0.0 <= leak["representations"]["auc"] <= 1.0
    html = (run_dir / "audit.html").read_text()
    assert html.lstrip().lower().startswith("<!doctype html")
    assert "significant finding" in capsys.readouterr().out
    assert not list(run_dir.glob(".*.tmp"))


def test_run_with_audit_flag(tmp_path):
    out = tmp_path / "pop"
    assert (
        main(
            [
                "run",
                "--dataset",
                "synthetic",
                "--model",
                "pop",
                "--out",
                str(out),
                "--quiet",
                "--audit",
            ]
        )
        == 0
    )
    assert (out / "audit.json").is_file() and (out / "audit.html").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--attributes", "height"], "user attribute 'height' is not in the data"),
        (["--k", "500"], "k=500 is larger than the longest recommendation list"),
        (["--intersect", "group"], "write two attributes as A"),
    ],
)
def test_bad_audit_options(run_dir, args, message, capsys):
    assert main(["audit", str(run_dir), "--n-boot", "10", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err


def test_folder_without_recommendations(run_dir, tmp_path, capsys):
    broken = tmp_path / "broken"
    shutil.copytree(run_dir, broken)
    (broken / "recommendations.csv").unlink()
    assert main(["audit", str(broken)]) == 2
    assert "missing recommendations.csv" in capsys.readouterr().err
    assert main(["audit", str(tmp_path / "nowhere")]) == 2
    assert "no such run folder" in capsys.readouterr().err


def test_a_section_that_cannot_be_computed_is_said(run_dir, tmp_path, caplog):
    """A re-ranked run has no model: the page and the console say the probe did not run."""
    from equirec.workflows.audit import audit_run
    from equirec.workflows.rerank import rerank_run

    reranked = rerank_run(run_dir, method="fair", params={"p": 0.5}, out=tmp_path / "fair")
    result = audit_run(reranked.out, n_boot=0, n_permutations=0)
    said = [w for w in result.report["warnings"] if "no saved model" in w]
    assert said and any("no saved model" in r.getMessage() for r in caplog.records)
    assert "no saved model" in (reranked.out / "audit.html").read_text()
    assert all("representations" not in v for v in result.report["leakage"].values())


def test_item_exposure_csv_has_every_catalogue_item(run_dir, tmp_path):
    """item_exposure.csv, beside audit.json: one row per catalogue item, measured as the audit."""
    import numpy as np
    import pandas as pd

    from equirec.workflows.audit import audit_run
    from equirec.workflows.rundir import open_run

    folder = tmp_path / "run"
    shutil.copytree(run_dir, folder)
    result = audit_run(folder, n_boot=0, n_permutations=0, leakage=False, k=10)
    report = result.report
    table = pd.read_csv(folder / "item_exposure.csv")
    assert not list(folder.glob(".*.tmp"))
    run = open_run(folder)
    assert list(table.columns) == [
        "item",
        "exposure",
        "exposure_share",
        "lists",
        "known_interactions",
        "popularity_group",
        *[a for a in report["items"]["groups"] if a != "popularity"],
    ]
    assert table["item"].astype(str).tolist() == [str(i) for i in run.dataset.item_ids]
    assert table["exposure"].sum() == pytest.approx(report["items"]["exposure"]["total"])
    assert table["exposure_share"].sum() == pytest.approx(1.0)
    # lists: how many users' top 10 hold the item, from recommendations.csv itself
    recs = pd.read_csv(folder / "recommendations.csv")
    counts = recs[recs["rank"] <= 10]["item"].astype(str).value_counts()
    expected = counts.reindex(table["item"].astype(str)).fillna(0).astype(int)
    assert table["lists"].tolist() == expected.tolist()
    assert (table["lists"] == 0).sum() == report["items"]["catalogue"]["never_recommended"]
    # known interactions: the run's known history (train+valid), the audit's popularity
    np.testing.assert_array_equal(table["known_interactions"], run.known.popularity)
    assert report["params"]["test_history"] == "train+valid"
    head = report["items"]["groups"]["popularity"]["by_group"]["head"]["n_items"]
    assert (table["popularity_group"] == "head").sum() == head
    # the report names the same items
    exposed = report["items"]["exposed"]
    top = table.sort_values("exposure", ascending=False, kind="stable").iloc[0]
    assert str(exposed["most"][0]["item"]) == str(top["item"])
    assert exposed["most"][0]["lists"] == top["lists"]
    assert exposed["never_recommended"]["n_items"] == (table["lists"] == 0).sum()
    assert all(
        table.set_index(table["item"].astype(str)).loc[str(e["item"]), "lists"] == 0
        for e in exposed["never_recommended"]["examples"]
    )
    genres = table["genres"].dropna()
    assert len(genres) and all(isinstance(g, str) for g in genres)


def test_a_cold_start_run_is_audited_by_known_and_new_items(cold_run, tmp_path):
    folder = tmp_path / "cold"
    shutil.copytree(cold_run, folder)
    assert main(["audit", str(folder), "--n-boot", "50", "-q"]) == 0
    report = json.loads((folder / "audit.json").read_text())
    cold = report["items"]["groups"]["cold_start"]["by_group"]
    metrics = json.loads((folder / "metrics.json").read_text())
    n_new = metrics["split_params"]["cold_items"]
    assert cold["new"]["n_items"] == n_new and cold["known"]["n_items"] > 0
    # popularity ranks by known interactions: the new items, which have none, are not shown
    assert cold["new"]["exposure_share"] < cold["known"]["exposure_share"]
    # ... within every provider, against their share of its items and of what users wanted
    within = report["items"]["groups"]["cold_start"]["by_attribute"]["provider"]
    assert within and all(0 <= g["new_item_share"] <= 1 for g in within.values())
    assert all(g["new_exposure_share"] <= g["new_item_share"] for g in within.values())
    assert any(g["new_wanted_share"] > 0 for g in within.values())
    # the page shows the same table, a row per provider
    page = (folder / "audit.html").read_text()
    table = page.split("New items within each provider</h4>")[1].split("</table>")[0]
    assert table.count("<tr>") == len(within) + 1  # header + one per provider
    for name, g in within.items():
        assert f"<td>{name}</td><td>{fmt_pct(g['new_item_share'])}</td>" in table


@pytest.fixture(scope="module")
def held_out_run(tmp_path_factory):
    """EASE with little shrinkage on the synthetic log, a fifth of its users held out."""
    out = tmp_path_factory.mktemp("held") / "ease"
    argv = ["run", "--dataset", "synthetic", "--model", "ease", "--holdout-users", "0.2"]
    assert main([*argv, "--out", str(out), "-q"]) == 0
    return out


def test_membership_is_attacked_beside_leakage(held_out_run, capsys):
    assert main(["audit", str(held_out_run), "--n-boot", "200", "--shadows", "1"]) == 0
    report = json.loads((held_out_run / "audit.json").read_text())
    privacy = report["privacy"]
    metrics = json.loads((held_out_run / "metrics.json").read_text())
    held = metrics["split_params"]["holdout_user_count"]
    assert 0.9 * held <= privacy["non_members"] <= held  # those with two items or more
    assert privacy["members"] + held <= metrics["dataset"]["users"]
    for attack in ("rank", "shadow"):
        entry = privacy[attack]
        assert entry["ci_low"] <= entry["auc"] <= entry["ci_high"]
        assert entry["leaks"] == (entry["ci_low"] > 0.5)
    assert privacy["shadow"]["shadows"] == 1 and privacy["shadow"]["shadow_epochs"] is None
    html = (held_out_run / "audit.html").read_text()
    assert "Membership: were these users trained on?" in html and "shadow attack" in html
    out = capsys.readouterr().out
    assert "membership inference (rank attack): AUC" in out
    assert "membership inference (shadow attack): AUC" in out


def test_membership_without_resampling_has_no_interval(held_out_run, capsys):
    assert main(["audit", str(held_out_run), "--n-boot", "0"]) == 0
    rank = json.loads((held_out_run / "audit.json").read_text())["privacy"]["rank"]
    assert rank["ci_low"] is None and rank["ci_high"] is None and rank["leaks"] is False
    assert 0.0 <= rank["auc"] <= 1.0
    out = capsys.readouterr().out
    assert f"membership inference (rank attack): AUC {rank['auc']:.3f}, not above chance" in out


def test_no_membership_attack_without_held_out_users(run_dir, capsys):
    assert main(["audit", str(run_dir), "--n-boot", "0", "--shadows", "1"]) == 0
    report = json.loads((run_dir / "audit.json").read_text())
    assert report["privacy"] is None
    assert any("split.holdout_users" in w for w in report["warnings"])
    assert "membership inference" not in capsys.readouterr().out
