"""The privacy–utility–fairness frontier of SASRec on ML-100K: NDCG@10, membership inference and
user-group gaps at several ε against ε = ∞.

Leave-one-out, full ranking, training + validation items excluded. Every model, private or not,
trains the same fixed number of epochs and keeps its last weights (private training cannot choose
an epoch by the same users' validation items, so the non-private reference does not either).
User-level DP-SGD (``privacy = {epsilon = ε}``, δ = 1 / (10 · users), clipping norm ``--clip``,
sampling rate ``batch_size / users`` unless ``--sample-rate``).

With ``--holdout-users S`` a share ``S`` of the users is held out of training entirely (the
non-members), and ``--audit`` audits every run (``equirec audit``: NDCG@10 gaps by gender and age
band with simultaneous intervals, attribute leakage, and the rank membership attack, plus the
shadow attack with ``--shadows N``); then the change of each gap from ε = ∞ to every ε, on the
same test users of the same seed, gets a paired bootstrap interval.

    .venv/bin/python benchmarks/privacy_frontier.py --epsilons 1 3 8 inf --seeds 0 1 2 \\
        --holdout-users 0.1 --audit --jobs 2 --out benchmarks/results/privacy_frontier.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cold_start import mean_std, write_result

ML_100K = {"dataset": "ml-100k", "data_dir": "../shared/datasets/ml-100k"}
ATTRIBUTES = ("gender", "age")


def model(args: argparse.Namespace, epsilon: float) -> dict[str, Any]:
    params: dict[str, Any] = {
        "name": "sasrec",
        "epochs": args.epochs,
        "eval_every": args.epochs,  # validated once, at the end: the last weights are kept
        "max_len": 50,
        "batch_size": 64,
        "lr": args.lr,
    }
    if math.isfinite(epsilon):
        params["privacy"] = {
            "epsilon": epsilon,
            "sample_rate": args.sample_rate,
            "max_grad_norm": args.clip,
        }
    return params | dict(args.set)


def setting(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` with a JSON value (a bare word is a string)."""
    key, _, value = text.partition("=")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def folder(args: argparse.Namespace, epsilon: float, seed: int) -> Path:
    return args.runs / f"eps{epsilon:g}-q{args.sample_rate}-lr{args.lr:g}{args.tag}-seed{seed}"


def one(args: argparse.Namespace, epsilon: float, seed: int) -> dict[str, Any]:
    """Train (and audit) one point; its row."""
    import torch

    torch.set_num_threads(1)
    from equirec.workflows.audit import audit_run
    from equirec.workflows.run import run

    t0 = time.perf_counter()
    out = folder(args, epsilon, seed)
    split: dict[str, Any] = {"method": "loo"}
    if args.holdout_users:
        split["holdout_users"] = args.holdout_users
    config = {"seed": seed, "out": str(out), "data": ML_100K, "split": split}
    metrics = run({**config, "model": model(args, epsilon)}, overwrite=True).metrics
    row: dict[str, Any] = {
        "epsilon_target": epsilon,
        "seed": seed,
        "ndcg@10": metrics["overall"]["ndcg@10"],
        "privacy": (metrics.get("training") or {}).get("privacy"),
        "train_seconds": metrics["train_seconds"],
    }
    if args.audit:
        report = audit_run(
            out, attributes=list(ATTRIBUTES), shadows=args.shadows, n_boot=1000
        ).report
        row["gaps"] = {
            a: {
                key: report["users"][a]["ndcg@10"][key]
                for key in ("difference", "difference_ci_low", "difference_ci_high", "p_value")
            }
            for a in ATTRIBUTES
        }
        row["leakage"] = {
            a: {
                key: report["leakage"].get(a, {}).get("representations", {}).get(key)
                for key in ("auc", "ci_low", "ci_high")
            }
            for a in ATTRIBUTES
        }
        row["membership"] = report["privacy"]
    row["seconds"] = time.perf_counter() - t0
    return row


def gap_change(
    args: argparse.Namespace, epsilon: float, seed: int, *, n_boot: int = 2000
) -> dict[str, Any]:
    """The change of each attribute's signed NDCG@10 gap from ε = ∞ to ``epsilon`` (same seed,
    same test users), with a paired bootstrap interval over users resampled within groups."""
    from equirec.data import load_dataset

    users = load_dataset("ml-100k", data_dir=ML_100K["data_dir"]).user_attributes
    assert users is not None
    base = pd.read_csv(folder(args, math.inf, seed) / "per_user.csv")
    dp = pd.read_csv(folder(args, epsilon, seed) / "per_user.csv")
    both = base[["user", "ndcg@10"]].merge(dp[["user", "ndcg@10"]], on="user", suffixes=("", "_dp"))
    both["user"] = both["user"].astype(str)
    attrs = users.reset_index()
    attrs[attrs.columns[0]] = attrs[attrs.columns[0]].astype(str)
    both = both.merge(attrs, left_on="user", right_on=attrs.columns[0])
    median_age = float(both["age"].median())
    groups = {
        "gender": (both["gender"] == "M").to_numpy(),
        "age": (both["age"] < median_age).to_numpy(),
    }
    labels = {"gender": ("M", "F"), "age": (f"under {median_age:g}", f"{median_age:g}+")}
    rng = np.random.default_rng(seed)
    delta = (both["ndcg@10_dp"] - both["ndcg@10"]).to_numpy()
    out: dict[str, Any] = {}
    for name, first in groups.items():
        a, b = np.flatnonzero(first), np.flatnonzero(~first)
        change = delta[a].mean() - delta[b].mean()  # (gap under DP) - (gap without)
        boots = np.array(
            [
                delta[rng.choice(a, len(a))].mean() - delta[rng.choice(b, len(b))].mean()
                for _ in range(n_boot)
            ]
        )
        gap = both["ndcg@10"].to_numpy()
        gap_dp = both["ndcg@10_dp"].to_numpy()
        out[name] = {
            "groups": labels[name],
            "gap": float(gap[a].mean() - gap[b].mean()),
            "gap_dp": float(gap_dp[a].mean() - gap_dp[b].mean()),
            "change": float(change),
            "ci_low": float(np.quantile(boots, 0.025)),
            "ci_high": float(np.quantile(boots, 0.975)),
        }
    return out


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
    parser.add_argument("--holdout-users", type=float, default=0.0, help="share never trained on")
    parser.add_argument("--audit", action="store_true", help="audit gaps, leakage, membership")
    parser.add_argument("--shadows", type=int, default=0, help="shadow models of each audit")
    parser.add_argument("--jobs", type=int, default=1, help="points trained at once (1 thread)")
    parser.add_argument("--tag", default="", help="added to the run folders' names")
    parser.add_argument("--runs", type=Path, default=Path(".bench/runs/privacy"))
    parser.add_argument(
        "--out", type=Path, default=Path("benchmarks/results/privacy_frontier.json")
    )
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    points = [(e, s) for e in args.epsilons for s in args.seeds]
    rows: list[dict[str, Any]] = []

    def save(changes: dict[str, Any] | None = None) -> None:
        order = {p: i for i, p in enumerate(points)}
        rows.sort(key=lambda r: order[(r["epsilon_target"], r["seed"])])
        eps = list(dict.fromkeys(r["epsilon_target"] for r in rows))
        summary: dict[str, Any] = {
            f"{e:g}": {
                "ndcg@10": mean_std([r["ndcg@10"] for r in rows if r["epsilon_target"] == e])
            }
            for e in eps
        }
        for e in eps:
            chosen = [r for r in rows if r["epsilon_target"] == e]
            if args.audit:
                summary[f"{e:g}"]["membership_auc"] = mean_std(
                    [r["membership"]["rank"]["auc"] for r in chosen if r.get("membership")]
                )
                for a in ATTRIBUTES:
                    summary[f"{e:g}"][f"{a}_gap"] = mean_std(
                        [r["gaps"][a]["difference"] for r in chosen]
                    )
                    leaks = [r["leakage"][a]["auc"] for r in chosen if r["leakage"][a]["auc"]]
                    if leaks:  # a numeric attribute (age) is probed by its bands, if at all
                        summary[f"{e:g}"][f"{a}_leakage_auc"] = mean_std(leaks)
        write_result(
            args,
            rows,
            protocol="ML-100K leave-one-out SASRec, fixed epochs, last weights; user-level DP-SGD"
            + (
                f"; {args.holdout_users:g} of the users held out of training"
                if args.holdout_users
                else ""
            ),
            models={f"{e:g}": model(args, e) for e in args.epsilons},
            summary=summary | ({"gap_change": changes} if changes else {}),
        )

    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(one, args, e, s): (e, s) for e, s in points}
        for future in futures:
            row = future.result()
            rows.append(row)
            spent = row["privacy"]
            print(
                f"ε {row['epsilon_target']:g} seed {row['seed']}: NDCG@10 {row['ndcg@10']:.4f}"
                + (
                    f", ε spent {spent['epsilon']:.3g}, σ {spent['noise_multiplier']:.3g}"
                    if spent
                    else ""
                )
                + (
                    f", membership AUC {row['membership']['rank']['auc']:.3f}"
                    if row.get("membership")
                    else ""
                )
                + f"; {row['seconds']:.0f} s",
                flush=True,
            )
            save()
    if args.audit and math.inf in args.epsilons:
        changes = {
            f"{e:g}": {str(s): gap_change(args, e, s) for s in args.seeds}
            for e in args.epsilons
            if math.isfinite(e)
        }
        save(changes)


if __name__ == "__main__":
    main()
