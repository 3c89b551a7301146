"""``equirec explain`` on a saved run: words, JSON and CSV; checked against the recommend path;
bad input named."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from equirec.cli import main
from equirec.errors import ConfigError
from equirec.workflows.explain import explain, explain_users
from equirec.workflows.recommend import recommend
from equirec.workflows.run import run

TRIGGER, TARGET = "i0", "i1"


@pytest.fixture(scope="module")
def planted_run(tmp_path_factory):
    """SASRec on a planted log: whoever has i0 gets i1 next (titled items with genres)."""
    folder = tmp_path_factory.mktemp("explain")
    rng = np.random.default_rng(0)
    rows = []
    for u in range(300):
        size = int(rng.integers(5, 8))
        fillers = [f"i{j}" for j in rng.choice(np.arange(2, 22), size=size + 2, replace=False)]
        seq = fillers[:size]
        if u % 3 == 1:  # trained on: the target comes after the trigger, then valid and test
            seq[int(rng.integers(size))] = TRIGGER
            seq += [TARGET, *fillers[size:]]
        elif u % 3 == 2:  # the run knows the trigger (validation), not the target (test)
            seq += [TRIGGER, TARGET]
        else:
            seq += fillers[size:]
        rows += [(f"u{u}", item, t) for t, item in enumerate(seq)]
    log = pd.DataFrame(rows, columns=["user", "item", "timestamp"])
    log.to_csv(folder / "log.csv", index=False)
    items = pd.DataFrame(
        {
            "item": [f"i{j}" for j in range(22)],
            "title": [f"Film {j}" for j in range(22)],
            "genres": ["Drama|Noir" if j < 2 else "Comedy" for j in range(22)],
        }
    )
    items.to_csv(folder / "items.csv", index=False)
    # validated once, at the end: the validation items are random, so no earlier epoch is "best"
    model = {"name": "sasrec", "epochs": 60, "eval_every": 60, "max_len": 10, "dim": 32}
    model |= {"layers": 1, "heads": 1, "dropout": 0.0, "lr": 0.01, "batch_size": 32}
    config = {
        "seed": 0,
        "out": str(folder / "run"),
        "data": {
            "interactions": str(folder / "log.csv"),
            "item_attributes": str(folder / "items.csv"),
            "multi_valued": {"genres": "|"},
        },
        "model": {**model, "content_attributes": ["genres"]},
    }
    run(config)
    return folder / "run"


def _holding_trigger(run_dir) -> str:
    """A user whose known history holds the trigger and whose first recommendation is the target."""
    recs = pd.read_csv(run_dir / "recommendations.csv")
    first = recs[recs["rank"] == 1].set_index("user")["item"]
    users = [u for u in first[first == TARGET].index if int(u[1:]) % 3 == 2]
    assert len(users), "the model should have learned the rule"
    return str(users[0])


def test_the_counterfactual_names_the_trigger_and_holds_on_the_recommend_path(planted_run):
    user = _holding_trigger(planted_run)
    # k = 3: with 22 items and 8 known, a top 10 holds most of what is left
    found = explain(planted_run, user=user, k=3)
    assert found.item == TARGET and found.rank == 1 and found.method == "counterfactual"
    assert found.valid and found.rank_after > 3
    named = [r["item"] for r in found.reasons]
    assert named[0] == TRIGGER and all(r["removed"] for r in found.reasons)
    assert found.text.startswith("Recommended because you interacted with Film 0")
    assert "It shares Drama and Noir with it" in found.text or len(named) > 1
    # the same history without those items, ranked by `recommend` as a new user's: not listed
    history = pd.read_csv(planted_run.parent / "log.csv")
    mine = history[history.user == user].item.tolist()[:-1]  # the run knew all but the test item
    kept = [i for i in mine if i not in set(named)]
    lists = recommend(planted_run, histories={"session": kept}, k=3).frame
    assert TARGET not in set(lists["item"])


def test_every_format_and_method_on_the_command_line(planted_run, tmp_path, capsys):
    user = _holding_trigger(planted_run)
    assert main(["explain", str(planted_run), "--user", user, "--method", "loo", "-q"]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"#1 for user {user}: Film 1 (sasrec, loo)")
    assert "Recommended mostly because you interacted with Film 0" in text
    out = tmp_path / "why.json"
    argv = ["explain", str(planted_run), "--user", user, "--format", "json", "--out", str(out)]
    assert main([*argv, "--method", "ig", "-q"]) == 0
    data = json.loads(out.read_text())
    assert data["method"] == "ig" and data["reasons"][0]["item"] == TRIGGER
    assert data["reasons"][0]["title"] == "Film 0" and data["valid"] is None
    assert main([*argv, "-q"]) == 2  # never overwritten without being asked
    assert "already exists" in capsys.readouterr().err
    assert main(["explain", str(planted_run), "--user", user, "--format", "csv", "-q"]) == 0
    frame = pd.read_csv(pd.io.common.StringIO(capsys.readouterr().out))
    assert frame["reason_item"].iloc[0] == TRIGGER and bool(frame["reason_removed"].all())


def test_bad_requests_are_named(planted_run, tmp_path, capsys):
    user = _holding_trigger(planted_run)
    base = ["explain", str(planted_run), "-q"]
    assert main([*base, "--user", "nobody"]) == 2
    assert "unknown user 'nobody'" in capsys.readouterr().err
    recs = pd.read_csv(planted_run / "recommendations.csv")
    listed = set(recs[recs.user == user].item)
    outside = next(f"i{j}" for j in range(22) if f"i{j}" not in listed)
    assert main([*base, "--user", user, "--item", outside, "--k", "3"]) == 2
    err = capsys.readouterr().err
    assert f"item '{outside}' is not in the top 3 of user '{user}'" in err and "raise --k" in err
    assert main([*base, "--user", user, "--method", "model"]) == 2
    assert "no additive decomposition" in capsys.readouterr().err
    no_model = tmp_path / "lists-only"
    shutil.copytree(planted_run, no_model)
    shutil.rmtree(no_model / "model")
    assert main(["explain", str(no_model), "--user", user, "-q"]) == 2
    assert "no saved model" in capsys.readouterr().err


def test_every_user_explained_with_the_gaps_between_groups(planted_run, tmp_path, capsys):
    folder = tmp_path / "run"
    shutil.copytree(planted_run, folder)
    users = pd.read_csv(folder / "recommendations.csv")["user"].unique()[:12].tolist()
    quality = explain_users(folder, users=users, k=3)
    table = pd.read_csv(folder / "explanations.csv")
    assert table["user"].tolist() == users and len(quality.per_user) == 12
    assert set(table.columns) >= {"item", "method", "valid", "size", "rank_after", "seconds"}
    # a valid explanation's item really leaves the top 3 without the items named
    assert (table.loc[table["valid"], "rank_after"] > 3).all()
    assert (table["size"] >= 1).all() and (table["size"] <= 10).all()
    with pytest.raises(ConfigError, match="unknown user attribute 'gender'"):
        explain_users(folder, users=users[:2], attributes=["gender"], write=False)
    assert main(["explain", str(folder), "--all", "--k", "3", "--max-size", "3", "-q"]) == 0
    assert "valid, median size" in capsys.readouterr().out


def test_groups_of_users_are_compared_with_the_audit_test(tmp_path):
    out = tmp_path / "ease"
    argv = ["run", "--dataset", "synthetic", "--model", "ease", "--out", str(out), "-q"]
    assert main(argv) == 0
    users = pd.read_csv(out / "recommendations.csv")["user"].unique()[:40].tolist()
    quality = explain_users(
        out, users=users, attributes=["group"], method="counterfactual", max_size=3
    )
    gaps = pd.read_csv(out / "explanations_gaps.csv")
    assert gaps["metric"].tolist() == ["valid", "size"] and (gaps["attribute"] == "group").all()
    table = quality.per_user.assign(code=lambda t: t["user"].map(_groups(out)))
    for metric in ("valid", "size"):
        means = table.groupby("code")[metric].mean()
        row = gaps[gaps["metric"] == metric].iloc[0]
        assert row["gap"] == pytest.approx(means.max() - means.min())
        assert row["low"] <= row["gap"] <= row["high"] and 0 < row["p_value"] <= 1


def _groups(run_dir):
    from equirec.workflows.rundir import open_run

    attributes = open_run(run_dir).dataset.user_attributes
    return attributes["group"].astype(str).to_dict()
