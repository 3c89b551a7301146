"""Splitting a dataset into train / validation / test parts: leave-one-out, temporal, random,
cold items.

Every part is a :meth:`Dataset.subset` of the input, so all parts share its user and item
vocabularies (items absent from train stay in the catalogue), and splits are deterministic: the
same dataset and seed always give the same parts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np

from equirec.data.dataset import Dataset
from equirec.errors import ConfigError, DataError


@dataclass(frozen=True)
class Split:
    """The three parts of a split; all share the vocabularies of the dataset they come from.

    Attributes:
        train: Interactions the model learns from.
        valid: Held-out interactions for early stopping and tuning (may be empty).
        test: Held-out interactions for the final evaluation.
        name: Split method name (``loo``, ``temporal``, ``random``, ``cold-items``).
        params: The split's parameters (seed, fractions...), recorded with results.
        holdout: Users held out of training entirely (``holdout_users``): the interactions
            that would have been their training part, never trained on, validated or tested;
            the non-members of a membership-inference attack (empty by default).
    """

    train: Dataset
    valid: Dataset
    test: Dataset
    name: str
    params: dict[str, Any] = field(default_factory=dict)
    holdout: Dataset | None = None


SplitMethod = Literal["loo", "temporal", "random", "cold-items"]
SPLIT_METHODS: tuple[str, ...] = get_args(SplitMethod)

LOO_MIN_INTERACTIONS = 3
"""Users with fewer interactions keep them all in train under ``loo`` (no valid / test item)."""

DEFAULT_VALID_FRAC = 0.1
DEFAULT_TEST_FRAC = 0.1
DEFAULT_COLD_FRAC = 0.2


def split_dataset(
    dataset: Dataset,
    *,
    method: SplitMethod,
    seed: int = 0,
    valid_frac: float | None = None,
    test_frac: float | None = None,
    cold_frac: float | None = None,
    holdout_users: float = 0.0,
) -> Split:
    """Split interactions into train, validation and test parts.

    Methods:

    * ``"loo"`` (leave one out): per user, in chronological order (equal timestamps keep their
      file order), the last interaction goes to test, the second-to-last to validation, the
      rest to train. Users with fewer than 3 interactions keep them all in train and are not
      evaluated (as in SASRec), so every evaluated user has a train history, a validation item
      and a test item. ``valid_frac`` / ``test_frac`` do not apply.
    * ``"temporal"``: global time cut-offs. Interactions from the time of the
      ``1 - test_frac`` quantile on are test, those from the ``1 - test_frac - valid_frac``
      quantile on (and before the test cut-off) validation, the rest train. All interactions at
      a cut-off time go to the later part, so train never shares a timestamp with what follows.
      Validation / test interactions of users without any train interaction are dropped
      (counted in ``params["dropped_no_train_history"]``); items unseen in train stay in the
      catalogue.
    * ``"random"``: per user, a seeded random holdout: ``floor(test_frac * n)`` interactions to
      test and ``floor(valid_frac * n)`` to validation, raised to 1 each (test first) while at
      least 1 interaction stays in train (as RecBole does), so a user with 2 interactions has
      1 train and 1 test, and one with 1 interaction has it in train.
    * ``"cold-items"`` (new items never trained on): the items with interactions are ranked by
      the time of their first interaction (equal times by item index) and the newest
      ``cold_frac`` share of them (rounded, at least one) is *cold*: a time cut, the first
      interaction of the oldest cold item (``params["cold_from"]``), with items first seen at
      that very time divided by item index. The held-out parts are those of ``"loo"``; then
      every train and validation interaction with a cold item is dropped (counted in
      ``params["dropped_cold_train"]`` / ``params["dropped_cold_valid"]``), so no cold item is
      ever trained on, while test keeps every evaluated user's last interaction, cold or warm.
      Cold items stay in the catalogue, so their test events are ranked against all items.
      ``params`` also records ``cold_items``, ``cold_share`` (their share of all interactions)
      and ``cold_test_events``. ``valid_frac`` / ``test_frac`` do not apply.

    Args:
        dataset: The dataset to split.
        method: ``"loo"``, ``"temporal"``, ``"random"`` or ``"cold-items"``.
        seed: Random seed (only ``"random"`` uses it).
        valid_frac: Validation share for ``temporal`` / ``random`` (default 0.1; 0 for none).
        test_frac: Test share for ``temporal`` / ``random`` (default 0.1).
        cold_frac: Share of the items that are cold under ``cold-items`` (default 0.2; strictly
            between 0 and 1).
        holdout_users: Share of the users (with interactions; drawn with ``seed``, at least
            one when positive) held out of training entirely, after the method has split
            everyone: their would-be training interactions become ``Split.holdout`` (so they
            look like a training user's history) and their validation and test ones are
            dropped. ``params`` records ``holdout_users`` and ``holdout_user_count``. Every
            method takes it; 0 (default) holds no one out.

    Returns:
        The :class:`Split`, with the method's parameters in ``params``.

    Raises:
        ConfigError: Unknown method, fractions out of range or given to a method they do not
            apply to.
        DataError: The dataset is empty, the temporal train part would be empty, or under
            ``cold-items`` the timestamps do not order the items or no warm item would remain.
    """
    if method not in SPLIT_METHODS:
        raise ConfigError(
            f"unknown split method {method!r}; choose one of {', '.join(map(repr, SPLIT_METHODS))}"
        )
    if cold_frac is not None and method != "cold-items":
        raise ConfigError(f"cold_frac applies to split method 'cold-items' only, not {method!r}")
    if len(dataset) == 0:
        raise DataError(f"dataset {dataset.name!r} has no interactions to split")
    if method in ("loo", "cold-items") and (valid_frac is not None or test_frac is not None):
        raise ConfigError(
            f"split method {method!r} holds out one interaction per user; valid_frac / "
            "test_frac apply to 'temporal' and 'random' only"
        )
    if method == "loo":
        part, params = _leave_one_out(dataset)
    elif method == "cold-items":
        frac = DEFAULT_COLD_FRAC if cold_frac is None else float(cold_frac)
        if not 0 < frac < 1:
            raise ConfigError(
                f"cold_frac must be strictly between 0 and 1 (the share of items that are "
                f"cold), got cold_frac={cold_frac}"
            )
        part, params = _cold_items(dataset, cold_frac=frac)
    else:
        valid = DEFAULT_VALID_FRAC if valid_frac is None else float(valid_frac)
        test = DEFAULT_TEST_FRAC if test_frac is None else float(test_frac)
        _check_fractions(valid, test)
        if method == "temporal":
            part, params = _temporal(dataset, valid_frac=valid, test_frac=test)
        else:
            part, params = _random(dataset, valid_frac=valid, test_frac=test, seed=seed)
    holdout = None
    if holdout_users:
        held = _held_out_users(dataset, share=holdout_users, seed=seed)
        rows = held[dataset.interactions["user_idx"].to_numpy()]
        holdout = dataset.subset(rows & (part == _TRAIN))
        part[rows] = _DROPPED
        params |= {"holdout_users": float(holdout_users), "holdout_user_count": int(held.sum())}
    return Split(
        train=dataset.subset(part == _TRAIN),
        valid=dataset.subset(part == _VALID),
        test=dataset.subset(part == _TEST),
        name=method,
        params={"method": method, **params},
        holdout=holdout,
    )


def _held_out_users(dataset: Dataset, *, share: float, seed: int) -> np.ndarray:
    """A seeded ``share`` of the users with interactions, as a mask over the user vocabulary."""
    if not 0 < share < 1:
        raise ConfigError(
            f"holdout_users must be in [0, 1) (the share of users never trained on), not {share!r}"
        )
    active = np.flatnonzero(
        np.bincount(dataset.interactions["user_idx"].to_numpy(), minlength=dataset.n_users)
    )
    n = max(1, round(share * len(active)))
    if n >= len(active):
        raise DataError(
            f"holdout_users={share} of the {len(active)} user(s) of {dataset.name!r} leaves no "
            "one to train on; lower it"
        )
    # A stream of its own, so that holding users out leaves the method's own draws unchanged.
    rng = np.random.default_rng([int(seed), 0x401D])
    mask = np.zeros(dataset.n_users, dtype=bool)
    mask[rng.choice(active, size=n, replace=False)] = True
    return mask


_TRAIN, _VALID, _TEST, _DROPPED = 0, 1, 2, -1


def _leave_one_out(dataset: Dataset) -> tuple[np.ndarray, dict[str, Any]]:
    users = dataset.interactions["user_idx"].to_numpy()
    counts = np.bincount(users, minlength=dataset.n_users)
    from_end = counts[users] - 1 - _position_in_user(users, np.arange(len(users)), counts)
    evaluated = counts[users] >= LOO_MIN_INTERACTIONS
    part = np.full(len(users), _TRAIN, dtype=np.int8)
    part[evaluated & (from_end == 0)] = _TEST
    part[evaluated & (from_end == 1)] = _VALID
    short = int(((counts > 0) & (counts < LOO_MIN_INTERACTIONS)).sum())
    return part, {
        "min_interactions": LOO_MIN_INTERACTIONS,
        "short_users_train_only": short,
    }


def _cold_items(dataset: Dataset, *, cold_frac: float) -> tuple[np.ndarray, dict[str, Any]]:
    """Leave-one-out parts with the newest items' train and validation rows dropped."""
    df = dataset.interactions
    items = df["item_idx"].to_numpy()
    ts = df["timestamp"].to_numpy()
    # Rows are in chronological order (stable), so an item's first row is its first interaction.
    active, first_row = np.unique(items, return_index=True)
    first_ts = ts[first_row]
    order = np.lexsort((active, first_ts))  # oldest first; equal times by item index
    n_cold = max(1, round(cold_frac * len(active)))
    if n_cold >= len(active):
        raise DataError(
            f"cold-items split of {dataset.name!r}: cold_frac={cold_frac} of its "
            f"{len(active)} item(s) with interactions makes every item cold, so no warm item "
            "would remain to train on; lower cold_frac"
        )
    cut = first_ts[order[len(active) - n_cold]]
    if first_ts[order[0]] == cut:
        raise DataError(
            f"cold-items split of {dataset.name!r}: no item is first seen before the cut-off "
            f"time {_scalar(cut)!r} of the newest {n_cold} item(s) (the timestamps do not order "
            "the items: too many share one time); give the log real timestamps, lower cold_frac "
            "or use method='loo'"
        )
    # The first row is on a warm item (first seen before the cut) and always stays in train.
    cold = np.zeros(dataset.n_items, dtype=bool)
    cold[active[order[len(active) - n_cold :]]] = True
    part, params = _leave_one_out(dataset)
    on_cold = cold[items]
    dropped_train = on_cold & (part == _TRAIN)
    dropped_valid = on_cold & (part == _VALID)
    part[dropped_train | dropped_valid] = _DROPPED
    return part, {
        "cold_frac": cold_frac,
        "cold_from": _scalar(cut),
        "cold_items": int(n_cold),
        "cold_share": float(on_cold.mean()),
        "cold_test_events": int((on_cold & (part == _TEST)).sum()),
        "dropped_cold_train": int(dropped_train.sum()),
        "dropped_cold_valid": int(dropped_valid.sum()),
        **params,
    }


def _temporal(
    dataset: Dataset, *, valid_frac: float, test_frac: float
) -> tuple[np.ndarray, dict[str, Any]]:
    df = dataset.interactions
    ts = df["timestamp"].to_numpy()
    n = len(ts)
    n_test = round(test_frac * n)
    n_valid = round(valid_frac * n)
    part = np.full(n, _TRAIN, dtype=np.int8)
    if n_test:
        t_test = ts[n - n_test]
        part[ts >= t_test] = _TEST
    if n_valid:
        t_valid = ts[n - n_test - n_valid]
        part[(ts >= t_valid) & (part != _TEST)] = _VALID
    if not (part == _TRAIN).any():
        raise DataError(
            f"temporal split of {dataset.name!r}: no interaction is earlier than the cut-off "
            f"times (too many share the same timestamp); lower valid_frac / test_frac or use "
            f"method='loo' or 'random'"
        )
    users = df["user_idx"].to_numpy()
    has_train = np.bincount(users[part == _TRAIN], minlength=dataset.n_users) > 0
    cold = (part != _TRAIN) & ~has_train[users]
    part[cold] = _DROPPED
    train_end = ts[part == _TRAIN].max()
    test_start = ts[part == _TEST].min() if (part == _TEST).any() else None
    return part, {
        "valid_frac": valid_frac,
        "test_frac": test_frac,
        "train_until": _scalar(train_end),
        "test_from": None if test_start is None else _scalar(test_start),
        "dropped_no_train_history": int(cold.sum()),
    }


def _random(
    dataset: Dataset, *, valid_frac: float, test_frac: float, seed: int
) -> tuple[np.ndarray, dict[str, Any]]:
    users = dataset.interactions["user_idx"].to_numpy()
    counts = np.bincount(users, minlength=dataset.n_users)
    n_test, n_valid = _holdout_counts(counts, valid_frac=valid_frac, test_frac=test_frac)
    keys = np.random.default_rng(seed).random(len(users))
    rank = _position_in_user(users, keys, counts)
    part = np.full(len(users), _TRAIN, dtype=np.int8)
    part[rank < n_test[users]] = _TEST
    part[(rank >= n_test[users]) & (rank < n_test[users] + n_valid[users])] = _VALID
    return part, {"valid_frac": valid_frac, "test_frac": test_frac, "seed": int(seed)}


def _holdout_counts(
    counts: np.ndarray, *, valid_frac: float, test_frac: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per-user test and validation sizes (RecBole's ratio rule, see :func:`split_dataset`)."""
    n_test = np.floor(test_frac * counts + 1e-9).astype(np.int64)
    n_valid = np.floor(valid_frac * counts + 1e-9).astype(np.int64)
    n_train = counts - n_test - n_valid
    for held, frac in ((n_test, test_frac), (n_valid, valid_frac)):
        bump = (frac > 0) & (held == 0) & (n_train >= 2)
        held[bump] += 1
        n_train[bump] -= 1
    return n_test, n_valid


def _position_in_user(users: np.ndarray, keys: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """0-based rank of each row among its user's rows, ordered by ``keys`` (stable)."""
    order = np.lexsort((keys, users))
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    rank = np.empty(len(users), dtype=np.int64)
    rank[order] = np.arange(len(users)) - starts[users[order]]
    return rank


def _check_fractions(valid_frac: float, test_frac: float) -> None:
    if not (0 < test_frac < 1) or not (0 <= valid_frac < 1) or valid_frac + test_frac >= 1:
        raise ConfigError(
            f"split fractions must satisfy 0 < test_frac, 0 <= valid_frac and "
            f"valid_frac + test_frac < 1; got valid_frac={valid_frac}, test_frac={test_frac}"
        )


def _scalar(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value
