"""`equirec serve` for real: a uvicorn process on a free loopback port, a bounded number of
requests over HTTP, then stopped; and the factory each worker of `--workers N` calls."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from fastapi.testclient import TestClient

from equirec.serve.app import RUN_DIR_ENV, THREADS_ENV, app_from_env


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_server_answers_over_http_and_stops(ease_run, tmp_path):
    port = _free_port()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    argv = [sys.executable, "-m", "equirec.cli", "serve", str(ease_run), "--port", str(port)]
    output = (tmp_path / "server.log").open("wb")  # a file: a pipe could fill and block it
    server = subprocess.Popen(argv, env=env, stdout=output, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            deadline = time.monotonic() + 60
            while True:
                assert server.poll() is None, (tmp_path / "server.log").read_text()
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() < deadline, "the server did not start within 60 s"
                time.sleep(0.25)
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
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:  # pragma: no cover
            server.kill()
            server.wait(timeout=5)
        output.close()
    log = (tmp_path / "server.log").read_text()
    # uvicorn shuts down gracefully, then re-raises the signal it caught (exit status -15).
    assert server.returncode in (0, -15), log
    assert "Finished server process" in log, log
    assert f"http://127.0.0.1:{port}" in log


def test_the_worker_factory_reads_the_environment(ease_run, monkeypatch):
    monkeypatch.setenv(RUN_DIR_ENV, str(ease_run))
    monkeypatch.setenv(THREADS_ENV, "1")
    client = TestClient(app_from_env())
    assert client.get("/health").json()["model"] == "ease"
    monkeypatch.delenv(RUN_DIR_ENV)
    from equirec.errors import ConfigError

    with pytest.raises(ConfigError, match=RUN_DIR_ENV):
        app_from_env()
