"""`equirec serve` for real: a uvicorn process on a free loopback port, a bounded number of
requests over HTTP, then stopped; and the factory each worker of `--workers N` calls."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from equirec.serve.app import RUN_DIR_ENV, THREADS_ENV, app_from_env


def test_the_server_answers_over_http_and_stops(ease_run, tmp_path, live_server):
    with (
        live_server(ease_run, tmp_path / "server.log") as running,
        httpx.Client(base_url=running.base, timeout=10) as client,
    ):
        first = client.post("/recommend", json={"user": "u0", "k": 5}).json()["items"]
        for n in range(20):
            body = {"user": f"u{n}", "k": 5} if n % 2 else {"history": ["i1", "i2"], "k": 5}
            response = client.post("/recommend", json=body)
            assert response.status_code == 200, response.text
            assert len(response.json()["items"]) == 5
        again = client.post("/recommend", json={"user": "u0", "k": 5}).json()["items"]
        assert again == first
        assert client.post("/recommend", json={"user": "nobody"}).status_code == 404
        assert client.get("/run").json()["model"]["name"] == "ease"
    log = running.log.read_text()
    # uvicorn shuts down gracefully, then re-raises the signal it caught (exit status -15).
    assert running.process.returncode in (0, -15), log
    assert "Finished server process" in log, log
    assert f"http://127.0.0.1:{running.port}" in log


def test_the_worker_factory_reads_the_environment(ease_run, monkeypatch):
    monkeypatch.setenv(RUN_DIR_ENV, str(ease_run))
    monkeypatch.setenv(THREADS_ENV, "1")
    client = TestClient(app_from_env())
    assert client.get("/health").json()["model"] == "ease"
    monkeypatch.delenv(RUN_DIR_ENV)
    from equirec.errors import ConfigError

    with pytest.raises(ConfigError, match=RUN_DIR_ENV):
        app_from_env()
