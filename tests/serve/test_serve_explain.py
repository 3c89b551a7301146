"""POST /explain through FastAPI's TestClient: a SASRec run's recommendations explained as
``equirec explain`` explains them, off the event loop, and a 4xx naming the field or id for
every kind of bad request."""

from __future__ import annotations

import asyncio
import threading

import pytest
from fastapi.testclient import TestClient

from equirec.explain.methods import METHODS
from equirec.serve import create_app
from equirec.serve.schemas import ExplainResponse

K = 5


@pytest.fixture(scope="module")
def client(sasrec_run):
    return TestClient(create_app(sasrec_run))


@pytest.fixture(scope="module")
def user(client):
    """A known user with some history, as the service lists it."""
    service = client.app.state.service
    users = client.get("/users", params={"limit": 50}).json()["users"]
    return next(u for u in users if len(service.known.history.sequence(service._user_of[u])) >= 3)


@pytest.fixture(scope="module")
def listed(client, user):
    response = client.post("/recommend", json={"user": user, "k": K})
    assert response.status_code == 200, response.text
    return [entry["item"] for entry in response.json()["items"]]


def _error(response, status):
    assert response.status_code == status, response.text
    body = response.json()
    return body.get("message") or body["detail"]


def test_a_known_users_first_item_is_explained_by_a_counterfactual(client, user, listed):
    response = client.post("/explain", json={"user": user, "k": K, "max_size": 3})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["user"] == user and body["model"] == "sasrec"
    assert body["method"] == "counterfactual" and body["rank"] == 1 and body["k"] == K
    assert body["item"] == listed[0]
    assert body["text"] and isinstance(body["valid"], bool)
    assert body["valid"] == (body["rank_after"] is None or body["rank_after"] > K)
    assert all(
        set(r) == {"item", "title", "position", "effect", "removed"} for r in body["reasons"]
    )
    service = client.app.state.service
    assert service._explainer.folder is service.folder  # built from the open run, not reopened


def test_leave_one_out_names_the_past_items_by_effect(client, user, listed):
    response = client.post(
        "/explain", json={"user": user, "item": listed[1], "k": K, "method": "loo", "top": 3}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["method"] == "loo" and body["rank"] == 2 and body["item"] == listed[1]
    assert body["valid"] is None and body["rank_after"] is None
    effects = [r["effect"] for r in body["reasons"]]
    assert 1 <= len(effects) <= 3 and effects == sorted(effects, reverse=True)


def test_bad_ids_name_them(client, user, listed):
    assert "'nobody'" in _error(client.post("/explain", json={"user": "nobody", "k": K}), 404)
    unknown = client.post("/explain", json={"user": user, "item": "no-such-item", "k": K})
    assert "'no-such-item'" in _error(unknown, 404)
    service = client.app.state.service
    outside = next(i for i in service._item_ids if i not in listed)
    message = _error(client.post("/explain", json={"user": user, "item": outside, "k": K}), 422)
    assert f"item {outside!r} is not in the top {K}" in message


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"user": "u1", "method": "nope"}, "unknown explanation method 'nope'"),
        ({"user": "u1", "method": 3}, "body.method"),
        ({"user": "u1", "kk": 5}, "body.kk"),
        ({"k": 5}, "body.user"),
        ({"user": "u1", "k": 0}, "body.k"),
        ({"user": "u1", "k": "5"}, "body.k"),
        ({"user": "u1", "k": 10_000}, "k: 10000 is larger than the catalogue"),
        ({"user": "u1", "top": 0}, "body.top"),
        ({"user": "u1", "top": 51}, "body.top"),
        ({"user": "u1", "max_size": 51}, "body.max_size"),
        ({"user": ["u1"]}, "body.user"),
    ],
)
def test_bad_requests_are_422_naming_the_field(client, body, named):
    assert named in _error(client.post("/explain", json=body), 422)


def test_an_explanation_is_worked_out_off_the_event_loop(client, monkeypatch):
    seen = []

    def explain(request):
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # a worker thread: no loop running here
            seen.append(threading.current_thread().name.split("_")[0])
        else:
            seen.append("the event loop")
        return ExplainResponse(
            user=request.user,
            item="i",
            title=None,
            rank=1,
            k=request.k,
            model="m",
            method="loo",
            valid=None,
            rank_after=None,
            text="t",
            reasons=[],
        )

    monkeypatch.setattr(client.app.state.service, "explain", explain)
    assert client.post("/explain", json={"user": "u1", "k": 2}).status_code == 200
    assert seen == ["equirec-explain"]


def test_openapi_documents_explain(client):
    schema = client.get("/openapi.json").json()
    assert "/explain" in schema["paths"]
    request = schema["components"]["schemas"]["ExplainRequest"]
    assert request["additionalProperties"] is False and request["required"] == ["user"]
    methods = [s for s in request["properties"]["method"]["anyOf"] if "enum" in s]
    assert methods[0]["enum"] == list(METHODS)
    assert "ExplainResponse" in schema["components"]["schemas"]


def test_a_method_the_model_does_not_support_is_422(client, user):
    response = client.post("/explain", json={"user": user, "k": K, "method": "model"})
    assert "sasrec" in _error(response, 422)
