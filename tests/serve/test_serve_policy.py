"""equirec serve --policy FILE.toml: the service's own policy, applied where a request names
none, overridden by one that does, refused at start-up when it cannot work."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from equirec.cli import main
from equirec.errors import ConfigError
from equirec.serve import create_app
from equirec.serve.policy import read_policy
from equirec.workflows.recommend import recommend
from equirec.workflows.rundir import open_run

FAIR = """\
method = "fair"
depth = 30

[params]
p = 0.9
protected = "provider=1"
"""


@pytest.fixture(scope="module")
def policy_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("policy") / "policy.toml"
    path.write_text(FAIR)
    return path


@pytest.fixture(scope="module")
def client(ease_run, policy_file):
    return TestClient(create_app(ease_run, policy=policy_file))


def _items(response):
    assert response.status_code == 200, response.text
    return [entry["item"] for entry in response.json()["items"]]


def test_the_policy_applies_where_a_request_names_none(client, ease_run):
    run = open_run(ease_run)
    user = str(run.dataset.user_ids[0])
    params = {"p": 0.9, "protected": "provider=1"}
    fair = recommend(run, users=[user], k=10, policy="fair", params=params, depth=30)
    plain = recommend(run, users=[user], k=10)
    response = client.post("/recommend", json={"user": user, "k": 10})
    assert _items(response) == fair.frame["item"].tolist() != plain.frame["item"].tolist()
    assert response.json()["policy"] == {"method": "fair", "params": params}
    # "policy": null asks for the model's list; a request's own policy replaces the service's.
    none = client.post("/recommend", json={"user": user, "k": 10, "policy": None})
    assert _items(none) == plain.frame["item"].tolist() and none.json()["policy"] is None
    own = {"method": "mmr", "params": {"lam": 0.5}}
    mmr = recommend(run, users=[user], k=10, policy="mmr", params=own["params"])
    asked = client.post("/recommend", json={"user": user, "k": 10, "policy": own})
    assert _items(asked) == mmr.frame["item"].tolist()


def test_run_shows_the_policy_and_histories_say_it_did_not_apply(client, ease_run):
    info = client.get("/run").json()
    assert info["policy"]["method"] == "fair" and info["policy"]["depth"] == 30
    items = [str(i) for i in open_run(ease_run).dataset.item_ids[:3]]
    response = client.post("/recommend", json={"history": items, "k": 5})
    assert response.json()["policy"] is None
    assert any("the service's policy (fair)" in n for n in response.json()["notes"])


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("method = ", "not valid TOML"),
        ('method = "fair"\nlambda = 1\n', "lambda: Extra inputs are not permitted"),
        ("depth = 10\n", "method: Field required"),
        ('method = "fair"\ndepth = "deep"\n', "depth:"),
        ('method = "nope"\n', "unknown re-ranker 'nope'"),
        ('method = "fair"\n[params]\npp = 1\n', "['pp']"),
        ('method = "ugf"\n', "ugf re-ranks all users' lists together"),
        ('method = "fair"\ndepth = 100000\n', "larger than the catalogue"),
    ],
)
def test_a_bad_policy_file_fails_at_start_naming_the_problem(tmp_path, ease_run, text, named):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        create_app(ease_run, policy=path)
    assert named in str(err.value) and str(path) in str(err.value)


def test_a_missing_policy_file_is_named(tmp_path, ease_run, capsys):
    with pytest.raises(ConfigError, match="cannot read it"):
        read_policy(tmp_path / "none.toml")
    missing = str(tmp_path / "none.toml")
    assert main(["serve", str(ease_run), "--policy", missing, "--port", "0", "-q"]) != 0
    assert "none.toml" in capsys.readouterr().err
