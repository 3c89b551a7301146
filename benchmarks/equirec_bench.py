"""equirec side of the RecBole comparison: leave-one-out, full ranking, seen items excluded.

Each (model, seed) runs in a fresh process so that peak memory is its own::

    .venv/bin/python benchmarks/equirec_bench.py --dataset ml-100k \
        --data-dir ../shared/datasets/ml-100k --models sasrec ease pop --seeds 0 1 2 \
        --out benchmarks/results/equirec_ml-100k.json

The split is equirec's ``loo`` (chronological, ties in file order, every interaction counts), the
same as ``benchmarks/recbole_run.py`` writes for RecBole. Model settings are the library defaults
unless ``--param model.key=value`` overrides them. EASE is also reported with the test-time history
RecBole uses for general models (training interactions only, validation item excluded), so its
numbers can be compared exactly.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any


def one_run(args: argparse.Namespace) -> dict[str, Any]:
    """Train and evaluate one model with one seed in this process."""
    from equirec.config import RunConfig
    from equirec.runner import run

    model: dict[str, Any] = {"name": args.model, **json.loads(args.model_params)}
    config = RunConfig.from_dict(
        {
            "seed": args.seed,
            "data": {"dataset": args.dataset, "data_dir": args.data_dir},
            "split": {"method": "loo"},
            "model": model,
            "evaluation": {"history": args.history},
            "out": args.runs_dir
            and f"{args.runs_dir}/{args.model}-seed{args.seed}"
            + ("" if args.history == "train+valid" else f"-{args.history}-history"),
        }
    )
    start = time.perf_counter()
    result = run(config, write=bool(args.runs_dir))  # written after training
    wall = time.perf_counter() - start
    overall = result.metrics["overall"]
    return {
        "model": args.model,
        "seed": args.seed,
        "history": args.history,
        "ndcg@10": overall["ndcg@10"],
        "hit@10": overall["hit@10"],
        "mrr@10": overall["mrr@10"],
        "train_seconds": result.metrics["train_seconds"],
        "wall_seconds": wall,
        "peak_memory_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "training": result.metrics["training"]
        and {k: result.metrics["training"][k] for k in ("epochs", "steps", "best_epoch")},
        "model_params": result.metrics["model_params"],
    }


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and standard deviation over seeds for every (model, history) pair."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in runs:
        groups.setdefault(f"{r['model']} ({r['history']})", []).append(r)
    out = {}
    for key, rs in groups.items():
        stats = {}
        for metric in ("ndcg@10", "hit@10", "mrr@10", "train_seconds", "peak_memory_mb"):
            values = [r[metric] for r in rs]
            stats[metric] = {
                "mean": statistics.fmean(values),
                "std": statistics.stdev(values) if len(values) > 1 else 0.0,
                "values": values,
            }
        out[key] = stats
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="ml-100k")
    parser.add_argument("--data-dir", default="../shared/datasets/ml-100k")
    parser.add_argument("--models", nargs="+", default=["sasrec", "bert4rec", "ease", "pop"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--param", action="append", default=[], help="model.key=value")
    parser.add_argument("--out", default="benchmarks/results/equirec_ml-100k.json")
    parser.add_argument(
        "--runs-dir", help="also write each run's folder (model, lists) to RUNS_DIR/MODEL-seedN"
    )
    # internal: one run in this process
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)
    parser.add_argument("--seed", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--history", default="train+valid", help=argparse.SUPPRESS)
    parser.add_argument("--model-params", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_run(args)))
        return

    params: dict[str, dict[str, Any]] = {}
    for item in args.param:
        key, _, value = item.partition("=")
        model, _, name = key.partition(".")
        params.setdefault(model, {})[name] = json.loads(value)
    runs = []
    for model in args.models:
        histories = ["train+valid", "train"] if model == "ease" else ["train+valid"]
        for history in histories:
            for seed in args.seeds:
                cmd = [
                    sys.executable, __file__, "--one", "--dataset", args.dataset,
                    "--data-dir", args.data_dir, "--model", model, "--seed", str(seed),
                    "--history", history, "--model-params", json.dumps(params.get(model, {})),
                ] + (["--runs-dir", args.runs_dir] if args.runs_dir else [])  # fmt: skip
                line = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
                run = json.loads(line.strip().splitlines()[-1])
                runs.append(run)
                print(
                    json.dumps(
                        {
                            k: run[k]
                            for k in (
                                "model",
                                "seed",
                                "history",
                                "ndcg@10",
                                "hit@10",
                                "train_seconds",
                            )
                        }
                    ),
                    flush=True,
                )
    result = {
        "dataset": args.dataset,
        "protocol": "leave-one-out (chronological, ties in file order), every interaction counts, "
        "full ranking, training and validation items excluded",
        "machine": f"{os.cpu_count()} CPUs",
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "command": " ".join(sys.argv),
        "summary": summarise(runs),
        "runs": runs,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(result, indent=2))
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
