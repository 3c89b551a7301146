"""A study of model families and sizes: train a grid on one split with several seeds, audit
every run, and put accuracy and fairness against model size.

:func:`study_run` reads a :class:`StudyConfig` (a TOML file or a dict): the data, split and
evaluation shared by every run, the seeds, and the model families, each with fixed parameters
and a grid (``dim = [32, 64, 128, 256]``). Every (family, grid point, seed) is one ordinary run
folder under ``out/runs/``, trained and audited as ``equirec run`` and ``equirec audit`` would.
A study is resumable: a folder that already holds the same run (its saved config equal to the
point's) and its audit is read, not retrained, so a stopped study continues where it stopped.

It writes ``study.json`` (every run's row and every point's summary over the seeds),
``study.csv`` and ``study.html`` (:func:`equirec.reporting.study.render_study`): each headline
against the number of trained parameters, one line per family, the baselines as levels.
"""

from __future__ import annotations

import inspect
import json
import logging
import math
import os
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field
from scipy import stats as scipy_stats

from equirec.errors import ConfigError
from equirec.fairness.audit import audit
from equirec.fairness.schema import AuditReport
from equirec.io import atomic_dir, check_new, jsonable, read_toml, relative_to
from equirec.mitigation.tradeoff import FAIRNESS_METRICS, grid_points
from equirec.params import Params, validate
from equirec.workflows.config import DATA_PATHS, RunConfig
from equirec.workflows.rundir import AUDIT_JSON

__all__ = ["StudyConfig", "StudyModel", "plan", "study_from_flags", "study_run", "summarise"]

log = logging.getLogger(__name__)

_AUDIT_OPTIONS = frozenset(inspect.signature(audit).parameters) - {
    "data",
    "context",
    "user_representations",
}


class StudyModel(Params):
    """One model family of a study."""

    name: str
    """The registered model (``sasrec``, ``bert4rec``, ``pop``...)."""
    label: str | None = None
    """The family's name in the results (default ``name``)."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Parameters fixed at every point."""
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    """Parameter values crossed into points (none: one point)."""


class StudyConfig(Params):
    """Everything one ``equirec study`` does."""

    out: str
    """The study folder: runs under ``out/runs/``, results in ``out/``."""
    models: list[StudyModel]
    seeds: list[int] = Field(default_factory=lambda: [0, 1, 2])
    data: dict[str, Any] = Field(default_factory=dict)
    preprocess: dict[str, Any] = Field(default_factory=dict)
    split: dict[str, Any] = Field(default_factory=dict)
    evaluation: dict[str, Any] = Field(default_factory=dict)
    audit: dict[str, Any] = Field(default_factory=dict)
    """Options of the audit of every run (``n_boot``, ``n_permutations``, ``attributes``...)."""

    @classmethod
    def from_toml(cls, path: str | Path) -> StudyConfig:
        """Read a TOML study file; relative paths in it are relative to its folder."""
        path = Path(path)
        data = read_toml(path, what="study file")
        paths = [(data.get("data"), DATA_PATHS), (data, ("out",))]
        for table, keys in paths:
            for key in keys:
                if isinstance(table, dict) and isinstance(table.get(key), str):
                    table[key] = relative_to(path.parent, table[key])
        return validate(cls, data, where=str(path), noun="key")


def study_from_flags(
    *,
    dataset: str | None,
    data_dir: str | None,
    models: Sequence[str],
    grid: Mapping[str, list[Any]],
    fixed: Mapping[str, Any],
    seeds: Sequence[int] | None,
    out: str | None,
) -> StudyConfig:
    """A study from command-line flags: every model family gets the grid values and fixed
    parameters it takes (a grid of ``dim`` applies to SASRec and BERT4Rec, not to popularity).

    Raises:
        ConfigError: No model or no ``out``, or a parameter that no family takes.
    """
    from equirec.models.registry import model_class

    if not models or out is None:
        raise ConfigError("study: give --config, or at least one --model and --out")
    takes = {name: set(model_class(name)._get_param_names()) for name in models}
    for key in [*grid, *fixed]:
        if not any(key in names for names in takes.values()):
            raise ConfigError(f"study: no model among {list(models)} takes the parameter {key!r}")
    data: dict[str, Any] = {}
    if dataset is not None:
        data["dataset"] = dataset
    if data_dir is not None:
        data["data_dir"] = data_dir
    return StudyConfig(
        out=out,
        seeds=list(seeds) if seeds else [0, 1, 2],
        data=data,
        models=[
            StudyModel(
                name=name,
                params={k: v for k, v in fixed.items() if k in takes[name]},
                grid={k: list(v) for k, v in grid.items() if k in takes[name]},
            )
            for name in models
        ],
    )


def _point_label(point: Mapping[str, Any]) -> str:
    return "-".join(f"{k}{v}" for k, v in point.items()) or "default"


def plan(config: StudyConfig, *, source: str = "study") -> list[dict[str, Any]]:
    """Every run of the study: its family, point, seed, folder and checked run config.

    Raises:
        ConfigError: No model or seed, a family given twice, unknown audit options, or a
            point whose run config is invalid (named, before anything is trained).
    """
    if not config.models or not config.seeds:
        raise ConfigError(f"{source}: a study needs at least one model and one seed")
    labels = [m.label or m.name for m in config.models]
    if len(set(labels)) < len(labels):
        raise ConfigError(f"{source}: two model families share a label; give each a label")
    unknown = sorted(set(config.audit) - _AUDIT_OPTIONS)
    if unknown:
        raise ConfigError(
            f"{source} [audit]: unknown option(s) {unknown}; valid: {sorted(_AUDIT_OPTIONS)}"
        )
    root = Path(config.out) / "runs"
    runs = []
    for family, label in zip(config.models, labels, strict=True):
        for point in grid_points(family.grid) if family.grid else [{}]:
            for seed in config.seeds:
                folder = root / label / f"{_point_label(point)}-seed{seed}"
                raw = {
                    "seed": seed,
                    "out": str(folder),
                    "data": config.data,
                    "preprocess": config.preprocess,
                    "split": config.split,
                    "evaluation": config.evaluation,
                    "model": {"name": family.name, **family.params, **point},
                }
                where = f"{source} [[models]] {label} {_point_label(point)}"
                run_config = RunConfig.from_dict(
                    {k: v for k, v in raw.items() if v != {}}, source=where
                )
                runs.append(
                    {
                        "family": label,
                        "model": family.name,
                        "point": point,
                        "label": _point_label(point),
                        "seed": seed,
                        "folder": str(folder),
                        "config": run_config.to_dict(),
                    }
                )
    return runs


def study_run(
    config: StudyConfig | Mapping[str, Any],
    *,
    jobs: int = 1,
    overwrite: bool = False,
    train: bool = True,
    source: str = "study",
) -> dict[str, Any]:
    """Train and audit every run of the study (resuming those already done); write results.

    Args:
        config: The study (a :class:`StudyConfig` or its dict).
        jobs: Runs trained at once, each in its own process on ``cores / jobs`` threads.
        overwrite: Replace run folders that hold another run, and the study's results.
        train: Train and audit what is missing; ``False``: summarise the runs already done
            (and audited) only, listing the others as ``missing`` (a long study's progress).
        source: Where the config came from, for messages.

    Returns:
        The ``study.json`` content: ``params``, ``runs`` (one row per run) and ``points``
        (each family and grid point summarised over the seeds).

    Raises:
        ConfigError: An invalid study, or (without ``overwrite``) a run folder holding a
            run of another config.
    """
    if not isinstance(config, StudyConfig):
        config = validate(StudyConfig, dict(config), where=source, noun="key")
    if jobs < 1:
        raise ConfigError(f"jobs must be at least 1, not {jobs}")
    runs = plan(config, source=source)
    out = Path(config.out)
    results = out / "results"
    if results.exists() and not (results / "study.json").is_file():
        check_new(results, overwrite=overwrite)  # not a study's results: never replaced unasked
    needs = {r["folder"]: _todo(r, config.audit, overwrite=overwrite) for r in runs}
    todo = [r for r in runs if needs[r["folder"]]] if train else []
    missing = [r["folder"] for r in runs if needs[r["folder"]]] if not train else []
    log.info(
        "study: %d runs, %d to train, %d to audit",
        len(runs),
        sum(n == "train" for n in needs.values()),
        sum(n == "audit" for n in needs.values()),
    )
    t0 = time.perf_counter()
    threads = max(1, (os.cpu_count() or 1) // jobs)
    if jobs == 1 or len(todo) <= 1:
        for r in todo:
            _train_and_audit(
                r["config"], config.audit, threads, train=needs[r["folder"]] == "train"
            )
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            futures = [
                pool.submit(
                    _train_and_audit,
                    r["config"],
                    config.audit,
                    threads,
                    train=needs[r["folder"]] == "train",
                )
                for r in todo
            ]
            try:
                for future in futures:
                    future.result()
            except BaseException:
                pool.shutdown(cancel_futures=True)
                raise
    rows = [_row(r) for r in runs if r["folder"] not in missing]
    if not rows:
        raise ConfigError(f"study: no run of {config.out} is done yet; run it without --no-train")
    result = {
        "schema_version": "equirec-study/1",
        "params": {
            "out": str(out),
            "seeds": config.seeds,
            "families": [m.label or m.name for m in config.models],
            "models": [m.model_dump() for m in config.models],
            "data": config.data,
            "split": config.split,
            "audit": config.audit,
            "runs": len(runs),
            "trained_now": sum(needs[r["folder"]] == "train" for r in todo),
            "audited_now": len(todo),
            "missing": missing,
            "seconds": time.perf_counter() - t0,
        },
        "runs": rows,
        "points": summarise(rows),
    }
    _write(out, result)
    return result


def _todo(run: Mapping[str, Any], audit_options: Mapping[str, Any], *, overwrite: bool) -> str:
    """What the run's folder still needs: ``"train"`` (then audit), ``"audit"`` or ``""``.

    Raises:
        ConfigError: (Without ``overwrite``) the folder holds files of another run, or an
            unreadable ``config.json``.
    """
    folder = Path(run["folder"])
    config_path = folder / "config.json"
    if not config_path.is_file():
        if folder.exists():
            check_new(folder, overwrite=overwrite)
        return "train"
    try:
        saved = json.loads(config_path.read_text(encoding="utf-8")).get("config") or {}
    except (ValueError, AttributeError) as err:
        if not overwrite:
            raise ConfigError(f"{config_path}: unreadable ({err}); pass --overwrite") from err
        return "train"
    if not _same_run(saved, jsonable(run["config"])):
        if not overwrite:
            raise ConfigError(
                f"{folder} holds a run of another config than the study's point; pass "
                "--overwrite to retrain it, or give the study another out folder"
            )
        return "train"
    if not (folder / "metrics.json").is_file():
        return "train"
    return "" if _same_audit(folder / AUDIT_JSON, audit_options) else "audit"


def _same_audit(path: Path, options: Mapping[str, Any]) -> bool:
    """Whether ``audit.json`` exists and was made with the study's audit options (those its
    ``params`` record: ``k``, ``n_boot``, ``seed``...)."""
    if not path.is_file():
        return False
    try:
        params = json.loads(path.read_text(encoding="utf-8"))["params"]
    except (ValueError, KeyError, TypeError):
        return False
    return all(params[k] == v for k, v in jsonable(dict(options)).items() if k in params)


def _same_run(saved: Mapping[str, Any], planned: Mapping[str, Any]) -> bool:
    """Whether a saved run config is the planned one: every section equal, and every model
    parameter the study sets equal (the saved one also holds the model's defaults)."""
    for key, value in planned.items():
        if key == "out":
            continue
        if key == "model":
            if any(saved.get("model", {}).get(k) != v for k, v in value.items()):
                return False
        elif saved.get(key) != value:
            return False
    return True


def _train_and_audit(
    config: dict[str, Any], audit_options: dict[str, Any], threads: int, *, train: bool
) -> None:
    import torch

    from equirec.workflows.audit import audit_run
    from equirec.workflows.run import run

    torch.set_num_threads(threads)
    folder = Path(config["out"])
    if train:
        log.info("study: training %s", folder)
        run(config, overwrite=True)  # the study's own folder (checked by _todo)
    log.info("study: auditing %s", folder)
    audit_run(folder, **audit_options)


def _model_size(folder: Path) -> int | None:
    """Trained parameters of the run's model (``None`` for models without a network)."""
    from equirec.workflows.rundir import open_run

    model = open_run(folder).model
    module = getattr(model, "module_", None)
    if module is None or not hasattr(module, "parameters"):
        return None
    return int(sum(p.numel() for p in module.parameters()))


def _row(run: Mapping[str, Any]) -> dict[str, Any]:
    folder = Path(run["folder"])
    metrics = json.loads((folder / "metrics.json").read_text(encoding="utf-8"))
    report = AuditReport.model_validate_json((folder / AUDIT_JSON).read_text(encoding="utf-8"))

    def read(name: str, attribute: str | None = None) -> float | None:
        return FAIRNESS_METRICS[name].read(report, report.params.k, attribute)

    values: dict[str, float | None] = {
        "ndcg@10": metrics["overall"].get("ndcg@10"),
        "hit@10": metrics["overall"].get("hit@10"),
        **{name: read(name) for name in ("gini_exposure", "tail_exposure_share", "coverage")},
        **{f"gap:{attr}": read("ndcg_gap", attr) for attr in report.users},
        **{f"leakage:{attr}": read("leakage_auc", attr) for attr in report.leakage},
    }
    training = metrics.get("training") or {}
    return {
        "family": run["family"],
        "model": run["model"],
        "point": run["point"],
        "label": run["label"],
        "seed": run["seed"],
        "folder": str(folder),
        "parameters": _model_size(folder),
        "values": values,
        "epochs": training.get("epochs"),
        "train_seconds": metrics.get("train_seconds"),
    }


def summarise(rows: Sequence[Mapping[str, Any]], *, confidence: float = 0.95) -> list[dict]:
    """Each family and grid point over its seeds: mean, standard deviation and a Student-t
    interval of the mean of every value (the seeds' spread: training randomness, not the
    test users'), and the mean number of parameters."""
    points: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for row in rows:
        points.setdefault((row["family"], row["label"]), []).append(row)
    out = []
    for (family, label), group in points.items():
        summary: dict[str, Any] = {}
        names = list(dict.fromkeys(k for row in group for k in row["values"]))
        for name in names:
            xs = np.array(
                [v for row in group if (v := row["values"].get(name)) is not None], dtype=float
            )
            summary[name] = _mean_interval(xs, confidence)
        sizes = [row["parameters"] for row in group if row["parameters"] is not None]
        out.append(
            {
                "family": family,
                "model": group[0]["model"],
                "label": label,
                "point": group[0]["point"],
                "seeds": [row["seed"] for row in group],
                "parameters": float(np.mean(sizes)) if sizes else None,
                "values": summary,
            }
        )
    return out


def _mean_interval(xs: np.ndarray, confidence: float) -> dict[str, float | int | None]:
    n = len(xs)
    if n == 0:
        return {"mean": None, "std": None, "ci_low": None, "ci_high": None, "n": 0}
    mean = float(xs.mean())
    if n == 1:
        return {"mean": mean, "std": None, "ci_low": None, "ci_high": None, "n": 1}
    std = float(xs.std(ddof=1))
    half = float(scipy_stats.t.ppf(0.5 + confidence / 2, n - 1)) * std / math.sqrt(n)
    return {"mean": mean, "std": std, "ci_low": mean - half, "ci_high": mean + half, "n": n}


def _write(out: Path, result: dict[str, Any]) -> None:
    from equirec.reporting.study import render_study

    table = pd.DataFrame(
        [
            {
                "family": r["family"],
                "point": r["label"],
                "seed": r["seed"],
                "parameters": r["parameters"],
                **r["values"],
                "epochs": r["epochs"],
                "train_seconds": r["train_seconds"],
                "folder": r["folder"],
            }
            for r in result["runs"]
        ]
    )
    results = out / "results"
    with atomic_dir(results, overwrite=True) as tmp:  # the study's own results, rewritten
        (tmp / "study.json").write_text(json.dumps(jsonable(result), indent=2), encoding="utf-8")
        table.to_csv(tmp / "study.csv", index=False)
        (tmp / "study.html").write_text(render_study(jsonable(result)), encoding="utf-8")
