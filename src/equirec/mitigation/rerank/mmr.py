"""Maximal Marginal Relevance (Carbonell & Goldstein, SIGIR 1998).

Every list is built greedily: at each step the candidate maximising

    λ · s(i) − (1 − λ) · max_{j ∈ S} sim(i, j)

is added to the selected set ``S`` (the max is 0 while ``S`` is empty, so the first item is the
best-scored one; a negative cosine is kept, so an item pointing away from everything selected
gets a bonus, as in the formula). ``s`` is the model score min-max normalised to ``[0, 1]``
within each list (a list whose candidates all score the same gets 1), so that λ weighs
comparable quantities.
Similarities: ``"cosine"`` of the item feature vectors (a zero vector is similar to nothing) or
``"jaccard"`` of the sets of non-zero features (two empty sets: 0).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Literal, get_args

import numpy as np

from equirec.errors import ConfigError
from equirec.mitigation.rerank.base import (
    Candidates,
    Reranker,
    check_unit_interval,
    minmax_per_list,
)

__all__ = ["MMR", "Similarity"]

Similarity = Literal["cosine", "jaccard"]
"""How MMR compares two items."""
SIMILARITIES: tuple[str, ...] = get_args(Similarity)
_CHUNK_CELLS = 1 << 21


class MMR(Reranker):
    """MMR diversification of every candidate list.

    Args:
        item_features: ``(n_items, F)`` feature vector of every item index (genres, embeddings...).
        lam: Trade-off λ in ``[0, 1]``: 1 keeps the score order, 0 only avoids similar items.
        similarity: ``"cosine"`` or ``"jaccard"``.
    """

    name: ClassVar[str] = "mmr"
    item_arrays: ClassVar[Mapping[str, str]] = {"item_features": "item_features matrix"}

    def __init__(
        self, *, item_features: np.ndarray, lam: float = 0.5, similarity: Similarity = "cosine"
    ) -> None:
        self.item_features = item_features
        self.lam = lam
        self.similarity = similarity

    def _params(self) -> tuple[np.ndarray, float]:
        lam = check_unit_interval(self.lam, name="lam", owner="MMR", closed=True)
        if self.similarity not in SIMILARITIES:
            raise ConfigError(
                f"MMR: similarity must be one of {list(SIMILARITIES)}, got {self.similarity!r}."
            )
        feats = np.asarray(self.item_features, dtype=np.float64)
        if feats.ndim != 2 or feats.shape[0] == 0 or feats.shape[1] == 0:
            raise ConfigError(
                "MMR: item_features must be a 2-d (n_items, n_features) array with at least one "
                f"item and one feature, got shape {feats.shape}."
            )
        if not np.isfinite(feats).all():
            raise ConfigError("MMR: item_features must be finite (no NaN or inf).")
        if self.similarity == "cosine":
            norms = np.linalg.norm(feats, axis=1, keepdims=True)
            feats = np.divide(feats, norms, out=np.zeros_like(feats), where=norms > 0)
        else:
            feats = (feats != 0).astype(np.float64)
        return feats, lam

    def _rerank(self, candidates: Candidates, k: int) -> np.ndarray:
        """Greedily build diversified top-``k`` lists.

        Args:
            candidates: Candidate lists, best first.
            k: Output length.

        Returns:
            ``(n_lists, k)`` int64 item indices, ``-1`` padding lists with fewer than ``k``
            candidates.
        """
        feats, lam = self._params()
        n, width = candidates.n_lists, candidates.width
        out = np.full((n, k), -1, dtype=np.int64)
        rel = minmax_per_list(candidates)
        chunk = max(1, _CHUNK_CELLS // max(1, width * feats.shape[1]))
        for start in range(0, n, chunk):
            sl = slice(start, start + chunk)
            out[sl] = self._greedy(candidates.items[sl], rel[sl], feats, k=k, lam=lam)
        return out

    def _greedy(
        self, items: np.ndarray, rel: np.ndarray, feats: np.ndarray, *, k: int, lam: float
    ) -> np.ndarray:
        n, width = items.shape
        valid = items >= 0
        vecs = feats[np.where(valid, items, 0)]  # (n, N, F)
        sizes = vecs.sum(axis=2)  # jaccard: number of features of every candidate
        relevance = np.where(valid, rel, 0.0)
        max_sim = np.full((n, width), -np.inf)  # max similarity to the selected items
        available = valid.copy()
        rows = np.arange(n)
        out = np.full((n, k), -1, dtype=np.int64)
        for t in range(min(k, width)):
            penalty = np.where(np.isfinite(max_sim), max_sim, 0.0)  # 0 while S is empty
            objective = np.where(available, lam * relevance - (1.0 - lam) * penalty, -np.inf)
            best = np.argmax(objective, axis=1)  # first maximum: ties go to the better-ranked
            ok = available[rows, best]
            out[ok, t] = items[rows[ok], best[ok]]
            available[rows[ok], best[ok]] = False
            chosen = vecs[rows, best]  # (n, F)
            dot = np.einsum("ncf,nf->nc", vecs, chosen)
            if self.similarity == "cosine":
                sim = dot
            else:
                union = sizes + sizes[rows, best][:, None] - dot
                sim = np.divide(dot, union, out=np.zeros_like(dot), where=union > 0)
            max_sim = np.where(ok[:, None], np.maximum(max_sim, sim), max_sim)
        return out

    def __repr__(self) -> str:
        return f"MMR(lam={self.lam!r}, similarity={self.similarity!r})"
