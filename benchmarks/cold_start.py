"""Cold start: content-fused SASRec against ID-only SASRec, content-kNN, EASE and popularity.

Cold-item split (``--split cold-items``: leave-one-out per user, the newest ``cold_frac`` of the
items by first interaction never trained on), full ranking over the whole catalogue, training +
validation items excluded. For every dataset, model and seed it writes a run folder, reads the
cold-target / warm-target / all slices of its metrics.json, and for seed 0 the cold-user curve
(``equirec coldstart``: NDCG@10 from the last 1, 2, 3, 5, 10, 20 known items).

    .venv/bin/python benchmarks/cold_start.py --datasets ml-100k movielens-small --seeds 0 1 2 \\
        --out benchmarks/results/cold_start.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from equirec.workflows.coldstart import cold_user_curve
from equirec.workflows.run import run

SASREC = {"name": "sasrec", "epochs": 60, "min_epochs": 10, "patience": 5}
CONTENT = ["title", "genres", "year"]


def content_sasrec(fusion: str, id_dropout: float) -> dict[str, Any]:
    """SASRec with the content attributes fused by ``fusion`` and the given ID dropout."""
    return {**SASREC, "content_attributes": CONTENT, "fusion": fusion, "id_dropout": id_dropout}


MODELS: dict[str, dict[str, Any]] = {
    "sasrec-id": SASREC,
    "sasrec-content": content_sasrec("add", 0.1),
    "sasrec-content-d015": content_sasrec("add", 0.15),
    "sasrec-content-d02": content_sasrec("add", 0.2),
    "sasrec-content-d03": content_sasrec("add", 0.3),
    "sasrec-gate-d01": content_sasrec("gate", 0.1),
    "sasrec-gate-d02": content_sasrec("gate", 0.2),
    "sasrec-gate-d01-long": {**content_sasrec("gate", 0.1), "min_epochs": 30},
    "sasrec-content-long": {**content_sasrec("add", 0.1), "min_epochs": 30},
    "contentknn": {"name": "contentknn", "content_attributes": CONTENT},
    "ease": {"name": "ease"},
    "pop": {"name": "pop"},
}
SEEDED = {name for name in MODELS if name.startswith("sasrec")}
"""Models whose result depends on the seed (the split does not: it is leave-one-out)."""
CURVE = ("sasrec-id", "sasrec-content", "sasrec-content-d02", "sasrec-gate-d01", "ease", "pop")

DATA = {
    "ml-100k": {"dataset": "ml-100k", "data_dir": "../shared/datasets/ml-100k"},
    "movielens-small": {"dataset": "movielens-small"},
}


def one(
    dataset: str, model: str, seed: int, root: Path, cold_frac: float, max_len: int | None
) -> dict[str, Any]:
    out = root / dataset / f"{model}-seed{seed}"
    params = dict(MODELS[model])
    if max_len is not None and params["name"] == "sasrec":
        params["max_len"] = max_len
    config = {
        "seed": seed,
        "out": str(out),
        "data": DATA[dataset],
        "split": {"method": "cold-items", "cold_frac": cold_frac},
        "model": params,
    }
    t0 = time.perf_counter()
    result = run(config, overwrite=True)
    seconds = time.perf_counter() - t0
    metrics = result.metrics
    row = {
        "dataset": dataset,
        "model": model,
        "seed": seed,
        "seconds": seconds,
        "all": {k: metrics["overall"][k] for k in ("ndcg@10", "hit@10")},
        "cold_target": metrics["slices"]["cold_target"],
        "warm_target": metrics["slices"]["warm_target"],
        "split": {k: metrics["split_params"].get(k) for k in ("cold_items", "cold_test_events")},
    }
    if seed == 0 and model in CURVE:
        curve = cold_user_curve(out).curve
        row["cold_users"] = curve[["length", "users", "ndcg@10"]].to_dict("records")
    print(
        f"{dataset} {model} seed {seed}: all {row['all']['ndcg@10']:.4f}, cold "
        f"{row['cold_target']['ndcg@10']:.4f} ({row['cold_target']['events']} events), warm "
        f"{row['warm_target']['ndcg@10']:.4f}; {seconds:.0f} s",
        flush=True,
    )
    return row


def mean_std(values: list[float]) -> dict[str, Any]:
    """Mean, standard deviation over seeds (0 for one) and the values."""
    array = np.array(values, dtype=float)
    return {
        "mean": float(array.mean()),
        "std": float(array.std(ddof=1)) if len(array) > 1 else 0.0,
        "values": array.tolist(),
    }


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """NDCG@10 of every slice per dataset and model, over seeds."""
    values: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = values.setdefault(f"{row['dataset']}/{row['model']}", {"seeds": []})
        entry["seeds"].append(row["seed"])
        for part in ("all", "cold_target", "warm_target"):
            entry.setdefault(part, []).append(row[part]["ndcg@10"])
    return {
        key: {k: v if k == "seeds" else mean_std(v) for k, v in entry.items()}
        for key, entry in values.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATA))
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--cold-frac", type=float, default=0.2)
    parser.add_argument("--max-len", type=int, help="SASRec's max_len (default: its own)")
    parser.add_argument("--runs", type=Path, default=Path(".bench/runs/cold"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/cold_start.json"))
    args = parser.parse_args()
    rows = []
    for dataset in args.datasets:
        for model in args.models:
            for seed in args.seeds if model in SEEDED else args.seeds[:1]:
                rows.append(one(dataset, model, seed, args.runs, args.cold_frac, args.max_len))
                write_result(
                    args,
                    rows,
                    protocol="cold-items split (leave-one-out; the newest cold_frac of items by "
                    "first interaction never trained on), full ranking, training + validation "
                    "items excluded",
                    models=MODELS,
                    summary=summary(rows),
                )
    print(json.dumps(summary(rows), indent=1))


def write_result(
    args: argparse.Namespace,
    rows: list[dict[str, Any]],
    *,
    protocol: str,
    models: dict[str, Any],
    summary: dict[str, Any],
) -> None:
    """Write the rows so far, with the command, machine and date, atomically to ``args.out``."""
    result = {
        "date": datetime.now().isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}",
        "command": f"benchmarks/{Path(sys.argv[0]).name} "
        + " ".join(
            f"--{k.replace('_', '-')} {' '.join(map(str, v)) if isinstance(v, list) else v}"
            for k, v in vars(args).items()
        ),
        "protocol": protocol,
        "models": models,
        "rows": rows,
        "summary": summary,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=1))
    os.replace(tmp, args.out)


if __name__ == "__main__":
    main()
