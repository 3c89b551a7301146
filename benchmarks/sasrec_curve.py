"""One SASRec training on ML-100K with its per-epoch validation curve (for tuning schedules).

Leave-one-out, full ranking, training + validation items excluded at test time; prints one JSON
line with the test NDCG@10/HR@10, the training time and the validation NDCG@10 of every epoch::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/sasrec_curve.py \\
        '{"epochs": 80, "min_epochs": 0, "patience": 100, "lr": 0.002}' --seed 0
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from equirec.workflows.config import RunConfig
from equirec.workflows.run import run


def ml100k_config(params: dict[str, Any], *, seed: int, data_dir: str) -> RunConfig:
    """The run config of SASRec with ``params`` on ML-100K, leave-one-out."""
    return RunConfig.from_dict(
        {
            "seed": seed,
            "data": {"dataset": "ml-100k", "data_dir": data_dir},
            "split": {"method": "loo"},
            "model": {"name": "sasrec", **params},
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("params", help="SASRec parameters as a JSON object")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data-dir", default="../shared/datasets/ml-100k")
    args = parser.parse_args()
    params = json.loads(args.params)
    result = run(ml100k_config(params, seed=args.seed, data_dir=args.data_dir), write=False)
    log = result.metrics["training"]
    curve = [[int(h["epoch"]), round(h.get("valid", float("nan")), 4)] for h in log["history"]]
    print(
        json.dumps(
            {
                "params": params,
                "seed": args.seed,
                "ndcg@10": result.metrics["overall"]["ndcg@10"],
                "hit@10": result.metrics["overall"]["hit@10"],
                "train_s": result.metrics["train_seconds"],
                "epochs": log["epochs"],
                "best_epoch": log["best_epoch"],
                "best_valid": log["best_score"],
                "valid": curve,
            }
        )
    )


if __name__ == "__main__":
    main()
