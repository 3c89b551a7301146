"""The main job: load, preprocess, split, train, evaluate by full ranking, write the run folder.

A ``[mitigation]`` section of the config is applied between the split and training (see
:mod:`equirec.mitigation.apply`): it changes the training part only, or attaches a loss term to
the model; evaluation always reads the split's original interactions. The folder is written by
:mod:`equirec.workflows.rundir`.

When some test event's item has no interaction in the split's training part (always under the
``cold-items`` split, sometimes under ``temporal`` or ``random``), ``metrics.json`` also holds
``slices``: the metrics of the ``cold_target`` and ``warm_target`` events apart
(:mod:`equirec.evaluation.slices`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from equirec.data.dataset import Dataset
from equirec.data.known import KnownData
from equirec.data.splits import Split
from equirec.errors import ConfigError
from equirec.evaluation import EvaluationResult, evaluate, target_slices
from equirec.evaluation.retrieval import ann_ranker, retrieval_report
from equirec.io import check_new, jsonable
from equirec.mitigation.apply import AppliedMitigation, apply_training_mitigation
from equirec.models.base import Recommender
from equirec.models.registry import model_class
from equirec.training import distributed
from equirec.workflows.config import RunConfig
from equirec.workflows.rundir import default_out, load_data, make_split, write_run

__all__ = ["RunResult", "build_model", "run"]

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    """What a run produced (also written to its folder).

    ``split`` is the split as made (evaluation reads it); ``train`` the data the model was fitted
    on, which differs from ``split.train`` only when a mitigation changed it (``mitigation``).
    """

    metrics: dict[str, Any]
    per_user: pd.DataFrame
    recommendations: pd.DataFrame
    model: Recommender
    split: Split
    out: Path | None
    train: Dataset | None = None
    mitigation: AppliedMitigation | None = None


def build_model(config: RunConfig) -> Recommender:
    """Instantiate the configured model with the run seed where it takes one."""
    params = {k: v for k, v in config.model.items() if k != "name"}
    cls = model_class(str(config.model["name"]))
    names = set(cls._get_param_names())
    if "seed" in names:
        params.setdefault("seed", config.seed)
    return cls(**params)


def run(
    config: RunConfig | dict[str, Any] | None = None,
    *,
    write: bool = True,
    overwrite: bool = False,
) -> RunResult:
    """Train and evaluate as ``config`` says; write the run folder unless ``write`` is False.

    Args:
        config: A :class:`RunConfig`, or the same as nested dicts (as in a TOML file, e.g.
            ``{"data": {"dataset": "ml-100k"}, "model": {"name": "ease"}}``); default: the
            built-in dataset with SASRec.
        write: Write the run folder (``config.out`` or a new folder under ``runs/``).
        overwrite: Replace an existing ``config.out``; by default a folder that holds files is
            refused before anything is trained (:class:`~equirec.errors.OutputExistsError`).
    """
    if config is None:
        config = RunConfig()
    elif isinstance(config, dict):
        config = RunConfig.from_dict(config)
    elif not isinstance(config, RunConfig):
        raise ConfigError(
            f"run: config must be a RunConfig or a dict of its sections, got "
            f"{type(config).__name__}; for a TOML file use RunConfig.from_toml(path)"
        )
    config.check()
    if write and config.out:
        check_new(Path(config.out), overwrite=overwrite)
    started = datetime.now(timezone.utc)
    dataset = load_data(config)
    split = make_split(dataset, config)
    model = build_model(config)
    train = split.train
    applied: AppliedMitigation | None = None
    if config.mitigation.method is not None:
        applied = apply_training_mitigation(
            model,
            split.train,
            method=config.mitigation.method,
            params=config.mitigation.params,
            seed=config.seed,
        )
        model, train = applied.model, applied.train

    t0 = time.perf_counter()
    valid = split.valid if len(split.valid) else None
    log.info(
        "training %s on %s: %d interactions (%s split, seed %d)",
        model.name,
        dataset.name,
        len(train),
        split.name,
        config.seed,
    )
    model.fit(train, valid=valid)
    train_seconds = time.perf_counter() - t0
    shard = distributed.current()
    if shard.rank:  # rank 0 evaluates and writes; the other processes only trained
        return RunResult(
            metrics={"rank": shard.rank, "train_seconds": train_seconds},
            per_user=pd.DataFrame(),
            recommendations=pd.DataFrame(),
            model=model,
            split=split,
            out=None,
            train=train,
            mitigation=applied,
        )

    known = KnownData.from_split(split, history=config.evaluation.history)
    e = config.evaluation
    t1 = time.perf_counter()
    # Cold-target events (items without a training interaction of the split) scored apart.
    slices = target_slices(train=split.train.history(), test=split.test.history())
    options: dict[str, Any] = {
        "test": split.test,
        "history": known.history,
        "exclude": known.exclude,
        "ks": tuple(e.ks),
        "keep_k": e.keep_k,
        "batch_size": e.batch_size,
        "popularity": known.popularity,
        "popularity_source": known.popularity_source,
        "item_slices": slices,
    }
    ranker = None
    if e.retrieval != "exact":
        ranker = ann_ranker(model, method=e.retrieval, params=e.retrieval_params)
    result: EvaluationResult = evaluate(model, ranker=ranker, **options)
    eval_seconds = time.perf_counter() - t1
    retrieval = None
    if ranker is not None:  # what the index changed, against exact ranking of the same model
        t2 = time.perf_counter()
        exact = evaluate(model, **options)
        retrieval = retrieval_report(
            exact.recommendations,
            result.recommendations,
            exact_metrics=exact.overall,
            approx_metrics=result.overall,
            ranker=ranker,
            k=10 if 10 in e.ks else max(e.ks),
            seconds={"approximate": eval_seconds, "exact": time.perf_counter() - t2},
        )
    log.info("evaluated %d test users in %.1f s", len(result.per_user), eval_seconds)

    metrics: dict[str, Any] = {
        "overall": result.overall,
        # Only when some test item was never trained on: the same metrics on either side.
        **({"slices": result.slices} if result.slices else {}),
        "dataset": dataset.stats(),
        "model": model.name,
        "model_params": jsonable(model.get_params(deep=False)),
        "split": split.name,
        "split_params": jsonable(split.params),
        "split_sizes": {
            "train": len(split.train),
            "valid": len(split.valid),
            "test": len(split.test),
        },
        "seed": config.seed,
        "exclude_seen": True,
        "protocol": "full ranking over the whole catalogue; items of the user's training "
        "and validation interactions excluded",
        "test_history": e.history,
        "popularity": result.params["popularity"],
        "implicit": dataset.info.get("implicit", "every interaction counts"),
        "evaluated_users": len(result.per_user),
        "train_seconds": train_seconds,
        "eval_seconds": eval_seconds,
        **(
            {"distributed": {"processes": shard.world, "backend": distributed.backend()}}
            if shard.world > 1
            else {}
        ),
        **({"retrieval": retrieval} if retrieval else {}),
        "training": jsonable(
            getattr(model, "training_log_", None) and model.training_log_.as_dict()
        ),
        "mitigation": None if applied is None else jsonable(applied.record()),
        "model_inputs": model_inputs(dataset, model, None if applied is None else applied.params),
        "started": started.isoformat(timespec="seconds"),
        "warnings": _warnings(dataset, result, config) + list(getattr(model, "warnings_", [])),
    }
    # The saved model knows what the run knew before the test, so that re-using it from Python
    # (Recommender.load(...).recommend(...)) ranks as the run did and never re-recommends a
    # validation item.
    model.set_history(known.history)
    out = None
    if write:
        out = Path(config.out) if config.out else default_out(config)
        resolved = {
            **config.to_dict(),
            "model": {**model.get_params(deep=False), "name": model.name},
        }
        if applied is not None:
            resolved["mitigation"] = {"method": applied.method, "params": applied.params}
        resolved["out"] = str(out)
        write_run(
            out,
            config=resolved,
            metrics=metrics,
            per_user=result.per_user,
            recommendations=result.recommendations,
            model=model,
            overwrite=overwrite,
        )
        log.info("run written to %s", out)
    return RunResult(
        metrics=metrics,
        per_user=result.per_user,
        recommendations=result.recommendations,
        model=model,
        split=split,
        out=out,
        train=train,
        mitigation=applied,
    )


def model_inputs(
    dataset: Dataset, model: Recommender, mitigation: dict[str, Any] | None
) -> dict[str, list[str]]:
    """Every column the model saw in training (data minimisation: a sensitive attribute enters
    only where a user feature or a mitigation names it).

    Returns:
        ``interactions`` (the log's columns read), ``item_attributes`` and ``user_attributes``
        (content and user features, and the attributes a mitigation balances).
    """
    columns = ["user", "item", "timestamp"]
    weights = dataset.interactions.get("weight")
    if weights is not None and not (weights == 1.0).all():  # not the default of 1 for each
        columns.append("weight")
    items = list(getattr(model, "content_attributes", ()) or ())
    users = list(getattr(model, "user_attributes", ()) or ())
    named: list[str] = []
    for key, value in (mitigation or {}).items():
        if "attribute" in key and value:
            named += [value] if isinstance(value, str) else [str(v) for v in value]
    user_table, item_table = dataset.user_attributes, dataset.item_attributes
    for name in named:
        if user_table is not None and name in user_table.columns and name not in users:
            users.append(name)
        elif item_table is not None and name in item_table.columns and name not in items:
            items.append(name)
    return {"interactions": columns, "item_attributes": items, "user_attributes": users}


def _warnings(dataset: Dataset, result: EvaluationResult, config: RunConfig) -> list[str]:
    """What was probably not meant, recorded with the results (and logged once here)."""
    out = list(dataset.info.get("warnings", []))  # logged where they arose
    e = config.evaluation
    if max(e.ks) > dataset.n_items:
        text = (
            f"evaluation.ks goes up to {max(e.ks)}, beyond the catalogue of {dataset.n_items} "
            "items: a list holds at most the user's unseen items, so metrics at such a k equal "
            "those at the catalogue size"
        )
        log.warning(text)
        out.append(text)
    unreachable = int(result.params.get("unreachable_relevant") or 0)
    if unreachable:
        text = (
            f"{unreachable} test interaction(s) were already known before the test (the item is "
            "in the user's training or validation history), so they can never be hit and count "
            "as misses; repeated interactions are kept by default: set preprocess.duplicates = "
            '"first" if repeats are not meant'
        )
        log.warning(text)
        out.append(text)
    return out
