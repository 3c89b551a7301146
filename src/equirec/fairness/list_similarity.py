"""How much a list changes when a request names a sensitive attribute (FaiRLLM, Zhang et al.,
RecSys 2023), and whether that change depends on the attribute's value.

The similarity of a sensitive list ``x`` (the answer to "I am a female fan of ...") to the
neutral list ``y`` (the same request without the attribute), both cut to their top ``K``:

- ``jaccard``: ``|x ∩ y| / |x ∪ y|``;
- ``serp``: SERP*@K, the rank-weighted overlap ``Σ_{i: x_i ∈ y} (K − i + 1) / (K (K + 1) / 2)``
  over the ranks ``i = 1..K`` of ``x`` (1 when ``x`` is ``y``'s items in any order);
- ``prag``: PRAG*@K, the share of ordered pairs ``i < j`` of ``x`` whose first item is in ``y``
  and ranked above the second there (an item missing from ``y`` ranks below all of ``y``).

Per attribute, with one similarity per (request, value): SNSR is the largest minus the
smallest value mean, SNSV the values' standard deviation (population, as FaiRLLM). A value
whose lists change more than another's is treated unfairly. :func:`sensitivity_test` adds a
bootstrap interval over requests and a permutation test that shuffles the values' labels within
each request (the null: the answer does not depend on which value is named).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import numpy as np

from equirec.fairness.stats import percentile_interval

__all__ = [
    "SIMILARITIES",
    "Sensitivity",
    "jaccard_at_k",
    "prag_at_k",
    "sensitivity",
    "sensitivity_test",
    "serp_at_k",
]


def _top(items: Sequence[Hashable], k: int) -> list[Hashable]:
    out: list[Hashable] = []
    for item in items:  # a repeated item counts once, at its first rank
        if item not in out:
            out.append(item)
        if len(out) == k:
            break
    return out


def jaccard_at_k(x: Sequence[Hashable], y: Sequence[Hashable], k: int) -> float:
    """Jaccard similarity of the top-``k`` sets (1 for two empty lists)."""
    a, b = set(_top(x, k)), set(_top(y, k))
    return len(a & b) / len(a | b) if a | b else 1.0


def serp_at_k(x: Sequence[Hashable], y: Sequence[Hashable], k: int) -> float:
    """SERP*@K of the sensitive list ``x`` against the neutral list ``y``."""
    top_x, in_y = _top(x, k), set(_top(y, k))
    return sum(k - i for i, item in enumerate(top_x) if item in in_y) / (k * (k + 1) / 2)


def prag_at_k(x: Sequence[Hashable], y: Sequence[Hashable], k: int) -> float:
    """PRAG*@K of the sensitive list ``x`` against the neutral list ``y`` (pairs of ``x``
    whose order ``y`` keeps, the first item in ``y``). A list of one item has no pair: it
    scores 1.0 when its item is in ``y`` (FaiRLLM's code asks for ``x == y``), else 0.0."""
    top_x = _top(x, k)
    rank_y = {item: r for r, item in enumerate(_top(y, k))}
    if len(top_x) < 2:
        return float(bool(top_x) and top_x[0] in rank_y)
    agree = 0
    for i, first in enumerate(top_x):
        if first not in rank_y:
            continue
        for second in top_x[i + 1 :]:
            agree += rank_y[first] < rank_y.get(second, len(rank_y))
    return agree / (len(top_x) * (len(top_x) - 1) / 2)


SIMILARITIES: dict[str, Callable[[Sequence[Hashable], Sequence[Hashable], int], float]] = {
    "jaccard": jaccard_at_k,
    "serp": serp_at_k,
    "prag": prag_at_k,
}


def sensitivity(similarity: np.ndarray) -> tuple[float, float]:
    """SNSR and SNSV of a ``(requests, values)`` similarity matrix (NaN cells skipped)."""
    means = np.nanmean(similarity, axis=0)
    return float(means.max() - means.min()), float(means.std())


@dataclass(frozen=True)
class Sensitivity:
    """One attribute's sensitivity under one similarity.

    Attributes:
        values: Each value's mean similarity to the neutral list, with its interval.
        snsr, snsv: FaiRLLM's range and standard deviation of the value means.
        snsr_ci, snsv_ci: Bootstrap percentile intervals over requests.
        p_value: Permutation p-value of SNSR (labels shuffled within each request).
    """

    values: dict[str, tuple[float, float, float]]
    snsr: float
    snsv: float
    snsr_ci: tuple[float, float]
    snsv_ci: tuple[float, float]
    p_value: float


def sensitivity_test(
    similarity: np.ndarray,
    labels: Sequence[str],
    *,
    n_boot: int = 1000,
    n_permutations: int = 1000,
    confidence: float = 0.95,
    rng: np.random.Generator,
) -> Sensitivity:
    """SNSR and SNSV of a ``(requests, values)`` similarity matrix, with uncertainty.

    Args:
        similarity: One row per request (anchor or user), one column per value of the
            attribute (``labels``).
        labels: The values' names.
        n_boot: Bootstrap resamples of the requests.
        n_permutations: Within-request shuffles of the values' columns.
        confidence: Level of the intervals.
        rng: Source of randomness.
    """
    sim = np.asarray(similarity, dtype=np.float64)
    n = len(sim)
    snsr, snsv = sensitivity(sim)
    means = np.array([np.nanmean(sim[rng.integers(0, n, n)], axis=0) for _ in range(n_boot)])
    means = means.reshape(n_boot, sim.shape[1])
    spread = means.max(axis=1) - means.min(axis=1)

    def interval(stat: np.ndarray) -> tuple[float, float]:
        return percentile_interval(stat, confidence) if n_boot else (np.nan, np.nan)

    values = {
        str(label): (float(np.nanmean(sim[:, j])), *interval(means[:, j]))
        for j, label in enumerate(labels)
    }
    columns = np.tile(np.arange(sim.shape[1]), (n, 1))
    null = np.array(
        [
            sensitivity(np.take_along_axis(sim, rng.permuted(columns, axis=1), axis=1))[0]
            for _ in range(n_permutations)
        ]
    )
    p = (
        float((1 + np.sum(null >= snsr - 1e-12)) / (1 + n_permutations))
        if n_permutations
        else np.nan
    )
    return Sensitivity(
        values=values,
        snsr=snsr,
        snsv=snsv,
        snsr_ci=interval(spread),
        snsv_ci=interval(means.std(axis=1)),
        p_value=p,
    )
