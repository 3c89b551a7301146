"""Compare run folders: accuracy and every fairness headline side by side, and paired tests.

:func:`compare_runs` reads each run's ``audit.json`` (auditing a run that has none), puts its
numbers side by side, and tests every other run against the first (the reference) on the same
test users with :func:`~equirec.fairness.paired.paired_tests`: a paired bootstrap interval and
a paired permutation p-value of each difference (accuracy, the primary metric's gap for every
audited user attribute, the Gini of exposure, the long tail's exposure share, coverage). It
writes ``compare.json``, ``compare.csv`` and ``compare.html`` into one folder, atomically.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from equirec.errors import ConfigError, DataError
from equirec.fairness.exposure import position_weights
from equirec.fairness.inputs import AuditData
from equirec.fairness.item_metrics import head_items
from equirec.fairness.paired import (
    Estimate,
    Statistic,
    SystemLists,
    coverage_statistic,
    estimates,
    gap_statistic,
    gini_statistic,
    mean_statistic,
    paired_tests,
    share_statistic,
)
from equirec.fairness.schema import AuditReport
from equirec.fairness.users import evaluated_users, user_groups, user_metrics
from equirec.io import atomic_dir, check_new, jsonable
from equirec.mitigation.tradeoff import FAIRNESS_METRICS, pareto
from equirec.workflows.audit import audit_run
from equirec.workflows.rundir import AUDIT_JSON, RunFolder, open_run

__all__ = ["SCHEMA", "compare_runs"]

SCHEMA = "equirec-compare/1"
SAME_AUDIT = (
    "k",
    "metrics",
    "attention",
    "patience",
    "head",
    "activity_top",
    "activity_bands",
    "numeric_bands",
)
"""Audit settings every compared run must share (its numbers are measured the same way)."""

AUC_KEYS = ("auc", "ci_low", "ci_high")

log = logging.getLogger(__name__)


def compare_runs(
    run_dirs: Sequence[str | Path],
    *,
    out: str | Path | None = None,
    fairness_metric: str | None = None,
    attribute: str | None = None,
    n_boot: int = 1000,
    n_permutations: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Compare runs on accuracy and fairness; test each against the first on the same users.

    Args:
        run_dirs: Two or more run folders; the first is the reference.
        out: Output folder for ``compare.json``, ``compare.csv`` and ``compare.html``
            (``None``: nothing written).
        fairness_metric: The Pareto view's fairness axis, one of
            :data:`~equirec.mitigation.tradeoff.FAIRNESS_METRICS` (default ``ndcg_gap`` when
            the audit has a user attribute, else ``gini_exposure``).
        attribute: The user attribute of ``ndcg_gap`` / ``leakage_auc`` (default: the first
            audited one).
        n_boot: Bootstrap resamples of every interval.
        n_permutations: Paired permutations of every test.
        confidence: Level of the intervals and of significance (Holm-adjusted per pair).
        seed: Seeds the resamples.
        overwrite: Replace an existing ``out`` folder (refused by default, before any work).

    Returns:
        The ``compare.json`` content: ``params``, ``runs`` (each run's values, intervals and
        audit-only numbers), ``differences`` (each other run against the reference),
        ``pareto`` and ``warnings``.

    Raises:
        ConfigError: Fewer than two runs, a run given twice, runs on different test sets
            (another dataset, split or split seed), audits made with different settings, or
            an unknown fairness metric.
        DataError: A folder that is not a run, or an unreadable ``audit.json``.
    """
    paths = [Path(p) for p in run_dirs]
    if len(paths) < 2:
        raise ConfigError("compare needs at least two run folders")
    if len({p.resolve() for p in paths}) < len(paths):
        raise ConfigError("compare: a run folder is given twice")
    if not 0.0 < confidence < 1.0:
        raise ConfigError(f"confidence must be in (0, 1), got {confidence}")
    folder = None if out is None else Path(out)
    if folder is not None:
        check_new(folder, overwrite=overwrite)
    runs = [open_run(p) for p in paths]
    audits = [_audit_of(run) for run in runs]
    reports = [report for report, _ in audits]
    params = reports[0]["params"]
    _check_same_audit(paths, reports)
    k = int(params["k"])
    datas = [
        AuditData.from_split(r.split, recommendations=r.recommendations, history=r.history)
        for r in runs
    ]
    warnings: list[str] = []
    units = np.union1d(evaluated_users(datas[0]), datas[0].list_users)
    stats = _statistics(datas[0], reports[0], units=units, warnings=warnings)
    metric_name, attr = _pareto_metric(reports[0], fairness_metric, attribute)
    for run, data in zip(runs[1:], datas[1:], strict=True):
        if not _same_test(datas[0], data):
            raise ConfigError(
                f"{run.path}: its test users, items, history or listed users differ from "
                f"{runs[0].path}'s (another dataset, split or split seed); compare runs made on "
                "the same split, so that their differences can be tested on the same users"
            )
    systems = [_system(data, params, units) for data in datas]
    labels = _labels(paths)
    entries, differences = [], []
    for run, (report, typed), system, label in zip(runs, audits, systems, labels, strict=True):
        own = estimates(stats, system, n_boot=n_boot, confidence=confidence, seed=seed)
        entry = _entry(
            run, report, typed, own, label=label, k=k, metric=metric_name, attribute=attr
        )
        _check_reproduced(run, typed, entry["values"], warnings)
        entries.append(entry)
    for system, label in zip(systems[1:], labels[1:], strict=True):
        found = paired_tests(
            stats,
            systems[0],
            system,
            n_boot=n_boot,
            n_permutations=n_permutations,
            confidence=confidence,
            seed=seed,
        )
        differences.append(
            {"run": label, "reference": labels[0], "results": [r.to_dict() for r in found]}
        )
    better = FAIRNESS_METRICS[metric_name].better
    front = pareto([e["accuracy"] for e in entries], [e["fairness"] for e in entries], better)
    for entry, is_front in zip(entries, front, strict=True):
        entry["pareto"] = is_front
    result = {
        "schema_version": SCHEMA,
        "params": {
            "runs": [str(p) for p in paths],
            "reference": str(paths[0]),
            "k": k,
            "accuracy_metric": f"ndcg@{k}",
            "fairness_metric": metric_name,
            "fairness_label": FAIRNESS_METRICS[metric_name].describe(attr),
            "fairness_better": better,
            "attribute": attr,
            "n_boot": n_boot,
            "n_permutations": n_permutations,
            "confidence": confidence,
            "seed": seed,
            "units": len(units),
            "statistics": [s.name for s in stats],
        },
        "runs": entries,
        "differences": differences,
        "warnings": warnings,
    }
    if folder is not None:
        _write(folder, result, overwrite=overwrite)
    return result


def _audit_of(run: RunFolder) -> tuple[dict[str, Any], AuditReport]:
    """The run's audit as read (audited first when it has none) and as the typed report."""
    path = run.path / AUDIT_JSON
    if not path.is_file():
        log.info("compare: %s has no %s; auditing it", run.path, AUDIT_JSON)
        report = audit_run(run.path).report
        return report, AuditReport.model_validate(jsonable(report))
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
        typed = AuditReport.model_validate(report)
    except ValueError as err:  # JSONDecodeError and pydantic's ValidationError
        raise DataError(
            f"{path}: not an audit report of this equirec version ({str(err).splitlines()[0]}); "
            f"re-run `equirec audit {run.path}`"
        ) from err
    return dict(report), typed


def _check_same_audit(paths: Sequence[Path], reports: Sequence[dict[str, Any]]) -> None:
    def value(params: dict[str, Any], key: str) -> Any:
        return params.get(key, 4 if key.endswith("_bands") else None)  # older audits: 4 bands

    first = reports[0]["params"]
    for path, report in zip(paths[1:], reports[1:], strict=True):
        for key in SAME_AUDIT:
            if value(report["params"], key) != value(first, key):
                raise ConfigError(
                    f"{path}: its audit was made with {key} = {value(report['params'], key)!r}, "
                    f"{paths[0]}'s with {value(first, key)!r}; audit both the same way (e.g. "
                    f"`equirec audit {path} --k {first['k']}`) before comparing them"
                )


def _labels(paths: Sequence[Path]) -> list[str]:
    """The folders' names, or their paths where two share a name."""
    names = [p.name for p in paths]
    return [str(p) if names.count(p.name) > 1 else p.name for p in paths]


def _same_test(a: AuditData, b: AuditData) -> bool:
    return (
        a.user_ids.equals(b.user_ids)
        and a.item_ids.equals(b.item_ids)
        and np.array_equal(np.sort(a.list_users), np.sort(b.list_users))
        and a.relevant.shape == b.relevant.shape
        and (a.relevant != b.relevant).nnz == 0
        and np.array_equal(a.popularity, b.popularity)
    )


def _system(data: AuditData, params: dict[str, Any], units: np.ndarray) -> SystemLists:
    """One run's per-user metric values and list exposure over ``units`` (user indices)."""
    k = int(params["k"])
    metrics = tuple(params["metrics"])
    per_user = user_metrics(data, k=k, metrics=[m.split("@")[0] for m in metrics])
    values = per_user.reindex(units)[list(metrics)].to_numpy(dtype=np.float64)
    weights = position_weights(
        k, attention=params["attention"], patience=params.get("patience") or 0.8
    )
    top = data.lists[:, :k]
    row = pd.Series(np.arange(len(units)), index=units).reindex(data.list_users).to_numpy()
    valid = (top >= 0) & ~np.isnan(row)[:, None]
    rows = np.broadcast_to(np.nan_to_num(row, nan=0).astype(np.int64)[:, None], top.shape)
    exposure = sp.csr_matrix(
        (np.broadcast_to(weights, top.shape)[valid], (rows[valid], top[valid])),
        shape=(len(units), data.n_items),
    )
    return SystemLists(values=values, metrics=metrics, exposure=exposure)


def _statistics(
    data: AuditData, report: dict[str, Any], *, units: np.ndarray, warnings: list[str]
) -> list[Statistic]:
    params = report["params"]
    primary = params["primary_metric"]
    stats = [mean_statistic(m) for m in params["metrics"]]
    names = list(report["users"])
    plain = [n for n in names if "*" not in n]
    pairs = [tuple(n.split("*", 1)) for n in names if "*" in n]
    groups = {
        g.name: g
        for g in user_groups(
            data,
            attributes=plain,
            intersections=pairs,
            activity_top=float(params["activity_top"]),
            activity_bands=int(params.get("activity_bands", 4)),
            numeric_bands=int(params.get("numeric_bands", 4)),
        )
    }
    for name in names:
        g = groups.get(name)
        if g is None:
            warnings.append(f"user groups {name!r} of the audit could not be rebuilt; not tested")
            continue
        stats.append(
            gap_statistic(primary, g.codes[units], g.n_groups, name=f"{primary} gap: {name}")
        )
    head = params["head"]
    tail = ~head_items(data.popularity, method=head["method"], cutoff=float(head["cutoff"]))
    stats += [
        gini_statistic(),
        share_statistic(tail, name="tail_exposure_share"),
        coverage_statistic(),
    ]
    return stats


def _pareto_metric(
    report: dict[str, Any], metric: str | None, attribute: str | None
) -> tuple[str, str | None]:
    audited = [a for a in report["users"] if a not in ("activity", "activity_band")]
    attr = attribute or (audited[0] if audited else None)
    if attribute is not None and attribute not in report["users"]:
        raise ConfigError(
            f"compare: user attribute {attribute!r} is not in the audit; it has "
            f"{list(report['users'])}"
        )
    name = metric or ("ndcg_gap" if attr else "gini_exposure")
    if name not in FAIRNESS_METRICS:
        raise ConfigError(
            f"compare: unknown fairness metric {name!r}; choose from {list(FAIRNESS_METRICS)}"
        )
    if FAIRNESS_METRICS[name].needs in ("user", "leakage") and attr is None:
        raise ConfigError(f"compare: {name} needs a user attribute, and the audit has none")
    return name, attr


def _entry(
    run: RunFolder,
    report: dict[str, Any],
    typed: AuditReport,
    own: Sequence[Estimate],
    *,
    label: str,
    k: int,
    metric: str,
    attribute: str | None,
) -> dict[str, Any]:
    """A run's row: its statistics with their bootstrap intervals, and the audit's probes."""
    leakage = {
        a: {
            source: None if probe is None else {key: probe.get(key) for key in AUC_KEYS}
            for source, probe in sources.items()
        }
        for a, sources in report.get("leakage", {}).items()
    }
    privacy = report.get("privacy")
    return {
        "run": str(run.path),
        "label": label,
        "model": run.saved.get("model", {}).get("name"),
        "values": {r.name: r.value for r in own},
        "intervals": {r.name: [r.ci_low, r.ci_high] for r in own},
        "audit_gaps": {
            a: {
                key: entries[report["params"]["primary_metric"]].get(key)
                for key in ("difference", "difference_ci_low", "difference_ci_high", "p_adjusted")
            }
            for a, entries in report["users"].items()
        },
        "leakage": leakage,
        "membership": None if privacy is None else {k: privacy["rank"][k] for k in AUC_KEYS},
        "accuracy": next((r.value for r in own if r.name == f"ndcg@{k}"), None),
        "fairness": FAIRNESS_METRICS[metric].read(typed, k, attribute),
    }


def _check_reproduced(
    run: RunFolder, report: AuditReport, values: dict[str, float], warnings: list[str]
) -> None:
    """Warn where the recomputed numbers differ from the run's own ``audit.json``."""
    k, primary = report.params.k, report.params.primary_metric
    expected = {
        name: FAIRNESS_METRICS[name].read(report, k, None)
        for name in ("gini_exposure", "coverage", "tail_exposure_share")
    } | {f"{primary} gap: {a}": e[primary].difference for a, e in report.users.items()}
    for name, audited in expected.items():
        got = values.get(name)
        if audited is None or got is None or np.isnan(got):
            continue
        if not np.isclose(got, audited, rtol=1e-9, atol=1e-12):
            warnings.append(
                f"{run.path}: {name} is {got:.6g} from its lists but {audited:.6g} in its "
                f"{AUDIT_JSON} (made from other lists or settings); re-run `equirec audit "
                f"{run.path}`"
            )


def _write(folder: Path, result: dict[str, Any], *, overwrite: bool) -> None:
    from equirec.reporting.compare import render_compare

    table = pd.DataFrame(
        [
            {"label": e["label"], "model": e["model"], "pareto": e["pareto"], **e["values"]}
            for e in result["runs"]
        ]
    )
    with atomic_dir(folder, overwrite=overwrite) as tmp:
        (tmp / "compare.json").write_text(json.dumps(jsonable(result), indent=2), encoding="utf-8")
        table.to_csv(tmp / "compare.csv", index=False)
        (tmp / "compare.html").write_text(render_compare(jsonable(result)), encoding="utf-8")
