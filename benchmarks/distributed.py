"""Data-parallel speed-up on this machine: SASRec on ML-100K in 1 and 2 processes.

The same run (leave-one-out, SASRec defaults but a fixed number of epochs and max_len 200) is
trained by one process with 1 thread, one process with 2 threads, and two gloo processes with
1 thread each (``equirec run --nproc 2``); each reports its training time, and the metrics of
the 2-process run are compared with the 1-process run's (the same global batches).

    .venv/bin/python benchmarks/distributed.py --epochs 10 --out benchmarks/results/distributed.json
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from cold_start import write_result

CONFIG = """seed = {seed}
[data]
dataset = "ml-100k"
data_dir = "{data_dir}"
[model]
name = "sasrec"
epochs = {epochs}
min_epochs = {epochs}
"""


def one(folder: Path, *, threads: int, nproc: int) -> dict[str, Any]:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    argv = [sys.executable, "-m", "equirec.cli", "run", "--config", str(folder / "run.toml")]
    out = folder / f"p{nproc}-t{threads}"
    subprocess.run(
        [*argv, "--out", str(out), "--nproc", str(nproc), "--overwrite", "-q"],
        check=True,
        env=env,
        capture_output=True,
    )
    metrics = json.loads((out / "metrics.json").read_text())
    return {
        "processes": nproc,
        "threads_per_process": threads,
        "train_seconds": metrics["train_seconds"],
        "seconds_per_epoch": metrics["training"]["seconds"] / metrics["training"]["epochs"],
        "ndcg@10": metrics["overall"]["ndcg@10"],
        "valid": [h.get("valid") for h in metrics["training"]["history"]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=Path, default=Path(".bench/runs/distributed"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/distributed.json"))
    args = parser.parse_args()
    args.runs.mkdir(parents=True, exist_ok=True)
    (args.runs / "run.toml").write_text(
        CONFIG.format(
            seed=args.seed,
            epochs=args.epochs,
            data_dir=Path("../shared/datasets/ml-100k").resolve(),
        )
    )
    rows = []
    for repeat in range(args.repeats):
        for threads, nproc in ((1, 1), (2, 1), (1, 2)):
            row = one(args.runs, threads=threads, nproc=nproc) | {"repeat": repeat}
            rows.append(row)
            print({k: v for k, v in row.items() if k != "valid"}, flush=True)

    def per_epoch(threads: int, nproc: int) -> list[float]:
        return [
            r["seconds_per_epoch"]
            for r in rows
            if r["threads_per_process"] == threads and r["processes"] == nproc
        ]

    base = per_epoch(1, 1)
    write_result(
        args,
        rows,
        protocol=f"ML-100K leave-one-out SASRec defaults, {args.epochs} fixed epochs",
        models={"sasrec": CONFIG},
        summary={
            "speed_up_2_processes": [a / b for a, b in zip(base, per_epoch(1, 2), strict=True)],
            "speed_up_2_threads": [a / b for a, b in zip(base, per_epoch(2, 1), strict=True)],
        },
    )


if __name__ == "__main__":
    main()
