import json
import shutil

import pytest

from equirec.cli import main
from equirec.errors import ConfigError
from equirec.workflows.audit import audit_run
from equirec.workflows.compare import compare_runs

FAST = {"n_boot": 40, "n_permutations": 60, "leakage_permutations": 0, "leakage_repeats": 1}


@pytest.fixture(scope="module")
def two_runs(run_dir, tmp_path_factory):
    """Copies of the BPR run and a popularity run on the same split, both audited."""
    root = tmp_path_factory.mktemp("compare")
    bpr = root / "bpr"
    shutil.copytree(run_dir, bpr)
    pop = root / "pop"
    argv = ["run", "--dataset", "synthetic", "--model", "pop", "--out", str(pop), "-q"]
    assert main(argv) == 0
    for folder in (pop, bpr):
        audit_run(folder, **FAST)
    return pop, bpr


def test_compare_reproduces_each_audit_and_tests_the_difference(two_runs, tmp_path):
    pop, bpr = two_runs
    out = tmp_path / "cmp"
    result = compare_runs([pop, bpr], out=out, n_boot=100, n_permutations=199)
    assert result["warnings"] == []  # every recomputed number matched its run's audit.json
    for folder, entry in zip((pop, bpr), result["runs"], strict=True):
        report = json.loads((folder / "audit.json").read_text())
        metrics = json.loads((folder / "metrics.json").read_text())["overall"]
        values = entry["values"]
        assert values["ndcg@10"] == pytest.approx(metrics["ndcg@10"], rel=1e-12)
        assert values["gini_exposure"] == pytest.approx(
            report["items"]["catalogue"]["gini_exposure"], rel=1e-12
        )
        assert values["coverage"] == pytest.approx(report["items"]["catalogue"]["coverage"])
        tail = report["items"]["groups"]["popularity"]["by_group"]["tail"]["exposure_share"]
        assert values["tail_exposure_share"] == pytest.approx(tail, abs=1e-12)
        for attr, gaps in report["users"].items():
            assert values[f"ndcg@10 gap: {attr}"] == pytest.approx(gaps["ndcg@10"]["difference"])
    (diff,) = result["differences"]
    assert (diff["run"], diff["reference"]) == ("bpr", "pop")
    found = {r["name"]: r for r in diff["results"]}
    # BPR after 3 epochs spreads exposure far more than popularity does
    assert found["coverage"]["difference"] > 0.5 and found["coverage"]["significant"]
    assert found["gini_exposure"]["difference"] < 0 and found["gini_exposure"]["significant"]
    ndcg = found["ndcg@10"]
    assert ndcg["difference"] == pytest.approx(
        result["runs"][1]["values"]["ndcg@10"] - result["runs"][0]["values"]["ndcg@10"]
    )
    assert ndcg["ci_low"] <= ndcg["difference"] <= ndcg["ci_high"]
    assert {p.name for p in out.iterdir()} == {"compare.json", "compare.csv", "compare.html"}
    assert json.loads((out / "compare.json").read_text())["schema_version"] == "equirec-compare/1"
    with pytest.raises(Exception, match="exist"):  # nothing a user made is overwritten unasked
        compare_runs([pop, bpr], out=out)


def test_compare_page_and_command_line(two_runs, tmp_path, capsys, assert_well_formed):
    pop, bpr = two_runs
    out = tmp_path / "cmp"
    argv = ["compare", str(pop), str(bpr), "--out", str(out), "--n-boot", "20"]
    assert main([*argv, "--permutations", "19", "--fairness-metric", "gini_exposure"]) == 0
    printed = capsys.readouterr().out
    assert "bpr − ref" in printed and "gini_exposure" in printed
    page = (out / "compare.html").read_text()
    assert_well_formed(page)
    for text in ("Accuracy against fairness", "bpr against pop", "<svg", "paired bootstrap"):
        assert text in page


def test_compare_refuses_what_it_cannot_test(two_runs, tmp_path, capsys):
    pop, bpr = two_runs
    with pytest.raises(ConfigError, match="at least two"):
        compare_runs([pop])
    with pytest.raises(ConfigError, match="twice"):
        compare_runs([pop, pop])
    with pytest.raises(ConfigError, match="unknown fairness metric"):
        compare_runs([pop, bpr], fairness_metric="nope")
    other = tmp_path / "k5"
    shutil.copytree(bpr, other)
    audit_run(other, k=5, **FAST)
    with pytest.raises(ConfigError, match="k = 5"):
        compare_runs([pop, other])
    cold = tmp_path / "cold"
    argv = ["run", "--dataset", "synthetic", "--model", "pop", "--split", "random"]
    assert main([*argv, "--out", str(cold), "-q"]) == 0
    audit_run(cold, **FAST)
    with pytest.raises(ConfigError, match="same split"):
        compare_runs([pop, cold])
    assert main(["compare", str(pop), "--out", str(tmp_path / "x")]) == 2
    assert "at least two" in capsys.readouterr().err
