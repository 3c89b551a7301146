"""SASRec with an adversary on a sensitive attribute: leakage from user vectors vs NDCG@10.

Leave-one-out on ML-100K, full ranking, training + validation items excluded at test time; the
leakage probe (5-fold logistic regression) reads the user representations the model scores with.

    .venv/bin/python benchmarks/mitigation_adversary.py --data-dir ../shared/datasets/ml-100k \
        --lams 0 1 3 --seeds 0 1 2 --positions all --param epochs=60 \
        --out benchmarks/results/adversary_ml-100k_sasrec.json
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from equirec.data.dataset import Dataset
from equirec.data.sources import load_dataset
from equirec.data.splits import Split, split_dataset
from equirec.evaluation.evaluator import evaluate
from equirec.fairness.leakage import leakage_probe
from equirec.mitigation.inprocessing import AdversarialDebiasing
from equirec.models.base import Recommender
from equirec.models.sequential import SASRec
from equirec.workflows.rundir import open_run


def measure(
    model: Recommender, data: Dataset, split: Split, attribute: str, seed: int
) -> dict[str, Any]:
    """Test NDCG@10 and the probe's leakage AUC from the prediction-time user vectors."""
    history = split.train.history().concat(split.valid.history())
    result = evaluate(model, test=split.test, history=history, ks=(10,))
    users = np.flatnonzero(history.lengths() > 0)
    reps = model.user_representations(users, history).numpy()  # type: ignore[attr-defined]
    labels = data.user_attributes[attribute].reindex(data.user_ids[users]).to_numpy()
    leak = leakage_probe(reps, labels, n_boot=500, seed=seed)
    log = getattr(model, "training_log_", None)
    return {
        "ndcg@10": result.overall["ndcg@10"],
        "auc": leak.auc,
        "auc_ci_low": leak.ci_low,
        "auc_ci_high": leak.ci_high,
        "epochs": log and log.epochs,
        "best_epoch": log and log.best_epoch,
    }


def stored(run_dir: str, attribute: str) -> dict[str, Any]:
    """The same measurements of a run folder's saved model (the λ = 0 baseline, no retraining)."""
    loaded = open_run(run_dir)
    model = Recommender.load(Path(run_dir) / "model")
    metrics = json.loads((Path(run_dir) / "metrics.json").read_text())
    return {
        "lam": 0.0,
        "run": run_dir,
        "seed": loaded.config.seed,
        **measure(model, loaded.dataset, loaded.split, attribute, loaded.config.seed),
        "epochs": metrics["training"]["epochs"],
        "best_epoch": metrics["training"]["best_epoch"],
        "train_seconds": metrics["train_seconds"],
    }


def one(
    data_dir: str,
    attribute: str,
    lam: float,
    seed: int,
    *,
    disc_steps: int = 0,
    positions: str = "last",
    model_params: dict[str, Any] | None = None,
) -> dict[str, Any]:
    data = load_dataset("ml-100k", data_dir=data_dir)
    split = split_dataset(data, method="loo", seed=seed)
    model = SASRec(seed=seed, **(model_params or {}))
    if lam > 0:
        model.add_loss_term(
            AdversarialDebiasing.from_dataset(
                split.train,
                attributes=attribute,
                dim=model.dim,
                lam=lam,
                disc_steps=disc_steps,
                positions=positions,
            )
        )
    t0 = time.perf_counter()
    model.fit(split.train, valid=split.valid)
    seconds = time.perf_counter() - t0
    return {
        "lam": lam,
        "disc_steps": disc_steps,
        "positions": positions,
        "model_params": model_params or {},
        "seed": seed,
        **measure(model, data, split, attribute, seed),
        "train_seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="../shared/datasets/ml-100k")
    parser.add_argument("--attribute", default="gender")
    parser.add_argument("--lams", type=float, nargs="*", default=[0.0, 1.0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--disc-steps", type=int, default=0)
    parser.add_argument("--positions", choices=["last", "all"], default="last")
    parser.add_argument(
        "--param", action="append", default=[], help="SASRec key=value (JSON value)"
    )
    parser.add_argument(
        "--baseline-runs",
        nargs="*",
        default=[],
        help="run folders of the unmitigated model (measured as λ = 0, not retrained)",
    )
    parser.add_argument("--out")
    args = parser.parse_args()
    params = {}
    for item in args.param:
        key, _, value = item.partition("=")
        params[key] = json.loads(value)
    rows = [stored(run, args.attribute) for run in args.baseline_runs]
    for row in rows:
        print(json.dumps(row), flush=True)
    for seed in args.seeds:
        for lam in args.lams:
            rows.append(
                one(
                    args.data_dir,
                    args.attribute,
                    lam,
                    seed,
                    disc_steps=args.disc_steps,
                    positions=args.positions,
                    model_params=params,
                )
            )
            print(json.dumps(rows[-1]), flush=True)
            if args.out:
                tmp = Path(args.out).with_suffix(".tmp")
                tmp.write_text(json.dumps(rows, indent=2))
                os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
