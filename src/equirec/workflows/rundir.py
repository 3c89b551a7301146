"""The run folder: written by ``equirec run``, read back by every other workflow.

A run folder holds ``metrics.json``, ``per_user.csv``, ``recommendations.csv``, ``config.json``
and ``model/``; an audit adds ``audit.json`` and ``audit.html``. It is assembled in a temporary
folder and renamed into place only when complete, so a crashed run never leaves a folder that
looks finished.

Read back with :func:`open_run`: the config says how the data was loaded and split (seeded), so
the held-out items and the run's :class:`~equirec.data.known.KnownData` (what was known before
the test) are rebuilt exactly, and :meth:`RunFolder.recommend` gives the run's own lists again::

    run = equirec.open_run("runs/ml100k-ease")
    run.recommend(k=10)            # == the top 10 of recommendations.csv
    run.recommend(users=[1, 2], k=20)
"""

from __future__ import annotations

import json
import platform
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from equirec.data.dataset import Dataset
from equirec.data.known import KnownData
from equirec.data.lists import RankedLists
from equirec.data.splits import Split
from equirec.errors import DataError
from equirec.io import atomic_dir, atomic_write_text, jsonable
from equirec.models.base import Recommender
from equirec.workflows.config import RunConfig

__all__ = [
    "AUDIT_HTML",
    "AUDIT_JSON",
    "RunFolder",
    "default_out",
    "load_data",
    "make_split",
    "open_run",
    "versions",
    "write_audit",
    "write_run",
]

AUDIT_JSON = "audit.json"
AUDIT_HTML = "audit.html"
MODEL_DIR = "model"


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
        duplicates=p.duplicates,
        exact_duplicates=p.exact_duplicates,
        user_core=p.user_core,
        item_core=p.item_core,
    )


def make_split(dataset: Dataset, config: RunConfig) -> Split:
    """Split ``dataset`` as configured, seeded by the run seed."""
    from equirec.data import split_dataset

    s = config.split
    options: dict[str, Any] = {}
    if s.method == "cold-items":
        options = {"cold_frac": s.cold_frac}
    elif s.method != "loo":
        options = {"valid_frac": s.valid_frac, "test_frac": s.test_frac}
    if s.holdout_users:
        options["holdout_users"] = s.holdout_users
    return split_dataset(dataset, method=s.method, seed=config.seed, **options)


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
    config: dict[str, Any],
    metrics: dict[str, Any],
    per_user: pd.DataFrame,
    recommendations: pd.DataFrame,
    model: Recommender | None = None,
    tables: Mapping[str, pd.DataFrame] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write a run folder atomically.

    Args:
        out: The folder (see :func:`equirec.io.atomic_dir`).
        config: The resolved configuration, saved as ``config.json`` with package versions.
        metrics: ``metrics.json``.
        per_user: ``per_user.csv``.
        recommendations: ``recommendations.csv``.
        model: Saved into ``model/`` (a re-ranked run has none).
        tables: Further CSV files by name (e.g. a re-ranked run's ``guarantee.csv``).
        overwrite: Replace an existing folder; by default one that holds files raises
            :class:`~equirec.errors.OutputExistsError` (nothing a user made is lost).
    """
    with atomic_dir(out, overwrite=overwrite) as tmp:
        (tmp / "metrics.json").write_text(json.dumps(jsonable(metrics), indent=2))
        per_user.to_csv(tmp / "per_user.csv", index=False)
        recommendations.to_csv(tmp / "recommendations.csv", index=False)
        (tmp / "config.json").write_text(
            json.dumps(jsonable({"config": config, "versions": versions()}), indent=2)
        )
        for name, table in (tables or {}).items():
            table.to_csv(tmp / name, index=False)
        if model is not None:
            model.save(tmp / MODEL_DIR)
    return out


def write_audit(folder: str | Path, report: dict[str, Any]) -> tuple[Path, Path]:
    """Write ``audit.json`` and ``audit.html`` atomically into ``folder``."""
    from equirec.reporting import render_audit_html

    folder = Path(folder)
    report = jsonable(report)
    json_path = atomic_write_text(folder / AUDIT_JSON, json.dumps(report, indent=2))
    html_path = atomic_write_text(folder / AUDIT_HTML, render_audit_html(report))
    return json_path, html_path


@dataclass(frozen=True)
class RunFolder:
    """A run folder read back: its config, rebuilt dataset and split, its lists and model.

    Attributes:
        path: The folder.
        saved: The resolved config as saved in ``config.json``.
        config: The same as a :class:`RunConfig`.
        dataset: The dataset, loaded and preprocessed as in the run.
        split: The run's split (same method and seed, so the same parts).
        recommendations: ``recommendations.csv`` with the ids in the dataset's types.
    """

    path: Path
    saved: dict[str, Any]
    config: RunConfig
    dataset: Dataset
    split: Split
    recommendations: pd.DataFrame

    @property
    def history(self) -> str:
        """What the lists were ranked with: ``"train+valid"`` or ``"train"``."""
        return self.config.evaluation.history

    @cached_property
    def known(self) -> KnownData:
        """What was known before the test (never the test part)."""
        return KnownData.from_split(self.split, history=self.history)

    @cached_property
    def _ids(self) -> dict[str, dict[str, int]]:
        """Position of every user and item id, written as text (as a request spells it)."""
        return {
            "user": {str(u): i for i, u in enumerate(self.dataset.user_ids)},
            "item": {str(v): i for i, v in enumerate(self.dataset.item_ids)},
        }

    def positions(self, ids: Iterable[Any], *, what: str) -> tuple[np.ndarray, list[Any]]:
        """Internal indices of ``user`` or ``item`` ids given in any type (``5`` and ``"5"``
        alike), ``-1`` for the unknown ones, and those unknown ids in order, without repeats."""
        lookup = self._ids[what]
        given = list(ids)
        idx = np.fromiter((lookup.get(str(v), -1) for v in given), dtype=np.int64, count=len(given))
        unknown = list(dict.fromkeys(v for v, i in zip(given, idx, strict=True) if i < 0))
        return idx, unknown

    @property
    def has_model(self) -> bool:
        """Whether the folder holds a saved model (a re-ranked run does not)."""
        return (self.path / MODEL_DIR).is_dir()

    @cached_property
    def model(self) -> Recommender:
        """The saved model.

        Raises:
            DataError: The folder has no saved model.
        """
        if not self.has_model:
            raise DataError(f"{self.path}: no saved model (model/) in this run folder")
        return Recommender.load(self.path / MODEL_DIR)

    def recommend(self, users: Iterable[Any] | None = None, *, k: int = 10) -> pd.DataFrame:
        """The saved model's top ``k`` from what the run knew: the run's own lists.

        The history is the run's known data (training, then validation unless the run ranked
        with training only, in which case validation items are still left out), so
        ``recommend(k=10)`` equals the top 10 of ``recommendations.csv``.

        Args:
            users: Original user ids (default: the run's test users, in its order).
            k: List length.

        Returns:
            ``user, rank, item, score`` in original ids.
        """
        if users is None:
            idx = self.dataset.user_index(pd.unique(self.recommendations["user"]))
        else:
            idx = self.dataset.user_index(users)
        return self.rank(np.asarray(idx, dtype=np.int64), k=k).to_frame()

    def rank(self, users: np.ndarray, *, k: int) -> RankedLists:
        """The saved model's top ``k`` of users given by internal index, as the run ranked.

        Like :meth:`recommend` (the run's known history, its items excluded) but in internal
        indices, for the re-rankers: ``k`` at least the catalogue size gives every item a user
        could be recommended.

        Args:
            users: Internal user indices.
            k: List length (at most the catalogue; lists with fewer unseen items are padded).

        Raises:
            DataError: The folder has no saved model.
        """
        known = self.known
        return self._ranker(
            np.asarray(users, dtype=np.int64),
            k=k,
            history=known.history,
            exclude=known.exclude,
            exclude_seen=True,
        )

    @cached_property
    def _ranker(self) -> Callable[..., RankedLists]:
        """The model's exact ranking, or the approximate index the run retrieved with
        (``evaluation.retrieval``), built once."""
        e = self.config.evaluation
        if e.retrieval == "exact":
            return self.model.rank
        from equirec.evaluation.retrieval import ann_ranker

        ranker = ann_ranker(self.model, method=e.retrieval, params=e.retrieval_params)

        def as_the_run(users: np.ndarray, *, k: int, **options: Any) -> RankedLists:
            # searched as deep as the run's own lists were, so that their top k are the same
            lists = ranker(users, k=max(k, e.keep_k), **options)
            return self.model.lists(lists.users, lists.items[:, :k], lists.scores[:, :k])

        return as_the_run

    def unseen_counts(self, users: np.ndarray) -> np.ndarray:
        """How many items each user (internal index) could be recommended: the catalogue less
        the items the run knew of the user (and those it left out of the ranking)."""
        return self._unseen[np.asarray(users, dtype=np.int64)]

    @cached_property
    def _unseen(self) -> np.ndarray:
        known = self.known
        mask = known.seen
        for part in known.exclude:
            mask = mask + part.csr(binary=True)
        rows = sp.csr_matrix(mask)
        rows.data[:] = 1
        rows.eliminate_zeros()
        return np.asarray(self.dataset.n_items - rows.getnnz(axis=1), dtype=np.int64)

    def user_representations(self, model: Recommender | None = None) -> pd.DataFrame | None:
        """The user vectors of ``model`` (default: the saved one) for users with known items.

        Returns:
            One row per user (original ids as the index), or ``None`` for a model without user
            representations (popularity, item-kNN, EASE).
        """
        model = self.model if model is None else model
        represent = getattr(model, "user_representations", None)
        if represent is None:
            return None
        known = self.known
        users = known.users_with_history
        reps = np.asarray(represent(users, known.history), dtype=np.float64)
        return pd.DataFrame(reps, index=model.user_ids_[users])


def open_run(run_dir: str | Path) -> RunFolder:
    """Read a folder written by ``equirec run`` back (dataset and split rebuilt from its config).

    Raises:
        DataError: Not a run folder, or a file in it missing or unreadable.
    """
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
    current = saved
    if isinstance(saved, dict) and isinstance(saved.get("model"), dict):
        # Runs written before progress went through logging saved the models' "verbose".
        current = {**saved, "model": {k: v for k, v in saved["model"].items() if k != "verbose"}}
    config = RunConfig.from_dict(current, source=str(config_path))
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
    return RunFolder(
        path=run, saved=saved, config=config, dataset=dataset, split=split, recommendations=recs
    )


def _restore_ids(values: pd.Series, vocab: pd.Index, path: Path, what: str) -> pd.Series:
    """Ids read back from CSV with the dtype of the dataset's vocabulary."""
    lookup = {str(v): v for v in vocab}
    out = values.astype(str).map(lookup)
    if out.isna().any():
        bad = values[out.isna()].iloc[0]
        raise DataError(f"{path}: {what} {bad!r} is not in the run's dataset")
    return out
