"""A study's points as a Markdown table for BENCHMARKS.md: mean ± std over seeds per column.

    .venv/bin/python benchmarks/study_markdown.py .bench/studies/ml100k/results/study.json \\
        --columns ndcg@10 gini_exposure tail_exposure_share gap:gender leakage:gender
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any


def cell(value: dict[str, Any], digits: int) -> str:
    if value.get("mean") is None:
        return "—"
    text = f"{value['mean']:.{digits}f}"
    if value.get("std") is not None:
        text += f" ± {value['std']:.{digits}f}"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("study", type=Path)
    parser.add_argument("--columns", nargs="+", default=["ndcg@10", "gini_exposure"])
    parser.add_argument("--digits", type=int, default=4)
    args = parser.parse_args()
    study = json.loads(args.study.read_text())
    print("| family | point | parameters | seeds | " + " | ".join(args.columns) + " |")
    print("|---" * (4 + len(args.columns)) + "|")
    for p in study["points"]:
        values = [cell(p["values"].get(c, {}), args.digits) for c in args.columns]
        size = "—" if p.get("parameters") is None else f"{p['parameters']:,.0f}"
        row = [p["family"], p["label"], size, str(len(p["seeds"]))]
        print("| " + " | ".join(row + values) + " |")


if __name__ == "__main__":
    main()
