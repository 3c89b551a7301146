"""A synthetic log with sequential structure, of any size: for training speed and defaults.

:func:`make_synthetic` plants fairness biases in histories whose order means nothing;
:func:`make_sequential` makes logs in which the order carries the signal a sequential
recommender learns (each item leads to a few others), of the sizes a user brings: its
defaults (6,040 users, 3,416 items, about a million interactions) are those of the standard
MovieLens-1M benchmark's filtered log.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from equirec.data.dataset import Dataset
from equirec.data.synthetic import START_TIME
from equirec.errors import ConfigError

__all__ = ["make_sequential"]

_CHUNK = 1024
_RETRIES = 8


def make_sequential(
    *,
    n_users: int = 6040,
    n_items: int = 3416,
    mean_length: float = 165.0,
    min_length: int = 5,
    popularity_exponent: float = 0.8,
    n_successors: int = 8,
    follow: float = 0.4,
    seed: int = 0,
) -> Dataset:
    """Generate a log in which each next item depends on the previous one.

    How it is made (all from ``numpy.random.default_rng(seed)``):

    * **Popularity.** Items get a random popularity rank ``r`` and the weight
      ``r ** -popularity_exponent`` (Zipf).
    * **Successors.** Every item has ``n_successors`` distinct successor items drawn by
      popularity, with Dirichlet(1) weights: the transitions a sequential model can learn.
    * **Histories.** Each user has ``min_length`` plus a negative-binomial number more
      interactions (mean ``mean_length``, long-tailed, at most the catalogue), of distinct items.
      The first is drawn by popularity; each next one is, with probability ``follow``, a
      successor of the previous item (by the successor weights) and otherwise drawn by
      popularity; a successor already consumed is replaced by a popularity draw. Each user starts
      at a random second of 2020 and steps one minute at a time.

    The order is the whole signal beyond popularity: a model that reads the last item can
    predict up to about ``follow`` of the next items, one that reads only the set of items
    cannot.

    Args:
        n_users: Number of users.
        n_items: Number of items.
        mean_length: Mean history length.
        min_length: Shortest history.
        popularity_exponent: Zipf exponent of item popularity (>= 0).
        n_successors: Successors per item (>= 1, < n_items).
        follow: In [0, 1]: probability that the next item is a successor of the previous one.
        seed: Random seed.

    Returns:
        A dataset with user ids ``u0..``, item ids ``i0..`` and the generator's parameters in
        ``dataset.info``.

    Raises:
        ConfigError: A parameter is out of range.
    """
    if n_users < 1 or n_items < 2:
        raise ConfigError(f"need n_users >= 1 and n_items >= 2, not {n_users} and {n_items}")
    if not 1 <= n_successors < n_items:
        raise ConfigError(f"n_successors must be in [1, n_items), not {n_successors}")
    if not 1 <= min_length <= n_items or mean_length < min_length:
        raise ConfigError(
            f"need 1 <= min_length ({min_length}) <= mean_length ({mean_length}) and "
            f"min_length <= n_items ({n_items})"
        )
    if not 0.0 <= follow <= 1.0 or popularity_exponent < 0:
        raise ConfigError(
            f"follow must be in [0, 1] and popularity_exponent >= 0, not {follow} and "
            f"{popularity_exponent}"
        )
    rng = np.random.default_rng(seed)
    weight = (rng.permutation(n_items) + 1.0) ** -float(popularity_exponent)
    cdf = np.cumsum(weight / weight.sum())
    successors = _successors(cdf, weight, n_successors, rng)
    successor_cdf = np.cumsum(rng.dirichlet(np.ones(n_successors), size=n_items), axis=1)
    extra = mean_length - min_length
    if extra > 0:  # negative binomial with mean `extra` and dispersion 1.5: long-tailed
        more = rng.negative_binomial(1.5, 1.5 / (1.5 + extra), size=n_users)
    else:
        more = np.zeros(n_users, dtype=np.int64)
    lengths = np.minimum(min_length + more, n_items)
    parts = []
    for lo in range(0, n_users, _CHUNK):
        chunk = lengths[lo : lo + _CHUNK]
        parts.append(_histories(chunk, cdf, successors, successor_cdf, follow, rng))
    items = np.concatenate(parts)
    users = np.repeat(np.arange(n_users), lengths)
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    steps = np.arange(len(items)) - starts
    begin = rng.integers(0, 365 * 86_400, size=n_users)  # users start within a year
    user_ids = pd.Index([f"u{u}" for u in range(n_users)], name="user")
    item_ids = pd.Index([f"i{i}" for i in range(n_items)], name="item")
    interactions = pd.DataFrame(
        {
            "user": user_ids[users],
            "item": item_ids[items],
            "timestamp": START_TIME + begin[users] + 60 * steps,
        }
    )
    return Dataset(
        interactions=interactions,
        name="synthetic-sequential",
        user_ids=user_ids,
        item_ids=item_ids,
        info={
            "source": "synthetic",
            "generator": "make_sequential",
            "seed": int(seed),
            "mean_length": float(mean_length),
            "popularity_exponent": float(popularity_exponent),
            "n_successors": int(n_successors),
            "follow": float(follow),
        },
    )


def _successors(
    cdf: np.ndarray, weight: np.ndarray, k: int, rng: np.random.Generator
) -> np.ndarray:
    """``k`` distinct items for every item, none the item itself, drawn by popularity without
    replacement: draws with replacement for all items at once, each row keeping its first
    ``k`` distinct others (the same distribution as drawing one by one and redrawing
    repeats); the rare rows short of ``k`` are drawn one by one."""
    n = len(cdf)
    draws = np.minimum(np.searchsorted(cdf, rng.random((n, 4 * k))), n - 1)
    order = np.argsort(draws, axis=1, kind="stable")
    ordered = np.take_along_axis(draws, order, axis=1)
    repeat = np.zeros_like(draws, dtype=bool)
    np.put_along_axis(repeat, order[:, 1:], ordered[:, 1:] == ordered[:, :-1], axis=1)
    keep = ~repeat & (draws != np.arange(n)[:, None])
    out = np.empty((n, k), dtype=np.int64)
    full = keep.sum(axis=1) >= k
    rows, cols = np.nonzero(keep[full])
    first = np.cumsum(keep[full], axis=1)[rows, cols] <= k
    out[full] = draws[full][rows[first], cols[first]].reshape(-1, k)
    for i in np.flatnonzero(~full):
        p = weight.copy()
        p[i] = 0.0
        out[i] = rng.choice(n, size=k, replace=False, p=p / p.sum())
    return out


def _histories(
    lengths: np.ndarray,
    cdf: np.ndarray,
    successors: np.ndarray,
    successor_cdf: np.ndarray,
    follow: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """The concatenated histories of one chunk of users, all users stepped together."""
    n, n_items = len(lengths), len(cdf)
    seen = np.zeros((n, n_items), dtype=bool)
    out = np.full((n, int(lengths.max())), -1, dtype=np.int64)
    rows = np.arange(n)
    prev = np.full(n, -1, dtype=np.int64)
    for t in range(int(lengths.max())):
        active = rows[lengths > t]
        pick = np.full(len(active), -1, dtype=np.int64)
        if t > 0:
            follows = rng.random(len(active)) < follow
            slot = (rng.random(len(active))[:, None] > successor_cdf[prev[active]]).sum(axis=1)
            slot = np.minimum(slot, successors.shape[1] - 1)
            nxt = successors[prev[active], slot]
            ok = follows & ~seen[active, nxt]
            pick[ok] = nxt[ok]
        for _ in range(_RETRIES):  # popularity draws for the rest, rejecting items consumed
            todo = np.flatnonzero(pick < 0)
            if not len(todo):
                break
            draw = np.minimum(np.searchsorted(cdf, rng.random(len(todo))), n_items - 1)
            fresh = ~seen[active[todo], draw]
            pick[todo[fresh]] = draw[fresh]
        for j in np.flatnonzero(pick < 0):  # a user who has consumed most of the catalogue
            pick[j] = rng.choice(np.flatnonzero(~seen[active[j]]))
        seen[active, pick] = True
        out[active, t] = pick
        prev[active] = pick
    return out[out >= 0]
