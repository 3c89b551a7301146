"""`equirec sweep`: one grid over a trained run, baseline first, Pareto points marked."""

import json

import pandas as pd
import pytest

from equirec.cli import main
from equirec.errors import ConfigError
from equirec.mitigation.sweep import grid_points, pareto, sweep_run


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
