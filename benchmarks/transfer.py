"""Transfer through content: a content SASRec trained on movielens-small starts one on ML-100K.

The source is trained on movielens-small (leave-one-out). On ML-100K (leave-one-out, full ranking,
training + validation items excluded) it is used zero-shot (``epochs=0``: no ML-100K training,
every item embedded from its title, genres and year) and fine-tuned (``init_from``), beside the
same content SASRec and an ID-only SASRec trained from scratch, content-kNN and popularity. Both
datasets share no item ids: only the content (all-MiniLM-L6-v2 title embeddings, genres, year)
carries over. The fine-tuned and scratch models report the epoch of their best validation score,
which says how much sooner a transferred start converges.

    .venv/bin/python benchmarks/transfer.py --seeds 0 1 2 --out benchmarks/results/transfer.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from cold_start import CONTENT, mean_std, write_result
from equirec.workflows.run import run

# max_len 50 keeps the movielens-small source quick; every SASRec here has the same architecture
# (init_from requires it)
SASREC = {"name": "sasrec", "epochs": 60, "min_epochs": 10, "patience": 5, "max_len": 50}
CONTENT_SASREC = {**SASREC, "content_attributes": CONTENT, "fusion": "add", "id_dropout": 0.3}
ML_100K = {"dataset": "ml-100k", "data_dir": "../shared/datasets/ml-100k"}
TARGETS: dict[str, dict[str, Any]] = {
    "zero-shot": {**CONTENT_SASREC, "epochs": 0},
    "fine-tuned": CONTENT_SASREC,
    "content-scratch": CONTENT_SASREC,
    "id-scratch": SASREC,
    "contentknn": {"name": "contentknn", "content_attributes": CONTENT},
    "pop": {"name": "pop"},
}
FROM_SOURCE = {"zero-shot", "fine-tuned"}
SEEDED = {"fine-tuned", "content-scratch", "id-scratch"}


def train(data: dict[str, Any], model: dict[str, Any], seed: int, out: Path) -> dict[str, Any]:
    """One leave-one-out run; its test metrics, training log summary and wall time."""
    config = {"seed": seed, "out": str(out), "data": data, "split": {"method": "loo"}}
    t0 = time.perf_counter()
    metrics = run({**config, "model": model}, overwrite=True).metrics
    training = metrics.get("training") or {}
    return {
        "seconds": time.perf_counter() - t0,
        "ndcg@10": metrics["overall"]["ndcg@10"],
        "hit@10": metrics["overall"]["hit@10"],
        "best_epoch": training.get("best_epoch"),
        "epochs": training.get("epochs"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--targets", nargs="+", default=list(TARGETS))
    parser.add_argument("--runs", type=Path, default=Path(".bench/runs/transfer"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/transfer.json"))
    args = parser.parse_args()
    source_dir = args.runs / "source-movielens-small"
    source = train({"dataset": "movielens-small"}, CONTENT_SASREC, 0, source_dir)
    print(f"source (movielens-small): NDCG@10 {source['ndcg@10']:.4f}", flush=True)
    rows: list[dict[str, Any]] = [{"target": "source", "seed": 0, **source}]
    for target in args.targets:
        model = dict(TARGETS[target])
        if target in FROM_SOURCE:
            model["init_from"] = str(source_dir)
        for seed in args.seeds if target in SEEDED else args.seeds[:1]:
            row = train(ML_100K, model, seed, args.runs / f"{target}-seed{seed}")
            rows.append({"target": target, "seed": seed, **row})
            print(
                f"ML-100K {target} seed {seed}: NDCG@10 {row['ndcg@10']:.4f}, best epoch "
                f"{row['best_epoch']}; {row['seconds']:.0f} s",
                flush=True,
            )
            write_result(
                args,
                rows,
                protocol="source: movielens-small, leave-one-out; target: ML-100K, "
                "leave-one-out, full ranking, training + validation items excluded",
                models={"source": CONTENT_SASREC, **TARGETS},
                summary=summary(rows),
            )
    print(json.dumps(summary(rows), indent=1))


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and spread of NDCG@10 and of the best epoch per target."""
    out: dict[str, Any] = {}
    for target in dict.fromkeys(row["target"] for row in rows):
        mine = [row for row in rows if row["target"] == target]
        out[target] = {
            "seeds": [row["seed"] for row in mine],
            "ndcg@10": mean_std([row["ndcg@10"] for row in mine]),
            "best_epoch": mean_std([row["best_epoch"] or 0 for row in mine]),
        }
    return out


if __name__ == "__main__":
    main()
