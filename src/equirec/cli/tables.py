"""What the command line prints: the end-of-run table, audit findings, the methods table."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from equirec.mitigation.registry import RERANKERS, TRAINING_METHODS

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

__all__ = [
    "audit_summary",
    "fmt",
    "methods_table",
    "rerank_summary",
    "slice_lines",
    "summary_table",
    "sweep_table",
]

GUARANTEE_LINES = 5
"""Lists that miss their guarantee named on the console (all are in ``guarantee.csv``)."""


def audit_summary(console: Console, result: Any, path: Any) -> None:
    findings = [f for f in result.summary if f["significant"]]
    console.print(f"fairness audit: {len(findings)} significant finding(s)")
    for f in findings[:8]:
        console.print(f"  - {f['text']}")
    privacy = result.report.get("privacy") or {}
    for name in ("rank", "shadow"):
        entry = privacy.get(name)
        if entry:
            interval = (
                ""
                if entry["ci_low"] is None
                else f" [{entry['ci_low']:.3f}, {entry['ci_high']:.3f}]"
            )
            verdict = "above chance" if entry["leaks"] else "not above chance"
            console.print(
                f"membership inference ({name} attack): AUC {entry['auc']:.3f}{interval}, "
                f"{verdict} (0.5); {privacy['members']} members, {privacy['non_members']} held out"
            )
    console.print(f"audit written to {path}/audit.json and {path}/audit.html")


def rerank_summary(console: Console, result: Any) -> None:
    """The re-ranked lists beside the baseline, the guarantee's count, the time taken."""
    from rich.table import Table

    metrics = result.metrics
    k = metrics["rerank"]["k"]
    method = metrics["rerank"]["method"]
    fairness = metrics["fairness"]
    accuracy = f"ndcg@{k}"
    base_acc = metrics["baseline"].get(accuracy)
    new_acc = metrics["overall"].get(accuracy)
    table = Table(
        title=f"{method} on {metrics['rerank']['source']}, top {k}",
        caption=f"{fairness['metric']}: {fairness['label']}, {fairness['better']} is fairer",
    )
    table.add_column("lists")
    table.add_column(accuracy, justify="right")
    table.add_column(fairness["metric"], justify="right")
    table.add_row("baseline (the run)", fmt(base_acc), fmt(fairness["baseline"]))
    table.add_row(f"re-ranked ({method})", fmt(new_acc), fmt(fairness["value"]))
    table.add_row(
        "change", change(new_acc, base_acc), change(fairness["value"], fairness["baseline"])
    )
    console.print(table)
    guarantee = result.guarantee
    if guarantee is not None:
        console.print(f"guarantee: {guarantee.guarantee}")
        console.print(f"  {guarantee.summary()}")
        unmet = guarantee.unmet
        for user, reason in zip(
            unmet["user"][:GUARANTEE_LINES], unmet["reason"][:GUARANTEE_LINES], strict=True
        ):
            console.print(f"  - user {user}: {reason}")
        if len(unmet) > GUARANTEE_LINES:
            console.print(f"  ... {len(unmet) - GUARANTEE_LINES:,} more in guarantee.csv")
    deeper = metrics.get("deeper_candidates_seconds") or 0.0
    timing = f"re-ranked in {metrics['rerank_seconds']:.1f} s"
    if deeper:
        timing += f" (of which scoring deeper candidates {deeper:.1f} s)"
    console.print(f"{timing}, {metrics['seconds']:.1f} s in all; results in {result.out}")


def sweep_table(swept: dict[str, Any], method: str) -> Table:
    """The sweep's points, baseline first: accuracy, fairness, Pareto, guarantee and time."""
    from rich.table import Table

    params = swept["params"]
    points = swept["points"]
    table = Table(title=f"{method} sweep: {params['fairness_label']}")
    guaranteed = any("guarantee" in p for p in points)
    columns = ["setting", params["accuracy_metric"], "fairness", "pareto"]
    columns += ["guarantee met"] if guaranteed else []
    for col in [*columns, "seconds"]:
        table.add_column(col, justify="left" if col == "setting" else "right")
    for point in points:
        row = [
            point["label"],
            fmt(point["accuracy"]),
            fmt(point["fairness"]),
            "yes" if point["pareto"] else "",
        ]
        if guaranteed:
            g = point.get("guarantee")
            row.append("" if g is None else f"{g['met']:,}/{g['lists']:,}")
        table.add_row(*row, f"{point.get('seconds', 0.0):.1f}")
    return table


def compare_table(compared: dict[str, Any]) -> Table:
    """Every statistic of every run, and each other run's difference from the reference with
    its adjusted p-value (``*``: significant)."""
    from rich.table import Table

    runs = compared["runs"]
    table = Table(title=f"{len(runs)} runs against {runs[0]['label']} (paired tests)")
    table.add_column("statistic")
    for run in runs:
        table.add_column(run["label"], justify="right")
    for other in runs[1:]:
        table.add_column(f"{other['label']} − ref (p)", justify="right")
    tested = {d["run"]: {r["name"]: r for r in d["results"]} for d in compared["differences"]}
    for name in compared["params"]["statistics"]:
        row = [name, *(fmt(run["values"].get(name)) for run in runs)]
        for other in runs[1:]:
            r = tested.get(other["label"], {}).get(name)
            row.append(
                ""
                if r is None
                else f"{fmt(r['difference'])} ({fmt(r['p_adjusted'])}"
                + ("*" if r["significant"] else "")
                + ")"
            )
        table.add_row(*row)
    return table


def study_table(studied: dict[str, Any]) -> Table:
    """Every point of a study: parameters, NDCG@10, Gini and the first attribute's gap and
    leakage, each as mean ± sd over the seeds (the page has every headline)."""
    from rich.table import Table

    points = studied["points"]
    every = list(dict.fromkeys(k for p in points for k in p["values"]))
    gaps = [k for k in every if k.startswith("gap:") and k != "gap:activity"][:1]
    leaks = [k for k in every if k.startswith("leakage:")][:1]
    keys = [k for k in ("ndcg@10", "gini_exposure", *gaps, *leaks) if k in every]
    table = Table(
        title=f"study: {studied['params']['runs']} runs (mean ± sd over seeds; every "
        "headline in study.html)"
    )
    for col in ["family", "setting", "parameters", *keys]:
        table.add_column(col, justify="left" if col in ("family", "setting") else "right")
    for p in points:
        cells = []
        for key in keys:
            v = p["values"].get(key) or {}
            mean, std = v.get("mean"), v.get("std")
            cells.append("" if mean is None else fmt(mean) + ("" if std is None else f"±{std:.3f}"))
        size = "" if p["parameters"] is None else f"{p['parameters']:,.0f}"
        table.add_row(p["family"], p["label"], size, *cells)
    return table


def llm_audit_table(report: dict[str, Any]) -> Table:
    """Per attribute and similarity: each value's mean similarity to the neutral list, SNSR
    with its adjusted p-value (``*``: significant), SNSV; the unmatched rate in the title."""
    from rich.table import Table

    params = report["params"]
    unmatched = (report.get("unmatched") or {}).get("overall")
    title = f"LLM audit of {params['provider']}: {params['requests']} requests, K={params['k']}"
    if unmatched is not None:
        title += f", {unmatched:.1%} of titles unmatched"
    table = Table(title=title)
    for col in ("attribute", "similarity", "value means", "SNSR (p adj.)", "SNSV"):
        table.add_column(col, justify="left" if col != "SNSV" else "right")
    for attr, metrics in report["attributes"].items():
        for name, e in metrics.items():
            means = ", ".join(f"{v} {x['mean']:.3f}" for v, x in e["values"].items())
            mark = "*" if e.get("significant") else ""
            snsr = f"{e['snsr']:.4f} ({fmt(e.get('p_adjusted'))}{mark})"
            table.add_row(attr, name, means, snsr, f"{e['snsv']:.4f}")
    return table


def change(value: float | None, base: float | None) -> str:
    """The relative change from ``base``, e.g. ``-6.8%``, or ``312×`` from a value near 0 (empty
    without both)."""
    if value is None or base is None or base == 0:
        return ""
    if base > 0 and value / base >= 10:  # e.g. a long-tail share from 0.0007 to 0.22
        return f"{value / base:,.0f}×"
    return f"{(value - base) / abs(base):+.1%}"


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


def slice_lines(metrics: dict[str, Any], *, ks: Sequence[int]) -> list[str]:
    """One line per slice of the test events (``metrics["slices"]``): NDCG at 10 (or the
    largest k below it, else the smallest), events and users; none without slices."""
    below = [k for k in ks if k <= 10]
    k = max(below) if below else min(ks)
    return [
        f"{name.replace('_', '-')} events: ndcg@{k} {fmt(values.get(f'ndcg@{k}'))} over "
        f"{values['events']:,} test event(s) of {values['users']:,} user(s)"
        for name, values in metrics.get("slices", {}).items()
    ]


def curve_table(curve: Any, *, ks: Sequence[int]) -> Table:
    """The cold-user curve: NDCG and hit rate per known history length."""
    from rich.table import Table

    first = curve.iloc[0]
    table = Table(
        title=f"{first['model']}: ranked from the last N known items only "
        f"({int(first['users']):,} test users at every N)"
    )
    table.add_column("N", justify="right")
    for k in ks:
        table.add_column(f"ndcg@{k}", justify="right")
        table.add_column(f"hit@{k}", justify="right")
    for values in curve.to_dict("records"):
        cells = [fmt(values[f"{m}@{k}"]) for k in ks for m in ("ndcg", "hit")]
        table.add_row(str(values["length"]), *cells)
    return table


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


def explanation_summary(per_user: Any) -> str:
    """One line on many explanations: validity, set size and time per explanation."""
    skipped = int(per_user["method"].isna().sum())
    per_user = per_user[per_user["method"].notna()]
    n = len(per_user)
    seconds = per_user["seconds"]
    line = f"{n} explanation(s) ({per_user['method'].iloc[0]}): "
    if per_user["valid"].notna().all():
        line += f"{per_user['valid'].astype(float).mean():.1%} valid, "
    line += (
        f"median size {per_user['size'].median():g}; "
        f"{seconds.quantile(0.5) * 1000:.0f} ms p50, {seconds.quantile(0.99) * 1000:.0f} ms p99"
    )
    if skipped:
        line += f"; {skipped} user(s) not explained (the note column of explanations.csv says why)"
    return line


def gap_line(row: Mapping[Any, Any]) -> str:
    """One row of a per-user gap table (``workflows.group_gaps``): the gap, its interval, p."""
    return (
        f"{row['attribute']} gap in {row['metric']} {row['gap']:.4f} "
        f"[{row['low']:.4f}, {row['high']:.4f}], p = {row['p_value']:.3f}"
    )
