"""SASRec with an adversary on a sensitive attribute: leakage from user vectors vs NDCG@10.

Leave-one-out on ML-100K, full ranking, training + validation items excluded at test time; the
leakage probe (5-fold logistic regression) reads the user representations the model scores with.

    .venv/bin/python benchmarks/mitigation_adversary.py --data-dir ../shared/datasets/ml-100k \
        --lams 0 1 3 --out benchmarks/results/adversary_ml-100k_sasrec.json
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from equirec.data.sources import load_dataset
from equirec.data.splits import split_dataset
from equirec.evaluation.evaluator import evaluate
from equirec.fairness.leakage import leakage_probe
from equirec.mitigation.inprocessing import AdversarialDebiasing
from equirec.models.sequential import SASRec


def one(
    data_dir: str, attribute: str, lam: float, seed: int, epochs: int, disc_steps: int = 0
) -> dict[str, float]:
    data = load_dataset("ml-100k", data_dir=data_dir)
    split = split_dataset(data, method="loo", seed=seed)
    model = SASRec(seed=seed, epochs=epochs, verbose=False)
    if lam > 0:
        model.add_loss_term(
            AdversarialDebiasing.from_dataset(
                split.train, attributes=attribute, dim=64, lam=lam, disc_steps=disc_steps
            )
        )
    t0 = time.perf_counter()
    model.fit(split.train, valid=split.valid)
    seconds = time.perf_counter() - t0
    history = split.train.history().concat(split.valid.history())
    result = evaluate(model, test=split.test, history=history, ks=(10,))
    users = np.flatnonzero(history.lengths() > 0)
    reps = model.user_representations(users, history).numpy()
    labels = data.user_attributes[attribute].reindex(data.user_ids[users]).to_numpy()
    leak = leakage_probe(reps, labels, n_boot=500, seed=seed)
    return {
        "lam": lam,
        "disc_steps": disc_steps,
        "seed": seed,
        "ndcg@10": result.overall["ndcg@10"],
        "auc": leak.auc,
        "auc_ci_low": leak.ci_low,
        "auc_ci_high": leak.ci_high,
        "epochs": model.training_log_.epochs,
        "best_epoch": model.training_log_.best_epoch,
        "train_seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="../shared/datasets/ml-100k")
    parser.add_argument("--attribute", default="gender")
    parser.add_argument("--lams", type=float, nargs="+", default=[0.0, 1.0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--disc-steps", type=int, default=0)
    parser.add_argument("--out")
    args = parser.parse_args()
    rows = []
    for lam in args.lams:
        rows.append(
            one(args.data_dir, args.attribute, lam, args.seed, args.epochs, args.disc_steps)
        )
        print(json.dumps(rows[-1]), flush=True)
        if args.out:
            with open(args.out, "w") as fh:
                json.dump(rows, fh, indent=2)


if __name__ == "__main__":
    main()
