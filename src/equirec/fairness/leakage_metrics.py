"""Metrics of the leakage probe, weighted so that a bootstrap resample is a vector of weights.

Every metric takes ``weights``, one row of user multiplicities per evaluation (a row of ones for
the plain value, resampled counts for the bootstrap), so that :func:`_bootstrap` evaluates a
chunk of resamples in one vectorised pass: :func:`binary_auc` and :func:`_auc` (ROC-AUC, macro
one-vs-rest for more than two classes), :func:`_balanced_accuracy` (mean per-class recall) and
:func:`_bootstrap` (the class-stratified resamples of
:func:`~equirec.fairness.leakage.leakage_probe`).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

_BOOT_CELLS = 4_000_000  # resample weights held at once: chunk × users


def binary_auc(score: np.ndarray, positive: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """AUC of ``score`` for ``positive`` vs the rest under each row of ``weights`` (ties: 0.5)."""
    order = np.argsort(score, kind="mergesort")
    s = score[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    w = weights[:, order]
    pos = positive[order]
    pos_w = np.add.reduceat(np.where(pos, w, 0.0), starts, axis=1)
    neg_w = np.add.reduceat(np.where(pos, 0.0, w), starts, axis=1)
    below = np.cumsum(neg_w, axis=1) - neg_w
    num = (pos_w * (below + 0.5 * neg_w)).sum(axis=1)
    den = pos_w.sum(axis=1) * neg_w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(num / den)


def _auc(proba: np.ndarray, y: np.ndarray, n_classes: int, weights: np.ndarray) -> np.ndarray:
    if n_classes == 2:
        return binary_auc(proba[:, 1], y == 1, weights)
    per_class = [binary_auc(proba[:, c], y == c, weights) for c in range(n_classes)]
    return np.asarray(np.mean(per_class, axis=0))


def stratified_weights(
    members: list[np.ndarray], n: int, *, n_boot: int, rng: np.random.Generator
) -> Iterator[np.ndarray]:
    """Chunks of ``(b, n)`` resample weights, ``n_boot`` rows in all: each row draws every
    stratum's units (``members``: their indices) with replacement, as many as it holds, and
    counts how often each unit was drawn."""
    chunk = max(1, min(n_boot, _BOOT_CELLS // max(n, 1)))
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        flat = np.concatenate(
            [
                (
                    np.arange(b)[:, None] * n + idx[rng.integers(0, len(idx), size=(b, len(idx)))]
                ).ravel()
                for idx in members
            ]
        )
        yield np.bincount(flat, minlength=b * n).reshape(b, n).astype(np.float64)


def _balanced_accuracy(
    correct: np.ndarray, y: np.ndarray, counts: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """Mean per-class recall; ``counts`` are the class sizes (kept by a stratified resample)."""
    recall = [
        (weights[:, y == c] * correct[y == c]).sum(axis=1) / counts[c] for c in range(len(counts))
    ]
    return np.asarray(np.mean(recall, axis=0))


def _bootstrap(
    probas: list[np.ndarray],
    y: np.ndarray,
    preds: list[np.ndarray],
    counts: np.ndarray,
    *,
    n_boot: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """AUC and balanced accuracy of ``n_boot`` class-stratified resamples of the users.

    ``probas`` and ``preds`` hold one out-of-fold prediction per repeat of the cross-validation;
    every resample weighs the users of all repeats alike and returns the mean over the repeats.
    """
    n, n_classes = len(y), len(counts)
    members = [np.flatnonzero(y == c) for c in range(n_classes)]
    aucs, bals = [], []
    for weights in stratified_weights(members, n, n_boot=n_boot, rng=rng):
        aucs.append(np.mean([_auc(p, y, n_classes, weights) for p in probas], axis=0))
        bals.append(
            np.mean([_balanced_accuracy(q == y, y, counts, weights) for q in preds], axis=0)
        )
    return np.concatenate(aucs), np.concatenate(bals)
