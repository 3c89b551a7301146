"""Adaptive Monte Carlo permutation p-values: as many permutations as the evidence needs.

A fixed number ``B`` of permutations cannot give a p-value below ``1 / (B + 1)``, so with a Holm
adjustment over a family of ``m`` tests nothing can be significant once ``m / (B + 1)`` reaches
the level. :func:`adaptive_p_value` first runs ``n_min`` permutations; while fewer than ``hits``
of them reach the observed statistic it keeps going, in batches, up to ``n_max``. Weak evidence
therefore stops at ``n_min`` and strong evidence gets the resolution it needs.

The p-value is ``(1 + exceed) / (1 + n)`` over the ``n`` permutations run. Stopping as soon as
``hits`` exceedances are seen is Besag & Clifford's (1991) sequential design, whose exact p-value
is ``hits / n``; ``(1 + hits) / (1 + n)`` is never smaller, so the reported p-value stays valid
(conservative), and with ``hits / n_min`` below the level, stopping never moves a p-value across
the level: a p-value above it has stopped at ``n_min`` already.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

DEFAULT_GROWTH = 20
"""Default ``n_max`` as a multiple of ``n_min``: 2,000 permutations grow to at most 40,000, so the
smallest p-value is 2.5e-5 and survives a Holm adjustment over hundreds of tests."""

DEFAULT_HITS = 20
"""Exceedances after which the permutations stop (``p ≈ hits / n``)."""


@dataclass(frozen=True)
class PermutationResult:
    """Outcome of an adaptive permutation test.

    Attributes:
        p_value: ``(1 + exceed) / (1 + n_permutations)`` (never 0).
        n_permutations: Permutations run (between ``n_min`` and ``n_max``).
        null: The statistic of every permutation run, in order.
    """

    p_value: float
    n_permutations: int
    null: np.ndarray


def adaptive_p_value(
    observed: float,
    draw: Callable[[int], np.ndarray],
    *,
    n_min: int,
    n_max: int | None = None,
    hits: int = DEFAULT_HITS,
    batch: int = 500,
) -> PermutationResult:
    """P-value of ``observed`` against statistics of permuted data, with adaptive stopping.

    Args:
        observed: The statistic of the data (large = evidence against the null).
        draw: ``draw(n)`` returns the statistic of ``n`` fresh permutations.
        n_min: Permutations always run (at least 1).
        n_max: Most permutations run (default ``n_min``: a fixed number).
        hits: Stop once this many permutations reach ``observed`` (after ``n_min``).
        batch: Permutations drawn at once beyond ``n_min``.
    """
    n_max = max(n_min, n_max or n_min)
    tol = 1e-12 * max(1.0, abs(observed))
    parts = [np.asarray(draw(n_min), dtype=np.float64)]
    exceed = int((parts[0] >= observed - tol).sum())
    done = n_min
    while exceed < hits and done < n_max:
        n = min(max(batch, done), n_max - done)  # doubling: few calls, bounded overshoot
        part = np.asarray(draw(n), dtype=np.float64)
        parts.append(part)
        exceed += int((part >= observed - tol).sum())
        done += n
    null = np.concatenate(parts)
    return PermutationResult(p_value=(1.0 + exceed) / (1.0 + done), n_permutations=done, null=null)


def critical_value(null: np.ndarray, alpha: float) -> float:
    """The threshold ``c`` with ``observed > c`` exactly when ``(1 + #{null ≥ observed}) /
    (1 + n) < alpha``: the statistic's permutation critical value at level ``alpha``.

    An interval built from it therefore excludes the null value exactly when the test rejects.
    ``inf`` when ``n`` is too small for any rejection at that level.
    """
    n = len(null)
    k = int(np.ceil(alpha * (1 + n) - 1e-9)) - 2  # largest exceed count with p < alpha
    if k < 0:
        return float("inf")
    return float(np.sort(null)[::-1][min(k, n - 1)])
