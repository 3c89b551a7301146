"""Pre-processing mitigation: re-weight or re-sample training interactions so groups balance.

The ranking analogue of Kamiran & Calders' *reweighing* (Knowledge and Information Systems,
2012): interactions are grouped by a user attribute (``by="user"``: gender, age, the derived
``activity``...) or an item attribute (``by="item"``: provider, the derived ``popularity``...),
and each group ``g`` is made to carry a target share ``t_g`` of the total interaction weight
(``"balanced"``: equal shares). With ``W_g`` the weight group ``g`` carries now and
``W = Σ_g W_g``, the factor

    ``f_g = t_g / (W_g / W) = t_g · W / W_g``

(target share over observed share) is multiplied into the weight of every interaction of ``g``,
so that afterwards ``W'_g / W' = t_g`` exactly and ``W' = W``.

Three functions:

* :func:`reweight` multiplies the factors into the ``weight`` column (real-valued weights);
* :func:`resample` is the sampling alternative: integer multiplicities (over-sampling) or
  dropped training interactions (under-sampling) whose *expected* group shares are the target;
* :func:`group_weight_shares` reports the share of the weight each group carries.

Apply them to the **training** part of a split: the group definitions are computed on the data
given (``activity`` from its interaction counts, ``popularity`` from its item counts), and
validation / test data must keep their original interactions. Vocabularies, attribute tables,
interaction rows, their order and every column except ``weight`` are left as they are (under-
sampling removes rows but keeps every user and item in the vocabularies).

**Which models honour weights.** Only models trained through the
:class:`~equirec.training.trainer.Trainer`, which multiplies each example's loss by its weight:

* :class:`~equirec.models.BPR`: each ``(user, positive, negative)`` triple's loss is multiplied
  by the positive interaction's weight (``w`` counts it ``w`` times, 0 removes it);
* :class:`~equirec.models.sequential.SASRec` and ``BERT4Rec``: the loss of predicting an item
  is multiplied by that item's weight (a user's first interaction is never a SASRec target, so
  its weight has no effect there).

:class:`~equirec.models.popularity.Popularity` (distinct users or raw interaction counts),
:class:`~equirec.models.itemknn.ItemKNN` and :class:`~equirec.models.ease.EASE` binarise or count
interactions and **ignore weights**; re-weighting and over-sampling do not change them (only
under-sampling, which removes interactions, does).

Groups:

* ``by="user"``: categorical user attributes (one group per value), numeric ones (4 quantile
  bands, as in the fairness audit), and the derived ``activity`` (UGF: the 5% users with the most
  interactions, ``active``, vs the rest, ``inactive``; via
  :func:`equirec.fairness.groups.activity_groups`) and ``activity_band`` (4 quantile bands of
  interaction counts).
* ``by="item"``: categorical and numeric item attributes likewise, and the derived
  ``popularity``: ``head`` items holding 80% of the interactions vs the ``tail`` (via
  :func:`equirec.fairness.item_metrics.head_items`). **Multi-valued attributes (genres) are
  rejected**: an interaction with a two-genre item has no single group, and per-interaction
  factors cannot in general give every genre its target share at once; derive a single-valued
  column (e.g. the primary genre) instead.

Derived names win over a column of the same name. Group labels are strings (``"0"``, ``"F"``,
``"head"``), as in the fairness audit.

Interactions whose group is missing (no attribute value) are left out of the shares and keep
their weight: factor 1 (multiplicity 1 when re-sampling). Groups that hold no interaction weight
in the data are left out of ``"balanced"``; a custom target may only give them share 0.

The groups and their weights are computed in :mod:`equirec.mitigation.interaction_groups`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from equirec.data.dataset import Dataset
from equirec.errors import ConfigError, DataError
from equirec.fairness.groups import Groups
from equirec.mitigation.interaction_groups import (
    ACTIVITY_TOP,
    HEAD_SHARE,
    ITEM_DERIVED,
    NUMERIC_BANDS,
    USER_DERIVED,
    _group_totals,
    _interaction_groups,
    _weights,
)

__all__ = [
    "ACTIVITY_TOP",
    "HEAD_SHARE",
    "ITEM_DERIVED",
    "NUMERIC_BANDS",
    "SHARE_TOLERANCE",
    "USER_DERIVED",
    "By",
    "SampleMethod",
    "Target",
    "group_weight_shares",
    "resample",
    "reweight",
]

By = Literal["user", "item"]
"""Whose attribute groups the interactions: the user's or the item's."""

Target = Literal["balanced"] | Mapping[str, float]
"""``"balanced"`` (equal shares) or a share per group label (summing to 1)."""

SampleMethod = Literal["oversample", "undersample"]

SHARE_TOLERANCE = 1e-6
"""How far from 1 the shares of a custom target may sum."""

_METHODS = ("oversample", "undersample")


@dataclass(frozen=True)
class _Plan:
    """Groups of the interactions and the factors that bring them to the target."""

    by: str
    attribute: str
    groups: Groups  # one code per user (by="user") or item (by="item") of the vocabulary
    row_codes: np.ndarray  # one code per interaction row, -1 = missing
    weights: np.ndarray  # current weights, float64
    totals: np.ndarray  # W_g
    target: np.ndarray  # t_g, summing to 1
    factors: np.ndarray  # f_g = t_g W / W_g (0 for groups without weight)

    def shares(self) -> np.ndarray:
        return self.totals / self.totals.sum()

    def row_factors(self) -> np.ndarray:
        """``f_g`` of every interaction, 1 where the group is missing."""
        known = self.row_codes >= 0
        return np.where(known, self.factors[np.where(known, self.row_codes, 0)], 1.0)


def group_weight_shares(dataset: Dataset, *, by: By, attribute: str) -> pd.Series:
    """Share of the total interaction weight each group carries.

    Interactions whose group is missing are left out, so the shares sum to 1 over the groups.

    Args:
        dataset: Interactions with a ``weight`` column (1.0 unless re-weighted).
        by: ``"user"`` or ``"item"``: whose attribute defines the groups.
        attribute: A user / item attribute column, or a derived one (``activity``,
            ``activity_band`` for users; ``popularity`` for items).

    Returns:
        Shares indexed by group label (index named after the attribute), named ``weight_share``;
        every group of the attribute is listed, with 0.0 if its interactions weigh nothing.

    Raises:
        ConfigError: ``by`` is neither ``"user"`` nor ``"item"``.
        DataError: Unknown or unusable attribute, invalid weights, or no interaction with a group.
    """
    groups, row_codes = _interaction_groups(dataset, by=by, attribute=attribute)
    totals = _group_totals(dataset, groups, row_codes, attribute)
    return pd.Series(
        totals / totals.sum(),
        index=pd.Index(list(groups.labels), name=attribute),
        name="weight_share",
    )


def reweight(
    dataset: Dataset,
    *,
    by: By,
    attribute: str,
    target: Target = "balanced",
    normalise: bool = True,
) -> Dataset:
    """Re-weight interactions so that each group carries its target share of the total weight.

    Every interaction of group ``g`` has its weight multiplied by ``f_g = t_g · W / W_g``
    (target share over observed weight share, see the module docstring); afterwards group ``g``
    carries exactly ``t_g`` of the weight of the interactions that have a group. Existing weights
    are kept as a product (re-weighting twice composes). Interactions without a group keep their
    weight (factor 1). Since the total weight is unchanged, a dataset whose weights average 1
    keeps mean 1; ``normalise`` rescales all weights to mean 1 whatever they were before (a
    common factor, which leaves the shares unchanged).

    Args:
        dataset: Training interactions.
        by: ``"user"`` or ``"item"``: whose attribute defines the groups.
        attribute: User / item attribute column, or derived ``activity`` / ``activity_band``
            (users) or ``popularity`` (items). Multi-valued attributes are rejected.
        target: ``"balanced"`` (equal shares among the groups holding weight) or a mapping from
            group label (as in :func:`group_weight_shares`'s index) to share; shares are
            non-negative, sum to 1 and cover every group holding weight.
        normalise: Rescale the new weights to mean 1 over the interactions.

    Returns:
        A dataset with the same vocabularies, attributes and interaction rows (same order) and
        new float64 weights; ``info["mitigation"]`` records the method, groups, observed and new
        shares and factors (an earlier record is kept under its ``"previous"`` key).

    Raises:
        ConfigError: Unknown ``by`` or malformed ``target``.
        DataError: Unknown, multi-valued, text or single-group attribute; invalid weights.
    """
    plan = _plan(dataset, by=by, attribute=attribute, target=target)
    weights = plan.weights * plan.row_factors()
    scale = 1.0
    if normalise and len(weights) and weights.mean() > 0:
        scale = float(1.0 / weights.mean())
        weights = weights * scale
    record = {
        "method": "reweight",
        **_describe(plan, target),
        "factors": _by_label(plan, plan.factors * scale),
        "shares_after": _by_label(plan, plan.target),
        "normalise": bool(normalise),
        "scale": scale,
    }
    return _derive(dataset, weights=weights, keep=None, record=record)


def resample(
    dataset: Dataset,
    *,
    by: By,
    attribute: str,
    target: Target = "balanced",
    seed: int,
    sampling: SampleMethod = "oversample",
) -> Dataset:
    """Re-sample training data so that each group's *expected* weight share is the target.

    The sampling unit is the **user** for ``by="user"`` (a user's history is kept or repeated
    as a whole, so sequences stay intact) and the **interaction** for ``by="item"``. Each unit of
    group ``g`` gets an integer multiplicity ``m`` with ``E[m] = r_g``, where ``r_g`` is the
    re-weighting factor ``f_g`` rescaled so that:

    * ``sampling="oversample"``: the smallest positive ``r_g`` is 1: every unit is kept at least
      once and units of under-represented groups are repeated. Multiplicities are stored as
      weights (``weight × m``): sampling users or interactions with replacement for the training
      batches is the same as counting them ``m`` times, and ids stay unique (no duplicated users
      under new ids). The weights are integers (on a dataset of unit weights) and not
      renormalised, so their mean is above 1.
    * ``sampling="undersample"``: the largest ``r_g`` is 1: units of over-represented groups are
      dropped at random. Dropped users lose their training interactions but stay in the
      vocabulary (they are still ranked for and evaluated); weights of kept rows are unchanged.

    Draws: every unit gets ``⌊r_g⌋``, and ``k`` units of the group, chosen uniformly without
    replacement, get one more, where ``k`` is ``(r_g - ⌊r_g⌋) · n_g`` rounded down or up at
    random so that ``E[k]`` is exact. So ``E[W'_g] = r_g · W_g`` and the expected group weights
    are in the target proportions; the realised shares scatter around them (less with more
    units). For ``by="user"`` only users with interactions are drawn. A group with target share 0
    gets multiplicity 0 (removed). Interactions without a group keep multiplicity 1.

    Args:
        dataset: Training interactions.
        by: ``"user"`` or ``"item"``: whose attribute defines the groups (and the unit).
        attribute: As in :func:`reweight`.
        target: As in :func:`reweight`.
        seed: Seed of ``numpy.random.default_rng``; one seed always gives the same data.
        sampling: ``"oversample"`` or ``"undersample"``.

    Returns:
        A dataset with the same vocabularies and attributes; oversampling keeps every row (new
        weights), undersampling keeps a subset of the rows in their order.
        ``info["mitigation"]`` records the method, seed, rates, target and realised shares.

    Raises:
        ConfigError: Unknown ``by`` or ``sampling``, malformed ``target`` or ``seed``.
        DataError: As in :func:`reweight`.
    """
    if sampling not in _METHODS:
        raise ConfigError(f"unknown resampling method {sampling!r}; use one of {list(_METHODS)}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ConfigError(f"resample: seed must be an integer, got {seed!r}")
    plan = _plan(dataset, by=by, attribute=attribute, target=target)
    positive = plan.factors > 0
    norm = plan.factors[positive].min() if sampling == "oversample" else plan.factors.max()
    rates = plan.factors / norm
    if sampling == "undersample":
        rates = np.minimum(rates, 1.0)  # the largest is 1 up to rounding
    rng = np.random.default_rng(int(seed))

    if plan.by == "user":
        counts = np.bincount(dataset.interactions["user_idx"], minlength=dataset.n_users)
        unit_codes = np.where(counts > 0, plan.groups.codes, -1)
        unit_of_row = dataset.interactions["user_idx"].to_numpy()
    else:
        unit_codes = plan.row_codes
        unit_of_row = np.arange(len(plan.row_codes))
    multiplicity = _draw_multiplicities(unit_codes, rates, rng)
    row_mult = multiplicity[unit_of_row]

    keep = row_mult > 0
    weights = plan.weights * row_mult if sampling == "oversample" else plan.weights
    known = keep & (plan.row_codes >= 0)
    after = np.bincount(
        plan.row_codes[known], weights=weights[known], minlength=plan.groups.n_groups
    )
    record: dict[str, Any] = {
        "method": "resample",
        "sampling": sampling,
        "seed": int(seed),
        **_describe(plan, target),
        "rates": _by_label(plan, rates),
        # realised shares, with the groups of the input (derived groups are not recomputed)
        "shares_after": _by_label(plan, after / after.sum()),
        "dropped_interactions": int((~keep).sum()),
    }
    if plan.by == "user":
        record["dropped_users"] = int(((unit_codes >= 0) & (multiplicity == 0)).sum())
    return _derive(dataset, weights=weights, keep=keep, record=record)


# -- targets and factors ---------------------------------------------------------------------------
def _plan(dataset: Dataset, *, by: str, attribute: str, target: Target) -> _Plan:
    groups, row_codes = _interaction_groups(dataset, by=by, attribute=attribute)
    weights = _weights(dataset)
    totals = _group_totals(dataset, groups, row_codes, attribute)
    present = totals > 0
    if present.sum() < 2:
        found = [groups.labels[g] for g in np.flatnonzero(present)]
        raise DataError(
            f"{by} attribute {attribute!r} has a single group {found} among the interactions of "
            f"dataset {dataset.name!r}; re-weighting needs at least two groups"
        )
    shares = _target_shares(target, groups, present, by=by, attribute=attribute)
    factors = np.zeros(groups.n_groups)
    factors[present] = shares[present] * totals.sum() / totals[present]
    return _Plan(by, attribute, groups, row_codes, weights, totals, shares, factors)


def _target_shares(
    target: Target, groups: Groups, present: np.ndarray, *, by: str, attribute: str
) -> np.ndarray:
    labels = list(groups.labels)
    if isinstance(target, str):
        if target != "balanced":
            raise ConfigError(
                f"unknown target {target!r}; use 'balanced' or a mapping group -> share"
            )
        return present / present.sum()
    if not isinstance(target, Mapping):
        raise ConfigError(
            f"target must be 'balanced' or a mapping group -> share, got {type(target).__name__}"
        )
    given = {str(k): v for k, v in target.items()}
    unknown = sorted(set(given) - set(labels))
    if unknown:
        raise ConfigError(
            f"target names unknown group(s) {unknown} of {by} attribute {attribute!r}; "
            f"groups: {labels}"
        )
    missing = [labels[g] for g in np.flatnonzero(present) if labels[g] not in given]
    if missing:
        raise ConfigError(
            f"target gives no share to group(s) {missing} of {attribute!r}; give every group "
            f"a share (0 to remove a group): groups {labels}"
        )
    shares = np.zeros(len(labels))
    for label, value in given.items():
        try:
            share = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"target share of {label!r} is not a number: {value!r}") from None
        if not np.isfinite(share) or share < 0:
            raise ConfigError(f"target share of {label!r} must be finite and >= 0, got {value!r}")
        shares[labels.index(label)] = share
    total = float(shares.sum())
    if abs(total - 1.0) > SHARE_TOLERANCE:
        raise ConfigError(f"target shares must sum to 1, got {total:.6g} ({given})")
    empty = [labels[g] for g in np.flatnonzero(~present & (shares > 0))]
    if empty:
        raise DataError(
            f"target gives a positive share to group(s) {empty} of {attribute!r}, which hold "
            "no interaction weight in this data; their share cannot be reached"
        )
    if (shares[present] == 0).all():
        raise ConfigError("target shares are all 0 on the groups present in the data")
    return shares / total


# -- sampling --------------------------------------------------------------------------------------
def _draw_multiplicities(
    unit_codes: np.ndarray, rates: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Integer multiplicity per unit with ``E[m] = rates[code]`` (1 for code -1)."""
    mult = np.ones(len(unit_codes), dtype=np.int64)
    for g, rate in enumerate(rates):
        units = np.flatnonzero(unit_codes == g)
        if len(units) == 0:
            continue
        whole = int(np.floor(rate))
        mult[units] = whole
        expected = (rate - whole) * len(units)
        k = int(np.floor(expected))
        k += int(rng.random() < expected - k)
        k = min(k, len(units))
        if k:
            mult[rng.choice(units, size=k, replace=False)] += 1
    return mult


# -- output ----------------------------------------------------------------------------------------
def _by_label(plan: _Plan, values: np.ndarray) -> dict[str, float]:
    return {label: float(v) for label, v in zip(plan.groups.labels, values, strict=True)}


def _describe(plan: _Plan, target: Target) -> dict[str, Any]:
    return {
        "by": plan.by,
        "attribute": plan.attribute,
        "target": target if isinstance(target, str) else _by_label(plan, plan.target),
        "shares_before": _by_label(plan, plan.shares()),
        "target_shares": _by_label(plan, plan.target),
        "unassigned_interactions": int((plan.row_codes < 0).sum()),
    }


def _derive(
    dataset: Dataset, *, weights: np.ndarray, keep: np.ndarray | None, record: dict[str, Any]
) -> Dataset:
    columns = [c for c in dataset.interactions.columns if c not in ("user_idx", "item_idx")]
    frame = dataset.interactions[columns].copy()
    frame["weight"] = np.asarray(weights, dtype=np.float64)
    if keep is not None:
        frame = frame.loc[keep].reset_index(drop=True)
    out = dataset.with_interactions(frame)
    previous = dataset.info.get("mitigation")
    out.info = {**dataset.info, "mitigation": {**record, "previous": previous}}
    return out
