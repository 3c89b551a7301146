"""Re-rankers built from the registry and applied to candidate lists, chains included.

:func:`build` turns a re-ranker's name and parameters (checked against its typed parameter model,
see :mod:`equirec.mitigation.registry`) into the re-ranker and the side keywords of its
``rerank`` call, with side information built from :class:`~equirec.data.known.KnownData` only:
test interactions are never an input, so no re-ranker can read a test label.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from equirec.data.known import KnownData
from equirec.errors import ConfigError, DataError
from equirec.mitigation.registry import RERANKERS
from equirec.mitigation.rerank.base import Candidates, candidates_from_frame, lists_to_frame

__all__ = ["build", "joint_steps", "rerank_candidates", "rerank_recommendations", "split_chain"]

log = logging.getLogger(__name__)


def build(
    method: str, params: Mapping[str, Any] | None, known: KnownData, candidates: Candidates
) -> tuple[Any, dict[str, Any]]:
    """The re-ranker called ``method`` and the side keywords of its ``rerank`` call.

    Args:
        method: A name in :data:`~equirec.mitigation.registry.RERANKERS`.
        params: Its parameters (``equirec methods NAME`` lists them with their defaults).
        known: What was known before the lists.
        candidates: The candidate lists.

    Raises:
        ConfigError: Unknown re-ranker, or a parameter missing, unknown, of the wrong type or
            out of range (the message names it and what is valid).
    """
    entry = RERANKERS.get(method)
    if entry is None:
        raise ConfigError(f"unknown re-ranker {method!r}; choose one of {list(RERANKERS)}")
    values = entry.resolve(params)
    side = {key: values.pop(key) for key in entry.side_options()}
    builder = entry.side_builder
    ctor, call = ({}, {}) if builder is None else builder(known, candidates, **side)
    return entry.implementation(**ctor, **values), call


def split_chain(method: str, params: Mapping[str, Any] | None) -> list[tuple[str, dict[str, Any]]]:
    """The steps of ``"a+b"`` with their parameters (``STEP.KEY`` when chained).

    Raises:
        ConfigError: A chained parameter without its ``STEP.`` prefix, or an unknown step.
    """
    steps = [m.strip() for m in method.split("+")]
    if len(steps) == 1:
        return [(steps[0], dict(params or {}))]
    per_step: dict[str, dict[str, Any]] = {step: {} for step in steps}
    for key, value in (params or {}).items():
        step, dot, name = key.partition(".")
        if not dot or step not in per_step:
            raise ConfigError(
                f"parameter {key!r}: with chained re-rankers write STEP.KEY, STEP one of {steps}"
            )
        per_step[step][name] = value
    return [(step, per_step[step]) for step in steps]


def joint_steps(method: str) -> list[str]:
    """The steps of ``method`` (a re-ranker or a ``+`` chain) that choose all lists together
    (:attr:`~equirec.mitigation.rerank.base.Reranker.joint`).

    Raises:
        ConfigError: An unknown re-ranker.
    """
    steps = [m.strip() for m in method.split("+")]
    unknown = [step for step in steps if step not in RERANKERS]
    if unknown:
        raise ConfigError(f"unknown re-ranker {unknown[0]!r}; choose one of {list(RERANKERS)}")
    return [step for step in steps if RERANKERS[step].implementation.joint]


def rerank_candidates(
    candidates: Candidates,
    *,
    known: KnownData,
    method: str,
    params: Mapping[str, Any] | None,
    k: int,
) -> tuple[Any, np.ndarray]:
    """Build the re-ranker and apply it: ``(reranker, (n_lists, k) item indices)``.

    ``method`` may chain re-rankers with ``+`` (``"calibrated+fair"``): each step re-orders the
    whole candidate list handed on by the previous one (side information rebuilt for it) and the
    last step cuts to ``k``; parameters are then named ``STEP.KEY`` (``calibrated.lam``,
    ``fair.p``). The returned re-ranker is the last step.
    """
    steps = split_chain(method, params)
    current = candidates
    reranker: Any = None
    lists = np.asarray(candidates.items)[:, :k]
    for i, (step, step_params) in enumerate(steps):
        reranker, side = build(step, step_params, known, current)
        last = i == len(steps) - 1
        lists = reranker.rerank(current, k=k if last else max(k, current.width), **side)
        if not last:
            current = current.select(lists)
    return reranker, lists


def rerank_recommendations(
    recommendations: pd.DataFrame,
    *,
    known: KnownData,
    method: str,
    params: Mapping[str, Any] | None = None,
    k: int = 10,
) -> pd.DataFrame:
    """Re-rank stored top lists (``user, rank, item, score``, original ids) to length ``k``.

    The lists are chosen among the stored ones only: a re-ranker with a guarantee (FA*IR,
    DetConstSort) that cannot keep it on some lists says so in a warning;
    :func:`equirec.workflows.rerank.rerank_run` re-ranks those from deeper candidates of the
    saved model instead.

    Returns:
        ``user, rank, item, score`` of the re-ranked lists (the model's scores kept).

    Raises:
        DataError: The stored lists are shorter than ``k``.
    """
    data = known.dataset
    candidates = candidates_from_frame(
        recommendations, user_ids=data.user_ids, item_ids=data.item_ids
    )
    if candidates.width < k:
        raise DataError(
            f"the stored lists hold {candidates.width} items, fewer than k={k}: re-rank to a "
            "smaller k or rerun with a larger evaluation.keep_k"
        )
    reranker, lists = rerank_candidates(candidates, known=known, method=method, params=params, k=k)
    check = getattr(reranker, "guarantee_", None)
    if check is not None and check.n_met < check.n_lists:
        first = int(np.flatnonzero(~check.met)[0])
        log.warning(
            "%s: %d of %d lists cannot meet the guarantee with their %d candidates, e.g. user "
            "%s: %s",
            method,
            check.n_lists - check.n_met,
            check.n_lists,
            candidates.width,
            data.user_ids[candidates.users[first]],
            check.reasons[first],
        )
    return lists_to_frame(lists, candidates, user_ids=data.user_ids, item_ids=data.item_ids)
