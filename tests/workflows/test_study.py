import json
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from equirec.cli import main
from equirec.errors import ConfigError
from equirec.workflows.study import StudyConfig, plan, study_from_flags, study_run, summarise

AUDIT = {"n_boot": 20, "n_permutations": 20, "leakage_permutations": 0, "leakage_repeats": 1}
TINY = {"epochs": 1, "min_epochs": 1, "max_len": 10, "layers": 1}


def _study(out, **extra):
    return {
        "out": str(out),
        "seeds": [0],
        "data": {"dataset": "synthetic"},
        "audit": AUDIT,
        "models": [
            {"name": "sasrec", "params": TINY, "grid": {"dim": [4, 8]}},
            {"name": "pop"},
        ],
        **extra,
    }


def test_a_study_trains_audits_summarises_and_resumes(tmp_path, assert_well_formed):
    out = tmp_path / "study"
    result = study_run(_study(out))
    assert result["params"]["runs"] == 3 and result["params"]["trained_now"] == 3
    points = {(p["family"], p["label"]): p for p in result["points"]}
    assert set(points) == {("sasrec", "dim4"), ("sasrec", "dim8"), ("pop", "default")}
    small, large = points["sasrec", "dim4"], points["sasrec", "dim8"]
    assert (
        0 < small["parameters"] < large["parameters"]
        and points["pop", "default"]["parameters"] is None
    )
    for row in result["runs"]:  # every row reads its own run's files
        folder = Path(row["folder"])
        metrics = json.loads((folder / "metrics.json").read_text())
        report = json.loads((folder / "audit.json").read_text())
        assert row["values"]["ndcg@10"] == metrics["overall"]["ndcg@10"]
        assert row["values"]["gini_exposure"] == report["items"]["catalogue"]["gini_exposure"]
        assert row["values"]["gap:group"] == report["users"]["group"]["ndcg@10"]["difference"]
    results = out / "results"
    assert {p.name for p in results.iterdir()} == {"study.json", "study.csv", "study.html"}
    page = (results / "study.html").read_text()
    assert_well_formed(page)
    assert page.count("<svg") >= 5 and "trained parameters" in page
    bigger = _study(out)
    bigger["models"][0]["grid"] = {"dim": [4, 8, 12]}
    progress = study_run(bigger, train=False)  # what is done so far, nothing trained
    assert progress["params"]["trained_now"] == 0 and len(progress["runs"]) == 3
    assert [Path(f).name for f in progress["params"]["missing"]] == ["dim12-seed0"]
    again = study_run(_study(out))  # resumed: nothing retrained, the same numbers
    assert again["params"]["trained_now"] == 0
    assert again["points"] == result["points"]
    reaudited = study_run(_study(out, audit={**AUDIT, "n_boot": 30}))  # audit options changed
    assert reaudited["params"]["trained_now"] == 0 and reaudited["params"]["audited_now"] == 3
    changed = _study(out)
    changed["models"][0]["params"] = {**TINY, "dropout": 0.1}
    with pytest.raises(ConfigError, match="another config"):
        study_run(changed)
    before = (Path(result["runs"][0]["folder"]) / "metrics.json").read_text()
    retrained = study_run(changed, overwrite=True)  # the changed point is trained anew
    assert retrained["params"]["trained_now"] == 2
    assert (Path(result["runs"][0]["folder"]) / "metrics.json").read_text() != before
    other = tmp_path / "elsewhere"
    (other / "results").mkdir(parents=True)
    (other / "results" / "mine.txt").write_text("a user's file")
    with pytest.raises(Exception, match="exist"):
        study_run(_study(other))


def test_summary_over_seeds_is_a_student_t_interval():
    rows = [
        {
            "family": "f",
            "label": "a",
            "model": "m",
            "point": {},
            "seed": s,
            "parameters": 10,
            "values": {"x": v, "y": None},
        }
        for s, v in enumerate([0.1, 0.2, 0.4])
    ]
    (point,) = summarise(rows)
    x = point["values"]["x"]
    half = stats.t.ppf(0.975, 2) * np.std([0.1, 0.2, 0.4], ddof=1) / np.sqrt(3)
    assert x["mean"] == pytest.approx(0.7 / 3) and x["n"] == 3
    assert (x["ci_low"], x["ci_high"]) == pytest.approx((0.7 / 3 - half, 0.7 / 3 + half))
    assert point["values"]["y"]["mean"] is None and point["seeds"] == [0, 1, 2]


def test_study_is_checked_before_anything_trains(tmp_path):
    bad = _study(tmp_path / "s")
    bad["models"][0]["grid"] = {"dim": [4, "wide"]}
    with pytest.raises(ConfigError, match="'wide'"):
        plan(StudyConfig.model_validate(bad))
    assert not (tmp_path / "s").exists()
    with pytest.raises(ConfigError, match="unknown option"):
        study_run(_study(tmp_path / "s", audit={"n_bot": 3}))
    with pytest.raises(ConfigError, match="share a label"):
        study_run({**_study(tmp_path / "s"), "models": [{"name": "pop"}, {"name": "pop"}]})
    with pytest.raises(ConfigError, match="colour"):
        study_run({**_study(tmp_path / "s"), "colour": "red"})


def test_flags_give_each_family_the_parameters_it_takes(tmp_path, capsys):
    study = study_from_flags(
        dataset="synthetic",
        data_dir=None,
        models=["sasrec", "pop"],
        grid={"dim": [4, 8]},
        fixed={"epochs": 1},
        seeds=[3],
        out=str(tmp_path / "s"),
    )
    sasrec, pop = study.models
    assert sasrec.grid == {"dim": [4, 8]} and sasrec.params == {"epochs": 1}
    assert pop.grid == {} and pop.params == {}
    assert len(plan(study)) == 3
    with pytest.raises(ConfigError, match=r"no model .* takes the parameter 'alpha'"):
        study_from_flags(
            dataset="synthetic",
            data_dir=None,
            models=["pop"],
            grid={"alpha": [1]},
            fixed={},
            seeds=None,
            out="x",
        )
    assert main(["study", "--model", "pop"]) == 2
    assert "--out" in capsys.readouterr().err
