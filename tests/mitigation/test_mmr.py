"""MMR diversification against an independent loop implementation."""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import pytest

from equirec.errors import ConfigError, DataError
from equirec.mitigation.rerank import MMR, Candidates
from equirec.testing import RerankerChecks

N_ITEMS = 70


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = math.sqrt(float(a @ a)), math.sqrt(float(b @ b))
    return float(a @ b) / (na * nb) if na and nb else 0.0


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    sa, sb = set(np.nonzero(a)[0].tolist()), set(np.nonzero(b)[0].tolist())
    return len(sa & sb) / len(sa | sb) if sa | sb else 0.0


def reference_mmr(cands, scores, feats, k, lam, sim) -> list[int]:
    lo, hi = min(scores), max(scores)
    s = {c: (v - lo) / (hi - lo) if hi > lo else 1.0 for c, v in zip(cands, scores, strict=True)}
    chosen: list[int] = []
    for _ in range(min(k, len(cands))):
        best, best_val = None, -math.inf
        for c in cands:
            if c in chosen:
                continue
            penalty = max((sim(feats[c], feats[j]) for j in chosen), default=0.0)
            val = lam * s[c] - (1 - lam) * penalty
            if val > best_val + 1e-12:
                best, best_val = c, val
        chosen.append(best)
    return chosen


def intra_list_diversity(items: np.ndarray, feats: np.ndarray) -> float:
    pairs = [(a, b) for i, a in enumerate(items) for b in items[i + 1 :]]
    return sum(1 - cosine(feats[a], feats[b]) for a, b in pairs) / len(pairs)


@pytest.fixture
def data() -> tuple[Candidates, np.ndarray]:
    rng = np.random.default_rng(1)
    # clustered features so that score order tends to repeat a cluster
    centres = rng.normal(size=(4, 6))
    feats = centres[rng.integers(0, 4, N_ITEMS)] + 0.3 * rng.normal(size=(N_ITEMS, 6))
    n_lists, width = 15, 25
    items = np.stack([rng.choice(N_ITEMS, size=width, replace=False) for _ in range(n_lists)])
    scores = np.sort(rng.normal(size=(n_lists, width)), axis=1)[:, ::-1]
    return Candidates(items=items, scores=scores, users=np.arange(n_lists)), feats


def test_lambda_one_keeps_the_score_order(data) -> None:
    cands, feats = data
    out = MMR(item_features=feats, lam=1.0).rerank(cands, k=10)
    assert (out == cands.items[:, :10]).all()


@pytest.mark.parametrize(
    ("lam", "similarity"), [(0.5, "cosine"), (0.2, "cosine"), (0.6, "jaccard")]
)
def test_matches_an_independent_greedy_loop(data, lam: float, similarity: str) -> None:
    cands, feats = data
    if similarity == "jaccard":
        feats = (feats > 0.3).astype(float)
    sim = cosine if similarity == "cosine" else jaccard
    out = MMR(item_features=feats, lam=lam, similarity=similarity).rerank(cands, k=6)
    for r in range(cands.n_lists):
        expected = reference_mmr(
            cands.items[r].tolist(), cands.scores[r].tolist(), feats, 6, lam, sim
        )
        assert out[r].tolist() == expected


def test_small_lambda_increases_intra_list_diversity(data) -> None:
    cands, feats = data
    k = 8
    out = MMR(item_features=feats, lam=0.2).rerank(cands, k=k)
    before = [intra_list_diversity(cands.items[r, :k], feats) for r in range(cands.n_lists)]
    after = [intra_list_diversity(out[r], feats) for r in range(cands.n_lists)]
    assert np.mean(after) > np.mean(before) + 0.1
    assert sum(a >= b - 1e-12 for a, b in zip(after, before, strict=True)) >= cands.n_lists - 1


def test_items_with_duplicate_features_are_spread_out() -> None:
    feats = np.array([[1.0, 0.0], [1.0, 0.0], [2.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    cands = Candidates(items=[[0, 1, 2, 3, 4]], scores=[[1.0, 0.99, 0.98, 0.7, 0.0]], users=[0])
    out = MMR(item_features=feats, lam=0.5).rerank(cands, k=3)[0]
    # 1 and 2 duplicate 0's direction (cosine 1): the orthogonal item 3 comes second
    assert out.tolist()[:2] == [0, 3]
    out = MMR(item_features=feats, lam=0.5).rerank(cands, k=5)[0]
    assert sorted(out.tolist()) == [0, 1, 2, 3, 4]
    # zero feature vectors are similar to nothing
    zero = MMR(item_features=np.zeros((5, 2)), lam=0.5).rerank(cands, k=5)[0]
    assert zero.tolist() == [0, 1, 2, 3, 4]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lam": 1.5}, r"lam must be a number in \[0, 1\]"),
        ({"lam": None}, r"lam must be a number in \[0, 1\]"),
        ({"similarity": "euclid"}, "similarity must be one of"),
        ({"item_features": np.ones(N_ITEMS)}, "2-d"),
        ({"item_features": np.full((N_ITEMS, 2), np.nan)}, "finite"),
    ],
)
def test_parameter_validation(data, kwargs: dict, message: str) -> None:
    cands, feats = data
    params = {"item_features": feats, **kwargs}
    with pytest.raises(ConfigError, match=message):
        MMR(**params).rerank(cands, k=3)


def test_features_must_cover_the_candidates(data) -> None:
    cands, feats = data
    with pytest.raises(DataError, match="item_features matrix covers only 10 items"):
        MMR(item_features=feats[:10]).rerank(cands, k=3)


class TestMMR(RerankerChecks):
    method = "mmr"
    params: ClassVar = {"lam": 0.5}
    out_of_range: ClassVar = {"lam": -0.5}
