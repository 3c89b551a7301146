"""Re-rank a run folder's stored top lists and score them like the run (same split, full ranking).

A run keeps every test user's top ``keep_k`` (default 100) in ``recommendations.csv``; the
re-rankers of :mod:`equirec.mitigation.rerank` choose the final top ``k`` among them, with side
information from the run's :class:`~equirec.data.known.KnownData` only. The re-ranked run is a
folder like a run's (without a model), so ``equirec audit`` reads it.

A re-ranker with a guarantee (FA*IR, DetConstSort: a minimum count of some items in every
prefix) can keep it only where a list's candidates hold enough of those items. Every list is
checked; one that cannot be kept with the stored candidates is re-ranked from deeper candidates
of the run's saved model (four times deeper each round, up to every item its user could be
recommended), and what remains is reported list by list: ``guarantee.csv`` in the output folder
(user, whether the list keeps it, the shortfall, how many candidates it was chosen from and, if
not kept, why), a ``guarantee`` section in ``metrics.json`` and the count on the console. Nothing
is implied that was not kept.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from equirec.errors import DataError
from equirec.evaluation.evaluator import score_lists
from equirec.evaluation.slices import slice_metrics, target_slices
from equirec.io import check_new
from equirec.mitigation.registry import default_fairness
from equirec.mitigation.rerank.base import candidates_from_frame
from equirec.mitigation.tradeoff import FAIRNESS_METRICS
from equirec.workflows.guarantee import (
    GUARANTEE_CSV,
    DeeperCandidates,
    Guarantee,
    guaranteed_rerank,
)
from equirec.workflows.measure import Measure
from equirec.workflows.rundir import RunFolder, open_run, write_run

__all__ = [
    "DeeperCandidates",
    "Guarantee",
    "RerankResult",
    "candidate_lists",
    "guaranteed_rerank",
    "rerank_run",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RerankResult:
    """Metrics, per-user values and lists of a re-ranked run.

    Attributes:
        metrics: ``metrics.json``: ``overall`` metrics, ``baseline`` (the run's own top ``k``:
            accuracy and the method's fairness metric beside the re-ranked lists' in
            ``fairness``), the re-ranking, its ``guarantee`` (where the re-ranker has one) and
            the elapsed times.
        per_user: ``per_user.csv``.
        recommendations: ``recommendations.csv``: ``user, rank, item, score``.
        out: The output folder.
        guarantee: Per list, whether it keeps the re-ranker's guarantee (``None``: none).
    """

    metrics: dict[str, Any]
    per_user: pd.DataFrame
    recommendations: pd.DataFrame
    out: Path
    guarantee: Guarantee | None = None


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
    deepen: bool = True,
    out: str | Path | None = None,
    write: bool = True,
    overwrite: bool = False,
) -> RerankResult:
    """Re-rank a run's stored lists and score them like the run (same split, full ranking).

    The run's own top ``k`` (the baseline) is measured beside the re-ranked lists: NDCG@k and
    the method's fairness metric (its default sweep metric, e.g. the long tail's exposure share
    for FA*IR). A re-ranker with a guarantee (FA*IR, DetConstSort) is checked on every list;
    lists that cannot keep it with their candidates are re-ranked from deeper candidates of the
    saved model (see the module docstring), and those that still cannot are reported with the
    reason (``guarantee.csv``, ``metrics.json``, a warning).

    Args:
        run_dir: A folder written by ``equirec run``.
        method: A re-ranker of :data:`~equirec.mitigation.registry.RERANKERS`, or several
            chained with ``+`` (parameters then named ``STEP.KEY``).
        params: The re-ranker's parameters (``equirec methods NAME`` lists them).
        k: Length of the re-ranked lists.
        depth: Candidates per user: default the stored lists (``keep_k``, 100); a larger depth
            re-ranks the saved model's top ``depth`` instead (no retraining).
        deepen: Re-rank the lists that cannot keep the re-ranker's guarantee from deeper
            candidates of the saved model (default); ``False`` keeps to the first candidates
            and only reports those lists.
        out: Folder for the re-ranked run (default ``RUN_DIR-METHOD``); it gets
            ``metrics.json``, ``per_user.csv``, ``recommendations.csv`` and ``config.json``
            like a run, so ``equirec audit`` works on it, and ``guarantee.csv`` for a re-ranker
            with a guarantee.
        write: Write the folder (atomically).
        overwrite: Replace an existing output folder (by default refused before any work).

    Raises:
        DataError: The candidate lists are shorter than ``k``, or ``depth`` is given and the
            folder has no saved model.
    """
    started = time.perf_counter()
    folder = Path(out) if out else Path(f"{Path(run_dir)}-{method}")
    if write:
        check_new(folder, overwrite=overwrite)
    run = open_run(run_dir)
    data = run.dataset
    stored = candidate_lists(run, depth)
    candidates = candidates_from_frame(stored, user_ids=data.user_ids, item_ids=data.item_ids)
    if candidates.width < k:
        raise DataError(
            f"the stored lists hold {candidates.width} items, fewer than k={k}: re-rank to a "
            "smaller k, give a larger --depth or rerun with a larger evaluation.keep_k"
        )
    log.info("re-ranking %d lists of %s with %s", candidates.n_lists, run_dir, method)
    t0 = time.perf_counter()
    deeper = DeeperCandidates(run)
    lists, guarantee = guaranteed_rerank(
        run, candidates, method=method, params=params, k=k, deepen=deepen, deeper=deeper
    )
    seconds = time.perf_counter() - t0
    recs = lists.to_frame()
    ks = sorted({kk for kk in run.config.evaluation.ks if kk <= k} | {k})
    relevant = run.split.test.history()
    popularity = run.known.popularity  # the run's own ARP and novelty: known interactions
    per_user, overall = score_lists(lists, relevant=relevant, popularity=popularity, ks=ks)
    _, base_overall = score_lists(
        candidates.head(k), relevant=relevant, popularity=popularity, ks=[k]
    )
    fairness = _fairness(run, method, k, baseline=candidates.head(k).to_frame(), lists=recs)
    metrics: dict[str, Any] = {
        "overall": overall,
        "baseline": {f"ndcg@{k}": base_overall.get(f"ndcg@{k}"), **fairness["baseline"]},
        "fairness": fairness["summary"],
        "popularity": run.known.popularity_source,
        "rerank": {
            "method": method,
            "params": dict(params or {}),
            "k": k,
            "depth": depth,
            "deepen": deepen,
            "source": str(run_dir),
        },
        "guarantee": None if guarantee is None else guarantee.to_dict(),
        "rerank_seconds": seconds,
        "deeper_candidates_seconds": deeper.seconds,
        "seconds": time.perf_counter() - started,
        "evaluated_users": len(per_user),
        "exclude_seen": True,
    }
    masks = target_slices(train=run.split.train.history(), test=relevant)
    if masks:  # test items never trained on: their metrics apart, next to the overall ones
        by_slice = slice_metrics(
            lists.items, relevant=relevant, users=lists.users, slices=masks, ks=ks
        )
        metrics = {"overall": overall, "slices": by_slice, **metrics}
    if write:
        saved = json.loads((run.path / "config.json").read_text())["config"]
        write_run(
            folder,
            config=saved,
            metrics=metrics,
            per_user=per_user,
            recommendations=recs,
            tables={} if guarantee is None else {GUARANTEE_CSV: guarantee.table},
            overwrite=overwrite,
        )
    return RerankResult(
        metrics=metrics, per_user=per_user, recommendations=recs, out=folder, guarantee=guarantee
    )


def _fairness(
    run: RunFolder, method: str, k: int, *, baseline: pd.DataFrame, lists: pd.DataFrame
) -> dict[str, Any]:
    """The method's fairness metric of the baseline and the re-ranked lists."""
    name = default_fairness(method)
    metric = FAIRNESS_METRICS[name]
    measure = Measure(k=k, shown=(name,))
    t0 = time.perf_counter()
    before = measure(run.split, baseline, run.history)[name]
    after = measure(run.split, lists, run.history)[name]
    log.debug(
        "measured %s of the baseline and the re-ranked lists in %.1f s",
        name,
        time.perf_counter() - t0,
    )
    return {
        "baseline": {name: before},
        "summary": {
            "metric": name,
            "label": metric.label,
            "better": metric.better,
            "baseline": before,
            "value": after,
        },
    }
