"""Calibrated re-ranking (Steck 2018, then swaps) against an independent loop implementation."""

from __future__ import annotations

import itertools
import math
from typing import ClassVar

import numpy as np
import pytest
import scipy.sparse as sp

from equirec.errors import ConfigError, DataError
from equirec.mitigation.rerank import Calibrated, Candidates
from equirec.testing import RerankerChecks

N_ITEMS, N_GENRES = 80, 4


def genre_mix(items: list[int], genres: np.ndarray) -> list[float]:
    """Mean normalised genre vector of ``items`` (Steck's p(g|u) / q(g|u), uniform weights)."""
    mix = [0.0] * genres.shape[1]
    for i in items:
        total = sum(genres[i])
        for g in range(genres.shape[1]):
            mix[g] += genres[i][g] / total if total else 0.0
    return [m / len(items) for m in mix]


def c_kl(p: list[float], q: list[float], alpha: float = 0.01) -> float:
    """Σ_g p log(p / ((1-α) q + α p)), written out independently of the module."""
    return sum(
        pg * math.log(pg / ((1 - alpha) * qg + alpha * pg))
        for pg, qg in zip(p, q, strict=True)
        if pg > 0
    )


def reference_relevance(cands: list[int], scores: list[float], relevance: str) -> dict[int, float]:
    lo, hi = min(scores), max(scores)
    if relevance == "minmax":
        return {
            c: (v - lo) / (hi - lo) if hi > lo else 1.0 for c, v in zip(cands, scores, strict=True)
        }
    # softmax probability relative to the best candidate's
    total = sum(math.exp(v) for v in scores)
    best = math.exp(hi) / total
    return {c: math.exp(v) / total / best for c, v in zip(cands, scores, strict=True)}


def reference_objective(
    lst: list[int], s: dict[int, float], p: list[float], genres: np.ndarray, lam: float
) -> float:
    """Steck's objective (1 − λ) Σ s(i) − λ C_KL(p, q(list)), written out."""
    return (1 - lam) * sum(s[i] for i in lst) - lam * c_kl(p, genre_mix(lst, genres))


def reference_greedy(
    cands: list[int],
    scores: list[float],
    p: list[float],
    genres: np.ndarray,
    k: int,
    lam: float,
    relevance: str,
) -> list[int]:
    """Plain greedy selection (Steck's Algorithm), no comparison with the input."""
    s = reference_relevance(cands, scores, relevance)
    chosen: list[int] = []
    for _ in range(min(k, len(cands))):
        best, best_val = None, -math.inf
        for c in cands:
            if c in chosen:
                continue
            val = reference_objective([*chosen, c], s, p, genres, lam)
            if val > best_val + 1e-12:
                best, best_val = c, val
        assert best is not None
        chosen.append(best)
    return chosen


def reference_swaps(
    start: list[int],
    cands: list[int],
    s: dict[int, float],
    p: list[float],
    genres: np.ndarray,
    lam: float,
) -> list[int]:
    """Best-improvement swaps (one listed item replaced in place by one outside) to a local optimum.

    Of equal best swaps (up to 1e-12) the first counts: earliest position, then best-ranked
    candidate.
    """
    lst = list(start)
    for _ in range(100):
        current = reference_objective(lst, s, p, genres, lam)
        swaps = [(j, c) for j in range(len(lst)) for c in cands if c not in lst]
        if not swaps:
            break
        values = [
            reference_objective([*lst[:j], c, *lst[j + 1 :]], s, p, genres, lam) for j, c in swaps
        ]
        best = max(values)
        if best <= current + 1e-12 * max(1.0, abs(current)):
            break
        j, c = swaps[next(i for i, v in enumerate(values) if v >= best - 1e-12 * max(1, abs(best)))]
        lst[j] = c
    return lst


def reference_calibrated(
    cands: list[int],
    scores: list[float],
    p: list[float],
    genres: np.ndarray,
    k: int,
    lam: float,
    relevance: str,
) -> list[int]:
    """Greedy, or the top k where that scores higher (beyond rounding); then swaps."""
    s = reference_relevance(cands, scores, relevance)
    greedy = reference_greedy(cands, scores, p, genres, k, lam, relevance)
    top = cands[:k]
    margin = reference_objective(top, s, p, genres, lam) - reference_objective(
        greedy, s, p, genres, lam
    )
    return reference_swaps(top if margin > 1e-12 else greedy, cands, s, p, genres, lam)


def random_case(
    seed: int, n_lists: int = 12, width: int = 20, n_genres: int = 5
) -> tuple[Candidates, np.ndarray, sp.csr_matrix]:
    """Random candidate lists over 60 items (some without a genre, some short) and histories."""
    rng = np.random.default_rng(seed)
    n_items = 60
    genres = (rng.random((n_items, n_genres)) < 0.3).astype(float)
    genres *= rng.integers(1, 3, size=genres.shape)  # weights, not only 0/1
    genres[rng.random(n_items) < 0.08] = 0.0
    items = np.stack([rng.choice(n_items, size=width, replace=False) for _ in range(n_lists)])
    items[0, width // 2 :] = -1  # a short list
    scores = np.sort(rng.normal(scale=rng.uniform(0.5, 3.0), size=(n_lists, width)), axis=1)
    hist = sp.csr_matrix((rng.random((n_lists, n_items)) < 0.1).astype(float))
    return Candidates(items=items, scores=scores[:, ::-1], users=np.arange(n_lists)), genres, hist


@pytest.fixture
def data() -> tuple[Candidates, np.ndarray, sp.csr_matrix]:
    rng = np.random.default_rng(0)
    genres = (rng.random((N_ITEMS, N_GENRES)) < 0.35).astype(float)
    genres[rng.random(N_ITEMS) < 0.05] = 0.0  # some items without a genre
    n_lists, width = 15, 25
    items = np.stack([rng.choice(N_ITEMS, size=width, replace=False) for _ in range(n_lists)])
    scores = np.sort(rng.normal(size=(n_lists, width)), axis=1)[:, ::-1]
    # skewed histories: each user favours one genre
    rows, cols = [], []
    for u in range(n_lists):
        fav = genres[:, u % N_GENRES] > 0
        pool = np.nonzero(fav)[0] if u % 2 else np.arange(N_ITEMS)
        picked = rng.choice(pool, size=8, replace=False)
        rows += [u] * 8
        cols += picked.tolist()
    hist = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_lists, N_ITEMS))
    return Candidates(items=items, scores=scores, users=np.arange(n_lists)), genres, hist


def test_lambda_zero_keeps_the_score_order(data) -> None:
    cands, genres, hist = data
    out = Calibrated(item_genres=genres, lam=0.0).rerank(cands, k=10, history=hist)
    assert (out == cands.items[:, :10]).all()


@pytest.mark.parametrize("relevance", ["softmax", "minmax"])
@pytest.mark.parametrize("lam", [0.3, 0.7, 0.99])
def test_matches_an_independent_loop(data, lam: float, relevance: str) -> None:
    cands, genres, hist = data
    cal = Calibrated(item_genres=genres, lam=lam, relevance=relevance)
    out = cal.rerank(cands, k=6, history=hist)
    for r in range(cands.n_lists):
        hist_items = hist[r].indices.tolist()
        p = genre_mix(hist_items, genres)
        expected = reference_calibrated(
            cands.items[r].tolist(), cands.scores[r].tolist(), p, genres, 6, lam, relevance
        )
        assert out[r].tolist() == expected


def test_never_worse_on_its_objective_than_the_input() -> None:
    # Genres A (column 0) and B. The history (items 2: B, 3: A+B) asks for p = (0.25, 0.75).
    # Greedy starts with the genre-balanced item 3, whose relevance is tiny, and ends at
    # [3, 0, 2]: better calibrated, but lower on the objective than the input's top 3, which is
    # the best of all 3-item sets here, so no swap improves it.
    genres = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [1.0, 1.0]])
    scores = [3.0, 1.7, 1.5, -0.1, -1.3]
    cands = Candidates(items=[np.arange(5)], scores=[scores], users=[0])
    hist = sp.csr_matrix(np.isin(np.arange(5), [2, 3]).astype(float)[None, :])
    p = genre_mix([2, 3], genres)
    s = reference_relevance(list(range(5)), scores, "softmax")
    greedy = reference_greedy(list(range(5)), scores, p, genres, 3, 0.5, "softmax")
    assert greedy == [3, 0, 2]
    top, greedy_value = [0, 1, 2], reference_objective(greedy, s, p, genres, 0.5)
    assert reference_objective(top, s, p, genres, 0.5) > greedy_value
    cal = Calibrated(item_genres=genres, lam=0.5)
    out = cal.rerank(cands, k=3, history=hist)
    assert out[0].tolist() == top  # the old greedy returned [3, 0, 2]
    assert cal.input_kept_.tolist() == [True]
    assert cal.local_search_improved_.tolist() == [False]
    assert cal.objective_[0] == pytest.approx(reference_objective(top, s, p, genres, 0.5))


def test_local_search_beats_both_greedy_and_the_top_k() -> None:
    # Genres A (column 0) and B. The history (items 6: A, 7: A+B) asks for p = (0.75, 0.25).
    # The top 3 [0, 1, 2] holds two B items; greedy starts with the balanced item 4 (low score)
    # and ends at [4, 1, 0], lower still. One swap from the top 3, item 2 (B) out and item 3 (A)
    # in, gives [0, 1, 3]: the best of all 20 three-item sets, and a local optimum.
    genres = np.array([[0, 1], [1, 0], [0, 1], [1, 0], [1, 1], [1, 0], [1, 0], [1, 1]], float)
    scores = [1.8, 1.4, 1.2, 1.0, -0.5, -1.4]
    cands = Candidates(items=[np.arange(6)], scores=[scores], users=[0])
    hist = sp.csr_matrix(np.isin(np.arange(8), [6, 7]).astype(float)[None, :])
    p = genre_mix([6, 7], genres)
    assert p == [0.75, 0.25]
    s = reference_relevance(list(range(6)), scores, "softmax")

    def value(lst: list[int]) -> float:
        return reference_objective(lst, s, p, genres, 0.5)

    greedy = reference_greedy(list(range(6)), scores, p, genres, 3, 0.5, "softmax")
    assert greedy == [4, 1, 0]
    assert value(greedy) == pytest.approx(0.82113, abs=1e-5)
    assert value([0, 1, 2]) == pytest.approx(0.93195, abs=1e-5)
    best = max(itertools.combinations(range(6), 3), key=lambda c: value(list(c)))
    assert best == (0, 1, 3) and value([0, 1, 3]) == pytest.approx(1.05177, abs=1e-5)
    cal = Calibrated(item_genres=genres, lam=0.5)
    out = cal.rerank(cands, k=3, history=hist)
    assert out[0].tolist() == [0, 1, 3]  # item 3 in item 2's place
    assert cal.input_kept_.tolist() == [True]  # started from the top 3
    assert cal.local_search_improved_.tolist() == [True]
    assert cal.objective_[0] == pytest.approx(1.05177, abs=1e-5)
    assert c_kl(p, genre_mix([0, 1, 3], genres)) < c_kl(p, genre_mix([0, 1, 2], genres))


def test_no_list_is_worse_on_the_objective_than_its_top_k(data) -> None:
    cands, genres, hist = data
    for lam in (0.3, 0.7, 0.99):
        cal = Calibrated(item_genres=genres, lam=lam)
        out = cal.rerank(cands, k=6, history=hist)
        for r in range(cands.n_lists):
            row, scores = cands.items[r].tolist(), cands.scores[r].tolist()
            s = reference_relevance(row, scores, "softmax")
            p = genre_mix(hist[r].indices.tolist(), genres)
            value = reference_objective(out[r].tolist(), s, p, genres, lam)
            assert value >= reference_objective(row[:6], s, p, genres, lam) - 1e-12
            assert cal.objective_[r] == pytest.approx(value)


@pytest.mark.parametrize("seed", range(8))
def test_a_local_optimum_never_below_greedy_or_the_top_k(seed: int) -> None:
    cands, genres, hist = random_case(seed)
    rng = np.random.default_rng(100 + seed)
    lam, k = float(rng.choice([0.2, 0.5, 0.8, 0.95])), int(rng.integers(2, 9))
    relevance = str(rng.choice(["softmax", "minmax"]))
    cal = Calibrated(item_genres=genres, lam=lam, relevance=relevance)
    out = cal.rerank(cands, k=k, history=hist)
    for r in range(cands.n_lists):
        row = [int(i) for i in cands.items[r] if i >= 0]
        s = reference_relevance(row, cands.scores[r, : len(row)].tolist(), relevance)
        p = genre_mix(hist[r].indices.tolist(), genres)
        lst = [int(i) for i in out[r] if i >= 0]
        assert len(lst) == min(k, len(row)) == len(set(lst)) and set(lst) <= set(row)
        value = reference_objective(lst, s, p, genres, lam)
        assert cal.objective_[r] == pytest.approx(value, abs=1e-12)
        greedy = reference_greedy(
            row, cands.scores[r, : len(row)].tolist(), p, genres, k, lam, relevance
        )
        starts = (greedy, row[:k])
        start = max(reference_objective(other, s, p, genres, lam) for other in starts)
        assert value >= start - 1e-12
        if cal.local_search_improved_[r]:
            assert value > start
        else:
            assert lst == starts[int(cal.input_kept_[r])]
        # No single swap improves the returned list.
        for j, c in itertools.product(range(len(lst)), set(row) - set(lst)):
            swapped = [*lst[:j], c, *lst[j + 1 :]]
            assert reference_objective(swapped, s, p, genres, lam) <= value + 1e-12
    assert cal.local_search_improved_.any()  # the property is not vacuous


def test_deterministic_and_independent_of_the_other_lists(monkeypatch) -> None:
    cands, genres, hist = random_case(3, n_lists=20)
    cal = Calibrated(item_genres=genres, lam=0.7)
    first = cal.rerank(cands, k=5, history=hist)
    kept, improved, objective = cal.input_kept_, cal.local_search_improved_, cal.objective_
    again = Calibrated(item_genres=genres, lam=0.7)
    assert (again.rerank(cands, k=5, history=hist) == first).all()
    assert (again.input_kept_ == kept).all() and (again.local_search_improved_ == improved).all()
    assert np.array_equal(again.objective_, objective)
    # Lists in another order, and processed a few at a time, come out the same.
    perm = np.random.default_rng(0).permutation(cands.n_lists)
    shuffled = Candidates(items=cands.items[perm], scores=cands.scores[perm], users=perm)
    monkeypatch.setattr("equirec.mitigation.rerank.calibrated._CHUNK_CELLS", 200)
    out = Calibrated(item_genres=genres, lam=0.7).rerank(shuffled, k=5, history=hist[perm])
    assert (out == first[perm]).all()


def test_lambda_one_never_increases_miscalibration(data) -> None:
    cands, genres, hist = data
    k = 8
    out = Calibrated(item_genres=genres, lam=1.0).rerank(cands, k=k, history=hist)
    improved = 0
    for r in range(cands.n_lists):
        p = genre_mix(hist[r].indices.tolist(), genres)
        before = c_kl(p, genre_mix(cands.items[r, :k].tolist(), genres))
        after = c_kl(p, genre_mix(out[r].tolist(), genres))
        assert after <= before + 1e-12
        improved += after < before - 1e-9
    assert improved >= cands.n_lists // 2


def test_single_genre_history_pulls_the_list_towards_that_genre() -> None:
    # genre A = column 0. Candidates alternate B-only and A-only items, B ranked first.
    genres = np.zeros((20, 2))
    genres[0::2, 1] = 1.0  # even items: genre B
    genres[1::2, 0] = 1.0  # odd items: genre A
    cands = Candidates(items=[np.arange(20)], scores=[np.linspace(1, 0, 20)], users=[0])
    hist = sp.csr_matrix(np.isin(np.arange(20), [1, 3, 5]).astype(float)[None, :])
    before = genres[np.arange(6), 0].mean()
    out = Calibrated(item_genres=genres, lam=0.5).rerank(cands, k=6, history=hist)
    after = genres[out[0], 0].mean()
    assert before == 0.5 and after > before
    assert set(out[0].tolist()) <= set(range(20))


def test_empty_history_keeps_the_score_order(data) -> None:
    cands, genres, _ = data
    hist = sp.csr_matrix((cands.n_lists, N_ITEMS))
    out = Calibrated(item_genres=genres, lam=0.9).rerank(cands, k=7, history=hist)
    assert (out == cands.items[:, :7]).all()


def test_user_distribution_is_the_mean_item_genre_distribution() -> None:
    genres = np.array([[1.0, 1.0], [0.0, 2.0], [0.0, 0.0]])
    hist = sp.csr_matrix(np.array([[1.0, 5.0, 0.0], [0.0, 0.0, 1.0]]))
    dist = Calibrated(item_genres=genres).user_distribution(hist)
    assert dist.tolist() == [[0.25, 0.75], [0.0, 0.0]]  # interaction values count once


def test_dense_history_and_short_lists_are_accepted(data) -> None:
    _, genres, _ = data
    cands = Candidates(
        items=[[3, 5, -1, -1], [7, -1, -1, -1]], scores=[[2, 1, 0, 0], [1, 0, 0, 0]], users=[0, 1]
    )
    hist = np.zeros((2, N_ITEMS))
    hist[:, 4] = 1
    out = Calibrated(item_genres=genres).rerank(cands, k=3, history=hist)
    assert sorted(out[0, :2].tolist()) == [3, 5] and out[0, 2] == -1
    assert out[1].tolist() == [7, -1, -1]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lam": 1.2}, r"lam must be a number in \[0, 1\]"),
        ({"lam": -0.1}, r"lam must be a number in \[0, 1\]"),
        ({"alpha": 0.0}, r"alpha must be a number in \(0, 1\)"),
        ({"alpha": 1.0}, r"alpha must be a number in \(0, 1\)"),
        ({"item_genres": -np.ones((N_ITEMS, 2))}, "non-negative"),
        ({"item_genres": np.ones(N_ITEMS)}, "2-d"),
        ({"relevance": "rank"}, "relevance must be 'softmax' or 'minmax'"),
    ],
)
def test_parameter_validation(data, kwargs: dict, message: str) -> None:
    cands, genres, hist = data
    params = {"item_genres": genres, **kwargs}
    with pytest.raises(ConfigError, match=message):
        Calibrated(**params).rerank(cands, k=3, history=hist)


def test_history_is_required_and_must_fit(data) -> None:
    cands, genres, hist = data
    cal = Calibrated(item_genres=genres)
    with pytest.raises(ConfigError, match="needs history="):
        cal.rerank(cands, k=3)
    with pytest.raises(DataError, match="one history row per list"):
        cal.rerank(cands, k=3, history=hist[:3])
    with pytest.raises(DataError, match=f"must be \\(n_lists, {N_ITEMS}\\)"):
        cal.rerank(cands, k=3, history=hist[:, :10])


class TestCalibrated(RerankerChecks):
    method = "calibrated"
    params: ClassVar = {"lam": 0.7}
    out_of_range: ClassVar = {"lam": 1.5}
