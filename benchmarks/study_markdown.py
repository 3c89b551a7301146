"""A study's points as a Markdown table for BENCHMARKS.md: per column the mean over seeds,
± its std (left out where the seeds agree), or for ``--intervals`` columns the mean and its
95% interval over the seeds.

    .venv/bin/python benchmarks/study_markdown.py .bench/studies/ml100k/results/study.json \\
        --intervals ndcg@10 --columns gini_exposure tail_exposure_share coverage gap:gender \\
        gap:age_band gap:occupation leakage:gender
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def cell(value: dict[str, Any], digits: int, *, interval: bool) -> str:
    if value.get("mean") is None:
        return "—"
    text = f"{value['mean']:.{digits}f}"
    if not value.get("std") or value["std"] < 0.5 * 10**-digits:  # one seed, or seeds that
        return text  # agree to the digits shown (a deterministic model)
    if interval:
        return text + f" [{value['ci_low']:.{digits}f}, {value['ci_high']:.{digits}f}]"
    return text + f" ± {value['std']:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", type=Path)
    parser.add_argument("--intervals", nargs="*", default=["ndcg@10"])
    parser.add_argument("--columns", nargs="*", default=["gini_exposure"])
    parser.add_argument("--digits", type=int, default=3)
    args = parser.parse_args()
    study = json.loads(args.study.read_text())
    columns = [(c, True) for c in args.intervals] + [(c, False) for c in args.columns]
    names = [f"{c} [95% interval]" if i else c for c, i in columns]
    print("| family | point | parameters | seeds | " + " | ".join(names) + " |")
    print("|---" * (4 + len(columns)) + "|")
    for p in study["points"]:
        values = [cell(p["values"].get(c, {}), args.digits, interval=i) for c, i in columns]
        size = "—" if p.get("parameters") is None else f"{p['parameters']:,.0f}"
        row = [p["family"], p["label"], size, str(len(p["seeds"]))]
        print("| " + " | ".join(row + values) + " |")


if __name__ == "__main__":
    main()
