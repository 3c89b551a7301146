"""Start-up time of the command line, next to peers measured in the same run.

Every command runs as a fresh subprocess (the venv's ``equirec`` console script), once to warm
the file cache, then ``--runs`` times, round-robin over the commands so that a change in the
machine's load touches all of them alike. Peers: ``python -c pass`` (interpreter start) and
``python -c "import torch"`` (what ``equirec --help`` paid while the command line imported the
runner). With ``--old-src`` (the ``src`` folder of an older checkout), ``python -m equirec.cli
--help`` of that version is measured too, next to the same invocation of this one::

    git worktree add /tmp/old-equirec 9fc2eea
    .venv/bin/python benchmarks/cli_startup.py --old-src /tmp/old-equirec/src
    git worktree remove --force /tmp/old-equirec

Prints a table (median, min, max in seconds; ratios to the peers) and writes JSON
(default ``benchmarks/results/cli_startup.json``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
EQUIREC = str(BIN / "equirec")
PYTHON = sys.executable


def commands(old_src: str | None) -> list[tuple[str, list[str], dict[str, str]]]:
    """(label, argv, extra environment) of every measured command."""
    out: list[tuple[str, list[str], dict[str, str]]] = [
        ("equirec --help", [EQUIREC, "--help"], {}),
        ("equirec datasets", [EQUIREC, "datasets"], {}),
        ("equirec models", [EQUIREC, "models"], {}),
        ("equirec methods", [EQUIREC, "methods"], {}),
        ("python -c pass", [PYTHON, "-c", "pass"], {}),
        ('python -c "import torch"', [PYTHON, "-c", "import torch"], {}),
    ]
    if old_src:
        here = str(ROOT / "src")
        module_help = [PYTHON, "-m", "equirec.cli", "--help"]
        out += [
            ("python -m equirec.cli --help (this version)", module_help, {"PYTHONPATH": here}),
            ("python -m equirec.cli --help (old version)", module_help, {"PYTHONPATH": old_src}),
        ]
    return out


def source_of(env: dict[str, str]) -> str:
    """Where ``equirec`` is imported from under ``env`` (checks ``--old-src`` is really used)."""
    probe = [PYTHON, "-c", "import equirec; print(equirec.__file__)"]
    done = subprocess.run(probe, env={**os.environ, **env}, capture_output=True, text=True)
    return done.stdout.strip()


def once(argv: list[str], env: dict[str, str]) -> float:
    """Seconds of one run; raises if the command fails."""
    full_env = {**os.environ, **env}
    start = time.perf_counter()
    done = subprocess.run(argv, env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}): {done.stderr.decode()}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="timed runs per command (default 5)")
    parser.add_argument("--old-src", help="src folder of an older checkout to measure too")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "cli_startup.json"))
    args = parser.parse_args()

    todo = commands(args.old_src)
    if args.old_src:
        for label, _, env in todo[-2:]:
            print(f"{label}: equirec from {source_of(env)}")
    load_before = os.getloadavg()
    for _, argv, env in todo:  # warm-up: file cache, .pyc files
        once(argv, env)
    times: dict[str, list[float]] = {label: [] for label, _, _ in todo}
    for _ in range(args.runs):
        for label, argv, env in todo:
            times[label].append(once(argv, env))
    load_after = os.getloadavg()

    median = {label: statistics.median(t) for label, t in times.items()}
    interpreter = median["python -c pass"]
    torch = median['python -c "import torch"']
    rows = []
    for label, argv, env in todo:
        t = times[label]
        rows.append(
            {
                "command": label,
                "argv": [Path(a).name if a in (EQUIREC, PYTHON) else a for a in argv],
                "env": env,
                "median_s": round(median[label], 4),
                "min_s": round(min(t), 4),
                "max_s": round(max(t), 4),
                "times_s": [round(x, 4) for x in t],
                "vs_python_pass": round(median[label] / interpreter, 2),
                "vs_import_torch": round(median[label] / torch, 3),
            }
        )
    result = {
        "benchmark": "cli_startup",
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in load_after],
        },
        "runs": args.runs,
        "warmup_runs": 1,
        "commands": rows,
    }
    if args.old_src:
        old = median["python -m equirec.cli --help (old version)"]
        new = median["python -m equirec.cli --help (this version)"]
        result["old_src"] = args.old_src
        result["old_over_new_help"] = round(old / new, 2)

    width = max(len(r["command"]) for r in rows)
    print(f"{'command':<{width}}  median s   min s   max s  x pass  x torch")
    for r in rows:
        print(
            f"{r['command']:<{width}}  {r['median_s']:8.3f} {r['min_s']:7.3f} {r['max_s']:7.3f}"
            f" {r['vs_python_pass']:7.1f} {r['vs_import_torch']:8.3f}"
        )
    if args.old_src:
        print(f"old/new --help: {result['old_over_new_help']}x")
    print(f"load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {out}")


if __name__ == "__main__":
    main()
