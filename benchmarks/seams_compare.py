"""Compare two output trees of benchmarks/seams_outputs.sh file by file.

JSON files are compared after dropping what legitimately differs between two runs (timings, dates,
paths, package versions); CSV files must be identical. Prints one line per difference and exits 1
if there is any.

    python benchmarks/seams_compare.py BEFORE AFTER
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

VOLATILE = {
    "train_seconds",
    "eval_seconds",
    "started",
    "audit_seconds",
    "rerank_seconds",
    "seconds",
    "out",
    "run",
    "source",
    "versions",
    "solve_seconds",
}


def _clean(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _clean(v) for k, v in node.items() if k not in VOLATILE}
    if isinstance(node, list):
        return [_clean(v) for v in node]
    return node


def _diff(a: Any, b: Any, path: str, out: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            if key not in a or key not in b:
                out.append(f"{path}.{key}: only in {'after' if key in b else 'before'}")
            else:
                _diff(a[key], b[key], f"{path}.{key}", out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _diff(x, y, f"{path}[{i}]", out)
    elif a != b and not (a != a and b != b):  # NaN == NaN here
        out.append(f"{path}: {str(a)[:80]} != {str(b)[:80]}")


def compare(before: Path, after: Path) -> list[str]:
    out: list[str] = []
    names = sorted(
        p.relative_to(before)
        for p in before.rglob("*")
        if p.suffix in (".json", ".csv") and "model" not in p.parts
    )
    for name in names:
        a, b = before / name, after / name
        if not b.exists():
            out.append(f"{name}: missing after")
        elif name.suffix == ".csv":
            if a.read_bytes() != b.read_bytes():
                out.append(f"{name}: CSV differs")
        else:
            diffs: list[str] = []
            _diff(_clean(json.loads(a.read_text())), _clean(json.loads(b.read_text())), "", diffs)
            out.extend(f"{name}{d}" for d in diffs)
    return out


if __name__ == "__main__":
    differences = compare(Path(sys.argv[1]), Path(sys.argv[2]))
    for line in differences:
        print(line)
    print(f"{len(differences)} difference(s)")
    sys.exit(1 if differences else 0)
