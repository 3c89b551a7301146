"""The shadow-model membership attack (Shokri et al. 2017), for recommenders.

The attacker trains *shadow* models the way the target was trained (same class, parameters and
number of epochs) on a random half of a population of users drawn like the target's (the
training users and the users held out of training), so that it knows who each shadow trained
on. Every user is described, under a model, by how well that model predicts the user's last
items from the items before them (:func:`~equirec.fairness.membership.target_ranks`): the mean,
best and worst ``log2(2 + rank)``, the share of them in the top 10, the history's length and the
predicted items' popularity in the population (how hard they are to predict whoever trained).
A logistic regression learns, on the shadows, to tell their members from their non-members by
these features; applied to the target's features it scores the target's members (training
users) against its non-members (held-out users), and its ROC-AUC, with a stratified bootstrap
interval, is the leak. Unlike the rank attack, it can learn that a well-predicted history of
popular items says little about membership.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from equirec.errors import ConfigError
from equirec.fairness.membership import MembershipAttack, auc, auc_interval, target_ranks

if TYPE_CHECKING:
    from equirec.data.dataset import Dataset
    from equirec.models.base import Recommender

__all__ = ["ShadowAttack", "attack_features", "shadow_attack"]

FEATURES = ("mean_log_rank", "best_log_rank", "worst_log_rank", "top10", "length", "popularity")


@dataclass(frozen=True)
class ShadowAttack:
    """The shadow attack's result.

    Attributes:
        target: Its AUC on the target model's members and non-members, with the interval.
        shadow_auc: Its AUC on the shadows' own members and non-members (the fit).
        shadows: Shadow models trained.
        shadow_epochs: Epochs each trained (``None``: the model has no epochs).
        population: Users the shadows drew from.
    """

    target: MembershipAttack
    shadow_auc: float
    shadows: int
    shadow_epochs: int | None
    population: int


def attack_features(
    model: Recommender,
    histories: list[np.ndarray],
    *,
    popularity: np.ndarray,
    targets: int,
) -> np.ndarray:
    """The attack's features of each history under ``model``: ``(len(histories), 6)`` in the
    order of :data:`FEATURES`."""
    owners, items, ranks = target_ranks(model, histories, targets=targets)
    frame = pd.DataFrame(
        {
            "owner": owners,
            "log_rank": np.log2(2.0 + ranks),
            "top10": ranks < 10,
            "popularity": np.log1p(popularity[items]),
        }
    )
    by = frame.groupby("owner", sort=True)
    lengths = np.log([len(h) for h in histories])
    return np.column_stack(
        [
            by["log_rank"].mean(),
            by["log_rank"].min(),
            by["log_rank"].max(),
            by["top10"].mean(),
            lengths,
            by["popularity"].mean(),
        ]
    )


def shadow_attack(
    model: Recommender,
    members: Dataset,
    non_members: Dataset,
    *,
    shadows: int = 1,
    targets: int = 5,
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> ShadowAttack:
    """Attack ``model`` with shadow models trained like it.

    Args:
        model: The fitted target (a model that scores from a history).
        members: The target's training interactions.
        non_members: Interactions of users held out of the target's training (their
            would-be training part: :attr:`~equirec.data.splits.Split.holdout`), sharing the
            members' vocabularies.
        shadows: Shadow models to train (each on its own random half of the population).
        targets: Last items predicted per user.
        n_boot: Bootstrap resamples of the interval.
        confidence: The interval's level.
        seed: Draws the shadows' halves, their seeds and the resamples.

    Raises:
        ConfigError: A model that does not score from a history, too few users, or
            ``shadows`` below 1.
    """
    from sklearn.base import clone
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if not model.scores_from_history:
        raise ConfigError(
            f"shadow attack: {model.name} scores users by learned vectors; the attack needs a "
            "model that scores from a history"
        )
    if shadows < 1:
        raise ConfigError(f"shadow attack: shadows must be at least 1, not {shadows!r}")
    population = members.with_interactions(
        pd.concat([members.interactions, non_members.interactions], ignore_index=True),
        name="shadow population",
    )
    history = population.history()
    users = np.flatnonzero(history.lengths() >= 2)
    if len(users) < 4:
        raise ConfigError(
            f"shadow attack: {len(users)} user(s) with two items or more; it needs at least 4"
        )
    histories = history.sequences(min_length=2)  # of ``users``, in their order
    popularity = np.bincount(population.interactions["item_idx"], minlength=population.n_items)
    rng = np.random.default_rng([int(seed), 0x5AD0])
    epochs = _trained_epochs(model)
    features, labels = [], []
    for i in range(shadows):
        inside = np.zeros(population.n_users, dtype=bool)
        inside[rng.choice(users, size=len(users) // 2, replace=False)] = True
        shadow = clone(model)
        names = shadow._get_param_names()
        settings: dict[str, int] = {}
        if "seed" in names:
            settings["seed"] = int(seed) + 1 + i
        if epochs is not None:
            settings["epochs"] = epochs
        shadow.set_params(**settings)
        rows = inside[population.interactions["user_idx"].to_numpy()]
        shadow.fit(population.subset(rows, name=f"shadow {i + 1}"))
        features.append(attack_features(shadow, histories, popularity=popularity, targets=targets))
        labels.append(inside[users])
    x, y = np.concatenate(features), np.concatenate(labels)
    classifier = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    classifier.fit(x, y)
    shadow_scores = classifier.decision_function(x)

    def scores(data: Dataset) -> np.ndarray:
        histories = data.history().sequences(min_length=2)
        got = attack_features(model, histories, popularity=popularity, targets=targets)
        return np.asarray(classifier.decision_function(got))

    return ShadowAttack(
        target=auc_interval(
            scores(members),
            scores(non_members),
            targets=targets,
            n_boot=n_boot,
            confidence=confidence,
            rng=np.random.default_rng([int(seed), 0xB007]),
        ),
        shadow_auc=auc(shadow_scores[y], shadow_scores[~y]),
        shadows=shadows,
        shadow_epochs=epochs,
        population=len(users),
    )


def _trained_epochs(model: Recommender) -> int | None:
    """The epochs the target trained to (its best epoch when validation chose one)."""
    if "epochs" not in model._get_param_names():
        return None
    log = getattr(model, "training_log_", None)
    if log is None:
        return int(model.get_params()["epochs"])
    best = getattr(log, "best_epoch", 0) or 0
    return int(best) if best > 0 else int(log.epochs)
