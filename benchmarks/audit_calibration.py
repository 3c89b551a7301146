"""Calibration of the audit's gap intervals and tests on synthetic data without planted bias.

For every seed: a synthetic log whose user groups behave alike (``user_bias=0``) and whose
providers are treated alike (``provider_exposure_bias=0``), a popularity (or EASE) ranking, and
an audit. Reports how often the 95% interval of the user-group NDCG gap contains 0 (should be
about 95%) and how often the permutation test of each gap rejects at 5% (should be about 5%).

    .venv/bin/python benchmarks/audit_calibration.py --seeds 200 \
        --out benchmarks/results/audit_calibration_pop.json
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from equirec.data.splits import split_dataset
from equirec.data.synthetic import make_synthetic
from equirec.fairness.audit import audit
from equirec.fairness.inputs import AuditData
from equirec.models.ease import EASE
from equirec.models.popularity import Popularity


def one(seed: int, model_name: str, n_users: int) -> dict[str, float | bool]:
    data = make_synthetic(
        n_users=n_users,
        n_items=150,
        n_interactions_per_user=15,
        user_bias=0.0,
        provider_exposure_bias=0.0,
        seed=seed,
    )
    split = split_dataset(data, method="loo", seed=seed)
    model = Popularity() if model_name == "pop" else EASE(l2=50.0, device="cpu")
    model.fit(split.train)
    users = np.flatnonzero(split.test.history().lengths() > 0)
    items, scores = model.topk(users, k=10, history=split.train.history(), exclude_seen=True)
    recs = model.lists_frame(users, items, scores)
    report = audit(
        AuditData.from_split(split, recommendations=recs, history="train"),
        k=10,
        metrics=("ndcg",),
        attributes=["group"],
        item_attributes=["provider"],
        leakage=False,
        n_boot=500,
        n_permutations=500,
        seed=seed,
    ).report
    user = report["users"]["group"]["ndcg@10"]
    item = report["items"]["groups"]["provider"]
    return {
        "user_ci_contains_0": user["difference_ci_low"] <= 0 <= user["difference_ci_high"],
        "user_p": user["p_value"],
        "item_p": item["p_value"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--model", choices=["pop", "ease"], default="pop")
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--out")
    args = parser.parse_args()
    t0 = time.perf_counter()
    rows = [one(seed, args.model, args.users) for seed in range(args.seeds)]
    covered = np.mean([r["user_ci_contains_0"] for r in rows])
    n = len(rows)
    result = {
        "seeds": n,
        "model": args.model,
        "users": args.users,
        "user_gap_ci95_contains_0": float(covered),
        "user_gap_ci95_contains_0_se": float(np.sqrt(covered * (1 - covered) / n)),
        "user_perm_reject_5pct": float(np.mean([r["user_p"] < 0.05 for r in rows])),
        "item_perm_reject_5pct": float(np.mean([r["item_p"] < 0.05 for r in rows])),
        "seconds": time.perf_counter() - t0,
    }
    print(json.dumps(result, indent=2))
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(result, fh, indent=2)


if __name__ == "__main__":
    main()
