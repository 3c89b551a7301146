"""Encoding item titles with the packaged all-MiniLM-L6-v2: first run, then from the cache.

For each dataset, a fresh cache folder: the first encoder loads the model and encodes every
title; a second encoder on the same cache reads them back (model fingerprint included).

    .venv/bin/python benchmarks/text_encoding.py --out benchmarks/results/text_encoding.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from datetime import datetime
from pathlib import Path

import torch

from equirec.data.sources import load_dataset
from equirec.features.text import TextEncoder

DATA = {
    "ml-100k": {"data_dir": "../shared/datasets/ml-100k"},
    "movielens-small": {},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/text_encoding.json"))
    args = parser.parse_args()
    rows = []
    for name, options in DATA.items():
        data = load_dataset(name, **options)
        titles = [t for t in data.item_attributes["title"].tolist() if isinstance(t, str) and t]
        with tempfile.TemporaryDirectory() as cache:
            t0 = time.perf_counter()
            first = TextEncoder(cache_dir=cache).encode(titles)
            cold = time.perf_counter() - t0
            t0 = time.perf_counter()
            again = TextEncoder(cache_dir=cache)
            second = again.encode(titles)
            warm = time.perf_counter() - t0
        assert (first == second).all() and again.encoded == 0
        rows.append({"dataset": name, "titles": len(titles), "first_s": cold, "cached_s": warm})
        print(f"{name}: {len(titles)} titles, first {cold:.1f} s, cached {warm:.2f} s", flush=True)
    result = {
        "date": datetime.now().isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch threads "
        f"{torch.get_num_threads()}, Python {platform.python_version()}",
        "command": "benchmarks/text_encoding.py",
        "rows": rows,
    }
    args.out.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
