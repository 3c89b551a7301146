"""Parquet ingestion at ML-20M scale: streaming by batches against reading the log whole.

A synthetic log of ``--rows`` interactions (default 20M; 140k users, 27k items, string ids as
real logs have, popularity-skewed items) is written once as Parquet in row groups of 1M rows.
Each reader runs in a fresh process, which reports its peak resident memory (``ru_maxrss``)
beside the memory of the process before reading (Python, numpy, pandas, pyarrow imported):
``stream``: :func:`equirec.data.stream.stream_parquet` (1M-row batches, vocabularies built as it
goes); ``pandas``: ``pd.read_parquet`` of the three columns, as a user would load it whole; and
each followed by building the :class:`~equirec.data.Dataset` training starts from
(``StreamedLog.to_dataset`` / ``Dataset(interactions=frame)``).

    .venv/bin/python benchmarks/ingest.py --rows 20000000 --out benchmarks/results/ingest.json
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

READERS = ("stream", "pandas", "stream+dataset", "pandas+dataset")


def write_log(path: Path, *, rows: int, users: int, items: int, seed: int = 0) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    user_names = np.array([f"u{i}" for i in range(users)], dtype=object)
    item_names = np.array([f"i{i}" for i in range(items)], dtype=object)
    weights = 1.0 / np.arange(1, items + 1) ** 0.8
    weights /= weights.sum()
    schema = pa.schema([("user", pa.string()), ("item", pa.string()), ("timestamp", pa.int64())])
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    with pq.ParquetWriter(tmp, schema) as writer:
        for start in range(0, rows, 1_000_000):
            n = min(1_000_000, rows - start)
            table = pa.table(
                {
                    "user": user_names[rng.integers(0, users, n)],
                    "item": item_names[rng.choice(items, size=n, p=weights)],
                    "timestamp": np.arange(start, start + n, dtype=np.int64),
                },
                schema=schema,
            )
            writer.write_table(table, row_group_size=1_000_000)
    tmp.replace(path)


def child(reader: str, path: str) -> None:
    """Read ``path`` with ``reader``; print JSON: seconds, rows, memory before and peak (MiB)."""
    import pandas as pd
    import pyarrow.parquet  # noqa: F401  (imported before the baseline is taken)

    from equirec.data.stream import stream_parquet

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    t0 = time.perf_counter()
    if reader.startswith("stream"):
        log = stream_parquet(path)
        rows, extra = len(log), {"users": len(log.user_ids), "items": len(log.item_ids)}
        if reader.endswith("dataset"):
            rows = len(log.to_dataset())
    else:
        frame = pd.read_parquet(path, columns=["user", "item", "timestamp"])
        rows, extra = len(frame), {}
        if reader.endswith("dataset"):
            from equirec.data.dataset import Dataset

            rows = len(Dataset(interactions=frame))
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "reader": reader,
                "rows": rows,
                "seconds": seconds,
                "baseline_mib": before,
                "peak_mib": peak,
                **extra,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000_000)
    parser.add_argument("--users", type=int, default=140_000)
    parser.add_argument("--items", type=int, default=27_000)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--log", type=Path, default=Path(".bench/ingest/log.parquet"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/ingest.json"))
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    if not args.log.exists():
        t0 = time.perf_counter()
        write_log(args.log, rows=args.rows, users=args.users, items=args.items)
        print(f"wrote {args.log} in {time.perf_counter() - t0:.0f} s", flush=True)
    rows = []
    for _ in range(args.repeats):
        for reader in READERS:
            got = subprocess.run(
                [sys.executable, __file__, "--child", reader, str(args.log)],
                check=True,
                capture_output=True,
                text=True,
            )
            row = json.loads(got.stdout.strip().splitlines()[-1])
            row["rows_per_second"] = row["rows"] / row["seconds"]
            row["read_mib"] = row["peak_mib"] - row["baseline_mib"]
            rows.append(row)
            print(row, flush=True)
    from cold_start import write_result

    write_result(
        args,
        rows,
        protocol=f"synthetic Parquet log, {args.rows} rows, string ids, 1M-row groups; peak RSS",
        models={},
        summary={
            r: {
                "read_mib": [x["read_mib"] for x in rows if x["reader"] == r],
                "rows_per_second": [x["rows_per_second"] for x in rows if x["reader"] == r],
            }
            for r in READERS
        },
    )


if __name__ == "__main__":
    main()
