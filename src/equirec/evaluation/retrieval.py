"""Top-k retrieval through an approximate nearest-neighbour index (faiss), beside exact ranking.

Models that score a user by one product of a user vector and an item table (SASRec, BERT4Rec,
BPR: ``scores = user_representations(users) @ item_vectors().T``) can rank through a faiss
inner-product index over the item vectors instead of scoring the whole catalogue: HNSW (a graph;
``ef_search`` trades time for recall) or IVF (``nlist`` clusters of which ``nprobe`` are
searched). The index returns more than ``k`` items per user, as many as the user has items to
exclude (seen, validation) and more (rounded up to a power of two, so that a user's list does not
depend on who it is ranked with), and drops the excluded ones: a list is the user's unseen top
``k`` as found by the index. :func:`retrieval_report` measures what the approximation costs:
its top-k recall against exact ranking (the share of the exact top ``k`` it finds), and the
change it makes to accuracy and to the concentration of exposure (``pip install
'equirec[ann]'``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from equirec.data.history import History
from equirec.data.lists import RankedLists
from equirec.errors import ConfigError

if TYPE_CHECKING:
    from equirec.models.base import Recommender

__all__ = [
    "RETRIEVALS",
    "AnnRanker",
    "ann_ranker",
    "check_retrieval",
    "retrieval_report",
    "topk_recall",
]

_PARAMS = {"hnsw": ("hnsw_m", "ef_search"), "ivf": ("nlist", "nprobe")}

RETRIEVALS = ("exact", "hnsw", "ivf")
"""How lists are retrieved: exact full ranking, or a faiss HNSW or IVF index."""


def _faiss() -> Any:
    try:
        import faiss
    except ImportError as exc:
        raise ConfigError("approximate retrieval needs faiss: pip install 'equirec[ann]'") from exc
    return faiss


@dataclass
class AnnRanker:
    """Ranks like :meth:`Recommender.rank`, through a faiss index over the item vectors.

    Attributes:
        model: A fitted model with ``item_vectors()`` and ``user_representations()``.
        method: ``"hnsw"`` or ``"ivf"``.
        hnsw_m: Links per node of the HNSW graph.
        ef_search: HNSW's search breadth (raised to the number of items fetched when larger).
        nlist: IVF's clusters (default ``4 √n_items``, at most ``n_items / 39``).
        nprobe: IVF's clusters searched per query.
        seed: Seeds IVF's k-means.
    """

    model: Recommender
    method: str = "hnsw"
    hnsw_m: int = 32
    ef_search: int = 128
    nlist: int | None = None
    nprobe: int = 16
    seed: int = 0
    index: Any = field(init=False, repr=False)
    build_seconds: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        import time

        if self.method not in RETRIEVALS[1:]:
            raise ConfigError(
                f"retrieval must be one of {', '.join(RETRIEVALS)}, not {self.method!r}"
            )
        vectors = getattr(self.model, "item_vectors", None)
        if vectors is None or not hasattr(self.model, "user_representations"):
            raise ConfigError(
                f"approximate retrieval needs a model that scores by a user vector and an item "
                f"table (sasrec, bert4rec, bpr); {self.model.name} does not: use exact retrieval"
            )
        faiss = _faiss()
        table = np.ascontiguousarray(vectors().numpy(), dtype=np.float32)
        n, d = table.shape
        t0 = time.perf_counter()
        if self.method == "hnsw":
            index = faiss.IndexHNSWFlat(d, int(self.hnsw_m), faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = max(40, 2 * int(self.hnsw_m))
        else:
            # faiss wants at least 39 training points per cluster
            nlist = int(self.nlist or max(1, min(round(4 * math.sqrt(n)), n // 39)))
            quantizer = faiss.IndexFlatIP(d)
            index = faiss.IndexIVFFlat(quantizer, d, min(nlist, n), faiss.METRIC_INNER_PRODUCT)
            index.cp.seed = int(self.seed)
            index.train(table)
            index.nprobe = int(self.nprobe)
        index.add(table)
        self.index = index
        self.build_seconds = time.perf_counter() - t0

    def __call__(
        self,
        users: np.ndarray,
        *,
        k: int,
        history: History | None = None,
        exclude: Iterable[History] = (),
        exclude_seen: bool = True,
        batch_size: int = 256,
    ) -> RankedLists:
        """The top ``k`` of every user (internal indices), as :meth:`Recommender.rank`."""
        model = self.model
        history = model.history_ if history is None else history
        users = np.asarray(users, dtype=np.int64)
        n_items = model.n_items
        k = int(min(k, n_items))
        masks = [history, *exclude] if exclude_seen else []
        items_out = np.full((len(users), k), -1, dtype=np.int64)
        scores_out = np.full((len(users), k), -np.inf, dtype=np.float32)
        for start in range(0, len(users), batch_size):
            batch = users[start : start + batch_size]
            seen = None
            for h in masks:
                seen = h.rows(batch) if seen is None else seen + h.rows(batch)
            seen = None if seen is None else seen.tocsr()
            extra = np.zeros(len(batch), dtype=np.int64) if seen is None else seen.getnnz(axis=1)
            # Each user's search depth is k plus its own items to exclude, rounded up to a power
            # of two: a user's list never depends on the users it is batched with.
            fetch = np.minimum(n_items, 2 ** np.ceil(np.log2(k + extra + 1)).astype(np.int64))
            queries = model.user_representations(batch, history).numpy().astype(np.float32)
            for depth in np.unique(fetch):
                rows = np.flatnonzero(fetch == depth)
                if self.method == "hnsw":
                    self.index.hnsw.efSearch = max(int(self.ef_search), int(depth))
                scores, found = self.index.search(np.ascontiguousarray(queries[rows]), int(depth))
                for j, row in enumerate(rows):
                    got, got_scores = found[j], scores[j]
                    keep = got >= 0
                    if seen is not None:
                        keep &= ~np.isin(got, seen[row].indices)
                    got, got_scores = got[keep][:k], got_scores[keep][:k]
                    items_out[start + row, : len(got)] = got
                    scores_out[start + row, : len(got)] = got_scores
        return model.lists(users, items_out, scores_out)


def check_retrieval(method: str, params: dict[str, Any]) -> None:
    """Check a retrieval method and its index settings, and that faiss is there for an index
    (before anything is trained on them).

    Raises:
        ConfigError: An unknown method or parameter, a value that is not a positive integer, or
            faiss missing.
    """
    if method == "exact":
        return
    if method not in _PARAMS:
        raise ConfigError(f"retrieval must be one of {', '.join(RETRIEVALS)}, not {method!r}")
    unknown = sorted(set(params) - set(_PARAMS[method]))
    if unknown:
        raise ConfigError(
            f"evaluation.retrieval_params: unknown key(s) {unknown} for {method}; its keys are "
            f"{', '.join(_PARAMS[method])}"
        )
    for key, value in params.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(
                f"evaluation.retrieval_params.{key} must be a positive integer, not {value!r}"
            )
    _faiss()


def ann_ranker(model: Recommender, *, method: str, params: dict[str, Any]) -> AnnRanker:
    """An :class:`AnnRanker` of ``method`` with ``params``, checked (:func:`check_retrieval`).

    Raises:
        ConfigError: Bad settings, faiss missing, or a model without item vectors.
    """
    check_retrieval(method, params)
    return AnnRanker(model, method=method, **params)


def topk_recall(exact: pd.DataFrame, approx: pd.DataFrame, *, k: int) -> float:
    """Mean share of each user's exact top ``k`` that the approximate top ``k`` holds (lists
    as ``user, rank, item`` frames)."""
    want = exact.loc[exact["rank"] <= k, ["user", "item"]]
    got = approx.loc[approx["rank"] <= k, ["user", "item"]]
    if want.empty:
        return math.nan
    found = want.merge(got, on=["user", "item"], how="left", indicator=True)
    return float((found["_merge"] == "both").groupby(found["user"]).mean().mean())


def retrieval_report(
    exact: pd.DataFrame,
    approx: pd.DataFrame,
    *,
    exact_metrics: dict[str, float],
    approx_metrics: dict[str, float],
    ranker: AnnRanker,
    k: int = 10,
    seconds: dict[str, float] | None = None,
) -> dict[str, Any]:
    """What approximate retrieval changed: top-k recall against exact ranking, and each
    metric (accuracy, exposure Gini, coverage) exactly and approximately retrieved."""
    names = [
        m for m in (f"ndcg@{k}", f"recall@{k}", f"gini@{k}", f"coverage@{k}") if m in exact_metrics
    ]
    return {
        "method": ranker.method,
        "params": {
            key: getattr(ranker, key)
            for key in (("hnsw_m", "ef_search") if ranker.method == "hnsw" else ("nlist", "nprobe"))
        },
        f"recall@{k}_vs_exact": topk_recall(exact, approx, k=k),
        "metrics": {
            name: {"exact": exact_metrics[name], "approximate": approx_metrics.get(name)}
            for name in names
        },
        "build_seconds": ranker.build_seconds,
        **({"seconds": seconds} if seconds else {}),
    }
