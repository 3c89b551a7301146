"""Tune a model's parameters for the user's own data: ``equirec tune`` (Optuna).

:func:`tune_run` searches a run config's model parameters for the best validation NDCG@10
within a time budget (and, optionally, a number of trials). The data is loaded and split once;
the split's test part is dropped before the first trial, so no test metric is ever computed
while tuning. Every trial fits the model on the training part (neural models validating on the
validation part as in a run) and is scored by full-ranking NDCG@10 of the validation items,
training items excluded. The first trial is the config as given (the defaults), so the best is
never worse than them on validation. Trials that validate per epoch report every score and are
pruned when they fall below the median of earlier trials at the same epoch (Optuna's
``MedianPruner``), after ``warmup`` epochs.

It writes ``trials.csv`` (every trial: parameters, validation NDCG@10, state, seconds),
``tune.json`` and ``best.toml`` (the run config with the best parameters, for ``equirec run
--config``) into the output folder, atomically. The chosen config's test NDCG comes from that
run, separately.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import Field

from equirec.errors import ConfigError
from equirec.io import atomic_dir, check_new, jsonable
from equirec.params import Params, validate
from equirec.training.trainer import on_validation
from equirec.workflows.config import DATA_PATHS, RunConfig

if TYPE_CHECKING:
    from equirec.data.history import History

__all__ = ["DEFAULT_SPACES", "Dimension", "TuneSettings", "tune_run"]

log = logging.getLogger(__name__)


class Dimension(Params):
    """One searched parameter: a range (``low``, ``high``, ``log``; integers when both ends
    are) or a list of ``choices``."""

    low: float | int | None = None
    high: float | int | None = None
    log: bool = False
    choices: list[Any] | None = None


_SEQUENCE_SPACE: dict[str, dict[str, Any]] = {
    "lr": {"low": 3e-4, "high": 1e-2, "log": True},
    "dropout": {"low": 0.0, "high": 0.6},
    "dim": {"choices": [32, 64, 128]},
    "layers": {"choices": [1, 2, 3]},
    "batch_size": {"choices": [32, 64, 128, 256]},
    "weight_decay": {"choices": [0.0, 1e-4, 1e-2]},
}
DEFAULT_SPACES: dict[str, dict[str, dict[str, Any]]] = {
    "sasrec": _SEQUENCE_SPACE,
    "bert4rec": {**_SEQUENCE_SPACE, "mask_prob": {"low": 0.1, "high": 0.5}},
    "bpr": {
        "lr": {"low": 1e-3, "high": 5e-2, "log": True},
        "dim": {"choices": [32, 64, 128]},
        "l2": {"low": 1e-7, "high": 1e-3, "log": True},
    },
    "ease": {"l2": {"low": 10.0, "high": 10000.0, "log": True}},
    "itemknn": {
        "k_neighbors": {"choices": [10, 20, 50, 100, 200]},
        "shrink": {"low": 0.0, "high": 100.0},
    },
}
"""The space searched when none is given, per model."""


class TuneSettings(Params):
    """How ``equirec tune`` searches."""

    minutes: float = 20.0
    """Time budget: no trial starts after it (a trial running then finishes)."""
    trials: int | None = None
    """Most trials (``None``: as many as the budget allows)."""
    space: dict[str, Dimension] = Field(default_factory=dict)
    """Parameter -> its range or choices (default: :data:`DEFAULT_SPACES` of the model)."""
    seed: int = 0
    """Seeds the sampler (TPE); every trial trains with the run config's seed."""
    prune: bool = True
    """Stop trials whose validation falls below the median of earlier trials."""
    warmup: int = 10
    """Epochs before a trial can be pruned."""


def _space(config: RunConfig, settings: TuneSettings) -> dict[str, Dimension]:
    from equirec.models.registry import model_class

    name = str(config.model["name"])
    space = settings.space or {
        key: Dimension(**value) for key, value in DEFAULT_SPACES.get(name, {}).items()
    }
    if not space:
        raise ConfigError(
            f"tune: no default search space for {name!r} (there is one for "
            f"{sorted(DEFAULT_SPACES)}); give one, e.g. --space l2=10:1000:log"
        )
    names = set(model_class(name)._get_param_names())
    for key, dim in space.items():
        if key not in names:
            raise ConfigError(f"tune: {name!r} has no parameter {key!r}; it has {sorted(names)}")
        if dim.choices is None and (dim.low is None or dim.high is None or dim.low >= dim.high):
            raise ConfigError(f"tune: {key} needs choices, or low < high (got {dim})")
        if dim.log and dim.choices is None and float(dim.low or 0) <= 0:
            raise ConfigError(f"tune: {key} is searched on a log scale, so low must be > 0")
    return space


def _suggest(trial: Any, key: str, dim: Dimension) -> Any:
    if dim.choices is not None:
        return trial.suggest_categorical(key, dim.choices)
    if isinstance(dim.low, int) and isinstance(dim.high, int):
        return trial.suggest_int(key, dim.low, dim.high, log=dim.log)
    return trial.suggest_float(key, float(dim.low or 0), float(dim.high or 0), log=dim.log)


def tune_run(
    config: RunConfig | Mapping[str, Any],
    *,
    settings: TuneSettings | Mapping[str, Any] | None = None,
    out: str | Path | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Search the model's parameters for the best validation NDCG@10.

    Args:
        config: The run config whose model is tuned (its data, split, seed and fixed
            parameters are kept).
        settings: Budget, trials, space, seed, pruning (a :class:`TuneSettings` or its dict).
        out: Output folder (``trials.csv``, ``tune.json``, ``best.toml``); ``None``: nothing
            written.
        overwrite: Replace ``out``.

    Returns:
        ``tune.json``'s content: ``params``, ``default`` (the config as given: its validation
        NDCG@10), ``best`` (value and parameters), ``trials`` (every trial) and ``config`` (the
        best run config).

    Raises:
        ConfigError: A split without validation items, a bad space, or the ``tune`` extra
            missing.
    """
    try:
        import optuna
    except ImportError as exc:
        raise ConfigError("equirec tune needs optuna: pip install 'equirec[tune]'") from exc
    from equirec.evaluation import evaluate
    from equirec.workflows.run import build_model
    from equirec.workflows.rundir import load_data, make_split

    if not isinstance(config, RunConfig):
        config = RunConfig.from_dict(dict(config), source="tune")
    if not isinstance(settings, TuneSettings):
        settings = validate(TuneSettings, dict(settings or {}), where="tune", noun="setting")
    if settings.minutes <= 0 or (settings.trials is not None and settings.trials < 1):
        raise ConfigError("tune: minutes must be > 0 and trials at least 1")
    if config.mitigation.method is not None:
        raise ConfigError(
            "tune: the config has a [mitigation]; tune the model without it (then sweep the "
            "mitigation's strength with `equirec sweep`)"
        )
    searched = _space(config, settings)
    folder = None if out is None else Path(out)
    if folder is not None:
        check_new(folder, overwrite=overwrite)
    dataset = load_data(config)
    split = make_split(dataset, config)
    defaults = _defaults(config, searched, split.train.history())
    space = _covering(searched, defaults)
    if not len(split.valid):
        raise ConfigError("tune: the split has no validation part to score trials on")
    # the test part is emptied before any trial: no test metric can be computed while tuning
    split = dataclasses.replace(split, test=split.test.subset(np.zeros(len(split.test), bool)))
    valid = split.valid
    base = dict(config.model)

    def objective(trial: Any) -> float:
        params = {key: _suggest(trial, key, dim) for key, dim in space.items()}
        point = RunConfig.from_dict({**config.to_dict(), "model": {**base, **params}})
        model = build_model(point)

        def report(epoch: int, score: float) -> None:
            if settings.prune and not math.isnan(score):
                trial.report(score, epoch)
                if trial.should_prune():
                    raise optuna.TrialPruned()

        t0 = time.perf_counter()
        with on_validation(report):
            model.fit(split.train, valid=valid)
        scored = evaluate(model, test=valid, ks=(10,), keep_k=10)
        trial.set_user_attr("seconds", time.perf_counter() - t0)
        return float(scored.overall["ndcg@10"])

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=settings.seed),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=settings.warmup),
    )
    study.enqueue_trial(defaults, skip_if_exists=True)
    t0 = time.perf_counter()
    study.optimize(
        objective,
        n_trials=settings.trials,
        timeout=settings.minutes * 60.0,
        catch=(),
        gc_after_trial=True,
    )
    trials = [
        {
            "number": t.number,
            "state": t.state.name.lower(),
            "ndcg@10": t.value,
            "seconds": t.user_attrs.get("seconds"),
            **{f"params.{k}": v for k, v in t.params.items()},
        }
        for t in study.trials
    ]
    completed = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not completed:
        raise ConfigError(
            "tune: no trial finished within the budget; give more --minutes (a trial of this "
            "model takes longer)"
        )
    best = study.best_trial
    first = study.trials[0]
    chosen = RunConfig.from_dict({**config.to_dict(), "model": {**base, **best.params}})
    result = {
        "schema_version": "equirec-tune/1",
        "params": {
            "model": base["name"],
            "space": {k: v.model_dump(exclude_none=True) for k, v in space.items()},
            "minutes": settings.minutes,
            "trials": settings.trials,
            "seed": settings.seed,
            "prune": settings.prune,
            "warmup": settings.warmup,
            "seconds": time.perf_counter() - t0,
            "metric": "validation NDCG@10, full ranking, training items excluded",
        },
        "default": {"params": defaults, "ndcg@10": first.value, "state": first.state.name.lower()},
        "best": {"number": best.number, "ndcg@10": best.value, "params": best.params},
        "counts": {
            state: sum(t["state"] == state for t in trials)
            for state in ("complete", "pruned", "fail")
        },
        "trials": trials,
        "config": chosen.to_dict(),
    }
    if folder is not None:
        _write(folder, result, overwrite=overwrite)
    return result


def _defaults(
    config: RunConfig, space: Mapping[str, Dimension], history: History
) -> dict[str, Any]:
    """The config's own value of every searched parameter (its model's default where unset;
    an ``"auto"`` one as it would be set for the training ``history``)."""
    from equirec.models.sequence_defaults import auto_settings
    from equirec.workflows.run import build_model

    params = build_model(config).get_params()
    params.update(auto_settings(params, history))
    return {key: params[key] for key in space}


def _covering(space: Mapping[str, Dimension], values: Mapping[str, Any]) -> dict[str, Dimension]:
    """The space widened where the config's own value lies outside it (a ``dim`` of 48 joins
    the choices), so that the first trial is the config exactly as given."""
    out = {}
    for key, dim in space.items():
        value = values[key]
        if dim.choices is not None:
            choices = dim.choices if value in dim.choices else [*dim.choices, value]
            out[key] = dim.model_copy(update={"choices": choices})
        elif isinstance(value, int | float) and not isinstance(value, bool):
            assert dim.low is not None and dim.high is not None  # checked by _space
            if dim.log and value <= 0:
                raise ConfigError(
                    f"tune: {key} = {value} (the config's value, its first trial) cannot be "
                    f"searched on a log scale; give {key} a positive value or choices"
                )
            out[key] = dim.model_copy(
                update={"low": min(dim.low, value), "high": max(dim.high, value)}
            )
        else:
            out[key] = dim
    return out


def _write(folder: Path, result: dict[str, Any], *, overwrite: bool) -> None:
    import tomli_w

    config = {k: v for k, v in jsonable(result["config"]).items() if v is not None and k != "out"}
    for key in DATA_PATHS:  # best.toml may live anywhere: its paths must not depend on where
        value = config.get("data", {}).get(key)
        if isinstance(value, str):
            config["data"][key] = str(Path(value).resolve())
    with atomic_dir(folder, overwrite=overwrite) as tmp:
        (tmp / "tune.json").write_text(json.dumps(jsonable(result), indent=2), encoding="utf-8")
        pd.DataFrame(result["trials"]).to_csv(tmp / "trials.csv", index=False)
        (tmp / "best.toml").write_text(tomli_w.dumps(_toml_ready(config)), encoding="utf-8")


def _toml_ready(value: Any) -> Any:
    """TOML has no null: ``None`` entries are left out (they are the defaults)."""
    if isinstance(value, dict):
        return {k: _toml_ready(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_toml_ready(v) for v in value if v is not None]
    return value
