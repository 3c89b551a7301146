"""User-level membership inference: can one tell the users a model was trained on?

A model fits its training users better than users it never saw. The rank attack scores every
user by how well the model predicts each of their last items from the items before them (the
mean ``log2(1 + rank)`` of the item, lower = better predicted) and calls the best-predicted users
members. Its ROC-AUC over members (training users) and non-members (users held out of training
entirely) is the leak: 0.5 is chance, 1 is every member told apart. The interval is a stratified
percentile bootstrap over users, with the leakage probe's weighted AUC and resamples
(:mod:`equirec.fairness.leakage_metrics`). Any model that scores from a history can be attacked.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from equirec.errors import ConfigError
from equirec.fairness.leakage_metrics import binary_auc, stratified_weights

if TYPE_CHECKING:
    from equirec.data.dataset import Dataset
    from equirec.models.base import Recommender

__all__ = [
    "MembershipAttack",
    "attack_entry",
    "auc",
    "auc_interval",
    "membership_attack",
    "membership_section",
    "rank_scores",
    "target_ranks",
]


@dataclass(frozen=True)
class MembershipAttack:
    """The attack's result.

    Attributes:
        auc: ROC-AUC of telling members from non-members (0.5: chance).
        ci_low, ci_high: Its percentile bootstrap interval.
        confidence: The interval's level.
        members, non_members: Users attacked in each group.
        targets: Last items predicted per user.
    """

    auc: float
    ci_low: float
    ci_high: float
    confidence: float
    members: int
    non_members: int
    targets: int


def auc(member_scores: np.ndarray, other_scores: np.ndarray) -> float:
    """ROC-AUC of ``member_scores`` ranking above ``other_scores`` (ties count one half)."""
    scores, members = _pooled(member_scores, other_scores)
    return float(binary_auc(scores, members, np.ones((1, len(scores))))[0])


def _pooled(member_scores: np.ndarray, other_scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both groups' scores in one array, and which are members'."""
    m, o = np.asarray(member_scores, float), np.asarray(other_scores, float)
    return np.concatenate([m, o]), np.arange(len(m) + len(o)) < len(m)


def target_ranks(
    model: Recommender, histories: Sequence[np.ndarray], *, targets: int = 5
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rank of each of every history's last ``targets`` items when the items before it are
    given (among the items not given; 0 = first).

    Returns:
        ``owners`` (the history of each row), ``items`` (the item predicted) and ``ranks``.

    Raises:
        ConfigError: A history shorter than two items.
    """
    variants, owners, wanted = [], [], []
    for row, history in enumerate(histories):
        history = np.asarray(history, dtype=np.int64)
        if len(history) < 2:
            raise ConfigError(
                f"membership attack: history {row} has {len(history)} item(s); each needs at "
                "least two (one to predict from the others)"
            )
        for t in range(max(1, len(history) - targets), len(history)):
            variants.append(history[:t])
            owners.append(row)
            wanted.append(int(history[t]))
    ranks = np.zeros(len(variants), dtype=np.int64)
    for start in range(0, len(variants), 512):
        chunk = slice(start, start + 512)
        scores = model.score_histories(variants[chunk]).numpy().astype(np.float64)
        for j, (item, prefix) in enumerate(zip(wanted[chunk], variants[chunk], strict=True)):
            row = scores[j]
            row[prefix] = -np.inf  # as a list would: the given items are not ranked
            ranks[start + j] = int((row > row[item]).sum())
    return np.asarray(owners, dtype=np.int64), np.asarray(wanted, dtype=np.int64), ranks


def rank_scores(
    model: Recommender, histories: Sequence[np.ndarray], *, targets: int = 5
) -> np.ndarray:
    """Per history, minus the mean ``log2(2 + rank)`` of each of its last ``targets`` items
    (:func:`target_ranks`; higher = better predicted, more member-like).

    Raises:
        ConfigError: A history shorter than two items.
    """
    owners, _, ranks = target_ranks(model, histories, targets=targets)
    counts = np.bincount(owners, minlength=len(histories))
    return -np.bincount(owners, weights=np.log2(2.0 + ranks), minlength=len(histories)) / counts


def auc_interval(
    member_scores: np.ndarray,
    other_scores: np.ndarray,
    *,
    targets: int,
    n_boot: int = 1000,
    confidence: float = 0.95,
    rng: np.random.Generator,
) -> MembershipAttack:
    """The AUC of attack scores, members' against non-members', with its stratified percentile
    bootstrap interval (users resampled within each group; ``n_boot = 0``: none, NaN)."""
    low = high = math.nan
    if n_boot > 0:
        scores, is_member = _pooled(member_scores, other_scores)
        groups = [np.flatnonzero(is_member), np.flatnonzero(~is_member)]
        boots = np.concatenate(
            [
                binary_auc(scores, is_member, weights)
                for weights in stratified_weights(groups, len(scores), n_boot=int(n_boot), rng=rng)
            ]
        )
        tail = (1 - confidence) / 2
        low, high = np.quantile(boots, [tail, 1 - tail])
    return MembershipAttack(
        auc=auc(member_scores, other_scores),
        ci_low=float(low),
        ci_high=float(high),
        confidence=confidence,
        members=len(member_scores),
        non_members=len(other_scores),
        targets=targets,
    )


def membership_attack(
    model: Recommender,
    members: Sequence[np.ndarray],
    non_members: Sequence[np.ndarray],
    *,
    targets: int = 5,
    n_boot: int = 1000,
    confidence: float = 0.95,
    rng: np.random.Generator,
) -> MembershipAttack:
    """The rank attack on ``model``: members' histories (trained on) against non-members'.

    Args:
        model: A fitted model that scores from a history.
        members: Training users' histories (internal item indices, chronological).
        non_members: Histories of users held out of training entirely.
        targets: Last items predicted per user.
        n_boot: Bootstrap resamples of the interval (0: the AUC alone, the interval NaN).
        confidence: The interval's level.
        rng: Draws the resamples.

    Raises:
        ConfigError: An empty group, or a model that does not score from a history.
    """
    if not len(members) or not len(non_members):
        raise ConfigError("membership attack: needs members and non-members (users held out)")
    if not model.scores_from_history:
        raise ConfigError(
            f"membership attack: {model.name} scores users by learned vectors; the rank attack "
            "needs a model that scores from a history"
        )
    return auc_interval(
        rank_scores(model, members, targets=targets),
        rank_scores(model, non_members, targets=targets),
        targets=targets,
        n_boot=n_boot,
        confidence=confidence,
        rng=rng,
    )


def attack_entry(attack: MembershipAttack) -> dict[str, Any]:
    """An attack's AUC and interval as the audit reports them (``None`` for no interval);
    ``leaks``: the interval lies above chance (0.5)."""
    interval = [None if math.isnan(v) else v for v in (attack.ci_low, attack.ci_high)]
    return {
        "auc": attack.auc,
        "ci_low": interval[0],
        "ci_high": interval[1],
        "leaks": bool(attack.ci_low > 0.5),
    }


def membership_section(
    model: Recommender,
    members: Dataset,
    non_members: Dataset,
    *,
    n_boot: int = 1000,
    confidence: float = 0.95,
    rng: np.random.Generator,
) -> dict[str, Any]:
    """The audit's ``privacy`` section with the rank attack: the histories of ``members``
    (the model's training part) against those of ``non_members`` (users held out of training),
    each with two items or more; ``shadow`` is left ``None`` for the shadow attack to fill.

    Raises:
        ConfigError: As :func:`membership_attack`.
    """
    rank = membership_attack(
        model,
        members.history().sequences(min_length=2),
        non_members.history().sequences(min_length=2),
        n_boot=n_boot,
        confidence=confidence,
        rng=rng,
    )
    return {
        "members": rank.members,
        "non_members": rank.non_members,
        "targets": rank.targets,
        "confidence": confidence,
        "rank": attack_entry(rank),
        "shadow": None,
    }
