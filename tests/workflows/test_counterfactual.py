import json

import pandas as pd
import pytest

from equirec.cli import main
from equirec.errors import ConfigError
from equirec.workflows.counterfactual import counterfactual_run


@pytest.fixture(scope="module")
def seeing_run(tmp_path_factory):
    """SASRec that sees the synthetic users' group as a feature."""
    from equirec.workflows.run import run

    out = tmp_path_factory.mktemp("cf") / "sasrec"
    model = {"name": "sasrec", "epochs": 2, "min_epochs": 1, "max_len": 20, "dim": 16}
    config = {"seed": 0, "out": str(out), "data": {"dataset": "synthetic"}}
    run({**config, "model": {**model, "layers": 1, "user_attributes": ["group"]}})
    return out


def test_flipping_the_group_moves_the_lists_and_keeps_the_factual_metrics(seeing_run, tmp_path):
    report = counterfactual_run(
        seeing_run, attribute="group", n_permutations=200, out=tmp_path / "cf.json"
    )
    per_user = pd.read_csv(seeing_run / "per_user.csv")
    assert report["ndcg_change"]["factual"] == pytest.approx(per_user["ndcg@10"].mean())
    assert report["params"]["users"] == len(per_user)
    for name, entry in report["similarity"].items():
        assert 0.0 <= entry["mean"] < 1.0, name  # the model uses the feature: lists move
        assert set(entry["by_group"]) == {"0", "1"}
        assert (
            entry["gap_test"]["ci_low"] <= entry["gap_test"]["gap"] <= entry["gap_test"]["ci_high"]
        )
    assert json.loads((tmp_path / "cf.json").read_text())["params"]["attribute"] == "group"


def test_a_model_blind_to_the_attribute_is_refused(run_dir, seeing_run, capsys):
    with pytest.raises(ConfigError, match="does not see 'group'"):
        counterfactual_run(run_dir, attribute="group")
    assert (
        main(["counterfactual", str(seeing_run), "--attribute", "group", "--permutations", "50"])
        == 0
    )
    assert "jaccard@10 with group flipped" in capsys.readouterr().out
