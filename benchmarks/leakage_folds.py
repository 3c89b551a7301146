"""Leakage probes on a real run: how much the folds move the AUC, and the level of the test.

For an equirec run folder with a saved model (its user representations and its lists):

1. **Fold choice.** The probe of one attribute is repeated with ``--seeds`` fold seeds, once with
   a single cross-validation (``repeats=1``, the old probe) and once averaged over ``repeats=5``
   (the audit's default). Reported: the spread (max − min) of the AUC over the seeds, next to the
   width of one probe's interval.
2. **Level.** The attribute's labels are shuffled over users (no leakage by construction) and the
   probe's test (``n_permutations`` shuffles, p-value from their moments) is run ``--null``
   times; reported: the share of p-values below 0.05 (target 5%) and below 0.01.
3. **Power.** The same on the real labels: the p-value of each source.

    .venv/bin/python benchmarks/leakage_folds.py /tmp/me/sasrec --attribute gender \
        --out benchmarks/results/leakage_folds.json
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import datetime
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from equirec.fairness.inputs import AuditData
from equirec.fairness.leakage import bag_of_items, leakage_probe
from equirec.workflows.rundir import open_run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--attribute", default="gender")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--null", type=int, default=100)
    parser.add_argument("--permutations", type=int, default=19)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/leakage_folds.json"))
    args = parser.parse_args()
    started = time.perf_counter()
    run = open_run(args.run_dir)
    data = AuditData.from_split(run.split, recommendations=run.recommendations, history=run.history)
    labels = data.user_attributes[args.attribute].to_numpy()[data.list_users]
    reps = run.user_representations()
    sources = {"lists": bag_of_items(data.lists[:, :10], n_items=data.n_items)}
    if reps is not None:
        ordered = reps.reindex(data.user_ids[data.list_users])
        sources = {"representations": ordered.to_numpy(), **sources}
    rows: dict[str, dict[str, object]] = {}
    rng = np.random.default_rng(0)
    for name, x in sources.items():
        row: dict[str, object] = {}
        for repeats in (1, 5):
            aucs, widths = [], []
            for seed in range(args.seeds):
                r = leakage_probe(x, labels, seed=seed, repeats=repeats, n_boot=300)
                aucs.append(r.auc)
                widths.append(r.ci_high - r.ci_low)
            row[f"repeats={repeats}"] = {
                "auc_min": min(aucs),
                "auc_max": max(aucs),
                "spread": max(aucs) - min(aucs),
                "interval_width": float(np.mean(widths)),
            }
            print(
                f"{name:16} repeats={repeats}: AUC {min(aucs):.3f}–{max(aucs):.3f} over "
                f"{args.seeds} fold seeds; interval width {np.mean(widths):.3f}",
                flush=True,
            )
        real = leakage_probe(x, labels, n_boot=0, repeats=5, n_permutations=args.permutations)
        p_null = []
        for b in range(args.null):
            shuffled = rng.permutation(labels)
            p = leakage_probe(
                x, shuffled, n_boot=0, repeats=1, n_permutations=args.permutations, seed=b
            ).p_value
            p_null.append(float(p if p is not None else np.nan))
        p_arr = np.array(p_null)
        row["real_p_value"] = real.p_value
        row["real_auc"] = real.auc
        row["null_reject_0.05"] = float(np.mean(p_arr < 0.05))
        row["null_reject_0.01"] = float(np.mean(p_arr < 0.01))
        row["null_mean_p"] = float(np.mean(p_arr))
        print(
            f"{name:16} real AUC {real.auc:.3f} p {real.p_value:.2g}; shuffled labels: "
            f"{row['null_reject_0.05']:.1%} of p < 0.05, {row['null_reject_0.01']:.1%} < 0.01 "
            f"({args.null} probes)",
            flush=True,
        )
        rows[name] = row
    result = {
        "date": datetime.now().isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, Python {platform.python_version()}, 1 BLAS thread",
        "command": f"benchmarks/leakage_folds.py {args.run_dir} --attribute {args.attribute} "
        f"--seeds {args.seeds} --null {args.null} --permutations {args.permutations}",
        "seconds": time.perf_counter() - started,
        "sources": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"written to {args.out} in {result['seconds']:.0f} s")


if __name__ == "__main__":
    with threadpool_limits(limits=1):
        main()
