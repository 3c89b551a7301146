"""Cold users: how well a model ranks a user it knows only a few items of.

:func:`history_length_curve` keeps, for every test user, only the last ``n`` items of what was
known before the test, ranks the whole catalogue from those ``n`` items alone (they are the
only items excluded: a new user has seen nothing else) and scores the test items, for every
``n`` of ``lengths``. The same users are evaluated at every length (those whose known history
holds at least the longest length), so the points of the curve differ only by what the model
was given. A model with a learned vector per training user (BPR) cannot rank from a given
history and has no curve.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from equirec.data.history import History
from equirec.errors import ConfigError
from equirec.evaluation.metrics import ranking_metrics
from equirec.models.base import Recommender

__all__ = [
    "HISTORY_LENGTHS",
    "history_length_curve",
    "history_length_metrics",
    "mean_by_length",
    "truncated",
]

HISTORY_LENGTHS = (1, 2, 3, 5, 10, 20)


def truncated(history: History, users: np.ndarray, length: int) -> History:
    """A history holding only the last ``length`` items of ``users`` (the others empty)."""
    sequences = {int(u): history.sequence(int(u))[-length:] for u in users}
    counts = np.zeros(history.n_users, dtype=np.int64)
    for u, seq in sequences.items():
        counts[u] = len(seq)
    items = np.concatenate([sequences[u] for u in sorted(sequences)] or [np.empty(0, np.int64)])
    owners = np.repeat(np.arange(history.n_users), counts)
    return History.from_arrays(
        users=owners, items=items.astype(np.int64), n_users=history.n_users, n_items=history.n_items
    )


def history_length_metrics(
    model: Recommender,
    *,
    known: History,
    test: History,
    lengths: Sequence[int] = HISTORY_LENGTHS,
    ks: Sequence[int] = (10,),
) -> pd.DataFrame:
    """Per-user metrics of ``model`` ranking from the last ``n`` known items, for every ``n``.

    Args:
        model: A fitted model that ranks from a given history (``scores_from_history``).
        known: What was known of every user before the test (training, then validation).
        test: The held-out items of every user.
        lengths: History lengths to evaluate (positive, distinct).
        ks: Cut-offs of the metrics.

    Returns:
        One row per length and user: ``length``, ``user`` (internal index), then every metric
        of :func:`~equirec.evaluation.metrics.accuracy_metrics`. The same users at every length.

    Raises:
        ConfigError: A model that cannot rank from a given history, bad lengths, or no test
            user with that many known items.
    """
    if not model.scores_from_history:
        raise ConfigError(
            f"{model.name} ranks a user by the vector it learned for them; it cannot rank from "
            "a given history, so it has no curve by history length"
        )
    lengths = sorted({int(n) for n in lengths})
    if not lengths or lengths[0] < 1:
        raise ConfigError(f"history lengths must be positive integers, got {list(lengths)}")
    longest = lengths[-1]
    users = np.flatnonzero((test.lengths() > 0) & (known.lengths() >= longest))
    if not len(users):
        raise ConfigError(
            f"no test user has {longest} known items; evaluate shorter lengths than {longest}"
        )
    frames = []
    for n in lengths:
        given = truncated(known, users, n)
        items, _ = model.topk(users, k=max(ks), history=given, exclude_seen=True)
        metrics = ranking_metrics(items, relevant=test, users=users, ks=ks)
        metrics.insert(0, "length", n)
        frames.append(metrics)
    return pd.concat(frames, ignore_index=True)


def history_length_curve(
    model: Recommender,
    *,
    known: History,
    test: History,
    lengths: Sequence[int] = HISTORY_LENGTHS,
    ks: Sequence[int] = (10,),
) -> pd.DataFrame:
    """The mean of :func:`history_length_metrics` per length.

    Returns:
        One row per length: ``length``, ``users`` (the same at every length), then the mean of
        every metric.
    """
    return mean_by_length(
        history_length_metrics(model, known=known, test=test, lengths=lengths, ks=ks)
    )


def mean_by_length(per_user: pd.DataFrame) -> pd.DataFrame:
    """:func:`history_length_metrics` averaged per length: ``length``, ``users``, the means."""
    curve = per_user.drop(columns="user").groupby("length", sort=True).mean().reset_index()
    curve.insert(1, "users", per_user.groupby("length")["user"].size().to_numpy())
    return curve
