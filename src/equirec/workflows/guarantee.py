"""Re-ranking with a guarantee kept wherever the catalogue allows: deeper candidates.

:func:`guaranteed_rerank` re-ranks candidate lists; where a list cannot keep its re-ranker's
guarantee (FA*IR's prefix minimums, DetConstSort's shares) among its candidates, it re-ranks it
again from deeper candidates of the run's saved model (:class:`DeeperCandidates`), up to every
unseen item, and reports per list (:class:`Guarantee`) what remains.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd

from equirec.data.lists import RankedLists
from equirec.mitigation.rerank.build import rerank_candidates
from equirec.workflows.rundir import RunFolder

__all__ = ["DEEPEN_FACTOR", "GUARANTEE_CSV", "DeeperCandidates", "Guarantee", "guaranteed_rerank"]

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
