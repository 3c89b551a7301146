"""The page at GET / and the endpoints it reads (/users, /users/{id}/history, titles in
/recommend), through FastAPI's TestClient; the browser test is test_serve_browser.py."""

from __future__ import annotations

import re
import shutil

import pytest
from fastapi.testclient import TestClient

from equirec.serve import create_app
from equirec.serve.app import MAX_HISTORY_SHOWN, MAX_USERS
from equirec.serve.page import page_policies
from equirec.workflows.rundir import open_run


@pytest.fixture(scope="module")
def titled(titled_run):
    return TestClient(create_app(titled_run))


@pytest.fixture(scope="module")
def ease(ease_run):
    return TestClient(create_app(ease_run))


def _error(response, status):
    assert response.status_code == status, response.text
    body = response.json()
    return body.get("message") or body["detail"]


def test_the_page_is_served_with_its_assets_and_a_strict_policy(titled):
    response = titled.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    html = response.text
    assert "<strong>pop</strong> · 30 users" in html and "40 items" in html
    # Only the service's own assets, by relative URL (it works under a proxy's sub-path too).
    assets = re.findall(r'(?:href|src)="([^"]+)"', html)
    assert set(assets) == {"static/favicon.svg", "static/page.css", "static/page.js", "docs"}
    assert "http" not in " ".join(assets)
    for name, kind in (("page.js", "javascript"), ("page.css", "text/css"), ("favicon.svg", "svg")):
        asset = titled.get(f"/static/{name}")
        assert asset.status_code == 200 and kind in asset.headers["content-type"]
    assert titled.get("/static/nope.js").status_code == 404
    assert titled.get("/static/../app.py").status_code == 404
    assert "/" not in titled.get("/openapi.json").json()["paths"]


def test_the_policy_selector_offers_per_request_re_rankers_with_defaults(titled):
    html = titled.get("/").text
    methods = [p.method for p in page_policies()]
    assert methods == ["fair", "detconstsort", "calibrated", "mmr"]
    for method in methods:
        assert f'<option value="{method}">' in html
    fair = {param.name: param.default for param in page_policies()[0].params}
    assert fair == {"p": 0.5, "protected": "popularity=tail"}
    assert 'id="param-fair-p"' in html and 'value="0.5"' in html
    assert 'id="param-mmr-lam"' in html and 'id="param-calibrated-lam"' in html
    assert "``" not in html  # docstring markup is stripped from the parameter help


def test_the_page_escapes_the_run_name(titled_run, tmp_path):
    folder = tmp_path / "<b>run&co"
    shutil.copytree(titled_run, folder)
    html = TestClient(create_app(folder)).get("/").text
    assert "&lt;b&gt;run&amp;co" in html and "<b>run" not in html


def test_users_are_listed_filtered_and_bounded(titled):
    body = titled.get("/users").json()
    assert body == {"total": 30, "users": [f"u{u}" for u in range(30)]}
    assert titled.get("/users", params={"limit": 3}).json()["users"] == ["u0", "u1", "u2"]
    matching = titled.get("/users", params={"q": "U1", "limit": 4}).json()
    assert matching == {"total": 11, "users": ["u1", "u10", "u11", "u12"]}
    assert titled.get("/users", params={"q": "zz"}).json() == {"total": 0, "users": []}
    for limit in (0, -1, MAX_USERS + 1, "x"):
        assert "query.limit" in _error(titled.get("/users", params={"limit": limit}), 422)
    assert "query.q" in _error(titled.get("/users", params={"q": "x" * 300}), 422)


def test_a_users_history_is_its_known_items_newest_first(titled, titled_run):
    run = open_run(titled_run)
    pos = run.dataset.user_ids.tolist().index("u1")
    known = [str(run.dataset.item_ids[i]) for i in run.known.history.sequence(pos)]
    body = titled.get("/users/u1/history").json()
    assert body["user"] == "u1" and body["total"] == len(known) > 3
    assert [e["item"] for e in body["items"]] == known[::-1]
    assert all(e["title"] == f"Film {e['item'][1:]}" for e in body["items"])
    short = titled.get("/users/u1/history", params={"limit": 3}).json()
    assert short["total"] == len(known) and short["items"] == body["items"][:3]
    assert "'nobody'" in _error(titled.get("/users/nobody/history"), 404)
    assert "'a/b'" in _error(titled.get("/users/a/b/history"), 404)
    for limit in (0, MAX_HISTORY_SHOWN + 1):
        response = titled.get("/users/u1/history", params={"limit": limit})
        assert "query.limit" in _error(response, 422)


def test_recommended_items_carry_their_titles(titled, ease):
    items = titled.post("/recommend", json={"user": "u1", "k": 5}).json()["items"]
    assert len(items) == 5 and all(e["title"] == f"Film {e['item'][1:]}" for e in items)
    session = titled.post("/recommend", json={"history": ["i1", "i2"], "k": 3}).json()["items"]
    assert all(e["title"] == f"Film {e['item'][1:]}" for e in session)
    # Without a title attribute the title is null and the page shows the id.
    plain = ease.post("/recommend", json={"user": "u0", "k": 3}).json()["items"]
    assert [e["title"] for e in plain] == [None, None, None]
    assert ease.get("/users/u0/history").json()["items"][0]["title"] is None


def test_fair_with_a_high_p_changes_the_titled_runs_lists(titled):
    policy = {"method": "fair", "params": {"p": 0.9, "protected": "provider=small"}}
    small = {f"i{i}" for i in range(30, 40)}
    for user in ("u1", "u5", "u15"):
        plain = titled.post("/recommend", json={"user": user, "k": 10}).json()["items"]
        fair = titled.post("/recommend", json={"user": user, "k": 10, "policy": policy}).json()
        assert not {e["item"] for e in plain} & small  # the plain top 10 holds no small item
        assert len({e["item"] for e in fair["items"]} & small) >= 5
