"""Load test of ``equirec serve`` on loopback: latency at a fixed rate, saturation, restart.

Starts ``equirec serve RUN_DIR`` on a free 127.0.0.1 port (1 worker, 1 torch thread), then:

1. **Fixed rate** (open loop): ``--rate`` requests per second for ``--seconds``, each
   ``POST /recommend`` for a random known user (``k = 10``), sent on schedule whatever the
   answers' speed; latency is measured from the scheduled send time, so a server that falls
   behind shows it. Once plain, once per ``--policy`` (a JSON policy, e.g.
   ``{"method": "fair", "params": {"p": 0.5}}``).
2. **Saturation** (closed loop): ``--concurrency`` clients send back to back for
   ``--saturation-seconds``; the answers per second are the throughput.
3. **Restart**: requests keep coming while the server is stopped (SIGTERM) and started again;
   every answer is either complete (a 200 whose body parses and holds ``k`` items) or refused
   (a connection error), never half sent, and the answers after the restart equal those before.

The load generator (asyncio + aiohttp; httpx's pool costs ~2 ms of CPU per request, as much as
the server) shares the machine with the server. It stops by itself.

    .venv/bin/python benchmarks/serve_load.py /tmp/me/sasrec --rate 200 --seconds 60 \\
        --policy '{"method": "fair", "params": {"p": 0.5}}' --out benchmarks/results/serve_load.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import numpy as np
import pandas as pd


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(run_dir: Path, port: int, log: Path, extra: list[str]) -> subprocess.Popen[bytes]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    argv = [sys.executable, "-m", "equirec.cli", "serve", str(run_dir), "--port", str(port), "-q"]
    argv += extra
    server = subprocess.Popen(argv, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    with httpx.Client(timeout=5) as client:
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"the server exited: {log.read_text()[-2000:]}")
            try:
                if client.get(f"http://127.0.0.1:{port}/health").status_code == 200:
                    return server
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start within 120 s")
            time.sleep(0.2)


def stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)


def body(user: str, policy: dict[str, Any] | None) -> dict[str, Any]:
    out: dict[str, Any] = {"user": user, "k": 10}
    if policy is not None:
        out["policy"] = policy
    return out


async def fixed_rate(
    base: str, users: list[str], *, rate: float, seconds: float, policy: dict[str, Any] | None
) -> dict[str, Any]:
    n = int(rate * seconds)
    rng = random.Random(0)
    picks = [rng.choice(users) for _ in range(n)]
    latencies = np.full(n, np.nan)
    errors: list[str] = []
    connector = aiohttp.TCPConnector(limit=256)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(base, connector=connector, timeout=timeout) as client:

        async def one(i: int, scheduled: float) -> None:
            try:
                async with client.post("/recommend", json=body(picks[i], policy)) as r:
                    answer = await r.json()
                    if r.status != 200 or len(answer["items"]) != 10:
                        errors.append(f"{r.status}: {str(answer)[:200]}")
            except (aiohttp.ClientError, asyncio.TimeoutError) as err:
                errors.append(repr(err))
            latencies[i] = time.perf_counter() - scheduled

        cpu0 = time.process_time()
        t0 = time.perf_counter() + 0.2
        tasks = []
        for i in range(n):  # each request is sent at its time, whatever the answers' speed
            scheduled = t0 + i / rate
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            tasks.append(asyncio.create_task(one(i, scheduled)))
        await asyncio.gather(*tasks)
        elapsed = time.perf_counter() - t0
        cpu = time.process_time() - cpu0
    ms = latencies * 1000
    return {
        "requests": n,
        "rate": rate,
        "achieved_rate": n / elapsed,
        "errors": len(errors),
        "first_errors": errors[:3],
        "p50_ms": float(np.nanpercentile(ms, 50)),
        "p90_ms": float(np.nanpercentile(ms, 90)),
        "p99_ms": float(np.nanpercentile(ms, 99)),
        "max_ms": float(np.nanmax(ms)),
        "generator_cpu_ms_per_request": cpu / n * 1000,
    }


async def saturation(
    base: str, users: list[str], *, concurrency: int, seconds: float
) -> dict[str, Any]:
    done = 0
    errors = 0
    stop_at = time.perf_counter() + seconds
    rng = random.Random(1)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(base, connector=connector) as client:

        async def worker() -> None:
            nonlocal done, errors
            while time.perf_counter() < stop_at:
                async with client.post("/recommend", json=body(rng.choice(users), None)) as r:
                    await r.read()
                    done += 1
                    errors += r.status != 200

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t0
    return {"concurrency": concurrency, "throughput": done / elapsed, "errors": errors}


async def during_restart(
    base: str, users: list[str], restart: Any, *, requests: int
) -> dict[str, Any]:
    complete: dict[str, list[Any]] = {}
    refused = half = 0
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(base, timeout=timeout) as client:

        async def one(i: int) -> None:
            nonlocal refused, half
            await asyncio.sleep(i * 0.01)
            user = users[i % len(users)]
            try:
                async with client.post("/recommend", json=body(user, None)) as r:
                    status, text = r.status, await r.text()
            except aiohttp.ClientConnectionError:
                refused += 1
                return
            try:
                items = json.loads(text)["items"]
                assert status == 200 and len(items) == 10
            except (ValueError, KeyError, AssertionError):
                half += 1
                return
            complete.setdefault(user, []).append(items)

        loop = asyncio.get_running_loop()
        stopping = loop.run_in_executor(None, restart)
        await asyncio.gather(*(one(i) for i in range(requests)))
        await stopping
    return {
        "complete": sum(map(len, complete.values())),
        "refused": refused,
        "half": half,
        "answers": complete,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--policy", action="append", default=[], help="a JSON policy")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--saturation-seconds", type=float, default=15.0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/serve_load.json"))
    parser.add_argument(
        "--server-args", default="", help='more `equirec serve` options, e.g. "--workers 2"'
    )
    args = parser.parse_args()
    extra = args.server_args.split()
    users = [str(u) for u in pd.unique(pd.read_csv(args.run_dir / "recommendations.csv")["user"])]
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = args.out.with_suffix(".server.log")
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("")
    result: dict[str, Any] = {
        "date": datetime.now().isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; server (1 torch thread per worker"
        f"{', ' + args.server_args if args.server_args else ''}) and load generator on the "
        "same machine",
        "command": " ".join(["benchmarks/serve_load.py", *sys.argv[1:]]),
        "run": str(args.run_dir),
    }
    server = start(args.run_dir, port, log, extra)
    try:
        with httpx.Client(base_url=base, timeout=30) as client:  # warm up
            for u in users[:50]:
                client.post("/recommend", json=body(u, None))
        result["fixed_rate"] = {
            "plain": asyncio.run(
                fixed_rate(base, users, rate=args.rate, seconds=args.seconds, policy=None)
            )
        }
        print("plain", json.dumps(result["fixed_rate"]["plain"]), flush=True)
        for text in args.policy:
            policy = json.loads(text)
            with httpx.Client(base_url=base, timeout=30) as client:
                for u in users[:20]:
                    client.post("/recommend", json=body(u, policy))
            got = asyncio.run(
                fixed_rate(base, users, rate=args.rate, seconds=args.seconds, policy=policy)
            )
            result["fixed_rate"][policy["method"]] = {**got, "policy": policy}
            print(policy["method"], json.dumps(got), flush=True)
        result["saturation"] = asyncio.run(
            saturation(base, users, concurrency=args.concurrency, seconds=args.saturation_seconds)
        )
        print("saturation", json.dumps(result["saturation"]), flush=True)
        with httpx.Client(base_url=base, timeout=30) as client:
            before = {
                u: client.post("/recommend", json=body(u, None)).json()["items"] for u in users[:40]
            }

        def restart() -> None:
            nonlocal server
            time.sleep(1.0)
            stop(server)
            time.sleep(1.0)
            server = start(args.run_dir, port, log, extra)

        t0 = time.perf_counter()
        got = asyncio.run(during_restart(base, users[:40], restart, requests=800))
        answers = got.pop("answers")
        same = all(items == before[u] for u, lists in answers.items() for items in lists)
        result["restart"] = {
            **got,
            "seconds": time.perf_counter() - t0,
            "answers_equal_before": same,
        }
        print("restart", json.dumps(result["restart"]), flush=True)
    finally:
        stop(server)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
