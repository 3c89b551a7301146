"""The privacy–utility frontier of SASRec on ML-100K: NDCG@10 at several ε against ε = ∞.

Leave-one-out, full ranking, training + validation items excluded. Every model, private or not,
trains the same fixed number of epochs and keeps its last weights (private training cannot choose
an epoch by the same users' validation items, so the non-private reference does not either).
User-level DP-SGD (``privacy = {epsilon = ε}``, δ = 1 / (10 · users), clipping norm 1, sampling
rate ``batch_size / users``).

    .venv/bin/python benchmarks/privacy_frontier.py --epsilons 8 inf --seeds 0 \\
        --out benchmarks/results/privacy_frontier.json
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

from cold_start import mean_std, write_result
from equirec.workflows.run import run

ML_100K = {"dataset": "ml-100k", "data_dir": "../shared/datasets/ml-100k"}


def model(
    epsilon: float,
    epochs: int,
    sample_rate: float | None = None,
    lr: float = 2e-3,
    overrides: dict[str, Any] | None = None,
    clip: float = 1.0,
) -> dict[str, Any]:
    params: dict[str, Any] = {
        "name": "sasrec",
        "epochs": epochs,
        "eval_every": epochs,  # validated once, at the end: the last weights are kept
        "max_len": 50,
        "batch_size": 64,
        "lr": lr,
    }
    if math.isfinite(epsilon):
        params["privacy"] = {
            "epsilon": epsilon,
            "sample_rate": sample_rate,
            "max_grad_norm": clip,
        }
    return params | (overrides or {})


def setting(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` with a JSON value (a bare word is a string)."""
    key, _, value = text.partition("=")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epsilons", type=float, nargs="+", default=[1.0, 3.0, 8.0, math.inf])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--sample-rate", type=float, help="DP sampling rate (default 64 / users)")
    parser.add_argument("--lr", type=float, default=2e-3, help="learning rate (SASRec's 2e-3)")
    parser.add_argument("--clip", type=float, default=1.0, help="DP clipping norm")
    parser.add_argument(
        "--set", type=setting, nargs="*", default=[], help="model parameters, KEY=JSON"
    )
    parser.add_argument("--tag", default="", help="added to the run folders' names")
    parser.add_argument("--runs", type=Path, default=Path(".bench/runs/privacy"))
    parser.add_argument(
        "--out", type=Path, default=Path("benchmarks/results/privacy_frontier.json")
    )
    args = parser.parse_args()
    overrides = dict(args.set)
    rows: list[dict[str, Any]] = []
    for epsilon in args.epsilons:
        for seed in args.seeds:
            t0 = time.perf_counter()
            name = f"eps{epsilon:g}-q{args.sample_rate}-lr{args.lr:g}{args.tag}-seed{seed}"
            out = args.runs / name
            config = {"seed": seed, "out": str(out), "data": ML_100K, "split": {"method": "loo"}}
            params = model(epsilon, args.epochs, args.sample_rate, args.lr, overrides, args.clip)
            metrics = run({**config, "model": params}, overwrite=True).metrics
            spent = (metrics.get("training") or {}).get("privacy")
            row = {
                "epsilon_target": epsilon,
                "seed": seed,
                "ndcg@10": metrics["overall"]["ndcg@10"],
                "privacy": spent,
                "seconds": time.perf_counter() - t0,
            }
            rows.append(row)
            print(
                f"ε {epsilon:g} seed {seed}: NDCG@10 {row['ndcg@10']:.4f}"
                + (
                    f", ε spent {spent['epsilon']:.3g}, σ {spent['noise_multiplier']:.3g}"
                    if spent
                    else ""
                )
                + f"; {row['seconds']:.0f} s",
                flush=True,
            )
            write_result(
                args,
                rows,
                protocol="ML-100K leave-one-out SASRec, fixed epochs, last weights; user-level "
                "DP-SGD",
                models={
                    f"{e:g}": model(e, args.epochs, args.sample_rate, args.lr, overrides, args.clip)
                    for e in args.epsilons
                },
                summary={
                    f"{e:g}": mean_std([r["ndcg@10"] for r in rows if r["epsilon_target"] == e])
                    for e in dict.fromkeys(r["epsilon_target"] for r in rows)
                },
            )


if __name__ == "__main__":
    main()
