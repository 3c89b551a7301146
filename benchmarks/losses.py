"""Full cross-entropy against sampled softmax and gBCE: SASRec on ML-100K, several seeds.

Leave-one-out, full ranking, training + validation items excluded; SASRec's defaults (early
stopping on validation NDCG@10) but ``max_len`` (default 50, for time), with only the loss
changed: full softmax cross-entropy, sampled softmax over 256 (or 1,024) uniform negatives,
over 256 popularity-sampled negatives with the logQ correction, and gBCE (256 negatives,
t = 0.75); negatives drawn for every position, or (``-shared``) once per batch.

    .venv/bin/python benchmarks/losses.py --seeds 0 1 2 --jobs 2 \\
        --out benchmarks/results/losses.json
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from cold_start import mean_std, write_result

ML_100K = {"dataset": "ml-100k", "data_dir": "../shared/datasets/ml-100k"}
SHARED = {"shared_negatives": True}
LOSSES: dict[str, dict[str, Any]] = {
    "ce": {},
    "sampled-uniform": {"loss": "sampled", "n_negatives": 256},
    "sampled-uniform-1024": {"loss": "sampled", "n_negatives": 1024},
    "sampled-popularity-logq": {"loss": "sampled", "n_negatives": 256, "negatives": "popularity"},
    "gbce": {"loss": "gbce", "n_negatives": 256, "gbce_t": 0.75},
    # gBCE learns slowly: validation still rises at epoch 200, and an early dip stops seed 0
    "gbce-long": {"loss": "gbce", "n_negatives": 256, "epochs": 400, "min_epochs": 150},
    "sampled-uniform-shared": {"loss": "sampled", "n_negatives": 256, **SHARED},
    "sampled-popularity-logq-shared": {
        "loss": "sampled",
        "n_negatives": 256,
        "negatives": "popularity",
        **SHARED,
    },
    "gbce-shared": {"loss": "gbce", "n_negatives": 256, "gbce_t": 0.75, **SHARED},
}


def one(name: str, seed: int, runs: Path, max_len: int) -> dict[str, Any]:
    import torch

    torch.set_num_threads(1)
    from equirec.workflows.run import run

    t0 = time.perf_counter()
    config = {
        "seed": seed,
        "out": str(runs / f"{name}-seed{seed}"),
        "data": ML_100K,
        "model": {"name": "sasrec", "max_len": max_len, **LOSSES[name]},
    }
    metrics = run(config, overwrite=True).metrics
    log = metrics["training"]
    return {
        "loss": name,
        "seed": seed,
        "ndcg@10": metrics["overall"]["ndcg@10"],
        "hit@10": metrics["overall"]["hit@10"],
        "best_epoch": log["best_epoch"],
        "epochs": log["epochs"],
        "seconds_per_epoch": log["seconds"] / max(1, log["epochs"]),
        "seconds": time.perf_counter() - t0,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--losses", nargs="+", default=list(LOSSES))
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--max-len", type=int, default=50)
    parser.add_argument("--runs", type=Path, default=Path(".bench/runs/losses"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/losses.json"))
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = [
            pool.submit(one, n, s, args.runs, args.max_len) for n in args.losses for s in args.seeds
        ]
        for future in futures:
            rows.append(future.result())
            print(rows[-1], flush=True)
            write_result(
                args,
                rows,
                protocol="ML-100K leave-one-out SASRec defaults (early stopping), loss changed",
                models=LOSSES,
                summary={
                    n: {
                        key: mean_std([r[key] for r in rows if r["loss"] == n])
                        for key in ("ndcg@10", "seconds_per_epoch", "best_epoch")
                    }
                    for n in dict.fromkeys(r["loss"] for r in rows)
                },
            )


if __name__ == "__main__":
    main()
