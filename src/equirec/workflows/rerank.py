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
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from equirec.data.lists import RankedLists
from equirec.errors import DataError
from equirec.evaluation.evaluator import score_lists
from equirec.evaluation.slices import slice_metrics, target_slices
from equirec.io import check_new
from equirec.mitigation.registry import default_fairness
from equirec.mitigation.rerank.base import candidates_from_frame
from equirec.mitigation.rerank.build import rerank_candidates
from equirec.mitigation.tradeoff import FAIRNESS_METRICS
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

GUARANTEE_CSV = "guarantee.csv"
"""Per list of a re-ranked run with a guarantee: whether it keeps it, and why not."""
DEEPEN_FACTOR = 4
"""How much deeper every round of deeper candidates goes."""
_LISTED = 100
"""Lists that miss their guarantee named (with the reason) in ``metrics.json``; all are in
``guarantee.csv``."""

Deepening = Literal["not needed", "done", "no saved model", "off"]


@dataclass(frozen=True)
class Guarantee:
    """How many re-ranked lists keep their re-ranker's guarantee, and why the others do not.

    Attributes:
        guarantee: The guarantee in words.
        lists: Number of lists.
        met: Lists that keep it.
        first: How many candidates the lists had at first (the stored lists, or the model's
            top ``depth``).
        met_first: Lists that kept it with those.
        deepened: Lists re-ranked from deeper candidates of the saved model.
        depth: The deepest candidate lists scored (``None``: none were).
        deepening: ``"not needed"`` (every list kept it, or no deeper candidates exist),
            ``"done"``, ``"no saved model"`` (the run folder has none, so the lists that miss
            it stay as they are) or ``"off"`` (not asked for).
        columns: One array per list: ``user``, ``guarantee_met``, ``shortfall`` (the most
            items missing from any prefix), ``candidates`` (how many it was chosen from),
            ``all_unseen`` (those were every item its user could be recommended), ``deepened``
            and ``reason`` (empty where met); :attr:`table` holds them as a frame.
    """

    guarantee: str
    lists: int
    met: int
    first: int
    met_first: int
    deepened: int
    depth: int | None
    deepening: Deepening
    columns: dict[str, Any] = field(repr=False)

    @cached_property
    def table(self) -> pd.DataFrame:
        """One row per list (see :attr:`columns`)."""
        return pd.DataFrame(self.columns)

    @property
    def unmet(self) -> pd.DataFrame:
        """The rows of :attr:`table` whose list misses the guarantee."""
        return self.table[~self.table["guarantee_met"]]

    def summary(self) -> str:
        """One sentence: how many lists keep it, from which candidates, and what is left."""
        text = f"{self.met:,} of {self.lists:,} lists meet the guarantee"
        if self.deepened:
            text += (
                f" ({self.met_first:,} with their top {self.first:,} candidates, "
                f"{self.deepened:,} re-ranked from deeper candidates of the saved model, up to "
                f"its top {self.depth:,})"
            )
        missing = self.lists - self.met
        if missing and self.deepening == "no saved model":
            text += (
                f"; {missing:,} cannot with their top {self.first:,} candidates and the run "
                "folder has no saved model to score deeper ones"
            )
        elif missing and self.deepening == "off":
            text += (
                f"; {missing:,} cannot with their top {self.first:,} candidates (deeper "
                "candidates were not asked for)"
            )
        elif missing:
            unmet = self.unmet
            catalogue = int(unmet["all_unseen"].sum())
            text += f"; {missing:,} cannot"
            if catalogue:
                text += (
                    f" ({catalogue:,} not even from every item their user could be "
                    "recommended: the catalogue holds too few unseen ones)"
                )
        return text

    def to_dict(self) -> dict[str, Any]:
        """The ``guarantee`` section of ``metrics.json`` (lists that miss it: up to 100)."""
        unmet = self.unmet
        return {
            "guarantee": self.guarantee,
            "lists": self.lists,
            "met": self.met,
            "unmet": self.lists - self.met,
            "first_candidates": self.first,
            "met_with_first_candidates": self.met_first,
            "deepened": self.deepened,
            "depth": self.depth,
            "deepening": self.deepening,
            "unmet_lists": [
                {"user": user, "reason": reason}
                for user, reason in zip(
                    unmet["user"][:_LISTED], unmet["reason"][:_LISTED], strict=True
                )
            ],
            "file": GUARANTEE_CSV,
        }


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


class DeeperCandidates:
    """Deeper candidate lists of a run's users from its saved model, each scored once.

    A sweep re-ranks the same users at many grid points; the lists scored for a user at a
    depth are kept and reused.

    Args:
        run: The run folder (with a saved model).
        ranked: Lists of the run's model already scored (e.g. every unseen item of some
            users): any depth up to their width is cut from them, not scored again.
    """

    def __init__(self, run: RunFolder, *, ranked: RankedLists | None = None) -> None:
        self.run = run
        self._rows: dict[int, dict[int, tuple[np.ndarray, np.ndarray]]] = {}
        self._ranked: dict[int, int] = {}
        self._lists = ranked
        if ranked is not None:
            self._ranked = {u: r for r, u in reversed(list(enumerate(ranked.users.tolist())))}
        self.seconds = 0.0
        """Time spent scoring so far."""

    def __call__(self, users: np.ndarray, *, depth: int) -> RankedLists:
        """The model's top ``depth`` of ``users`` (internal indices), as the run ranked."""
        users = np.asarray(users, dtype=np.int64)
        lists = self._lists
        known = lists is not None and set(users.tolist()) <= self._ranked.keys()
        if lists is not None and known and depth <= lists.width:
            picked = np.array([self._ranked[u] for u in users.tolist()], dtype=np.int64)
            return RankedLists(
                items=lists.items[picked, :depth],
                scores=lists.scores[picked, :depth],
                users=users,
                user_ids=lists.user_ids,
                item_ids=lists.item_ids,
            )
        rows = self._rows.setdefault(depth, {})
        missing = np.array([u for u in users.tolist() if u not in rows], dtype=np.int64)
        if missing.size:
            t0 = time.perf_counter()
            ranked = self.run.rank(missing, k=depth)
            for r, user in enumerate(missing.tolist()):
                rows[user] = (ranked.items[r], ranked.scores[r])
            self.seconds += time.perf_counter() - t0
        data = self.run.dataset
        width = min(depth, data.n_items)
        items = np.stack([rows[u][0] for u in users.tolist()]) if users.size else None
        scores = np.stack([rows[u][1] for u in users.tolist()]) if users.size else None
        return RankedLists(
            items=np.empty((0, width), np.int64) if items is None else items,
            scores=np.empty((0, width)) if scores is None else scores,
            users=users,
            user_ids=data.user_ids,
            item_ids=data.item_ids,
        )


def guaranteed_rerank(
    run: RunFolder,
    candidates: RankedLists,
    *,
    method: str,
    params: Mapping[str, Any] | None,
    k: int,
    deepen: bool = True,
    deeper: DeeperCandidates | None = None,
) -> tuple[RankedLists, Guarantee | None]:
    """Re-rank ``candidates`` to ``k``; where the guarantee cannot be kept, from deeper ones.

    Args:
        run: The run folder the candidates come from (its known data; its saved model for
            deeper candidates).
        candidates: The lists to re-rank (the stored top lists, or the model's top ``depth``).
        method: A re-ranker, or several chained with ``+`` (the last step's guarantee counts).
        params: Its parameters.
        k: Length of the re-ranked lists.
        deepen: Re-rank the lists that cannot keep the guarantee from deeper candidates of the
            saved model (``DEEPEN_FACTOR`` times deeper each round, up to every unseen item).
        deeper: Where deeper candidates come from (default: scored here; a sweep passes one
            object to all its points, so each user is scored once per depth).

    Returns:
        ``(lists, guarantee)``: the re-ranked lists (model scores kept), one per candidate list
        in the same order, and the per-list :class:`Guarantee` (``None`` for a re-ranker
        without one).
    """
    known = run.known
    reranker, lists = rerank_candidates(candidates, known=known, method=method, params=params, k=k)
    chosen = candidates.select(lists)
    if not callable(getattr(reranker, "check_guarantee", None)):
        return chosen, None
    pool = run.unseen_counts(candidates.users)
    n_candidates = candidates.lengths.astype(np.int64)
    exhaustive = n_candidates >= pool
    check = reranker.check_guarantee(lists, candidates, k=k, exhaustive=exhaustive)
    if check is None:
        return chosen, None
    items, scores = np.array(chosen.items), np.array(chosen.scores)
    met, shortfall = check.met.copy(), check.shortfall.copy()
    reasons = list(check.reasons)
    deepened = np.zeros(candidates.n_lists, dtype=bool)
    todo = ~met & ~check.feasible & ~exhaustive
    met_first = int(met.sum())
    depth: int | None = None
    n_items = run.dataset.n_items
    deepening: Deepening = "not needed"
    if todo.any() and not deepen:
        deepening = "off"
    elif todo.any() and not run.has_model:
        deepening = "no saved model"
        log.warning(
            "%s: %d of %d lists cannot meet the guarantee with their %d candidates, and %s has "
            "no saved model to score deeper ones",
            method,
            int(todo.sum()),
            candidates.n_lists,
            candidates.width,
            run.path,
        )
    elif todo.any():
        deepening = "done"
        source = DeeperCandidates(run) if deeper is None else deeper
        current = candidates.width
        while todo.any() and current < n_items:
            current = min(max(current * DEEPEN_FACTOR, k), n_items)
            rows = np.flatnonzero(todo)
            log.info(
                "%s: %d list(s) cannot meet the guarantee with their candidates; scoring the "
                "saved model's top %d of %d items for them",
                method,
                len(rows),
                current,
                n_items,
            )
            deep = source(candidates.users[rows], depth=current)
            again, deep_lists = rerank_candidates(
                deep, known=known, method=method, params=params, k=k
            )
            deep_exhaustive = deep.lengths >= pool[rows]
            deep_check = again.check_guarantee(deep_lists, deep, k=k, exhaustive=deep_exhaustive)
            picked = deep.select(deep_lists)
            items[rows], scores[rows] = picked.items, picked.scores
            met[rows], shortfall[rows] = deep_check.met, deep_check.shortfall
            for r, reason in zip(rows.tolist(), deep_check.reasons, strict=True):
                reasons[r] = reason
            n_candidates[rows] = deep.lengths
            exhaustive[rows] = deep_exhaustive
            deepened[rows] = True
            todo[rows] = ~deep_check.met & ~deep_check.feasible & ~deep_exhaustive
            depth = current
    data = run.dataset
    columns = {
        "user": data.user_ids[candidates.users],
        "guarantee_met": met,
        "shortfall": shortfall,
        "candidates": n_candidates,
        "all_unseen": exhaustive,
        "deepened": deepened,
        "reason": reasons,
    }
    guarantee = Guarantee(
        guarantee=check.guarantee,
        lists=candidates.n_lists,
        met=int(met.sum()),
        first=candidates.width,
        met_first=met_first,
        deepened=int(deepened.sum()),
        depth=depth,
        deepening=deepening,
        columns=columns,
    )
    if guarantee.met < guarantee.lists:
        first = guarantee.unmet.iloc[0]
        log.warning(
            "%s: %s; e.g. user %s: %s (every list in %s)",
            method,
            guarantee.summary(),
            first["user"],
            first["reason"],
            GUARANTEE_CSV,
        )
    lists_out = RankedLists(
        items=items,
        scores=scores,
        users=candidates.users,
        user_ids=candidates.user_ids,
        item_ids=candidates.item_ids,
    )
    return lists_out, guarantee


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
