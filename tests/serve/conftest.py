"""Fixtures of the service tests: an audited EASE run, a copy of the shared BPR run, and
``live_server`` (the real ``equirec serve`` on a free loopback port)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from equirec.cli import main

pytest.importorskip("fastapi")


@pytest.fixture(scope="session")
def ease_run(tmp_path_factory):
    """EASE on the synthetic log, audited (audit.json for GET /run)."""
    folder = tmp_path_factory.mktemp("serve") / "ease"
    args = ["run", "--dataset", "synthetic", "--model", "ease", "--out", str(folder), "--audit"]
    assert main([*args, "--quiet"]) == 0
    return folder


@pytest.fixture(scope="session")
def bpr_run(tmp_path_factory, run_dir):
    """The shared BPR run, copied without an audit (other tests may audit the original)."""
    folder = tmp_path_factory.mktemp("serve") / "bpr"
    shutil.copytree(run_dir, folder)
    for name in ("audit.json", "audit.html"):
        (folder / name).unlink(missing_ok=True)
    return folder


@pytest.fixture(scope="session")
def titled_run(tmp_path_factory):
    """A popularity run on 30 users x 40 titled items ("Film 0".."Film 39").

    Items i30..i39 (provider "small") are rarely seen, so the plain top 10 of u1..u19 holds none
    of them and FA*IR with a high ``p`` and ``protected=provider=small`` must change it.
    """
    folder = tmp_path_factory.mktemp("titled")
    rows = []
    for u in range(30):
        if 1 <= u <= 10:
            rows.append((f"u{u}", f"i{29 + u}", len(rows)))
        for j in range(8):
            rows.append((f"u{u}", f"i{(u + 3 * j) % 30}", len(rows)))
    log = "user,item,timestamp\n" + "".join(f"{u},{i},{t}\n" for u, i, t in rows)
    (folder / "log.csv").write_text(log)
    items = "item,title,provider\n" + "".join(
        f"i{i},Film {i},{'small' if i >= 30 else 'big'}\n" for i in range(40)
    )
    (folder / "items.csv").write_text(items)
    out = folder / "run"
    args = ["run", "--interactions", str(folder / "log.csv"), "--model", "pop", "--out", str(out)]
    assert main([*args, "--item-attributes", str(folder / "items.csv"), "--audit", "-q"]) == 0
    return out


@dataclass
class LiveServer:
    """A running ``equirec serve``: its base URL and port, the process and its log file."""

    base: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path


@contextmanager
def _live_server(run: Path, log: Path) -> Iterator[LiveServer]:
    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    argv = [sys.executable, "-m", "equirec.cli", "serve", str(run), "--port", str(port)]
    output = log.open("wb")  # a file: a pipe could fill and block it
    process = subprocess.Popen(argv, env=env, stdout=output, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base}/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not start within 60 s"
            time.sleep(0.25)
        yield LiveServer(base=base, port=port, process=process, log=log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:  # pragma: no cover
            process.kill()
            process.wait(timeout=5)
        output.close()


@pytest.fixture(scope="session")
def live_server() -> Callable[[Path, Path], AbstractContextManager[LiveServer]]:
    """``with live_server(run_dir, log_path) as server:`` the real server on 127.0.0.1 (a free
    port), answering ``/health`` on entry; stopped with SIGTERM (then killed) on exit."""
    return _live_server


@pytest.fixture(scope="session")
def sasrec_run(tmp_path_factory):
    """A 2-epoch SASRec on the synthetic log (its users encoded once by the service)."""
    folder = tmp_path_factory.mktemp("serve") / "sasrec"
    args = ["run", "--dataset", "synthetic", "--model", "sasrec", "--epochs", "2"]
    assert main([*args, "--out", str(folder), "--quiet"]) == 0
    return folder
