import json

import pytest

from equirec.cli import main
from equirec.errors import ConfigError
from equirec.training.trainer import on_validation
from equirec.workflows import tune as tune_module
from equirec.workflows.config import RunConfig
from equirec.workflows.tune import tune_run

EASE = {"seed": 0, "data": {"dataset": "synthetic"}, "model": {"name": "ease"}}


def test_tuning_starts_from_the_config_never_scores_test_items_and_writes_a_run_config(
    tmp_path, monkeypatch
):
    scored = []
    real = tune_module.__dict__.get("evaluate")
    import equirec.evaluation as evaluation

    original = evaluation.evaluate

    def spy(model, *, test, **kwargs):
        scored.append(len(test))
        return original(model, test=test, **kwargs)

    monkeypatch.setattr(evaluation, "evaluate", spy)
    assert real is None  # imported when tuning, so the spy is what it calls
    out = tmp_path / "tuned"
    result = tune_run(
        EASE,
        settings={"trials": 4, "space": {"l2": {"low": 1.0, "high": 2000.0, "log": True}}},
        out=out,
    )
    assert result["trials"][0]["params.l2"] == result["default"]["params"]["l2"]
    assert result["best"]["ndcg@10"] >= result["default"]["ndcg@10"]
    assert result["counts"]["complete"] == 4 and len(scored) == 4
    n_valid = 1000  # the synthetic log's users, one validation item each (leave-one-out)
    assert set(scored) == {n_valid}  # only the validation part was ever scored
    assert {p.name for p in out.iterdir()} == {"trials.csv", "tune.json", "best.toml"}
    best = RunConfig.from_toml(out / "best.toml")
    assert best.model["l2"] == pytest.approx(result["best"]["params"]["l2"])
    assert json.loads((out / "tune.json").read_text())["schema_version"] == "equirec-tune/1"


def test_a_validation_hook_can_stop_training():
    from equirec.workflows.run import run

    seen = []

    class Stop(Exception):
        pass

    def hook(epoch, score):
        seen.append((epoch, score))
        if epoch == 2:
            raise Stop

    model = {"name": "sasrec", "epochs": 5, "min_epochs": 1, "max_len": 10, "dim": 8}
    with pytest.raises(Stop), on_validation(hook):
        run({"seed": 0, "data": {"dataset": "synthetic"}, "model": model}, write=False)
    assert [e for e, _ in seen] == [1, 2]


def test_tune_settings_are_checked(tmp_path, capsys):
    with pytest.raises(ConfigError, match="no parameter 'alpha'"):
        tune_run(EASE, settings={"space": {"alpha": {"low": 1, "high": 2}}})
    with pytest.raises(ConfigError, match="low < high"):
        tune_run(EASE, settings={"space": {"l2": {"low": 5.0, "high": 1.0}}})
    with pytest.raises(ConfigError, match="no default search space"):
        tune_run({**EASE, "model": {"name": "pop"}})
    with pytest.raises(ConfigError, match="minutes"):
        tune_run(EASE, settings={"minutes": 0})
    reweight = {"method": "reweight", "params": {"attribute": "group"}}
    mitigated = {**EASE, "model": {"name": "sasrec"}, "mitigation": reweight}
    with pytest.raises(ConfigError, match="tune the model without it"):
        tune_run(mitigated)
    config = tmp_path / "run.toml"
    config.write_text('seed = 0\n[data]\ndataset = "synthetic"\n[model]\nname = "ease"\n')
    argv = ["tune", "--config", str(config), "--trials", "2", "--space", "l2=10:1000:log"]
    assert main([*argv, "--out", str(tmp_path / "t")]) == 0
    assert "best run config" in capsys.readouterr().out
    assert (
        main(
            [
                "run",
                "--config",
                str(tmp_path / "t" / "best.toml"),
                "--out",
                str(tmp_path / "r"),
                "-q",
            ]
        )
        == 0
    )
    assert main([*argv[:-2], "--space", "l2=1:2:cube", "--out", str(tmp_path / "u")]) == 2


def test_the_first_trial_is_the_config_even_outside_the_space():
    result = tune_run(
        {**EASE, "model": {"name": "ease", "l2": 5000.0}},
        settings={"trials": 1, "space": {"l2": {"low": 1.0, "high": 100.0, "log": True}}},
    )
    assert result["trials"][0]["params.l2"] == 5000.0
    assert result["params"]["space"]["l2"]["high"] == 5000.0
