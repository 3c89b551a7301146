"""What the command line prints: the end-of-run table, audit findings, the methods table."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from equirec.mitigation.registry import RERANKERS, TRAINING_METHODS

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

__all__ = ["audit_summary", "fmt", "methods_table", "summary_table"]


def audit_summary(console: Console, result: Any, path: Any) -> None:
    findings = [f for f in result.summary if f["significant"]]
    console.print(f"fairness audit: {len(findings)} significant finding(s)")
    for f in findings[:8]:
        console.print(f"  - {f['text']}")
    console.print(f"audit written to {path}/audit.json and {path}/audit.html")


def summary_table(metrics: dict[str, Any], *, ks: Sequence[int]) -> Table:
    """The end-of-run table: accuracy metrics by k, then beyond-accuracy metrics."""
    from rich.table import Table

    overall = metrics["overall"]
    table = Table(
        title=(
            f"{metrics['model']} on {metrics['dataset']['name']} — split {metrics['split']}, "
            f"seed {metrics['seed']}, full ranking, seen items excluded"
        )
    )
    table.add_column("metric")
    for k in ks:
        table.add_column(f"@{k}", justify="right")
    names = sorted(
        {key.split("@")[0] for key in overall if "@" in key},
        key=lambda n: (
            n not in ACCURACY_ORDER,
            ACCURACY_ORDER.index(n) if n in ACCURACY_ORDER else 0,
            n,
        ),
    )
    for name in names:
        table.add_row(name, *(fmt(overall.get(f"{name}@{k}")) for k in ks))
    return table


ACCURACY_ORDER = ["ndcg", "recall", "hit", "mrr", "map", "precision"]


def methods_table(name: str | None) -> Table:
    """Every method with its stage, or one method's parameters (from the registry)."""
    from rich.table import Table

    from equirec.mitigation.registry import method
    from equirec.params import param_rows, plain

    if name is None:
        table = Table(title="mitigation methods (`equirec methods NAME` for parameters)")
        for col in ("name", "stage", "what it does", "sweep trades"):
            table.add_column(col)
        stages = {"pre": "pre-processing", "in": "in-processing", "post": "re-ranking"}
        for m in (*TRAINING_METHODS.values(), *RERANKERS.values()):
            table.add_row(m.name, stages[m.stage], m.summary, m.fairness)
        return table
    entry = method(name)
    table = Table(title=f"{entry.name}: {entry.summary}")
    for col in ("parameter", "type", "default", "meaning"):
        table.add_column(col)
    for row in param_rows(entry.params_model()):
        table.add_row(row["name"], row["type"], row["default"], plain(row["meaning"]))
    return table


def fmt(value: Any) -> str:
    return "" if value is None else f"{value:.4f}"
