"""Approximate top-10 retrieval (faiss HNSW and IVF) against exact ranking, on trained runs.

For every given run folder (e.g. ML-100K SASRec, one per seed) the saved model ranks the test
users exactly and through each index, with the run's known items excluded; reported: top-10
recall against exact ranking, NDCG@10 and the exposure Gini@10 both ways, and the time. Then a
catalogue of ``--items`` synthetic item vectors (default 1M, dim 64) and 1,000 random queries:
index build time, query time and recall@10 against exact search (a matrix product and top-k);
the vectors are drawn around 1,000 centres, as trained item vectors cluster.

    .venv/bin/python benchmarks/ann.py --runs .bench/runs/privacy/epsinf-*-seed? \\
        --out benchmarks/results/ann.json
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cold_start import write_result
from equirec.evaluation import evaluate
from equirec.evaluation.retrieval import ann_ranker, topk_recall
from equirec.workflows.rundir import open_run

SETTINGS: dict[str, tuple[str, dict[str, int]]] = {
    "hnsw": ("hnsw", {"hnsw_m": 32, "ef_search": 128}),
    "hnsw-ef32": ("hnsw", {"hnsw_m": 32, "ef_search": 32}),
    "ivf": ("ivf", {"nprobe": 16}),
    "ivf-nprobe4": ("ivf", {"nprobe": 4}),
}


def on_run(folder: Path) -> list[dict[str, Any]]:
    run = open_run(folder)
    known = run.known
    model = run.model
    options: dict[str, Any] = {
        "test": run.split.test,
        "history": known.history,
        "exclude": known.exclude,
        "ks": (10,),
        "keep_k": 10,
        "popularity": known.popularity,
    }
    t0 = time.perf_counter()
    exact = evaluate(model, **options)
    exact_seconds = time.perf_counter() - t0
    rows = []
    for name, (method, params) in SETTINGS.items():
        ranker = ann_ranker(model, method=method, params=params)
        t0 = time.perf_counter()
        approx = evaluate(model, ranker=ranker, **options)
        rows.append(
            {
                "run": str(folder),
                "index": name,
                "recall@10": topk_recall(exact.recommendations, approx.recommendations, k=10),
                **{
                    f"{m}_{side}": r.overall[m]
                    for m in ("ndcg@10", "gini@10", "coverage@10")
                    for side, r in (("exact", exact), ("approximate", approx))
                },
                "seconds_exact": exact_seconds,
                "seconds_approximate": time.perf_counter() - t0,
                "build_seconds": ranker.build_seconds,
            }
        )
        print(rows[-1], flush=True)
    return rows


def on_catalogue(items: int, dim: int, queries: int = 1000) -> list[dict[str, Any]]:
    import faiss

    from equirec.evaluation.retrieval import AnnRanker

    rng = np.random.default_rng(0)
    # clustered, as trained item vectors are (genres, providers): 1,000 centres plus noise
    centres = rng.standard_normal((1000, dim)).astype(np.float32)
    table = centres[rng.integers(0, 1000, items)]
    table += 0.5 * rng.standard_normal((items, dim)).astype(np.float32)
    q = centres[rng.integers(0, 1000, queries)]
    q += 0.5 * rng.standard_normal((queries, dim)).astype(np.float32)
    t0 = time.perf_counter()
    exact = torch.topk(torch.from_numpy(q) @ torch.from_numpy(table).T, 10).indices.numpy()
    exact_seconds = time.perf_counter() - t0
    rows = []

    class Vectors:  # what AnnRanker reads of a model
        name = "random"

        def item_vectors(self) -> torch.Tensor:
            return torch.from_numpy(table)

        def user_representations(self, users: Any, history: Any = None) -> torch.Tensor:
            return torch.from_numpy(q[users])

    for name, (method, params) in SETTINGS.items():
        ranker = AnnRanker(Vectors(), method=method, **params)  # type: ignore[arg-type]
        if method == "hnsw":
            ranker.index.hnsw.efSearch = params["ef_search"]
        t0 = time.perf_counter()
        _, found = ranker.index.search(q, 10)
        seconds = time.perf_counter() - t0
        shares = [len(np.intersect1d(a, b)) / 10 for a, b in zip(exact, found, strict=True)]
        recall = float(np.mean(shares))
        rows.append(
            {
                "catalogue": items,
                "index": name,
                "recall@10": recall,
                "build_seconds": ranker.build_seconds,
                "query_ms": 1000 * seconds / queries,
                "exact_query_ms": 1000 * exact_seconds / queries,
                "faiss_threads": faiss.omp_get_max_threads(),
            }
        )
        print(rows[-1], flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, nargs="*", default=[])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/ann.json"))
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows: list[dict[str, Any]] = []
    for folder in args.runs:
        rows += on_run(folder)
    catalogue = on_catalogue(args.items, args.dim) if args.items else []
    summary = {
        name: {
            key: [r[key] for r in rows if r["index"] == name]
            for key in (
                "recall@10",
                "ndcg@10_exact",
                "ndcg@10_approximate",
                "gini@10_exact",
                "gini@10_approximate",
            )
        }
        for name in SETTINGS
    }
    write_result(
        args,
        rows + catalogue,
        protocol="saved runs: their test users, known items excluded; random catalogue: "
        "1,000 random queries, exact = matrix product + top-k",
        models=dict(SETTINGS),
        summary=summary,
    )


if __name__ == "__main__":
    main()
