"""The command line: the main job end to end on tiny data, and clean errors for bad input."""

import json

import pandas as pd
import pytest

from equirec.cli import main


@pytest.fixture
def log_csv(tmp_path):
    rows = []
    for u in range(12):
        for t in range(8):
            rows.append((f"u{u}", f"i{(u * 3 + t * (1 + u % 3)) % 20}", 1000 + 10 * t, 4.0))
    path = tmp_path / "log.csv"
    pd.DataFrame(rows, columns=["uid", "iid", "ts", "stars"]).to_csv(path, index=False)
    return path


def test_run_writes_the_run_folder(log_csv, tmp_path, capsys):
    out = tmp_path / "run"
    code = main(
        ["run", "--interactions", str(log_csv), "--columns", "user=uid,item=iid,timestamp=ts",
         "--model", "sasrec", "--epochs", "2", "--seed", "5", "--out", str(out), "--quiet"]
    )  # fmt: skip
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "config.json",
        "metrics.json",
        "model",
        "per_user.csv",
        "recommendations.csv",
    ]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["seed"] == 5 and metrics["exclude_seen"] is True
    assert metrics["model"] == "sasrec" and metrics["split"] == "loo"
    assert 0.0 <= metrics["overall"]["ndcg@10"] <= 1.0
    assert metrics["training"]["epochs"] == 2
    per_user = pd.read_csv(out / "per_user.csv")
    assert set(per_user.user) == {f"u{u}" for u in range(12)}
    assert {"ndcg@10", "recall@10", "mrr@10"} <= set(per_user.columns)
    recs = pd.read_csv(out / "recommendations.csv")
    assert list(recs.columns) == ["user", "rank", "item", "score"]
    assert recs.item.str.startswith("i").all()
    config = json.loads((out / "config.json").read_text())
    assert config["config"]["seed"] == 5 and config["config"]["model"]["epochs"] == 2
    assert "torch" in config["versions"]
    assert "ndcg" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "--dataset", "nope"], "unknown dataset 'nope'"),
        (["run", "--model", "nope"], "unknown model 'nope'"),
        (["run", "--model", "ease", "--epochs", "3"], "--epochs does not apply to model 'ease'"),
        (["run", "--columns", "user"], "expected key=value pairs"),
        (["run", "--interactions", "missing.csv"], "missing.csv"),
    ],
)
def test_bad_input_exits_2_with_a_message(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert "Traceback" not in err


def test_unknown_config_key_and_bad_column(log_csv, tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text('[model]\nname = "sasrec"\nhiden = 3\n')
    assert main(["run", "--config", str(config)]) == 2
    assert "unknown parameter(s) ['hiden']" in capsys.readouterr().err
    assert main(["run", "--interactions", str(log_csv), "--columns", "user=nope,item=iid"]) == 2
    assert "nope" in capsys.readouterr().err


def test_run_with_a_mitigation_section(log_csv, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(
        f'out = "{tmp_path / "run"}"\n[data]\ninteractions = "{log_csv}"\n'
        '[data.columns]\nuser = "uid"\nitem = "iid"\ntimestamp = "ts"\n'
        '[model]\nname = "bpr"\nepochs = 2\ndim = 8\n'
        '[mitigation]\nmethod = "popularity"\nparams = { lam = 2.0, head = "top", cutoff = 0.2 }\n'
    )
    assert main(["run", "--config", str(config), "--quiet"]) == 0
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["mitigation"]["method"] == "popularity"
    assert metrics["mitigation"]["params"]["cutoff"] == 0.2
    saved = json.loads((tmp_path / "run" / "config.json").read_text())["config"]
    assert saved["mitigation"]["params"]["head"] == "top"


def test_bad_mitigation_exits_2_naming_it(tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text('[model]\nname = "bpr"\n[mitigation]\nmethod = "adversarial"\n')
    assert main(["run", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "unknown mitigation method 'adversarial'; choose one of: reweight" in err
    assert "Traceback" not in err
    config.write_text(
        '[model]\nname = "ease"\n[mitigation]\nmethod = "group_gap"\nparams = {attribute = "g"}\n'
    )
    assert main(["run", "--config", str(config)]) == 2
    assert "which model 'ease' does not support" in capsys.readouterr().err


def test_help_names_the_training_methods(capsys):
    for command in ("run", "sweep"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        out = capsys.readouterr().out
        assert "adversary" in out and "group_gap" in out


def test_listing_commands(capsys):
    assert main(["datasets"]) == 0
    assert "movielens-small" in capsys.readouterr().out
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ["sasrec", "bert4rec", "ease", "itemknn", "bpr", "pop"])


def test_methods_lists_every_registered_method(capsys):
    from equirec.mitigation.registry import RERANKERS, TRAINING_METHODS

    assert main(["methods"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in (*RERANKERS, *TRAINING_METHODS))


def test_methods_markdown(capsys):
    from equirec.mitigation.registry import RERANKERS, TRAINING_METHODS

    assert main(["methods", "--markdown"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("### Methods and their parameters\n\n| method | stage |")
    for name in (*TRAINING_METHODS, *RERANKERS):
        assert f"\n| `{name}` | " in out  # a row of the summary table
        assert f"\n#### `{name}` (" in out  # its parameter table
    assert "| `p` | a number | (required) |" in out  # FA*IR's required share
    assert "| `lam` | a number | `0.5` |" in out  # calibrated's default, from its signature
    assert "`|mean_Z1" not in out  # a pipe inside a cell is escaped


def test_methods_markdown_of_one_method(capsys):
    assert main(["methods", "fair", "--markdown"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("#### `fair` (re-ranking)\n")
    assert "| `alpha` | a number | `0.1` |" in out and "adversary" not in out


def test_methods_unknown_name_exits_2(capsys):
    assert main(["methods", "adversarial", "--markdown"]) == 2
    err = capsys.readouterr().err
    assert "unknown method 'adversarial'" in err and "adversary" in err


def _genre_files(tmp_path):
    """A log and an item file whose genres are written 'A|B' (20 items, 6 genres)."""
    genres = ["Action", "Comedy", "Drama", "Horror", "Romance", "War"]
    items = pd.DataFrame(
        {
            "iid": [f"i{i}" for i in range(20)],
            "genres": ["|".join(genres[(i + j) % 6] for j in range(1 + i % 3)) for i in range(20)],
        }
    )
    path = tmp_path / "items.csv"
    items.to_csv(path, index=False)
    return path


def test_data_loading_flags_reach_the_run(log_csv, tmp_path, capsys):
    items = _genre_files(tmp_path)
    common = ["run", "--interactions", str(log_csv), "--columns", "user=uid,item=iid,timestamp=ts",
              "--item-attributes", str(items), "--model", "pop"]  # fmt: skip
    # not declared: the run goes through, and the warning says how to declare it
    assert main([*common, "--out", str(tmp_path / "plain")]) == 0
    metrics = json.loads((tmp_path / "plain" / "metrics.json").read_text())
    warning = next(w for w in metrics["warnings"] if "'genres' looks multi-valued" in w)
    assert "--multi-valued genres='|'" in warning
    assert "looks multi-valued" in capsys.readouterr().err
    # declared on the command line, with the other loading flags
    out = tmp_path / "declared"
    args = [*common, "--multi-valued", "genres='|'", "--item-key", "iid", "--sep", ",",
            "--duplicates", "first", "--exact-duplicates", "keep", "--user-core", "2",
            "--item-core", "1", "--ks", "5", "10", "--keep-k", "12", "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert not any("genres" in w for w in metrics["warnings"])
    config = json.loads((out / "config.json").read_text())["config"]
    assert config["data"]["multi_valued"] == {"genres": "|"}
    assert config["data"]["sep"] == "," and config["data"]["item_key"] == "iid"
    assert config["preprocess"] | {"min_rating": None} == {
        "min_rating": None, "duplicates": "first", "exact_duplicates": "keep", "user_core": 2,
        "item_core": 1,
    }  # fmt: skip
    assert config["evaluation"]["ks"] == [5, 10] and config["evaluation"]["keep_k"] == 12
    recs = pd.read_csv(out / "recommendations.csv")
    assert recs.groupby("user").size().max() == 12
    assert "ndcg@5" in metrics["overall"] and "ndcg@20" not in metrics["overall"]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--multi-valued", "genres"], "--multi-valued 'genres': write COLUMN=SEPARATOR"),
        (["--user-core", "-1"], "user_core must be an integer >= 0, got -1"),
        (["--ks", "0"], "ks must be positive integers"),
    ],
)
def test_bad_data_loading_flags_name_the_value(log_csv, flags, message, capsys):
    args = ["run", "--interactions", str(log_csv), "--columns", "user=uid,item=iid", *flags]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_cold_items_split_flags(tmp_path, capsys):
    out = tmp_path / "cold"
    argv = ["run", "--dataset", "synthetic", "--model", "pop", "--split", "cold-items"]
    assert main([*argv, "--cold-frac", "0.25", "--out", str(out), "-q"]) == 0
    printed = capsys.readouterr().out
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["split_params"]["cold_frac"] == 0.25
    config = json.loads((out / "config.json").read_text())["config"]
    assert config["split"]["method"] == "cold-items" and config["split"]["cold_frac"] == 0.25
    cold = metrics["slices"]["cold_target"]
    assert f"cold-target events: ndcg@10 {cold['ndcg@10']:.4f} over {cold['events']:,}" in printed
    assert "warm-target events: ndcg@10" in printed


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--cold-frac", "0.2"], "--cold-frac applies to --split cold-items only"),
        (["--split", "random", "--cold-frac", "0.2"], "the split method is 'random'"),
        (["--split", "cold-items", "--cold-frac", "1.5"], "cold_frac=1.5 is out of range"),
    ],
)
def test_bad_cold_frac_exits_2_naming_it(flags, message, capsys):
    assert main(["run", "--model", "pop", *flags]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
