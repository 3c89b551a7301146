"""Accuracy/fairness trade-off of a mitigation method over a grid of strengths, on one run.

Two kinds of method:

* **Re-rankers** (post-processing, :data:`~equirec.mitigation.registry.RERANKERS`): the model
  is trained once (the run); every grid point re-ranks the run's stored top lists, is scored on
  the run's test split and audited (point estimates only, no resampling, so a sweep costs
  seconds).
* **Training-time methods** (pre- and in-processing,
  :data:`~equirec.mitigation.registry.TRAINING_METHODS`): every grid point retrains the model
  from the run's ``config.json`` (same data, split and seed) with that point's ``[mitigation]``,
  and audits its lists the same way; the adversary's points also probe the retrained model's
  user representations for attribute leakage.

* **Privacy** (``method = "privacy"``): every grid point retrains the model privately
  (user-level DP-SGD, :mod:`equirec.training.privacy`) with that point's ``privacy`` settings,
  e.g. ``epsilon`` over 1, 3, 8 and ``inf`` (not private); its lists are audited alike, the
  membership attack's AUC is measured when the split holds users out of training
  (``split.holdout_users``), and with ``attribute = A`` fixed, the gap between ``A``'s groups
  and ``A``'s leakage from the user representations too. Each point records the ε spent.

Points are compared with the unmitigated baseline (the run as stored: the model's own top
``k``, never retrained), and the Pareto-optimal ones marked.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from equirec.errors import ConfigError
from equirec.io import atomic_dir, check_new, jsonable
from equirec.mitigation.apply import resolve_params
from equirec.mitigation.registry import (
    RERANKERS,
    TRAINING_METHODS,
    default_fairness,
    target_attributes,
)
from equirec.mitigation.rerank import candidates_from_frame
from equirec.mitigation.tradeoff import (
    FAIRNESS_METRICS,
    FairnessMetric,
    grid_points,
    pareto,
)
from equirec.models.registry import model_class
from equirec.training.privacy import PRIVACY_KEYS, private_settings
from equirec.workflows.config import MitigationConfig, RunConfig
from equirec.workflows.measure import Measure
from equirec.workflows.rerank import DeeperCandidates, candidate_lists, guaranteed_rerank
from equirec.workflows.run import run
from equirec.workflows.rundir import open_run

__all__ = ["PRIVACY", "privacy_point", "sweep_run"]

log = logging.getLogger(__name__)

PRIVACY = "privacy"
"""The method name of a sweep over private training's settings (``epsilon``...)."""


def sweep_run(
    run_dir: str | Path,
    *,
    method: str,
    grid: Mapping[str, Sequence[Any]],
    fixed: Mapping[str, Any] | None = None,
    k: int = 10,
    fairness_metric: str | None = None,
    depth: int | None = None,
    deepen: bool = True,
    out: str | Path | None = None,
    write: bool = True,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Sweep ``method`` over ``grid`` on a run; write the table and the Pareto page.

    A re-ranker re-ranks the run's stored lists at every point; a training-time method retrains
    the run's model at every point (same data, split and seed, with that point's
    ``[mitigation]`` replacing any of the run's own). Either way the baseline is the run as
    stored, and every point is audited alike. Every point records how long it took; a
    re-ranker with a guarantee (FA*IR, DetConstSort) also how many lists keep it, lists that
    cannot with the stored candidates being re-ranked from deeper candidates of the saved model
    (see :func:`~equirec.workflows.rerank.rerank_run`; each user scored once per depth).

    Args:
        run_dir: A folder written by ``equirec run``.
        method: A re-ranker of :data:`~equirec.mitigation.registry.RERANKERS` or a
            training-time method of :data:`~equirec.mitigation.registry.TRAINING_METHODS`.
        grid: Parameter name -> values to try (all combinations).
        fixed: Parameters kept fixed at every point (e.g. ``attributes`` of the adversary).
        k: Length of the audited lists.
        fairness_metric: Name in :data:`FAIRNESS_METRICS` (default per method:
            :func:`default_fairness`).
        depth: Candidates per user, re-rankers only (default: the stored lists; larger: the
            saved model's top ``depth``, see :func:`~equirec.workflows.rerank.rerank_run`).
        deepen: Re-rankers with a guarantee: re-rank the lists that cannot keep it from deeper
            candidates of the saved model (default); ``False`` only counts them.
        out: Folder for ``sweep.json``, ``sweep.csv`` and ``sweep.html`` (default
            ``RUN_DIR/sweep-METHOD``).
        write: Write the files (atomically).
        overwrite: Replace an existing output folder (by default refused before any work).

    Returns:
        The ``sweep.json`` content: ``params`` and one entry per point (baseline first) with its
        ``seconds``; a retrained point also records its resolved ``mitigation``, a re-ranked
        point of a re-ranker with a guarantee its ``guarantee`` (``lists``, ``met``,
        ``deepened``, ``depth``, ``deepening``).

    Raises:
        ConfigError: Unknown method, parameter or fairness metric, an empty grid, ``depth``
            with a training-time method, or a metric the method cannot measure.
    """
    if not grid:
        raise ConfigError("the grid is empty: give at least one parameter with values")
    fixed = dict(fixed or {})
    settings = grid_points(grid)
    private = method == PRIVACY
    training = private or method in TRAINING_METHODS
    resolved: list[Any] = []
    user_attr = item_attr = None
    if private:
        if depth is not None:
            raise ConfigError("depth (--depth) applies to re-rankers only; leave it out")
        user_attr = fixed.pop("attribute", None)
        resolved = [privacy_point(fixed, s) for s in settings]
    elif training:
        if depth is not None:
            raise ConfigError(
                f"depth (--depth) re-ranks deeper candidate lists and applies to re-rankers "
                f"only; {method!r} is a training-time method, retrained at every point: leave "
                "depth out"
            )
        resolved = [
            resolve_params(method, {**fixed, **s}, where=f"sweep point {_label(s)}: mitigation")
            for s in settings
        ]
        targets = {target_attributes(method, r) for r in resolved}
        if len(targets) > 1:
            raise ConfigError(
                f"the grid changes the attribute {method!r} balances; sweep one attribute at a "
                "time (give it with --param)"
            )
        user_attr, item_attr = targets.pop()
    elif not all(part in RERANKERS for part in method.split("+")):
        raise ConfigError(
            f"unknown method {method!r}; re-rankers (re-rank the stored lists): "
            f"{', '.join(RERANKERS)}; training-time methods (retrained per point): "
            f"{', '.join(TRAINING_METHODS)}; or {PRIVACY!r} (private training's settings, "
            "retrained per point)"
        )
    loaded = open_run(run_dir)
    held_out = loaded.split.holdout is not None and len(loaded.split.holdout) > 0
    membership = training and held_out and loaded.has_model and loaded.model.scores_from_history
    if private:
        default = "membership_auc" if membership else "ndcg_gap" if user_attr else "gini_exposure"
    else:
        default = default_fairness(method, resolved[0] if resolved else None)
    name = fairness_metric or default
    if name not in FAIRNESS_METRICS:
        raise ConfigError(f"unknown fairness metric {name!r}; choose from {list(FAIRNESS_METRICS)}")
    metric = FAIRNESS_METRICS[name]
    attribute = item_attr if metric.needs == "item" else user_attr
    _check_measurable(name, metric, method, training, attribute, membership)
    leakage = (
        training
        and user_attr is not None
        and (method in ("adversary", PRIVACY) or name == "leakage_auc")
    )
    shown = [
        key
        for key, m in FAIRNESS_METRICS.items()
        if m.needs is None
        or (m.needs == "user" and user_attr is not None)
        or (m.needs == "item" and item_attr is not None)
        or (m.needs == "leakage" and leakage)
        or (m.needs == "membership" and membership)
    ]
    measure = Measure(
        k=k,
        user_attr=user_attr,
        item_attr=item_attr,
        leakage=leakage,
        shown=tuple(shown),
        membership=membership,
    )

    folder = Path(out) if out else Path(run_dir) / f"sweep-{method}"
    if write:
        check_new(folder, overwrite=overwrite)
    points: list[dict[str, Any]] = []
    if training:
        configs = [
            _point_config(loaded.config, method, params, label=_label(s))
            for s, params in zip(settings, resolved, strict=True)
        ]  # all checked before anything is trained
        base_reps = None
        if leakage and loaded.has_model:
            base_reps = loaded.user_representations()
        t0 = time.perf_counter()
        base_model = loaded.model if membership else None
        values = measure(
            loaded.split, loaded.recommendations, loaded.history, base_reps, base_model
        )
        points.append(_point("baseline", {}, values, name, seconds=time.perf_counter() - t0))
        for i, (setting, config) in enumerate(zip(settings, configs, strict=True), start=1):
            log.info(
                "sweep point %d/%d (%s): %s: retraining", i, len(configs), method, _label(setting)
            )
            t0 = time.perf_counter()
            retrained = run(config, write=False)
            reps = loaded.user_representations(retrained.model) if leakage else None
            values = measure(
                retrained.split, retrained.recommendations, loaded.history, reps, retrained.model
            )
            point = _point(_label(setting), setting, values, name, seconds=time.perf_counter() - t0)
            point["mitigation"] = retrained.metrics["mitigation"]
            if private:
                point["privacy"] = (retrained.metrics.get("training") or {}).get("privacy")
            points.append(point)
            log.info("sweep point %d/%d done in %.1f s", i, len(configs), point["seconds"])
    else:
        data = loaded.dataset
        stored = candidate_lists(loaded, depth)
        candidates = candidates_from_frame(stored, user_ids=data.user_ids, item_ids=data.item_ids)
        deeper = DeeperCandidates(loaded)
        for i, setting in enumerate([{}, *settings]):
            t0 = time.perf_counter()
            guarantee = None
            if setting:
                log.info("sweep point %d/%d (%s): %s", i, len(settings), method, _label(setting))
                lists, guarantee = guaranteed_rerank(
                    loaded,
                    candidates,
                    method=method,
                    params={**fixed, **setting},
                    k=k,
                    deepen=deepen,
                    deeper=deeper,
                )
                recs = lists.to_frame()
            else:
                recs = candidates.head(k).to_frame()
            values = measure(loaded.split, recs, loaded.history, None)
            point = _point(
                _label(setting) or "baseline",
                setting,
                values,
                name,
                seconds=time.perf_counter() - t0,
            )
            if guarantee is not None:
                point["guarantee"] = {
                    key: value
                    for key, value in guarantee.to_dict().items()
                    if key in ("guarantee", "lists", "met", "deepened", "depth", "deepening")
                }
            points.append(point)
    base = points[0]
    for point, is_pareto in zip(
        points,
        pareto([p["accuracy"] for p in points], [p["fairness"] for p in points], metric.better),
        strict=True,
    ):
        point["pareto"] = is_pareto
        point["accuracy_change"] = _change(point["accuracy"], base["accuracy"])
        point["fairness_change"] = _change(point["fairness"], base["fairness"])
    params: dict[str, Any] = {
        "run": str(run_dir),
        "method": method,
        "k": k,
        "accuracy_metric": f"ndcg@{k}",
        "fairness_metric": name,
        "fairness_label": metric.describe(attribute) if metric.needs else metric.label,
        "fairness_better": metric.better,
        "grid": {key: list(values) for key, values in grid.items()},
        "fixed": fixed,
        "depth": depth,
        "deepen": deepen,
    }
    if training:
        params |= {
            "stage": "in" if private else TRAINING_METHODS[method].stage,
            "retrained": True,
            "seed": loaded.config.seed,
            "model": loaded.config.model.get("name"),
            "user_attribute": user_attr,
            "item_attribute": item_attr,
        }
    result = {"params": params, "points": points}
    if write:
        _write(folder, result, overwrite=overwrite)
        log.info("sweep written to %s", folder)
    return result


def _label(setting: Mapping[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in setting.items())


def _point(
    label: str,
    setting: Mapping[str, Any],
    values: dict[str, float | None],
    name: str,
    *,
    seconds: float,
) -> dict[str, Any]:
    accuracy = next(v for key, v in values.items() if key.startswith("ndcg@"))
    return {
        "label": label,
        "setting": dict(setting),
        "accuracy": accuracy,
        "fairness": values[name],
        "metrics": values,
        "seconds": seconds,
    }


def privacy_point(fixed: Mapping[str, Any], setting: Mapping[str, Any]) -> dict[str, Any] | None:
    """A privacy sweep point's ``privacy`` settings (``None``: not private, ``epsilon = inf``).

    Raises:
        ConfigError: A key that is not a privacy setting, or a value that is not a number
            (checked as the model will: before any point is trained).
    """
    merged = {**fixed, **setting}
    unknown = sorted(set(merged) - set(PRIVACY_KEYS))
    if unknown:
        raise ConfigError(
            f"privacy sweep: unknown key(s) {unknown}; the grid and --param take "
            f"{', '.join(PRIVACY_KEYS)}, and attribute=A for A's gaps and leakage"
        )
    epsilon = merged.get("epsilon")
    if isinstance(epsilon, str) and epsilon.lower() in ("inf", "infinity"):
        epsilon = math.inf
    if isinstance(epsilon, float) and math.isinf(epsilon) and epsilon > 0:
        return None
    out = {**merged, "epsilon": epsilon} if "epsilon" in merged else merged
    private_settings(out, name=f"privacy sweep point {_label(setting)}")
    return out


def _check_measurable(
    name: str,
    metric: FairnessMetric,
    method: str,
    training: bool,
    attribute: str | None,
    membership: bool,
) -> None:
    if metric.needs == "membership" and not membership:
        raise ConfigError(
            f"fairness metric {name!r} attacks retrained models that score from a history "
            "(sasrec, bert4rec, ease...) with users held out of training: use it with a "
            "training-time method or privacy, on a run whose split holds users out "
            "(split.holdout_users, `equirec run --holdout-users 0.1`)"
        )
    if metric.needs == "leakage" and not training:
        raise ConfigError(
            f"fairness metric {name!r} probes the model's user representations, which "
            f"re-ranking ({method!r}) does not change; use it with a training-time method "
            "(e.g. adversary)"
        )
    if metric.needs is not None and attribute is None:
        side = "an item" if metric.needs == "item" else "a user"
        raise ConfigError(
            f"fairness metric {name!r} needs {side} attribute, which method {method!r} does "
            f"not name; choose another metric (e.g. {default_fairness(method)!r}) or a "
            "training-time method that balances such an attribute"
        )


def _point_config(
    config: RunConfig, method: str, params: dict[str, Any] | None, *, label: str
) -> RunConfig:
    """The run's config with ``method`` at ``params`` as its mitigation (a privacy sweep: as
    the model's ``privacy``, ``None`` for none), never written."""
    out = copy.deepcopy(config)
    out.out = None
    if method == PRIVACY:
        name = str(out.model.get("name"))
        if "privacy" not in model_class(name)._get_param_names():
            raise ConfigError(
                f"privacy sweep: model {name!r} cannot be trained privately; DP-SGD trains "
                "sasrec, bert4rec and bpr"
            )
        out.model = {k: v for k, v in out.model.items() if k != "privacy"}
        if params is not None:
            out.model["privacy"] = dict(params)
    else:
        out.mitigation = MitigationConfig(method=method, params=dict(params or {}))
    out.check(source=f"sweep point {label}")
    return out


def _change(value: float | None, base: float | None) -> float | None:
    if value is None or base is None or base == 0:
        return None
    return (value - base) / abs(base)


def _guarantee_columns(guarantee: Mapping[str, Any] | None) -> dict[str, Any]:
    if guarantee is None:
        return {}
    return {"guarantee_met": guarantee["met"], "guarantee_lists": guarantee["lists"]}


def _write(folder: Path, result: dict[str, Any], *, overwrite: bool) -> None:
    from equirec.reporting import render_sweep_html

    table = pd.DataFrame(
        [
            {
                "label": p["label"],
                **p["setting"],
                "pareto": p["pareto"],
                **p["metrics"],
                **_guarantee_columns(p.get("guarantee")),
                "seconds": p["seconds"],
            }
            for p in result["points"]
        ]
    )
    with atomic_dir(folder, overwrite=overwrite) as tmp:
        (tmp / "sweep.json").write_text(json.dumps(jsonable(result), indent=2))
        table.to_csv(tmp / "sweep.csv", index=False)
        (tmp / "sweep.html").write_text(render_sweep_html(jsonable(result)))
