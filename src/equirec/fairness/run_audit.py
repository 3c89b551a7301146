"""Audit an equirec run folder: rebuild its split, read its lists and model, write the report.

The run's ``config.json`` says how the data was loaded and split (seeded), so the held-out items
and the known history are rebuilt exactly; ``recommendations.csv`` holds the lists and ``model/``
the model whose user representations are probed for leakage (when it has them).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from equirec.config import RunConfig
from equirec.data.dataset import Dataset
from equirec.data.splits import Split
from equirec.errors import DataError
from equirec.fairness.audit import AuditResult, audit
from equirec.fairness.inputs import AuditData
from equirec.io import atomic_write_text, jsonable

AUDIT_JSON = "audit.json"
AUDIT_HTML = "audit.html"


def audit_run(
    run_dir: str | Path,
    *,
    write: bool = True,
    probe_model: bool = True,
    **options: Any,
) -> AuditResult:
    """Audit the run in ``run_dir``; write ``audit.json`` and ``audit.html`` into it.

    Args:
        run_dir: A folder written by ``equirec run``.
        write: Write the two files (atomically).
        probe_model: Probe the saved model's user representations for leakage (models that
            have them: SASRec, BERT4Rec, BPR).
        **options: Keyword arguments of :func:`~equirec.fairness.audit.audit` (``k``,
            ``attributes``, ``n_boot``...).

    Raises:
        DataError: Not a run folder, or a file in it missing or unreadable.
    """
    t0 = time.perf_counter()
    loaded = load_run(run_dir)
    run, split, history = loaded.path, loaded.split, loaded.history
    data = AuditData.from_split(split, recommendations=loaded.recommendations, history=history)

    reps = None
    if probe_model and (run / "model").is_dir():
        reps = _representations(run / "model", split, history)
    context = {
        "run": str(run),
        "dataset": loaded.dataset.name,
        "model": loaded.saved.get("model", {}).get("name"),
        "split": split.name,
        "test_history": history,
    }
    result = audit(
        data, user_representations=reps, context=context | options.pop("context", {}), **options
    )
    result.report["params"]["audit_seconds"] = time.perf_counter() - t0
    if write:
        write_audit(run, result)
    return result


@dataclass(frozen=True)
class LoadedRun:
    """A run folder read back: its config, rebuilt dataset and split, and its lists.

    Attributes:
        path: The folder.
        saved: The resolved config as saved in ``config.json``.
        config: The same as a :class:`RunConfig`.
        dataset: The dataset, loaded and preprocessed as in the run.
        split: The run's split (same method and seed, so the same parts).
        recommendations: ``recommendations.csv`` with the ids in the dataset's types.
        history: What the lists were ranked with: ``"train"`` or ``"train+valid"``.
    """

    path: Path
    saved: dict[str, Any]
    config: RunConfig
    dataset: Dataset
    split: Split
    recommendations: pd.DataFrame
    history: str

    @cached_property
    def known(self) -> Dataset:
        """The interactions known when the lists were made (never the test part)."""
        if self.history == "train+valid":
            both = pd.concat(
                [self.split.train.interactions, self.split.valid.interactions], ignore_index=True
            )
            cols = [c for c in ("user", "item", "timestamp", "rating", "weight") if c in both]
            return self.split.train.with_interactions(both[cols], name="known")
        return self.split.train


def deeper_lists(loaded: LoadedRun, depth: int) -> pd.DataFrame:
    """The run's lists recomputed to ``depth`` items with its saved model (same history)."""
    from equirec.models.base import Recommender

    model_dir = loaded.path / "model"
    if not model_dir.is_dir():
        raise DataError(
            f"{loaded.path}: no saved model to rank {depth} candidates with; the stored lists "
            "are all there is"
        )
    model = Recommender.load(model_dir)
    known = loaded.known.history()
    users = np.asarray(
        loaded.dataset.user_index(pd.unique(loaded.recommendations["user"])), dtype=np.int64
    )
    items, scores = model.topk(users, k=depth, history=known, exclude_seen=True)
    return model.lists_frame(users, items, scores)


def load_run(run_dir: str | Path) -> LoadedRun:
    """Read a folder written by ``equirec run`` back (dataset and split rebuilt from its config).

    Raises:
        DataError: Not a run folder, or a file in it missing or unreadable.
    """
    from equirec.runner import load_data, make_split

    run = Path(run_dir)
    config_path = run / "config.json"
    recs_path = run / "recommendations.csv"
    if not run.is_dir():
        raise DataError(f"{run}: no such run folder")
    for path in (config_path, recs_path):
        if not path.is_file():
            raise DataError(
                f"{run}: missing {path.name}; use a folder written by `equirec run` (it holds "
                "config.json, recommendations.csv, metrics.json and model/)"
            )
    try:
        saved = json.loads(config_path.read_text())["config"]
    except (json.JSONDecodeError, KeyError, TypeError) as err:
        raise DataError(f"{config_path}: not a run config ({err})") from err
    config = RunConfig.from_dict(saved, source=str(config_path))
    dataset = load_data(config)
    split = make_split(dataset, config)
    try:
        recs = pd.read_csv(recs_path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise DataError(f"{recs_path}: unreadable ({err})") from err
    if len(recs) == 0:
        raise DataError(f"{recs_path}: no recommendations in the file; nothing to audit")
    for col in ("user", "item"):
        if col not in recs.columns:
            raise DataError(f"{recs_path}: missing column {col!r}; it has {list(recs.columns)}")
    recs["user"] = _restore_ids(recs["user"], dataset.user_ids, recs_path, "user")
    recs["item"] = _restore_ids(recs["item"], dataset.item_ids, recs_path, "item")
    return LoadedRun(
        path=run,
        saved=saved,
        config=config,
        dataset=dataset,
        split=split,
        recommendations=recs,
        history=config.evaluation.history,
    )


def write_audit(folder: str | Path, result: AuditResult) -> tuple[Path, Path]:
    """Write ``audit.json`` and ``audit.html`` atomically into ``folder``."""
    from equirec.reporting import render_audit_html

    folder = Path(folder)
    report = jsonable(result.report)
    json_path = atomic_write_text(folder / AUDIT_JSON, json.dumps(report, indent=2))
    html_path = atomic_write_text(folder / AUDIT_HTML, render_audit_html(report))
    return json_path, html_path


def _restore_ids(values: pd.Series, vocab: pd.Index, path: Path, what: str) -> pd.Series:
    """Ids read back from CSV with the dtype of the dataset's vocabulary."""
    lookup = {str(v): v for v in vocab}
    out = values.astype(str).map(lookup)
    if out.isna().any():
        bad = values[out.isna()].iloc[0]
        raise DataError(f"{path}: {what} {bad!r} is not in the run's dataset")
    return out


def _representations(model_dir: Path, split: Any, history_name: str) -> pd.DataFrame | None:
    from equirec.models.base import Recommender

    model = Recommender.load(model_dir)
    if not hasattr(model, "user_representations"):
        return None
    history = split.train.history()
    if history_name == "train+valid":
        history = history.concat(split.valid.history())
    users = np.flatnonzero(history.lengths() > 0)
    reps = np.asarray(model.user_representations(users, history), dtype=np.float64)
    return pd.DataFrame(reps, index=model.user_ids_[users])


def audit_options(
    *,
    attributes: Sequence[str] | None = None,
    k: int | None = None,
    intersections: Sequence[str] = (),
    n_boot: int | None = None,
    seed: int | None = None,
) -> dict[str, Any]:
    """Keyword arguments of :func:`audit` from command-line values (``None`` = default)."""
    out: dict[str, Any] = {}
    if attributes:
        out["attributes"] = list(attributes)
    if k is not None:
        out["k"] = k
    if intersections:
        pairs = []
        for text in intersections:
            a, sep, b = text.partition("*")
            if not sep or not a or not b:
                raise DataError(f"--intersect {text!r}: write two attributes as A*B (gender*age)")
            pairs.append((a, b))
        out["intersections"] = pairs
    if n_boot is not None:
        out["n_boot"] = n_boot
    if seed is not None:
        out["seed"] = seed
    return out
