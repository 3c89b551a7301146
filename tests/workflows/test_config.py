from pathlib import Path

import pytest

from equirec.errors import ConfigError
from equirec.workflows.config import RunConfig


def test_defaults_and_round_trip():
    config = RunConfig()
    assert config.data.dataset == "movielens-small"
    assert config.model == {"name": "sasrec"}
    assert RunConfig.from_dict(config.to_dict()) == config


def test_toml_file_is_read(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(
        'seed = 3\n[data]\ndataset = "ml-100k"\n[model]\nname = "sasrec"\nepochs = 5\n'
        "[evaluation]\nks = [1, 10]\n"
    )
    config = RunConfig.from_toml(path)
    assert config.seed == 3 and config.data.dataset == "ml-100k"
    assert config.model == {"name": "sasrec", "epochs": 5}
    assert config.evaluation.ks == [1, 10]


@pytest.mark.parametrize(
    "data, message",
    [
        ({"sed": 1}, r"config: unknown key\(s\) \['sed'\]; valid keys are: seed"),
        ({"data": {"datset": "x"}}, r"\[data\]: unknown key\(s\) \['datset'\]"),
        (
            {"model": {"name": "sasrec", "hidden": 3}},
            r"\[model\] 'sasrec': unknown parameter\(s\) \['hidden'\]; valid parameters are: "
            r"max_len, dim, ",
        ),
        ({"model": {"name": "nope"}}, r"unknown model 'nope'; choose one of: .*sasrec"),
        ({"model": {"epochs": 3}}, r"\[model\] needs a 'name'"),
        ({"seed": "zero"}, r"seed='zero' is not valid: expected an integer"),
        (
            {"evaluation": {"ks": [10, "x"]}},
            r"\[evaluation\]: ks=\[10, 'x'\] is not valid: expected a list of integers",
        ),
        (
            {"split": {"method": "kfold"}},
            r"\[split\]: method='kfold' is not valid: expected one of 'loo', 'temporal', 'random', "
            r"'cold-items'",
        ),
        ({"evaluation": {"ks": [200]}}, r"keep_k \(100\) must be at least the largest k \(200\)"),
        (
            {"preprocess": {"duplicates": "drop"}},
            r"duplicates='drop' is not valid: expected one of 'keep', 'first', 'last'",
        ),
        ({"mitigation": {"methd": "ipw"}}, r"\[mitigation\]: unknown key\(s\) \['methd'\]"),
        (
            {"mitigation": {"method": "debias"}},
            r"unknown mitigation method 'debias'; choose one of: reweight, resample, adversary, "
            r"group_gap, exposure, popularity, ipw",
        ),
        (
            {"mitigation": {"method": "adversary", "params": {"attributes": "g", "lamda": 1}}},
            r"\[mitigation\] 'adversary': unknown parameter\(s\) \['lamda'\]; valid parameters "
            r"are: attributes, lam, hidden",
        ),
        (
            {"mitigation": {"method": "group_gap"}},
            r"'group_gap': missing required parameter\(s\) 'attribute' \(a string",
        ),
        (
            {"mitigation": {"method": "ipw", "params": {"eta": "high"}}},
            r"'ipw': eta='high' is not valid: expected a number",
        ),
        ({"mitigation": {"params": {"lam": 1}}}, r"\[mitigation\] has params but no method"),
        (
            {"model": {"name": "ease"}, "mitigation": {"method": "popularity"}},
            r"mitigation 'popularity' adds a loss term to training, which model 'ease' does not "
            r"support .*; use one of: bert4rec, bpr, sasrec",
        ),
        (
            {
                "model": {"name": "bpr"},
                "mitigation": {
                    "method": "adversary",
                    "params": {"attributes": "g", "positions": "all"},
                },
            },
            r"model 'bpr' has one vector per user: use positions = \"last\"",
        ),
    ],
)
def test_bad_configs_are_rejected_with_a_clear_message(data, message):
    with pytest.raises(ConfigError, match=message):
        RunConfig.from_dict(data)


def test_mitigation_section_from_toml(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(
        '[model]\nname = "bpr"\n[mitigation]\nmethod = "adversary"\n'
        '[mitigation.params]\nattributes = ["gender"]\nlam = 0.5\n'
    )
    config = RunConfig.from_toml(path)
    assert config.mitigation.method == "adversary"
    assert config.mitigation.params == {"attributes": ["gender"], "lam": 0.5}
    assert RunConfig.from_dict(config.to_dict()) == config
    assert RunConfig().mitigation.method is None  # default: no mitigation
    # removing interactions changes every model, so under-sampling is allowed for EASE too
    undersample = {"method": "resample", "params": {"attribute": "a", "sampling": "undersample"}}
    RunConfig.from_dict({"model": {"name": "ease"}, "mitigation": undersample})


def test_bad_toml_names_the_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("seed = = 1\n")
    with pytest.raises(ConfigError, match=r"bad\.toml is not valid TOML"):
        RunConfig.from_toml(path)
    with pytest.raises(ConfigError, match=r"missing\.toml does not exist"):
        RunConfig.from_toml(tmp_path / "missing.toml")


def test_relative_paths_are_relative_to_the_config_file(tmp_path, monkeypatch):
    folder = tmp_path / "configs"
    folder.mkdir()
    path = folder / "c.toml"
    path.write_text(
        'out = "runs/x"\n[data]\ninteractions = "logs/log.csv"\ndata_dir = "/abs/ml"\n'
        'user_attributes = "../users.csv"\n[model]\nname = "pop"\n'
    )
    monkeypatch.chdir(tmp_path)  # the working directory does not matter
    config = RunConfig.from_toml(path)
    assert config.data.interactions == str(folder / "logs" / "log.csv")
    assert config.data.user_attributes == str(folder / ".." / "users.csv")
    assert config.data.data_dir == "/abs/ml"
    assert config.out == str(folder / "runs" / "x")


def test_model_parameters_are_type_checked():
    with pytest.raises(
        ConfigError, match=r"\[model\] 'sasrec': epochs='ten' is not valid: expected an"
    ):
        RunConfig.from_dict({"model": {"name": "sasrec", "epochs": "ten"}})
    with pytest.raises(ConfigError, match=r"dropout=\[0.1\] is not valid: expected a number"):
        RunConfig.from_dict({"model": {"name": "bert4rec", "dropout": [0.1]}})
    config = RunConfig.from_dict({"model": {"name": "bert4rec", "mask_prob": 0.3, "dim": 32}})
    assert config.model == {"name": "bert4rec", "mask_prob": 0.3, "dim": 32}


def test_cold_frac_is_bounded_and_read():
    config = RunConfig.from_dict({"split": {"method": "cold-items", "cold_frac": 0.35}})
    assert config.split.method == "cold-items" and config.split.cold_frac == 0.35
    assert RunConfig().split.cold_frac == 0.2
    for bad in (0.0, 1.0):
        with pytest.raises(ConfigError, match=rf"\[split\]: cold_frac={bad} is out of range"):
            RunConfig.from_dict({"split": {"method": "cold-items", "cold_frac": bad}})


def test_the_quickstart_config_of_make_run_is_valid():
    """`make run` trains configs/quickstart.toml: a converging schedule on movielens-small."""
    path = Path(__file__).resolve().parents[2] / "configs" / "quickstart.toml"
    config = RunConfig.from_toml(path)
    config.check(source=str(path))
    assert config.data.dataset == "movielens-small"
    model = config.model
    assert model["name"] == "sasrec" and model["lr_schedule"] == "cosine"
    assert 0 < model["warmup_epochs"] < model["epochs"]
