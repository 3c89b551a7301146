"""Re-rank a run folder's stored top lists and score them like the run (same split, full ranking).

A run keeps every test user's top ``keep_k`` (default 100) in ``recommendations.csv``; the
re-rankers of :mod:`equirec.mitigation.rerank` choose the final top ``k`` among them, with side
information from the run's :class:`~equirec.data.known.KnownData` only. The re-ranked run is a
folder like a run's (without a model), so ``equirec audit`` reads it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from equirec.data.lists import RankedLists
from equirec.evaluation.evaluator import score_lists
from equirec.io import check_new
from equirec.mitigation.rerank.build import rerank_recommendations
from equirec.workflows.rundir import RunFolder, open_run, write_run

__all__ = ["RerankResult", "candidate_lists", "rerank_run"]


@dataclass(frozen=True)
class RerankResult:
    """Metrics, per-user values and lists of a re-ranked run."""

    metrics: dict[str, Any]
    per_user: pd.DataFrame
    recommendations: pd.DataFrame
    out: Path


def candidate_lists(run: RunFolder, depth: int | None) -> pd.DataFrame:
    """The lists to re-rank: the stored ones, or the saved model's top ``depth`` (no retraining).

    Raises:
        DataError: ``depth`` is given and the folder has no saved model.
    """
    return run.recommendations if depth is None else run.recommend(k=depth)


def rerank_run(
    run_dir: str | Path,
    *,
    method: str,
    params: Mapping[str, Any] | None = None,
    k: int = 10,
    depth: int | None = None,
    out: str | Path | None = None,
    write: bool = True,
    overwrite: bool = False,
) -> RerankResult:
    """Re-rank a run's stored lists and score them like the run (same split, full ranking).

    Args:
        run_dir: A folder written by ``equirec run``.
        method: A re-ranker of :data:`~equirec.mitigation.registry.RERANKERS`, or several
            chained with ``+`` (parameters then named ``STEP.KEY``).
        params: The re-ranker's parameters (``equirec methods NAME`` lists them).
        k: Length of the re-ranked lists.
        depth: Candidates per user: default the stored lists (``keep_k``, 100); a larger depth
            re-ranks the saved model's top ``depth`` instead (no retraining), for constraints
            that the stored lists cannot satisfy (e.g. FA*IR with few protected items there).
        out: Folder for the re-ranked run (default ``RUN_DIR-METHOD``); it gets
            ``metrics.json``, ``per_user.csv``, ``recommendations.csv`` and ``config.json``
            like a run, so ``equirec audit`` works on it.
        write: Write the folder (atomically).
        overwrite: Replace an existing output folder (by default refused before any work).
    """
    folder = Path(out) if out else Path(f"{Path(run_dir)}-{method}")
    if write:
        check_new(folder, overwrite=overwrite)
    run = open_run(run_dir)
    stored = candidate_lists(run, depth)
    t0 = time.perf_counter()
    recs = rerank_recommendations(stored, known=run.known, method=method, params=params, k=k)
    seconds = time.perf_counter() - t0
    data = run.dataset
    ks = sorted({kk for kk in run.config.evaluation.ks if kk <= k} | {k})
    lists = RankedLists.from_frame(recs, user_ids=data.user_ids, item_ids=data.item_ids)
    per_user, overall = score_lists(
        lists,
        relevant=run.split.test.history(),
        popularity=run.split.train.history().item_counts().astype(np.float64),
        ks=ks,
    )
    metrics = {
        "overall": overall,
        "rerank": {
            "method": method,
            "params": dict(params or {}),
            "k": k,
            "depth": depth,
            "source": str(run_dir),
        },
        "rerank_seconds": seconds,
        "evaluated_users": len(per_user),
        "exclude_seen": True,
    }
    if write:
        saved = json.loads((run.path / "config.json").read_text())["config"]
        write_run(
            folder,
            config=saved,
            metrics=metrics,
            per_user=per_user,
            recommendations=recs,
            overwrite=overwrite,
        )
    return RerankResult(metrics=metrics, per_user=per_user, recommendations=recs, out=folder)
