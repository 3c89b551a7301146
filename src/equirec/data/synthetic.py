"""A synthetic interaction log with planted, documented user-group and provider biases."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from equirec.data.dataset import Dataset
from equirec.errors import ConfigError

GENRE_NAMES = (
    "action",
    "comedy",
    "drama",
    "documentary",
    "horror",
    "romance",
    "sci-fi",
    "thriller",
    "animation",
    "crime",
    "fantasy",
    "musical",
)
"""Genre labels used first; further genres are called ``genre12``, ``genre13``..."""

START_TIME = 1_577_836_800
"""Unix time of the earliest possible interaction (2020-01-01 UTC)."""

_EXTRA_GENRE_RATE = 0.15
_CHUNK = 512


def make_synthetic(
    *,
    n_users: int = 1000,
    n_items: int = 500,
    n_interactions_per_user: float = 20.0,
    popularity_exponent: float = 1.0,
    n_user_groups: int = 2,
    group_sizes: Sequence[float] | None = None,
    user_bias: float = 0.8,
    n_provider_groups: int = 2,
    provider_exposure_bias: float = 0.5,
    n_genres: int = 8,
    seed: int = 0,
) -> Dataset:
    """Generate a log whose unfairness is known in advance, to test metrics and mitigations.

    How it is made (everything drawn from ``numpy.random.default_rng(seed)``, so one seed always
    gives the same dataset):

    * **Popularity.** Items get a random popularity rank ``r = 1..n_items`` and a base weight
      ``r ** -popularity_exponent`` (Zipf; 0 gives uniform popularity).
    * **Taste clusters.** There is one taste cluster per user group; items are dealt to clusters
      evenly along the popularity ranking, so every cluster has the same size and the same base
      popularity profile.
    * **User groups** (user attribute ``group``, ``0`` is the largest). A user of group ``g``
      draws each item from their own cluster ``g`` with probability ``user_bias`` and from the
      whole catalogue otherwise, proportionally to item weights. With ``user_bias > 0`` the
      minority group's favourite cluster collects far fewer interactions than the majority's,
      so minority users consume less popular items on average and popularity-driven models
      serve them worse. ``user_bias = 0`` makes all groups behave alike.
    * **Providers** (item attribute ``provider``, ``0..n_provider_groups-1``), dealt evenly
      along the popularity ranking like the clusters. Items of every provider group other than
      ``0`` have their weight multiplied by ``1 - provider_exposure_bias``, so those providers
      get a smaller share of interactions than their share of the catalogue; ``0`` plants no
      provider bias.
    * **Genres** (item attribute ``genres``, multi-valued): one primary genre among the genres
      of the item's cluster (genre ``k`` belongs to cluster ``k % n_user_groups``), plus each
      other genre with probability 0.15.
    * **Histories.** Each user has ``min(3, n_interactions_per_user)`` interactions plus a
      negative-binomial number more (mean ``n_interactions_per_user``, long-tailed), distinct
      items sampled without replacement (popular items tend to come first), at strictly
      increasing integer timestamps (seconds from 2020-01-01).

    Args:
        n_users: Number of users.
        n_items: Number of items (every item is in the catalogue, consumed or not).
        n_interactions_per_user: Mean history length.
        popularity_exponent: Zipf exponent of item popularity (>= 0).
        n_user_groups: Number of user groups (and taste clusters).
        group_sizes: Relative group sizes; default ``0.25 ** g`` normalised (0.8 / 0.2 for two
            groups). Users are dealt exactly in these proportions.
        user_bias: In [0, 1]: how strongly each group keeps to its own taste cluster.
        n_provider_groups: Number of provider groups.
        provider_exposure_bias: In [0, 1): interaction mass taken from providers ``1..``.
        n_genres: Number of genre labels.
        seed: Random seed.

    Returns:
        A dataset with user ids ``u0..``, item ids ``i0..``, user attribute ``group``
        (categorical), item attributes ``provider`` (categorical) and ``genres`` (multi), and the
        generator's parameters in ``dataset.info``.

    Raises:
        ConfigError: A parameter is out of range.
    """
    _validate(
        n_users=n_users,
        n_items=n_items,
        n_interactions_per_user=n_interactions_per_user,
        popularity_exponent=popularity_exponent,
        n_user_groups=n_user_groups,
        user_bias=user_bias,
        n_provider_groups=n_provider_groups,
        provider_exposure_bias=provider_exposure_bias,
        n_genres=n_genres,
    )
    shares = _group_shares(n_user_groups, group_sizes)
    rng = np.random.default_rng(seed)

    groups = rng.permutation(np.repeat(np.arange(n_user_groups), _apportion(shares, n_users)))
    rank = rng.permutation(n_items)
    base = (rank + 1.0) ** -float(popularity_exponent)
    cluster = _dealt_along(rank, n_user_groups, rng)
    provider = _dealt_along(rank, n_provider_groups, rng)
    weight = base * np.where(provider == 0, 1.0, 1.0 - provider_exposure_bias)
    probs = _group_probabilities(weight, cluster, n_user_groups, user_bias)

    lengths = _history_lengths(n_users, n_interactions_per_user, rng)
    lengths = np.minimum(lengths, (probs > 0).sum(axis=1)[groups])
    user_items = _sample_histories(groups, lengths, probs, rng)

    users = np.repeat(np.arange(n_users), lengths)
    items = np.concatenate(user_items) if n_users else np.empty(0, dtype=np.int64)
    timestamps = _timestamps(lengths, rng)
    genres = _genres(cluster, n_user_groups, n_genres, rng)

    user_ids = pd.Index([f"u{u}" for u in range(n_users)], name="user")
    item_ids = pd.Index([f"i{i}" for i in range(n_items)], name="item")
    interactions = pd.DataFrame(
        {"user": user_ids[users], "item": item_ids[items], "timestamp": timestamps}
    )
    return Dataset(
        interactions=interactions,
        user_attributes=pd.DataFrame({"group": groups}, index=user_ids),
        item_attributes=pd.DataFrame({"provider": provider, "genres": genres}, index=item_ids),
        user_attribute_kinds={"group": "categorical"},
        item_attribute_kinds={"provider": "categorical", "genres": "multi"},
        name="synthetic",
        user_ids=user_ids,
        item_ids=item_ids,
        info={
            "source": "synthetic",
            "seed": int(seed),
            "popularity_exponent": float(popularity_exponent),
            "group_sizes": ",".join(f"{s:.3g}" for s in shares),
            "user_bias": float(user_bias),
            "provider_exposure_bias": float(provider_exposure_bias),
            "planted": (
                f"user groups 1.. prefer under-consumed taste clusters (user_bias={user_bias}); "
                f"providers 1.. get weight x {1 - provider_exposure_bias:g}"
            ),
        },
    )


def _validate(
    *,
    n_users: int,
    n_items: int,
    n_interactions_per_user: float,
    popularity_exponent: float,
    n_user_groups: int,
    user_bias: float,
    n_provider_groups: int,
    provider_exposure_bias: float,
    n_genres: int,
) -> None:
    checks = [
        (n_users >= 1, f"n_users must be >= 1, got {n_users}"),
        (n_user_groups >= 1, f"n_user_groups must be >= 1, got {n_user_groups}"),
        (n_provider_groups >= 1, f"n_provider_groups must be >= 1, got {n_provider_groups}"),
        (
            n_items >= max(n_user_groups, n_provider_groups),
            f"n_items ({n_items}) must be at least n_user_groups and n_provider_groups",
        ),
        (
            1 <= n_interactions_per_user <= n_items,
            f"n_interactions_per_user must be in [1, n_items={n_items}], "
            f"got {n_interactions_per_user}",
        ),
        (popularity_exponent >= 0, f"popularity_exponent must be >= 0, got {popularity_exponent}"),
        (0 <= user_bias <= 1, f"user_bias must be in [0, 1], got {user_bias}"),
        (
            0 <= provider_exposure_bias < 1,
            f"provider_exposure_bias must be in [0, 1), got {provider_exposure_bias}",
        ),
        (n_genres >= 1, f"n_genres must be >= 1, got {n_genres}"),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(f"make_synthetic: {message}")


def _group_shares(n_groups: int, sizes: Sequence[float] | None) -> np.ndarray:
    if sizes is None:
        raw = 0.25 ** np.arange(n_groups, dtype=np.float64)
    else:
        raw = np.asarray(list(sizes), dtype=np.float64)
        if raw.shape != (n_groups,) or not np.all(raw > 0):
            raise ConfigError(
                f"make_synthetic: group_sizes must hold {n_groups} positive numbers "
                f"(one per user group), got {list(sizes)}"
            )
    return raw / raw.sum()


def _apportion(shares: np.ndarray, total: int) -> np.ndarray:
    """Integer counts summing to ``total`` in the given proportions (largest remainders)."""
    exact = shares * total
    counts = np.floor(exact).astype(np.int64)
    rest = total - int(counts.sum())
    counts[np.argsort(-(exact - counts), kind="stable")[:rest]] += 1
    return counts


def _dealt_along(rank: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """Labels ``0..k-1`` dealt evenly along the popularity ranking (each block of k ranks once)."""
    n_blocks = -(-len(rank) // k)
    by_rank = np.argsort(rng.random((n_blocks, k)), axis=1).ravel()[: len(rank)]
    return by_rank[rank]


def _group_probabilities(
    weight: np.ndarray, cluster: np.ndarray, n_groups: int, user_bias: float
) -> np.ndarray:
    overall = weight / weight.sum()
    probs = np.empty((n_groups, len(weight)))
    for g in range(n_groups):
        own = np.where(cluster == g, weight, 0.0)
        probs[g] = (1.0 - user_bias) * overall + user_bias * own / own.sum()
    return probs


def _history_lengths(n_users: int, mean: float, rng: np.random.Generator) -> np.ndarray:
    minimum = int(min(3, np.floor(mean)))
    extra = mean - minimum
    if extra <= 0:
        return np.full(n_users, minimum, dtype=np.int64)
    dispersion = 2.0
    draws = rng.negative_binomial(dispersion, dispersion / (dispersion + extra), size=n_users)
    return minimum + draws.astype(np.int64)


def _sample_histories(
    groups: np.ndarray, lengths: np.ndarray, probs: np.ndarray, rng: np.random.Generator
) -> list[np.ndarray]:
    """Per user, distinct items without replacement in draw order (Gumbel top-k)."""
    histories: list[np.ndarray] = [np.empty(0, dtype=np.int64)] * len(groups)
    with np.errstate(divide="ignore"):
        log_probs = np.log(probs)
    for g in range(len(probs)):
        members = np.flatnonzero(groups == g)
        for start in range(0, len(members), _CHUNK):
            chunk = members[start : start + _CHUNK]
            keys = log_probs[g] + rng.gumbel(size=(len(chunk), probs.shape[1]))
            order = np.argsort(-keys, axis=1, kind="stable")
            for row, user in enumerate(chunk):
                histories[user] = order[row, : lengths[user]].astype(np.int64)
    return histories


def _timestamps(lengths: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Strictly increasing integer seconds per user, users starting at random times."""
    starts = START_TIME + rng.integers(0, 180 * 86_400, size=len(lengths))
    gaps = rng.integers(60, 3 * 86_400, size=int(lengths.sum()))
    steps = np.cumsum(gaps)
    offsets = np.concatenate([[0], steps])[np.cumsum(lengths) - lengths]
    users = np.repeat(np.arange(len(lengths)), lengths)
    return (starts[users] + steps - offsets[users]).astype(np.int64)


def _genres(
    cluster: np.ndarray, n_groups: int, n_genres: int, rng: np.random.Generator
) -> list[tuple[str, ...]]:
    names = [GENRE_NAMES[k] if k < len(GENRE_NAMES) else f"genre{k}" for k in range(n_genres)]
    home = np.arange(n_genres) % n_groups
    primary = np.empty(len(cluster), dtype=np.int64)
    for c in range(n_groups):
        items = np.flatnonzero(cluster == c)
        candidates = np.flatnonzero(home == c)
        if len(candidates) == 0:
            candidates = np.arange(n_genres)
        primary[items] = candidates[rng.integers(len(candidates), size=len(items))]
    flags = rng.random((len(cluster), n_genres)) < _EXTRA_GENRE_RATE
    flags[np.arange(len(cluster)), primary] = True
    return [tuple(names[k] for k in np.flatnonzero(row)) for row in flags]
