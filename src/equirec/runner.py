"""The main job: load, preprocess, split, train, evaluate by full ranking, write the run folder.

A ``[mitigation]`` section of the config is applied between the split and training (see
:mod:`equirec.mitigation.training`): it changes the training part only, or attaches a loss term to
the model; evaluation always reads the split's original interactions.

A run folder holds ``metrics.json``, ``per_user.csv``, ``recommendations.csv``, ``config.json`` and
``model/``. It is assembled in a temporary folder and renamed into place only when complete, so a
crashed run never leaves a folder that looks finished.
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd

from equirec.config import RunConfig
from equirec.data.dataset import Dataset
from equirec.data.history import History
from equirec.data.splits import Split
from equirec.evaluation import EvaluationResult, evaluate
from equirec.io import atomic_dir, jsonable
from equirec.mitigation.training import AppliedMitigation, apply_training_mitigation
from equirec.models.base import Recommender
from equirec.models.registry import model_class


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


def load_data(config: RunConfig) -> Dataset:
    """The dataset a config names, preprocessed."""
    from equirec.data import load_dataset, load_interactions, preprocess

    d = config.data
    if d.interactions:
        dataset = load_interactions(
            d.interactions,
            columns=d.columns or None,
            sep=d.sep,
            user_attributes=d.user_attributes,
            item_attributes=d.item_attributes,
            user_key=d.user_key,
            item_key=d.item_key,
            multi_valued=d.multi_valued or None,
        )
    else:
        dataset = load_dataset(d.dataset, data_dir=d.data_dir)
    p = config.preprocess
    return preprocess(
        dataset,
        min_rating=p.min_rating,
        duplicates=p.duplicates,  # type: ignore[arg-type]
        user_core=p.user_core,
        item_core=p.item_core,
    )


def make_split(dataset: Dataset, config: RunConfig) -> Split:
    """Split ``dataset`` as configured, seeded by the run seed."""
    from equirec.data import split_dataset

    s = config.split
    options: dict[str, Any] = {}
    if s.method != "loo":
        options = {"valid_frac": s.valid_frac, "test_frac": s.test_frac}
    return split_dataset(dataset, method=s.method, seed=config.seed, **options)  # type: ignore[arg-type]


def build_model(config: RunConfig, *, verbose: bool = True) -> Recommender:
    """Instantiate the configured model with the run seed (and verbosity) where it takes them."""
    params = {k: v for k, v in config.model.items() if k != "name"}
    cls = model_class(str(config.model["name"]))
    names = set(cls._get_param_names())
    if "seed" in names:
        params.setdefault("seed", config.seed)
    if "verbose" in names:
        params.setdefault("verbose", verbose)
    return cls(**params)


def run(
    config: RunConfig | dict[str, Any] | None = None,
    *,
    verbose: bool = True,
    write: bool = True,
) -> RunResult:
    """Train and evaluate as ``config`` says; write the run folder unless ``write`` is False.

    Args:
        config: A :class:`RunConfig`, or the same as nested dicts (as in a TOML file, e.g.
            ``{"data": {"dataset": "ml-100k"}, "model": {"name": "ease"}}``); default: the
            built-in dataset with SASRec.
        verbose: Progress bars.
        write: Write the run folder (``config.out`` or a new folder under ``runs/``).
    """
    if config is None:
        config = RunConfig()
    elif isinstance(config, dict):
        config = RunConfig.from_dict(config)
    config.validate()
    started = datetime.now(timezone.utc)
    dataset = load_data(config)
    split = make_split(dataset, config)
    model = build_model(config, verbose=verbose)
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
    model.fit(train, valid=valid)
    train_seconds = time.perf_counter() - t0

    train_history = split.train.history()
    valid_history = split.valid.history()
    e = config.evaluation
    exclude: tuple[History, ...] = ()
    if e.history == "train+valid":
        history = train_history.concat(valid_history)
    else:
        history, exclude = train_history, (valid_history,)
    t1 = time.perf_counter()
    result: EvaluationResult = evaluate(
        model,
        test=split.test,
        history=history,
        exclude=exclude,
        ks=tuple(e.ks),
        keep_k=e.keep_k,
        batch_size=e.batch_size,
        popularity=train_history.item_counts(),
    )
    eval_seconds = time.perf_counter() - t1

    metrics: dict[str, Any] = {
        "overall": result.overall,
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
        "implicit": dataset.info.get("implicit", "every interaction counts"),
        "evaluated_users": len(result.per_user),
        "train_seconds": train_seconds,
        "eval_seconds": eval_seconds,
        "training": jsonable(
            getattr(model, "training_log_", None) and model.training_log_.as_dict()
        ),
        "mitigation": None if applied is None else jsonable(applied.record()),
        "started": started.isoformat(timespec="seconds"),
    }
    out = None
    if write:
        out = write_run(
            Path(config.out) if config.out else default_out(config),
            config=config,
            metrics=metrics,
            result=result,
            model=model,
            mitigation=applied,
        )
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


def default_out(config: RunConfig) -> Path:
    """A new folder under ``runs/`` named after the time, dataset and model."""
    data = Path(config.data.interactions).stem if config.data.interactions else config.data.dataset
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = Path("runs") / f"{stamp}-{data}-{config.model['name']}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def versions() -> dict[str, str]:
    """Versions of Python and the packages that move results."""
    out = {"python": platform.python_version(), "platform": platform.platform()}
    for pkg in ("equirec", "torch", "numpy", "pandas", "scipy", "scikit-learn"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:  # pragma: no cover
            out[pkg] = "not installed"
    return out


def write_run(
    out: Path,
    *,
    config: RunConfig,
    metrics: dict[str, Any],
    result: EvaluationResult,
    model: Recommender,
    mitigation: AppliedMitigation | None = None,
) -> Path:
    """Write the run folder atomically (``config.json`` records the resolved parameters)."""
    with atomic_dir(out) as tmp:
        (tmp / "metrics.json").write_text(json.dumps(jsonable(metrics), indent=2))
        result.per_user.to_csv(tmp / "per_user.csv", index=False)
        result.recommendations.to_csv(tmp / "recommendations.csv", index=False)
        resolved = {
            **config.to_dict(),
            "model": {**model.get_params(deep=False), "name": model.name},
        }
        if mitigation is not None:
            resolved["mitigation"] = {"method": mitigation.method, "params": mitigation.params}
        resolved["out"] = str(out)
        (tmp / "config.json").write_text(
            json.dumps(jsonable({"config": resolved, "versions": versions()}), indent=2)
        )
        model.save(tmp / "model")
    return out
