"""Re-ranking a model's stored top lists, with side information from training data only.

A run keeps every test user's top ``keep_k`` (default 100) in ``recommendations.csv``; the
re-rankers of :mod:`equirec.mitigation.rerank` choose the final top ``k`` among them. Everything
a re-ranker needs beyond the candidates — which items are protected, item groups, genres, user
groups, the users' histories, relevance estimates — is built here from :class:`KnownData`: the
interactions known when the lists were made (training, plus validation when the run ranked with
it) and the attribute tables. Test interactions are never an input, so no re-ranker can read a
test label (``tests/mitigation/test_postprocess.py`` shuffles them to prove it).
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from equirec.data.dataset import Dataset
from equirec.errors import ConfigError, DataError
from equirec.evaluation.evaluator import score_lists
from equirec.fairness.groups import (
    activity_groups,
    categorical_groups,
    multi_valued_groups,
)
from equirec.fairness.item_metrics import head_items
from equirec.io import atomic_dir, jsonable
from equirec.mitigation.rerank import (
    FAIR,
    MMR,
    Calibrated,
    Candidates,
    DetConstSort,
    candidates_from_frame,
    lists_to_frame,
)
from equirec.mitigation.rerank.base import minmax_per_list, relative_softmax_per_list
from equirec.mitigation.rerank.cpfair import CPFair
from equirec.mitigation.rerank.ugf import UGF

METHODS = ("fair", "detconstsort", "calibrated", "mmr", "ugf", "cpfair")
"""Re-rankers :func:`rerank_recommendations` can build."""


@dataclass(frozen=True)
class KnownData:
    """What a re-ranker may use: interactions known before the lists, and attributes.

    Attributes:
        dataset: The known interactions (training, or training + validation) with the whole
            vocabularies and attribute tables.
        seen: ``(n_users, n_items)`` binary CSR of the known interactions.
        popularity: Known interactions per item.
        activity: Known interactions per user.
    """

    dataset: Dataset
    seen: sp.csr_matrix
    popularity: np.ndarray
    activity: np.ndarray

    @classmethod
    def from_dataset(cls, known: Dataset) -> KnownData:
        history = known.history()
        counts = history.csr(binary=False)
        seen = history.csr(binary=True)
        return cls(
            dataset=known,
            seen=sp.csr_matrix(seen),
            popularity=np.asarray(counts.sum(axis=0)).ravel().astype(np.float64),
            activity=np.asarray(counts.sum(axis=1)).ravel().astype(np.float64),
        )

    def item_labels(self, spec: str) -> tuple[str, np.ndarray, tuple[str, ...]]:
        """Group code of every item for ``spec`` = ``popularity`` or a categorical attribute."""
        if spec == "popularity":
            head = head_items(self.popularity, method="share", cutoff=0.8)
            return spec, np.where(head, 0, 1).astype(np.int64), ("head", "tail")
        kinds = self.dataset.item_attribute_kinds
        if spec not in kinds or kinds[spec] != "categorical":
            usable = ["popularity", *[a for a, k in kinds.items() if k == "categorical"]]
            raise ConfigError(
                f"item groups {spec!r}: not a categorical item attribute; use one of {usable}"
            )
        g = categorical_groups(self._items()[spec], name=spec)
        return spec, g.codes, g.labels

    def genres(self, attribute: str | None) -> np.ndarray:
        """Membership matrix of a multi-valued item attribute (default: the first one)."""
        kinds = self.dataset.item_attribute_kinds
        name = attribute or next((a for a, k in kinds.items() if k == "multi"), None)
        if name is None or kinds.get(name) != "multi":
            raise ConfigError(
                f"this re-ranker needs a multi-valued item attribute (genres); the data has "
                f"{dict(kinds)}"
            )
        return multi_valued_groups(self._items()[name], name=name).membership

    def _items(self) -> pd.DataFrame:
        table = self.dataset.item_attributes
        if table is None:
            raise ConfigError("the dataset has no item attributes")
        return table


def _protected(known: KnownData, spec: str) -> np.ndarray:
    """``ATTR=VALUE`` (or ``popularity=tail``) -> boolean mask of protected items."""
    attr, sep, value = spec.partition("=")
    if not sep:
        raise ConfigError(f"protected={spec!r}: write ATTRIBUTE=VALUE, e.g. popularity=tail")
    _, codes, labels = known.item_labels(attr)
    if value not in labels:
        raise ConfigError(f"protected={spec!r}: {attr} has groups {list(labels)}")
    return codes == labels.index(value)


def build(
    method: str, params: Mapping[str, Any], known: KnownData, candidates: Candidates
) -> tuple[Any, dict[str, Any]]:
    """The re-ranker for ``method`` and the side keywords of its ``rerank`` call.

    Parameters per method (besides each class's own: ``p``, ``alpha``, ``lam``, ``epsilon``,
    ``lambda_user``, ``lambda_item``...):

    - ``fair``: ``protected`` = ``ATTR=VALUE`` (default ``popularity=tail``).
    - ``detconstsort``: ``groups`` (default ``popularity``) and ``target`` = ``"catalogue"``
      (each group's share of the catalogue, the default), ``"equal"`` or ``{label: share}``.
    - ``calibrated`` / ``mmr``: ``attribute``, the multi-valued item attribute (default genres).
    - ``ugf`` / ``cpfair``: users split by known activity (UGF's top 5%); ``relevance`` =
      ``"softmax"`` (default: the model's softmax probabilities over the candidates, so the
      estimated hits differ between users) or ``"minmax"`` (scores min-max normalised per list).
      UGF's default ``metric`` here is ``"f1"``: its NDCG proxy is normalised by the ideal list
      of the same estimates, which the model's own top ``k`` always attains, so with score-based
      estimates every user's estimated NDCG is 1 and the constraint could never bind (the same
      holds for CPFair's user term). ``cpfair``'s popular items are the top 20% by known
      popularity.
    """
    p = dict(params)
    if method == "fair":
        protected = _protected(known, str(p.pop("protected", "popularity=tail")))
        return FAIR(protected=protected, **p), {}
    if method == "detconstsort":
        _, codes, labels = known.item_labels(str(p.pop("groups", "popularity")))
        target = p.pop("target", "catalogue")
        if target == "catalogue":
            shares = np.bincount(codes[codes >= 0], minlength=len(labels)) / max(
                1, int((codes >= 0).sum())
            )
        elif target == "equal":
            shares = np.full(len(labels), 1.0 / len(labels))
        elif isinstance(target, Mapping):
            unknown = set(target) - set(labels)
            if unknown:
                raise ConfigError(f"target groups {sorted(unknown)} not among {list(labels)}")
            shares = np.array([float(target.get(label, 0.0)) for label in labels])
        else:
            raise ConfigError(
                f"target={target!r}: use 'catalogue', 'equal' or a mapping group -> share"
            )
        return DetConstSort(item_groups=codes, target=shares, **p), {}
    if method == "calibrated":
        genres = known.genres(p.pop("attribute", None))
        return Calibrated(item_genres=genres, **p), {"history": known.seen[candidates.users]}
    if method == "mmr":
        genres = known.genres(p.pop("attribute", None))
        return MMR(item_features=genres, **p), {}
    if method in ("ugf", "cpfair"):
        users = activity_groups(known.activity, top=float(p.pop("activity_top", 0.05)))
        user_groups = users.codes[candidates.users]
        relevance = _relevance(candidates, str(p.pop("relevance", "softmax")))
        if method == "ugf":
            p.setdefault("metric", "f1")
            return UGF(user_groups=user_groups, **p), {"relevance": relevance}
        from equirec.mitigation.rerank.cpfair import popular_items

        popular = popular_items(known.popularity, top=float(p.pop("popular_top", 0.2)))
        reranker = CPFair(user_groups=user_groups, item_groups=popular, **p)
        return reranker, {"relevance": relevance, "seen": known.seen[candidates.users]}
    raise ConfigError(f"unknown re-ranker {method!r}; choose one of {list(METHODS)}")


def _relevance(candidates: Candidates, how: str) -> np.ndarray:
    """Relevance estimates in [0, 1] from the candidates' model scores (never test labels)."""
    if how == "minmax":
        return np.nan_to_num(minmax_per_list(candidates))
    if how == "softmax":
        e = np.nan_to_num(relative_softmax_per_list(candidates))
        total = e.sum(axis=1, keepdims=True)
        return np.divide(e, total, out=np.zeros_like(e), where=total > 0)
    raise ConfigError(f"relevance={how!r}: use 'softmax' or 'minmax'")


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
    steps = [m.strip() for m in method.split("+")]
    if len(steps) == 1:
        reranker, side = build(method, params or {}, known, candidates)
        return reranker, reranker.rerank(candidates, k=k, **side)
    per_step: dict[str, dict[str, Any]] = {step: {} for step in steps}
    for key, value in (params or {}).items():
        step, dot, name = key.partition(".")
        if not dot or step not in per_step:
            raise ConfigError(
                f"parameter {key!r}: with chained re-rankers write STEP.KEY, STEP one of {steps}"
            )
        per_step[step][name] = value
    current = candidates
    for i, step in enumerate(steps):
        reranker, side = build(step, per_step[step], known, current)
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

    Returns:
        ``user, rank, item, score`` of the re-ranked lists (the model's scores kept).
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
    _, lists = rerank_candidates(candidates, known=known, method=method, params=params, k=k)
    return lists_to_frame(lists, candidates, user_ids=data.user_ids, item_ids=data.item_ids)


def rerank_run(
    run_dir: str | Path,
    *,
    method: str,
    params: Mapping[str, Any] | None = None,
    k: int = 10,
    depth: int | None = None,
    out: str | Path | None = None,
    write: bool = True,
) -> RerankResult:
    """Re-rank a run's stored lists and score them like the run (same split, full ranking).

    Args:
        run_dir: A folder written by ``equirec run``.
        method: One of :data:`METHODS`.
        params: The re-ranker's parameters (see :func:`build`).
        k: Length of the re-ranked lists.
        depth: Candidates per user: default the stored lists (``keep_k``, 100); a larger depth
            re-ranks the saved model's top ``depth`` instead (no retraining), for constraints
            that the stored lists cannot satisfy (e.g. FA*IR with few protected items there).
        out: Folder for the re-ranked run (default ``RUN_DIR-METHOD``); it gets
            ``metrics.json``, ``per_user.csv``, ``recommendations.csv`` and ``config.json``
            like a run, so ``equirec audit`` works on it.
        write: Write the folder (atomically).
    """
    from equirec.fairness.run_audit import deeper_lists, load_run

    loaded = load_run(run_dir)
    known = KnownData.from_dataset(loaded.known)
    stored = loaded.recommendations if depth is None else deeper_lists(loaded, depth)
    t0 = time.perf_counter()
    recs = rerank_recommendations(stored, known=known, method=method, params=params, k=k)
    seconds = time.perf_counter() - t0
    data = loaded.dataset
    ks = sorted({kk for kk in loaded.config.evaluation.ks if kk <= k} | {k})
    users = data.user_index(recs["user"].drop_duplicates())
    rows = pd.Series(np.arange(len(users)), index=users)
    top = np.full((len(users), k), -1, dtype=np.int64)
    top[rows[data.user_index(recs["user"])].to_numpy(), recs["rank"].to_numpy() - 1] = (
        data.item_index(recs["item"])
    )
    per_user, overall = score_lists(
        top,
        users=users,
        relevant=loaded.split.test.history(),
        user_ids=data.user_ids,
        popularity=loaded.split.train.history().item_counts().astype(np.float64),
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
    folder = Path(out) if out else Path(f"{Path(run_dir)}-{method}")
    if write:
        with atomic_dir(folder) as tmp:
            (tmp / "metrics.json").write_text(json.dumps(jsonable(metrics), indent=2))
            per_user.to_csv(tmp / "per_user.csv", index=False)
            recs.to_csv(tmp / "recommendations.csv", index=False)
            shutil.copy(loaded.path / "config.json", tmp / "config.json")
    return RerankResult(metrics=metrics, per_user=per_user, recommendations=recs, out=folder)


@dataclass(frozen=True)
class RerankResult:
    """Metrics, per-user values and lists of a re-ranked run."""

    metrics: dict[str, Any]
    per_user: pd.DataFrame
    recommendations: pd.DataFrame
    out: Path
