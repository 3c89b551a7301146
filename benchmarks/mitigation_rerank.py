"""Re-rankers on a trained run: accuracy cost, target unfairness and guarantees, per grid point.

Reuses the run's stored top-100 lists (no retraining); each method is swept over its strength,
and for FA*IR and DetConstSort the share of lists meeting the method's own guarantee is checked.

    .venv/bin/python benchmarks/mitigation_rerank.py RUN_DIR --out benchmarks/results/rerank.json
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

import numpy as np

from equirec.mitigation.rerank import candidates_from_frame
from equirec.mitigation.rerank.build import build
from equirec.workflows.rerank import candidate_lists
from equirec.workflows.rundir import open_run
from equirec.workflows.sweep import sweep_run

GRIDS: dict[str, tuple[dict[str, list[Any]], dict[str, Any], str]] = {
    "fair": ({"p": [0.1, 0.2, 0.3, 0.4, 0.5]}, {"alpha": 0.1}, "tail_exposure_share"),
    "detconstsort": (
        {"target": [{"head": 1 - t, "tail": t} for t in (0.1, 0.2, 0.3, 0.5)]},
        {},
        "tail_exposure_share",
    ),
    "calibrated": ({"lam": [0.3, 0.5, 0.55, 0.6, 0.65, 0.7, 0.9]}, {}, "c_kl"),
    "mmr": ({"lam": [0.9, 0.7, 0.5]}, {}, "ild"),
    "ugf": ({"epsilon": [0.01, 0.005, 0.002, 0.0]}, {"solver": "greedy"}, "ugf_ndcg"),
    "cpfair": (
        {"lambda_item": [1.0, 10.0, 100.0, 1000.0]},
        {"lambda_user": 0.0, "solver": "greedy"},
        "tail_exposure_share",
    ),
}


def guarantee(
    run_dir: str, method: str, params: dict[str, Any], k: int, depth: int | None
) -> float | None:
    """Share of lists on which FA*IR's prefix minimums / DetConstSort's counts hold."""
    if method not in ("fair", "detconstsort"):
        return None
    loaded = open_run(run_dir)
    known = loaded.known
    data = loaded.dataset
    stored = candidate_lists(loaded, depth)
    cands = candidates_from_frame(stored, user_ids=data.user_ids, item_ids=data.item_ids)
    reranker, side = build(method, params, known, cands)
    lists = reranker.rerank(cands, k=k, **side)
    if method == "fair":
        table = reranker.mtable(k)
        prot = np.where(lists >= 0, reranker.protected[np.maximum(lists, 0)], False)
        ok = (np.cumsum(prot, axis=1) >= table[None, :]).all(axis=1)
        # lists whose candidates hold too few protected items cannot meet it: count them apart
        return float(ok.mean())
    groups = reranker.item_groups
    target = np.asarray(reranker.target, dtype=float)
    codes = np.where(lists >= 0, groups[np.maximum(lists, 0)], -1)
    ok = np.ones(len(lists), dtype=bool)
    for g, share in enumerate(target):
        counts = np.cumsum(codes == g, axis=1)
        need = np.floor(share * np.arange(1, k + 1) + 1e-9)
        ok &= (counts >= need[None, :]).all(axis=1)
    return float(ok.mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir")
    parser.add_argument("--methods", nargs="+", default=list(GRIDS))
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--depth", type=int, help="candidates from the saved model's top DEPTH")
    parser.add_argument("--out")
    args = parser.parse_args()
    results = {}
    for method in args.methods:
        grid, fixed, metric = GRIDS[method]
        t0 = time.perf_counter()
        sweep = sweep_run(
            args.run_dir,
            method=method,
            grid=grid,
            fixed=fixed,
            k=args.k,
            fairness_metric=metric,
            depth=args.depth,
            write=False,
        )
        for point in sweep["points"][1:]:
            point["guarantee_met"] = guarantee(
                args.run_dir, method, {**fixed, **point["setting"]}, args.k, args.depth
            )
        sweep["seconds"] = time.perf_counter() - t0
        results[method] = sweep
        for p in sweep["points"]:
            print(
                method, p["label"], p["accuracy"], p["fairness"], p.get("guarantee_met"), flush=True
            )
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(results, fh, indent=2, default=float)


if __name__ == "__main__":
    main()
