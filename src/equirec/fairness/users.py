"""User side of the audit: per-user accuracy of the lists, user groups, UGF.

Per-user values are computed from the lists and the held-out items (so any system's lists can be
audited), with the same definitions as :mod:`equirec.evaluation.metrics`, plus ``f1@k``
(``2PR / (P + R)``, 0 without a hit) for UGF. Users with held-out items but no list count as
empty lists (every metric 0); users without held-out items are not evaluated.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from equirec.errors import ConfigError, DataError
from equirec.evaluation.metrics import ranking_metrics
from equirec.fairness.groups import (
    Groups,
    activity_groups,
    categorical_groups,
    intersection,
    quantile_groups,
)
from equirec.fairness.inputs import AuditData

USER_METRICS = ("ndcg", "recall", "hit", "precision", "mrr", "map", "f1")
"""Per-user metrics the audit can disaggregate (each at the audit's ``k``)."""


def evaluated_users(data: AuditData) -> np.ndarray:
    """Indices of the users with at least one held-out relevant item."""
    return np.flatnonzero(np.diff(data.relevant.indptr) > 0)


def user_metrics(data: AuditData, *, k: int, metrics: Sequence[str]) -> pd.DataFrame:
    """Per-user metric values at ``k`` of every evaluated user (:func:`evaluated_users` order).

    Raises:
        ConfigError: Unknown metric, or ``k`` larger than the longest list.
    """
    unknown = [m for m in metrics if m not in USER_METRICS]
    if unknown:
        raise ConfigError(f"unknown user metric(s) {unknown}; choose from {list(USER_METRICS)}")
    if k < 1:
        raise ConfigError(f"k must be a positive integer, got {k}")
    if k > data.list_length:
        raise ConfigError(
            f"k={k} is larger than the longest recommendation list ({data.list_length} items); "
            f"use k <= {data.list_length} or produce longer lists"
        )
    users = evaluated_users(data)
    top = np.full((len(users), k), -1, dtype=np.int64)
    row_of = {int(u): r for r, u in enumerate(data.list_users)}
    for r, u in enumerate(users):
        lr = row_of.get(int(u))
        if lr is not None:
            top[r] = data.lists[lr, :k]
    acc = ranking_metrics(top, relevant=data.relevant, users=users, ks=(k,))
    out = pd.DataFrame(index=pd.Index(users, name="user_index"))
    for m in metrics:
        if m == "f1":
            prec = acc[f"precision@{k}"].to_numpy()
            rec = acc[f"recall@{k}"].to_numpy()
            with np.errstate(invalid="ignore", divide="ignore"):
                out[f"f1@{k}"] = np.where(prec + rec > 0, 2 * prec * rec / (prec + rec), 0.0)
        else:
            out[f"{m}@{k}"] = acc[f"{m}@{k}"].to_numpy()
    return out


def missing_lists(data: AuditData) -> int:
    """Evaluated users that have no recommendation list (counted as empty lists)."""
    return len(np.setdiff1d(evaluated_users(data), data.list_users))


def user_groups(
    data: AuditData,
    *,
    attributes: Sequence[str] | None = None,
    intersections: Sequence[tuple[str, str]] = (),
    activity_top: float = 0.05,
    activity_bands: int = 4,
    numeric_bands: int = 4,
) -> list[Groups]:
    """Groups of every user (all of ``data.user_ids``) for each audited attribute.

    Args:
        data: The audit inputs.
        attributes: User attributes to audit (default: every categorical and numeric one);
            ``activity`` (UGF: top ``activity_top`` vs the rest) and ``activity_band``
            (quantile bands of training interactions) are derived and always available.
            Numeric attributes are cut into ``numeric_bands`` quantile bands.
        intersections: Pairs of attributes to cross (``("gender", "age_band")``).
        activity_top: Share of most active users in UGF's advantaged group.
        activity_bands: Quantile bands of ``activity_band``.
        numeric_bands: Quantile bands of numeric attributes.

    Raises:
        DataError: An attribute that is not in the data, or one with a single group.
    """
    kinds = data.user_attribute_kinds
    default = [a for a, kind in kinds.items() if kind in ("categorical", "numeric")]
    names = [*default, "activity"] if attributes is None else list(attributes)
    derived = {"activity", "activity_band"}
    for a, b in intersections:
        for name in (a, b):
            if name not in names:
                names.append(name)
    built: dict[str, Groups] = {}
    for name in names:
        if name == "activity":
            built[name] = activity_groups(data.activity, top=activity_top)
        elif name == "activity_band":
            built[name] = quantile_groups(data.activity, name=name, bands=activity_bands)
        elif name not in kinds:
            available = sorted(set(kinds) | derived)
            raise DataError(f"user attribute {name!r} is not in the data; available: {available}")
        elif kinds[name] == "numeric":
            built[name] = quantile_groups(
                data.user_attributes[name].to_numpy(dtype=np.float64),
                name=name,
                bands=numeric_bands,
            )
        elif kinds[name] == "categorical":
            built[name] = categorical_groups(data.user_attributes[name], name=name)
        else:
            raise DataError(
                f"user attribute {name!r} is {kinds[name]}; only categorical and numeric user "
                "attributes can define groups"
            )
    out = [built[n] for n in names if attributes is None or n in attributes]
    out += [intersection(built[a], built[b]) for a, b in intersections]
    return out


def check_groups(groups: Groups, *, evaluated: np.ndarray) -> None:
    """Reject an attribute that leaves fewer than two groups among the evaluated users."""
    sizes = np.bincount(
        groups.codes[evaluated][groups.codes[evaluated] >= 0], minlength=groups.n_groups
    )
    present = [groups.labels[g] for g in np.flatnonzero(sizes)]
    if len(present) < 2:
        raise DataError(
            f"user attribute {groups.name!r} has {len(present)} group(s) among the evaluated "
            f"users ({present}); a comparison needs at least two"
        )
