"""Side information of the re-rankers, built from what was known before the lists (never test data).

Each builder takes the :class:`~equirec.data.known.KnownData` of a run and the candidate lists,
plus its own typed keyword options (which become parameters of the re-ranker on the command line
and in sweeps), and returns ``(constructor keywords, rerank keywords)``. The registry
(:mod:`equirec.mitigation.registry`) names each re-ranker's builder and which constructor
arguments it provides.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd

from equirec.data.known import KnownData
from equirec.errors import ConfigError
from equirec.fairness.groups import activity_groups, categorical_groups, multi_valued_groups
from equirec.fairness.item_metrics import head_items
from equirec.mitigation.rerank.base import (
    Candidates,
    minmax_per_list,
    relative_softmax_per_list,
)
from equirec.mitigation.rerank.cpfair import popular_items

__all__ = [
    "calibrated_side",
    "cpfair_side",
    "detconstsort_side",
    "fair_side",
    "genres",
    "item_labels",
    "mmr_side",
    "ugf_side",
]

Side = tuple[dict[str, Any], dict[str, Any]]


def item_labels(known: KnownData, spec: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """Group code of every item for ``spec``: ``popularity`` (head/tail) or a categorical attribute.

    Raises:
        ConfigError: ``spec`` is neither, with the usable names.
    """
    key = f"item_labels:{spec}"
    if key not in known.derived:  # the same for every re-ranking of these known data
        known.derived[key] = _item_labels(known, spec)
    codes, labels = known.derived[key]
    return codes.copy(), labels


def _item_labels(known: KnownData, spec: str) -> tuple[np.ndarray, tuple[str, ...]]:
    if spec == "popularity":
        head = head_items(known.popularity, method="share", cutoff=0.8)
        return np.where(head, 0, 1).astype(np.int64), ("head", "tail")
    kinds = known.dataset.item_attribute_kinds
    if spec not in kinds or kinds[spec] != "categorical":
        usable = ["popularity", *[a for a, k in kinds.items() if k == "categorical"]]
        raise ConfigError(
            f"item groups {spec!r}: not a categorical item attribute; use one of {usable}"
        )
    g = categorical_groups(_items(known)[spec], name=spec)
    return g.codes, tuple(g.labels)


def genres(known: KnownData, attribute: str | None) -> np.ndarray:
    """Membership matrix of a multi-valued item attribute (default: the first one).

    Raises:
        ConfigError: The data has no such attribute.
    """
    kinds = known.dataset.item_attribute_kinds
    name = attribute or next((a for a, k in kinds.items() if k == "multi"), None)
    if name is None or kinds.get(name) != "multi":
        raise ConfigError(
            f"this re-ranker needs a multi-valued item attribute (genres); the data has "
            f"{dict(kinds)}"
        )
    key = f"genres:{name}"
    if key not in known.derived:
        known.derived[key] = multi_valued_groups(_items(known)[name], name=name).membership
    return known.derived[key].copy()


def _items(known: KnownData) -> pd.DataFrame:
    table = known.dataset.item_attributes
    if table is None:
        raise ConfigError("the dataset has no item attributes")
    return table


def fair_side(
    known: KnownData, candidates: Candidates, *, protected: str = "popularity=tail"
) -> Side:
    """FA*IR's protected items.

    Args:
        known: What was known before the lists.
        candidates: The candidate lists.
        protected: ``ATTRIBUTE=VALUE`` of the protected items, e.g. ``popularity=tail`` (the
            long tail by known popularity) or ``provider=small``.
    """
    attr, sep, value = protected.partition("=")
    if not sep:
        raise ConfigError(f"protected={protected!r}: write ATTRIBUTE=VALUE, e.g. popularity=tail")
    codes, labels = item_labels(known, attr)
    if value not in labels:
        raise ConfigError(f"protected={protected!r}: {attr} has groups {list(labels)}")
    return {"protected": codes == labels.index(value)}, {}


def detconstsort_side(
    known: KnownData,
    candidates: Candidates,
    *,
    groups: str = "popularity",
    target: Literal["catalogue", "equal"] | Mapping[str, float] = "catalogue",
) -> Side:
    """DetConstSort's item groups and target shares.

    Args:
        known: What was known before the lists.
        candidates: The candidate lists.
        groups: ``popularity`` (head/tail by known popularity) or a categorical item attribute.
        target: Each group's share of the catalogue (``catalogue``), equal shares (``equal``) or a
            table group label -> share.
    """
    codes, labels = item_labels(known, groups)
    if target == "catalogue":
        shares = np.bincount(codes[codes >= 0], minlength=len(labels)) / max(
            1, int((codes >= 0).sum())
        )
    elif target == "equal":
        shares = np.full(len(labels), 1.0 / len(labels))
    else:
        unknown = set(target) - set(labels)
        if unknown:
            raise ConfigError(f"target groups {sorted(unknown)} not among {list(labels)}")
        shares = np.array([float(target.get(label, 0.0)) for label in labels])
    return {"item_groups": codes, "target": shares, "labels": labels}, {}


def calibrated_side(
    known: KnownData, candidates: Candidates, *, attribute: str | None = None
) -> Side:
    """Calibrated re-ranking's genres and the users' known items.

    Args:
        known: What was known before the lists.
        candidates: The candidate lists.
        attribute: The multi-valued item attribute to calibrate (default: the first, genres).
    """
    return {"item_genres": genres(known, attribute)}, {"history": known.seen[candidates.users]}


def mmr_side(known: KnownData, candidates: Candidates, *, attribute: str | None = None) -> Side:
    """MMR's item features: the genres.

    Args:
        known: What was known before the lists.
        candidates: The candidate lists.
        attribute: The multi-valued item attribute compared (default: the first, genres).
    """
    return {"item_features": genres(known, attribute)}, {}


def _relevance(candidates: Candidates, how: str) -> np.ndarray:
    """Relevance estimates in [0, 1] from the candidates' model scores (never test labels)."""
    if how == "minmax":
        return np.nan_to_num(minmax_per_list(candidates))
    e = np.nan_to_num(relative_softmax_per_list(candidates))
    total = e.sum(axis=1, keepdims=True)
    return np.divide(e, total, out=np.zeros_like(e), where=total > 0)


def ugf_side(
    known: KnownData,
    candidates: Candidates,
    *,
    activity_top: float = 0.05,
    relevance: Literal["softmax", "minmax"] = "softmax",
) -> Side:
    """UGF's user groups (active vs inactive by known activity) and relevance estimates.

    Args:
        known: What was known before the lists.
        candidates: The candidate lists.
        activity_top: Share of the most active users in the advantaged group.
        relevance: ``softmax`` (the model's probabilities over the candidates, so estimated hits
            differ between users) or ``minmax`` (scores min-max normalised per list).
    """
    users = activity_groups(known.activity, top=activity_top)
    user_groups = users.codes[candidates.users]
    return {"user_groups": user_groups}, {"relevance": _relevance(candidates, relevance)}


def cpfair_side(
    known: KnownData,
    candidates: Candidates,
    *,
    activity_top: float = 0.05,
    relevance: Literal["softmax", "minmax"] = "softmax",
    popular_top: float = 0.2,
) -> Side:
    """CPFair's user groups, popular items and relevance estimates.

    Args:
        known: What was known before the lists.
        candidates: The candidate lists.
        activity_top: Share of the most active users in the advantaged group.
        relevance: ``softmax`` or ``minmax`` relevance estimates (see UGF).
        popular_top: Share of items, by known popularity, in the short head.
    """
    ctor, call = ugf_side(known, candidates, activity_top=activity_top, relevance=relevance)
    ctor["item_groups"] = popular_items(known.popularity, top=popular_top)
    call["seen"] = known.seen[candidates.users]
    return ctor, call
