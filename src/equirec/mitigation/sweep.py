"""Accuracy/fairness trade-off of a re-ranker over a grid of strengths, on one trained run.

The model is trained once (the run); every grid point re-ranks the run's stored top lists, is
scored on the run's test split and audited (point estimates only, no resampling, so a sweep
costs seconds). Points are compared with the unmitigated baseline (the model's own top ``k``),
and the Pareto-optimal ones marked.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from equirec.errors import ConfigError
from equirec.fairness.audit import audit
from equirec.fairness.inputs import AuditData
from equirec.io import atomic_dir, jsonable
from equirec.mitigation.postprocess import KnownData, build
from equirec.mitigation.rerank import candidates_from_frame, lists_to_frame


@dataclass(frozen=True)
class FairnessMetric:
    """A number read from an audit report, and which direction is fairer."""

    label: str
    better: str  # "higher" or "lower"
    read: Callable[[dict[str, Any], int], float | None]


def _get(report: dict[str, Any], *path: str) -> float | None:
    node: Any = report
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return None if node is None else float(node)


FAIRNESS_METRICS: dict[str, FairnessMetric] = {
    "tail_exposure_share": FairnessMetric(
        "exposure share of long-tail items",
        "higher",
        lambda r, k: _get(r, "items", "groups", "popularity", "by_group", "tail", "exposure_share"),
    ),
    "aplt": FairnessMetric(
        "APLT (share of long-tail items per list)",
        "higher",
        lambda r, k: _get(r, "items", "popularity", "aplt"),
    ),
    "gini_exposure": FairnessMetric(
        "Gini of exposure", "lower", lambda r, k: _get(r, "items", "catalogue", "gini_exposure")
    ),
    "coverage": FairnessMetric(
        "catalogue coverage", "higher", lambda r, k: _get(r, "items", "catalogue", "coverage")
    ),
    "c_kl": FairnessMetric(
        "miscalibration C_KL", "lower", lambda r, k: _get(r, "lists", "calibration", "c_kl")
    ),
    "ild": FairnessMetric(
        "intra-list diversity", "higher", lambda r, k: _get(r, "lists", "diversity", "ild")
    ),
    "ugf_ndcg": FairnessMetric(
        "UGF: active − inactive NDCG gap",
        "lower",
        lambda r, k: _get(r, "ugf", f"ndcg@{k}", "value"),
    ),
}
"""Fairness metrics a sweep can trade accuracy against."""

DEFAULT_FAIRNESS = {
    "fair": "tail_exposure_share",
    "detconstsort": "tail_exposure_share",
    "calibrated": "c_kl",
    "mmr": "ild",
    "ugf": "ugf_ndcg",
    "cpfair": "tail_exposure_share",
}


def grid_points(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the grid's values."""
    names = list(grid)
    return [dict(zip(names, values, strict=True)) for values in itertools.product(*grid.values())]


def pareto(
    accuracy: Sequence[float | None], fairness: Sequence[float | None], better: str
) -> list[bool]:
    """Which points no other point beats on both accuracy (higher) and fairness."""
    sign = 1.0 if better == "higher" else -1.0
    acc = [np.nan if a is None else a for a in accuracy]
    fair = [np.nan if f is None else sign * f for f in fairness]
    out = []
    for i in range(len(acc)):
        if np.isnan(acc[i]) or np.isnan(fair[i]):
            out.append(False)
            continue
        dominated = any(
            acc[j] >= acc[i] and fair[j] >= fair[i] and (acc[j] > acc[i] or fair[j] > fair[i])
            for j in range(len(acc))
            if j != i and not (np.isnan(acc[j]) or np.isnan(fair[j]))
        )
        out.append(not dominated)
    return out


def sweep_run(
    run_dir: str | Path,
    *,
    method: str,
    grid: Mapping[str, Sequence[Any]],
    fixed: Mapping[str, Any] | None = None,
    k: int = 10,
    fairness_metric: str | None = None,
    depth: int | None = None,
    out: str | Path | None = None,
    write: bool = True,
) -> dict[str, Any]:
    """Sweep ``method`` over ``grid`` on the stored lists of a run; write the table and page.

    Args:
        run_dir: A folder written by ``equirec run`` (its lists are the candidates).
        method: A re-ranker of :data:`~equirec.mitigation.postprocess.METHODS`.
        grid: Parameter name -> values to try (all combinations).
        fixed: Parameters kept fixed at every point.
        k: Length of the re-ranked lists.
        fairness_metric: Name in :data:`FAIRNESS_METRICS` (default per method).
        depth: Candidates per user (default: the stored lists; larger: the saved model's top
            ``depth``, see :func:`~equirec.mitigation.postprocess.rerank_run`).
        out: Folder for ``sweep.json``, ``sweep.csv`` and ``sweep.html`` (default
            ``RUN_DIR/sweep-METHOD``).
        write: Write the files (atomically).

    Returns:
        The ``sweep.json`` content: ``params`` and one entry per point (baseline first).
    """
    from equirec.fairness.run_audit import deeper_lists, load_run

    name = fairness_metric or DEFAULT_FAIRNESS.get(method, "tail_exposure_share")
    if name not in FAIRNESS_METRICS:
        raise ConfigError(f"unknown fairness metric {name!r}; choose from {list(FAIRNESS_METRICS)}")
    metric = FAIRNESS_METRICS[name]
    if not grid:
        raise ConfigError("the grid is empty: give at least one parameter with values")
    loaded = load_run(run_dir)
    known = KnownData.from_dataset(loaded.known)
    data = loaded.dataset
    stored = loaded.recommendations if depth is None else deeper_lists(loaded, depth)
    candidates = candidates_from_frame(stored, user_ids=data.user_ids, item_ids=data.item_ids)
    accuracy_metric = f"ndcg@{k}"
    settings: list[dict[str, Any]] = [{}, *grid_points(grid)]
    points: list[dict[str, Any]] = []
    for setting in settings:
        if setting:
            reranker, side = build(method, {**(fixed or {}), **setting}, known, candidates)
            lists = reranker.rerank(candidates, k=k, **side)
            label = ", ".join(f"{key}={value}" for key, value in setting.items())
        else:
            lists = np.asarray(candidates.items)[:, :k]
            label = "baseline"
        recs = lists_to_frame(lists, candidates, user_ids=data.user_ids, item_ids=data.item_ids)
        audit_data = AuditData.from_split(
            loaded.split, recommendations=recs, history=loaded.history
        )
        report = audit(
            audit_data, k=k, metrics=("ndcg", "recall"), n_boot=0, n_permutations=0, leakage=False
        ).report
        values = {key: m.read(report, k) for key, m in FAIRNESS_METRICS.items()}
        values[accuracy_metric] = _get(report, "users", "activity", accuracy_metric, "overall")
        values[f"recall@{k}"] = _get(report, "users", "activity", f"recall@{k}", "overall")
        points.append(
            {
                "label": label,
                "setting": setting,
                "accuracy": values[accuracy_metric],
                "fairness": values[name],
                "metrics": values,
            }
        )
    base = points[0]
    for point, is_pareto in zip(
        points,
        pareto([p["accuracy"] for p in points], [p["fairness"] for p in points], metric.better),
        strict=True,
    ):
        point["pareto"] = is_pareto
        point["accuracy_change"] = _change(point["accuracy"], base["accuracy"])
        point["fairness_change"] = _change(point["fairness"], base["fairness"])
    result = {
        "params": {
            "run": str(run_dir),
            "method": method,
            "k": k,
            "accuracy_metric": accuracy_metric,
            "fairness_metric": name,
            "fairness_label": metric.label,
            "fairness_better": metric.better,
            "grid": {key: list(values) for key, values in grid.items()},
            "fixed": dict(fixed or {}),
            "depth": depth,
        },
        "points": points,
    }
    if write:
        _write(Path(out) if out else Path(run_dir) / f"sweep-{method}", result)
    return result


def _change(value: float | None, base: float | None) -> float | None:
    if value is None or base is None or base == 0:
        return None
    return (value - base) / abs(base)


def _write(folder: Path, result: dict[str, Any]) -> None:
    from equirec.mitigation.sweep_report import render_sweep_html

    table = pd.DataFrame(
        [
            {"label": p["label"], **p["setting"], "pareto": p["pareto"], **p["metrics"]}
            for p in result["points"]
        ]
    )
    with atomic_dir(folder) as tmp:
        (tmp / "sweep.json").write_text(json.dumps(jsonable(result), indent=2))
        table.to_csv(tmp / "sweep.csv", index=False)
        (tmp / "sweep.html").write_text(render_sweep_html(jsonable(result)))
