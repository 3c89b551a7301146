"""Filtering a dataset: rating threshold, duplicate interactions, iterative k-core."""

from __future__ import annotations

import logging
from typing import Literal

import numpy as np

from equirec.data.dataset import Dataset
from equirec.errors import ConfigError, DataError

log = logging.getLogger(__name__)

Duplicates = Literal["keep", "first", "last"]


def preprocess(
    dataset: Dataset,
    *,
    min_rating: float | None = None,
    duplicates: Duplicates = "keep",
    exact_duplicates: Literal["drop", "keep"] = "drop",
    user_core: int = 0,
    item_core: int = 0,
) -> Dataset:
    """Filter interactions, then drop users and items left without any from the vocabularies.

    Steps, in this order:

    0. ``exact_duplicates``: rows identical in user, item, timestamp (and rating) are a data
       error far more often than a real repeat: by default every copy but the first is dropped,
       with a warning (left in, the copies put a user's test item in the history before it, so it
       can never be hit). ``"keep"`` keeps them.
    1. ``min_rating``: keep interactions with ``rating >= min_rating`` (the positive feedback of
       an implicit-feedback task); ``None`` keeps every interaction.
    2. ``duplicates``: repeated (user, item) pairs are all kept (``"keep"``), or only the
       earliest (``"first"``) or latest (``"last"``) is kept.
    3. k-core: repeatedly drop users with fewer than ``user_core`` interactions and items with
       fewer than ``item_core`` until every remaining user and item meets its threshold (a fixed
       point). Counts are of interactions, so with ``duplicates="keep"`` a repeated item counts
       each time.

    What was applied is recorded in ``info`` of the result: ``implicit`` ("every interaction
    counts" or "rating >= 4"), ``duplicates``, ``exact_duplicates_dropped``, ``user_core``,
    ``item_core``, ``core_iterations``, ``removed_interactions``, a one-line ``preprocess``
    summary and, where something was probably not meant, ``warnings`` (a list of messages).

    Args:
        dataset: The dataset to filter.
        min_rating: Rating threshold, or ``None``.
        duplicates: ``"keep"``, ``"first"`` or ``"last"``.
        exact_duplicates: ``"drop"`` (default) or ``"keep"`` exact duplicate rows.
        user_core: Minimum interactions per user (0 or 1: no filter).
        item_core: Minimum interactions per item (0 or 1: no filter).

    Returns:
        A new dataset whose vocabularies and attribute tables hold only the remaining users and
        items.

    Raises:
        ConfigError: An option is out of range.
        DataError: ``min_rating`` is given but the dataset has no ratings, or a step leaves no
            interaction (the message names the step and what to relax).
    """
    _validate(
        duplicates=duplicates, exact=exact_duplicates, user_core=user_core, item_core=item_core
    )
    df = dataset.interactions
    keep = np.ones(len(df), dtype=bool)
    if len(df) == 0:
        raise DataError(f"dataset {dataset.name!r} has no interactions to preprocess")

    warnings: list[str] = list(dataset.info.get("warnings", []))
    exact = 0
    if exact_duplicates == "drop":
        cols = [c for c in ("user_idx", "item_idx", "timestamp", "rating") if c in df.columns]
        copies = df[cols].duplicated(keep="first").to_numpy()
        exact = int(copies.sum())
        keep &= ~copies
        if exact:
            text = (
                f"dropped {exact} exact duplicate interaction(s) of {dataset.name!r} (same "
                f"{', '.join(c.removesuffix('_idx') for c in cols)}); set "
                'preprocess.exact_duplicates = "keep" to keep them'
            )
            warnings.append(text)
            log.warning(text)

    if min_rating is not None:
        if "rating" not in df.columns:
            present = [c for c in df.columns if c not in ("user_idx", "item_idx")]
            raise DataError(
                f"preprocess: min_rating={min_rating} needs a rating column, but dataset "
                f"{dataset.name!r} has none (columns {present}); drop "
                f"min_rating, or load the ratings (columns={{'rating': '<column>'}})"
            )
        ratings = df["rating"].to_numpy(dtype=np.float64)
        keep &= ratings >= min_rating
        if not keep.any():
            raise DataError(
                f"preprocess: no interaction of {dataset.name!r} has rating >= {min_rating:g} "
                f"(ratings range from {np.nanmin(ratings):g} to {np.nanmax(ratings):g}); "
                f"lower min_rating"
            )
        implicit = f"rating >= {min_rating:g}"
    else:
        implicit = "every interaction counts"

    if duplicates != "keep":
        pairs = df.loc[keep, ["user_idx", "item_idx"]]
        first = ~pairs.duplicated(keep=duplicates).to_numpy()
        rows = np.flatnonzero(keep)
        keep[rows[~first]] = False

    iterations = 0
    if user_core > 1 or item_core > 1:
        keep, iterations = _k_core(
            df["user_idx"].to_numpy(),
            df["item_idx"].to_numpy(),
            keep,
            n_users=dataset.n_users,
            n_items=dataset.n_items,
            user_core=user_core,
            item_core=item_core,
        )
        if not keep.any():
            raise DataError(
                f"preprocess: the k-core filter (user_core={user_core}, item_core={item_core}) "
                f"removed every interaction of {dataset.name!r}; lower user_core / item_core"
                + (f" or min_rating={min_rating:g}" if min_rating is not None else "")
            )

    result = dataset.subset(keep).restrict_vocabulary()
    summary = f"{implicit}; duplicates={duplicates}; user_core={user_core}; item_core={item_core}"
    result.info.update(
        {
            "implicit": implicit,
            "duplicates": duplicates,
            "exact_duplicates_dropped": exact,
            "user_core": int(user_core),
            "item_core": int(item_core),
            "core_iterations": int(iterations),
            "removed_interactions": int(len(df) - keep.sum()),
            "preprocess": summary,
        }
    )
    if warnings:
        result.info["warnings"] = warnings
    return result


def _k_core(
    users: np.ndarray,
    items: np.ndarray,
    keep: np.ndarray,
    *,
    n_users: int,
    n_items: int,
    user_core: int,
    item_core: int,
) -> tuple[np.ndarray, int]:
    """Iterate the user / item thresholds to a fixed point; returns the mask and rounds taken."""
    keep = keep.copy()
    iterations = 0
    while True:
        user_counts = np.bincount(users[keep], minlength=n_users)
        item_counts = np.bincount(items[keep], minlength=n_items)
        drop = keep & ((user_counts[users] < user_core) | (item_counts[items] < item_core))
        if not drop.any():
            return keep, iterations
        keep &= ~drop
        iterations += 1


def _validate(*, duplicates: str, exact: str, user_core: int, item_core: int) -> None:
    if exact not in ("drop", "keep"):
        raise ConfigError(f"preprocess: exact_duplicates must be 'drop' or 'keep', got {exact!r}")
    if duplicates not in ("keep", "first", "last"):
        raise ConfigError(
            f"preprocess: duplicates must be 'keep', 'first' or 'last', got {duplicates!r}"
        )
    for label, value in (("user_core", user_core), ("item_core", item_core)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ConfigError(f"preprocess: {label} must be an integer >= 0, got {value!r}")
