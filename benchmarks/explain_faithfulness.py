"""Faithfulness of explanations of SASRec on ML-100K: validity, size, deletion curves, latency.

For every run folder (a trained SASRec on ML-100K, one per seed), every test user's first
recommendation of the top 10 is explained by a counterfactual (``equirec explain --all``):
validity (removing the set found really takes the item out of the top 10), set size, time per
explanation, and both by gender and age group with the audit's gap test. On a sample of users,
the past items are then ordered by leave-one-out, integrated gradients, attention and at random
(among the items the model reads), and removed in that order: the deletion curve follows the
item's score and rank, and the share of items still in the top 10 after 1..10 removals (its area:
lower = more faithful). Each attribution's time is recorded.

    .venv/bin/python benchmarks/explain_faithfulness.py \\
        --runs .bench/runs/transfer/id-scratch-seed0 .bench/runs/transfer/id-scratch-seed1 \\
               .bench/runs/transfer/id-scratch-seed2 --out benchmarks/results/explain.json
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from cold_start import mean_std, write_result
from equirec.explain.attribution import attribute, reads_last
from equirec.explain.faithfulness import deletion_curve, deletion_summary, order_by
from equirec.workflows.explain import Explainer, explain_users

K = 10
ORDERS = ("loo", "ig", "attention", "random")


def percentiles(seconds: list[float] | np.ndarray) -> dict[str, float]:
    values = np.asarray(seconds, dtype=float) * 1000
    return {"p50_ms": float(np.percentile(values, 50)), "p99_ms": float(np.percentile(values, 99))}


def one_run(
    folder: Path, sample: int, steps: int, attributes: list[str], limit: int | None
) -> dict[str, Any]:
    t0 = time.perf_counter()
    explainer = Explainer(folder)
    users = list(dict.fromkeys(explainer.folder.recommendations["user"]))[:limit]
    quality = explain_users(
        explainer.folder,
        users=users,
        k=K,
        method="counterfactual",
        attributes=attributes,
        write=False,
    )
    table = quality.per_user
    valid = table["valid"].astype(bool)
    result: dict[str, Any] = {
        "run": str(folder),
        "users": len(table),
        "validity": float(valid.mean()),
        "size_median": float(table["size"].median()),
        "size_median_valid": float(table.loc[valid, "size"].median()),
        "size_mean": float(table["size"].mean()),
        "size_share": {str(n): float((table["size"] == n).mean()) for n in range(1, 11)},
        "counterfactual_latency": percentiles(table["seconds"]),
        "validity_by_max_size": {
            str(n): float((valid & (table["size"] <= n)).mean()) for n in (1, 2, 3, 5, 10)
        },
        "validity_by_history": {
            band: float(valid[mask].mean()) if mask.any() else None
            for band, mask in (
                ("<= 50 (all read)", table["history"] <= 50),
                ("51-100", (table["history"] > 50) & (table["history"] <= 100)),
                ("> 100", table["history"] > 100),
            )
        },
        "per_user": {
            key: table[key].tolist() for key in ("valid", "size", "history", "rank_after")
        },
        "gaps": quality.gaps.to_dict("records"),
        "counterfactual_seconds": time.perf_counter() - t0,
    }
    print(
        f"{folder.name}: {result['validity']:.1%} valid, median size {result['size_median']:g}, "
        f"{result['counterfactual_latency']['p50_ms']:.0f} ms p50",
        flush=True,
    )
    model = explainer.model
    window = reads_last(model)
    rng = np.random.default_rng(0)
    users = list(table["user"])
    chosen = [
        users[i]
        for i in sorted(rng.choice(len(users), size=min(sample, len(users)), replace=False))
    ]
    curves: dict[str, list[Any]] = {name: [] for name in ORDERS}
    seconds: dict[str, list[float]] = {name: [] for name in ORDERS}
    top: dict[str, list[list[int]]] = {name: [] for name in ORDERS}
    for user in chosen:
        case = explainer.case(user=user, k=K)
        history = case.history
        start = 0 if window is None else max(len(history) - window, 0)

        def score(histories: Any, user: int = case.user) -> np.ndarray:
            return model.score_histories(histories, user=user).numpy()

        for name in ORDERS:
            t = time.perf_counter()
            if name == "random":
                order = start + rng.permutation(len(history) - start)
            else:
                values = attribute(model, history, case.item, method=name, user=case.user)
                order = order_by(values)
            seconds[name].append(time.perf_counter() - t)
            top[name].append(sorted(int(history[p]) for p in order[:5]))
            curve = deletion_curve(
                score, history, case.item, order, excluded=case.excluded, steps=steps
            )
            curves[name].append(curve)
    result["deletion"] = {
        name: {**deletion_summary(curves[name], k=K), "latency": percentiles(seconds[name])}
        for name in ORDERS
    }
    result["sample"] = len(chosen)
    result["explained"] = {
        "users": [str(u) for u in table["user"]],
        "items": [str(i) for i in table["item"]],
        "counterfactual": [str(r) for r in table["reasons"]],
        "sample_users": [str(u) for u in chosen],
        "top5": top,
    }
    print(
        "  deletion area (share in top 10 over 1..10 removals): "
        + ", ".join(f"{n} {result['deletion'][n]['area'][0]:.3f}" for n in ORDERS),
        flush=True,
    )
    return result


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def stability(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean Jaccard overlap of the items named for the same user and item by two seeds' models
    (users whose first recommendation is the same item in both), per pair of seeds."""
    out: dict[str, Any] = {}
    for i in range(len(rows)):
        for j in range(i + 1, len(rows)):
            a, b = rows[i]["explained"], rows[j]["explained"]
            item_a = dict(zip(a["users"], a["items"], strict=True))
            item_b = dict(zip(b["users"], b["items"], strict=True))
            same = [u for u in item_a if item_b.get(u) == item_a[u]]
            sets_a = dict(zip(a["users"], a["counterfactual"], strict=True))
            sets_b = dict(zip(b["users"], b["counterfactual"], strict=True))
            pair = {
                "same_item_users": len(same),
                "counterfactual": float(
                    np.mean([jaccard(set(sets_a[u].split()), set(sets_b[u].split())) for u in same])
                )
                if same
                else None,
            }
            for name in ORDERS[:-1]:  # not random
                top_a = dict(zip(a["sample_users"], a["top5"][name], strict=True))
                top_b = dict(zip(b["sample_users"], b["top5"][name], strict=True))
                shared = [u for u in top_a if u in same and u in top_b]
                pair[f"top5_{name}"] = (
                    float(
                        np.mean(
                            [
                                jaccard(set(map(str, top_a[u])), set(map(str, top_b[u])))
                                for u in shared
                            ]
                        )
                    )
                    if shared
                    else None
                )
            out[f"{i}-{j}"] = pair
    return out


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "stability": stability(rows),
        "validity": mean_std([r["validity"] for r in rows]),
        "size_median": mean_std([r["size_median"] for r in rows]),
        "counterfactual_p50_ms": mean_std([r["counterfactual_latency"]["p50_ms"] for r in rows]),
        "counterfactual_p99_ms": mean_std([r["counterfactual_latency"]["p99_ms"] for r in rows]),
    }
    for name in ORDERS:
        out[f"area_{name}"] = mean_std([r["deletion"][name]["area"][0] for r in rows])
        out[f"p50_ms_{name}"] = mean_std([r["deletion"][name]["latency"]["p50_ms"] for r in rows])
        out[f"p99_ms_{name}"] = mean_std([r["deletion"][name]["latency"]["p99_ms"] for r in rows])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, nargs="+", required=True)
    parser.add_argument("--sample", type=int, default=200, help="users for the deletion curves")
    parser.add_argument("--steps", type=int, default=10, help="removals followed")
    parser.add_argument("--attributes", nargs="+", default=["gender", "age"])
    parser.add_argument("--limit", type=int, help="explain only the first N test users")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/explain.json"))
    args = parser.parse_args()
    rows = []
    for folder in args.runs:
        rows.append(one_run(folder, args.sample, args.steps, args.attributes, args.limit))
        write_result(
            args,
            rows,
            protocol="ML-100K leave-one-out SASRec runs; every test user's first item of the "
            "top 10 (training + validation items excluded, as the run ranked)",
            models={},
            summary=summary(rows),
        )


if __name__ == "__main__":
    main()
