"""equirec serve's endpoints through FastAPI's TestClient: the lists of `recommend`, look-ups,
and a 4xx naming the field or id for every kind of bad request (never a 500)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from equirec.serve import create_app
from equirec.serve.app import MAX_BODY
from equirec.workflows.recommend import recommend
from equirec.workflows.rundir import open_run


@pytest.fixture(scope="module")
def ease(ease_run):
    return TestClient(create_app(ease_run))


@pytest.fixture(scope="module")
def bpr(bpr_run):
    return TestClient(create_app(bpr_run))


@pytest.fixture(scope="module")
def run(ease_run):
    return open_run(ease_run)


def _items(response):
    assert response.status_code == 200, response.text
    return [entry["item"] for entry in response.json()["items"]]


def test_a_known_users_list_is_recommends(ease, run):
    user = str(run.dataset.user_ids[3])
    response = ease.post("/recommend", json={"user": user, "k": 7})
    expected = recommend(run, users=[user], k=7).frame
    body = response.json()
    assert body["user"] == user and body["policy"] is None and body["notes"] == []
    assert _items(response) == expected["item"].tolist()
    assert [e["rank"] for e in body["items"]] == list(range(1, 8))
    assert [e["score"] for e in body["items"]] == pytest.approx(expected["score"].tolist())


def test_a_history_is_ranked_as_a_new_session(ease, run):
    items = [str(i) for i in run.dataset.item_ids[run.known.history.sequence(5)]]
    response = ease.post("/recommend", json={"history": items, "k": 10})
    expected = recommend(run, histories={"s": items}, k=10).frame
    assert response.json()["user"] is None
    assert _items(response) == expected["item"].tolist()
    assert not set(_items(response)) & set(items)


def test_a_model_without_new_user_scores_falls_back_with_a_note(bpr):
    response = bpr.post("/recommend", json={"history": [], "k": 4})
    assert len(_items(response)) == 4
    assert any("ranked by popularity" in note for note in response.json()["notes"])


def test_a_policy_changes_the_list_as_recommend_does(ease, run):
    user = str(run.dataset.user_ids[0])
    policy = {"method": "fair", "params": {"p": 0.9, "protected": "provider=1"}}
    plain = _items(ease.post("/recommend", json={"user": user, "k": 10}))
    response = ease.post("/recommend", json={"user": user, "k": 10, "policy": policy})
    expected = recommend(run, users=[user], k=10, policy="fair", params=policy["params"])
    assert _items(response) == expected.frame["item"].tolist() != plain
    assert response.json()["policy"] == policy


def _error(response, status):
    assert response.status_code == status, response.text
    body = response.json()
    return body.get("message") or body["detail"]


@pytest.mark.parametrize(
    ("body", "status", "named"),
    [
        ({"k": 5}, 422, "exactly one of user"),
        ({"user": "u1", "history": ["i1"]}, 422, "exactly one of user"),
        ({"user": "u1", "k": "5"}, 422, "body.k"),
        ({"user": "u1", "k": 2.5}, 422, "body.k"),
        ({"user": ["u1"]}, 422, "body.user"),
        ({"history": "i1"}, 422, "body.history"),
        ({"user": "u1", "kk": 5}, 422, "body.kk"),
        ({"user": "u1", "k": 0}, 422, "body.k"),
        ({"user": "u1", "k": -3}, 422, "body.k"),
        ({"user": "u1", "k": 10_000}, 422, "k: 10000 is larger than the catalogue"),
        ({"user": "u1", "depth": 10_000, "policy": {"method": "mmr"}}, 422, "depth: 10000"),
        ({"user": "nobody"}, 404, "'nobody'"),
        ({"history": ["i1", "no-such-item"]}, 404, "'no-such-item'"),
        ({"user": "u1", "policy": {"method": "nope"}}, 422, "unknown re-ranker 'nope'"),
        ({"user": "u1", "policy": {"method": "fair", "params": {"pp": 1}}}, 422, "['pp']"),
        ({"user": "u1", "policy": {"method": "fair", "params": {"p": "x"}}}, 422, "p='x'"),
        ({"user": "u1", "policy": {"method": "fair", "params": {"p": 2}}}, 422, "p must be"),
        ({"user": "u1", "policy": {"name": "fair"}}, 422, "body.policy.method"),
        ({"history": ["i1"], "policy": {"method": "mmr"}}, 422, "policy:"),
    ],
)
def test_bad_requests_name_the_field(ease, body, status, named):
    assert named in _error(ease.post("/recommend", json=body), status)


def test_bodies_that_are_not_json_objects_are_422(ease):
    for text in (b"", b"{", b"[]", b"null", b'"u1"', b"\xff\xfe"):
        response = ease.post(
            "/recommend", content=text, headers={"content-type": "application/json"}
        )
        assert response.status_code == 422, (text, response.text)


def test_an_oversized_body_is_413(ease):
    big = json.dumps({"history": ["i1"] * (MAX_BODY // 4)})
    assert len(big) > MAX_BODY
    response = ease.post("/recommend", content=big, headers={"content-type": "application/json"})
    assert "larger than 65536 bytes" in _error(response, 413)

    def chunks():  # no Content-Length: counted as it streams in
        for _ in range(20):
            yield b" " * 4096

    response = ease.post(
        "/recommend", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def test_malformed_requests_never_give_a_500(ease):
    valid = {"user": "u1", "k": 3, "policy": {"method": "fair", "params": {"p": 0.5}}}
    odd = [None, True, -1, 0, 1.5, 1e308, "", "x" * 300, [], {}, ["i1"], {"a": 1}, 2**70]
    bodies = [dict(valid, **{key: value}) for key in ("user", "k", "depth") for value in odd]
    bodies += [
        {"user": "u1", "policy": {"method": m, "params": p}}
        for m in ("fair", "mmr", "calibrated", "detconstsort", "ugf", "cpfair", "fair+mmr", "+")
        for p in ({}, {"p": 0.5}, {"protected": "zz=1"}, {"p": None}, {"lam": [1]}, {"k": 3})
    ]
    bodies += [{"history": value} for value in odd]
    bodies += [{"history": ["i1", value]} for value in odd]
    statuses = []
    for body in bodies:
        response = ease.post("/recommend", json=body)
        statuses.append(response.status_code)
        assert response.status_code < 500, (body, response.text)
    for path in ("/items/%00", "/items/" + "x" * 2000, "/items/..%2F..%2Fetc", "/nowhere"):
        assert ease.get(path).status_code == 404
    assert ease.get("/recommend").status_code == 405
    assert any(s >= 400 for s in statuses) and any(s == 200 for s in statuses)


def test_items_give_their_attributes(ease, run):
    item = str(run.dataset.item_ids[3])
    body = ease.get(f"/items/{item}").json()
    attributes = run.dataset.item_attributes.loc[item]
    assert body["item"] == item and body["title"] is None
    assert body["attributes"]["genres"] == list(attributes["genres"])
    assert body["popularity"] == int(run.known.popularity[3])
    assert "'nope'" in _error(ease.get("/items/nope"), 404)


def test_health_and_run(ease, bpr, ease_run):
    assert ease.get("/health").json() == {
        "status": "ok",
        "model": "ease",
        "users": 1000,
        "items": 497,
    }
    info = ease.get("/run").json()
    metrics = json.loads((ease_run / "metrics.json").read_text())
    assert info["model"]["name"] == "ease"
    assert info["dataset"]["name"] == "synthetic"
    assert info["metrics"] == pytest.approx(metrics["overall"])
    audit = json.loads((ease_run / "audit.json").read_text())
    assert info["audit"]["schema_version"] == audit["schema_version"]
    headline = [f["text"] for f in audit["summary"] if f["primary"]]
    assert [f["text"] for f in info["audit"]["findings"]] == headline
    assert bpr.get("/run").json()["audit"] is None


def test_openapi_documents_the_endpoints(ease):
    schema = ease.get("/openapi.json").json()
    assert {"/recommend", "/items/{item_id}", "/health", "/run"} <= set(schema["paths"])
    request = schema["components"]["schemas"]["RecommendRequest"]
    assert request["additionalProperties"] is False
    assert ease.get("/docs").status_code == 200


def test_a_folder_that_is_not_a_run_fails_at_start(tmp_path):
    from equirec.errors import DataError

    with pytest.raises(DataError, match="no such run folder"):
        create_app(tmp_path / "missing")


def test_importing_equirec_and_the_cli_imports_no_fastapi():
    code = (
        "import sys, equirec, equirec.cli, equirec.serve\n"
        "from equirec.cli.parser import build_parser\n"
        "build_parser().parse_args(['serve', 'x'])\n"
        "print([m for m in ('fastapi', 'uvicorn', 'starlette') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_a_missing_extra_names_the_install(monkeypatch):
    import equirec.serve._extra as extra
    from equirec.errors import ConfigError

    monkeypatch.setattr(extra, "find_spec", lambda name: None)
    with pytest.raises(ConfigError, match=r"pip install 'equirec\[serve\]'"):
        extra.require("fastapi", "uvicorn")


def test_an_items_title_and_an_id_with_a_slash(tmp_path):
    from equirec.cli import main

    rows = [(f"u{u}", f"a/{(u + j) % 12}", j) for u in range(12) for j in range(4)]
    log = "user,item,timestamp\n" + "".join(f"{u},{i},{t}\n" for u, i, t in rows)
    (tmp_path / "log.csv").write_text(log)
    items = "item,title,year\n" + "".join(f"a/{i},Film {i},{2000 + i}\n" for i in range(12))
    (tmp_path / "items.csv").write_text(items)
    out = tmp_path / "run"
    args = ["run", "--interactions", str(tmp_path / "log.csv"), "--model", "pop"]
    args += ["--item-attributes", str(tmp_path / "items.csv"), "--out", str(out), "-q"]
    assert main(args) == 0
    client = TestClient(create_app(out))
    body = client.get("/items/a/3").json()
    assert body["item"] == "a/3" and body["title"] == "Film 3"
    assert body["attributes"]["year"] == 2003
    assert _items(client.post("/recommend", json={"user": "u1", "k": 3}))
