"""The FaiRLLM protocol for equirec's own models: flip a user attribute, compare the lists.

A model fitted with ``user_attributes`` (SASRec or BERT4Rec with ``gender`` among its user
features) ranks every test user once with their own attribute value (the factual list) and
once with each other value (``equirec counterfactual RUN --attribute gender``). For every user
and every other value it measures the counterfactual list's similarity to the factual one
(Jaccard@K, SERP*@K, PRAG*@K, as :mod:`equirec.fairness.list_similarity`) and the change of the
user's NDCG@K. A model that ignores the attribute gives similarity 1 everywhere.

Reported per similarity: the mean over users, each true group's mean, and the audit's gap test
(:func:`~equirec.fairness.gaps.gap_test`) of whether some groups' lists move more than
others'; and the mean NDCG change by true group. Only categorical attributes are flipped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from equirec.errors import ConfigError
from equirec.evaluation.metrics import ranking_metrics
from equirec.fairness.gaps import gap_test
from equirec.fairness.groups import categorical_groups
from equirec.fairness.list_similarity import SIMILARITIES
from equirec.features.content import attribute_matrix, user_content
from equirec.io import atomic_write_text, check_new, jsonable
from equirec.models.user_features import replaced_user_features, user_features
from equirec.workflows.rundir import open_run

__all__ = ["counterfactual_run"]


def counterfactual_run(
    run_dir: str | Path,
    *,
    attribute: str,
    k: int = 10,
    n_permutations: int = 2000,
    confidence: float = 0.95,
    out: str | Path | None = None,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Flip ``attribute`` for every test user of a run and compare the lists.

    Args:
        run_dir: A run whose model saw ``attribute`` as a user feature.
        attribute: A categorical user attribute among the model's ``user_attributes``.
        k: List length compared.
        n_permutations: Permutations of each gap test.
        confidence: Level of the gap tests' intervals.
        out: Where to write the report as JSON (``None``: not written).
        overwrite: Replace ``out``.

    Raises:
        ConfigError: A model that does not see ``attribute``, or an attribute that is not
            categorical.
    """
    target = None if out is None else Path(out)
    if target is not None:
        check_new(target, overwrite=overwrite)
    run = open_run(run_dir)
    model = run.model
    attrs = list(getattr(model, "user_attributes", ()) or ())
    if attribute not in attrs:
        raise ConfigError(
            f"{run.path}: {model.name} does not see {attribute!r} as a user feature (it sees "
            f"{attrs or 'none'}); flipping it cannot change its lists. Train with "
            f"user_attributes = [{attribute!r}] to measure what seeing it does"
        )
    data = run.dataset
    kinds = data.user_attribute_kinds
    if kinds.get(attribute) != "categorical":
        raise ConfigError(
            f"counterfactual: {attribute!r} is {kinds.get(attribute)}; flip a categorical one"
        )
    encoded = user_content(data, attrs)
    own = user_features(model)
    if own is None or own.shape != encoded.matrix.shape or not np.allclose(own, encoded.matrix):
        raise ConfigError(
            f"{run.path}: the model's user features cannot be rebuilt from the run's data"
        )
    assert data.user_attributes is not None
    groups = categorical_groups(data.user_attributes[attribute], name=attribute)
    test = run.split.test
    users = np.unique(test.interactions["user_idx"].to_numpy())
    users = users[groups.codes[users] >= 0]
    factual = run.rank(users, k=k).items
    column = data.user_attributes[attribute]
    lists: dict[str, np.ndarray] = {}
    for g, label in enumerate(groups.labels):
        table = data.user_attributes.copy()
        table[attribute] = column.iloc[np.flatnonzero(groups.codes == g)[0]]  # its own value
        features = attribute_matrix(table, kinds, attrs, what="user", like=encoded.blocks).matrix
        with replaced_user_features(model, features):
            lists[label] = run.rank(users, k=k).items
    codes = groups.codes[users]
    ndcg = _ndcg(run, users, factual, lists, codes, k=k)
    rng = np.random.default_rng(run.config.seed)
    report: dict[str, Any] = {
        "params": {
            "run": str(run.path),
            "model": model.name,
            "attribute": attribute,
            "k": k,
            "users": len(users),
            "values": list(groups.labels),
            "n_permutations": n_permutations,
            "confidence": confidence,
        },
        "similarity": {},
        "ndcg_change": {},
    }
    for name, fn in SIMILARITIES.items():
        # users x values: each counterfactual list against the factual one (NaN: own value)
        sim = np.array(
            [
                [
                    np.nan if v == codes[r] else fn(_items(lists[label][r]), _items(factual[r]), k)
                    for v, label in enumerate(groups.labels)
                ]
                for r in range(len(users))
            ]
        ).reshape(len(users), len(groups.labels))
        per_user = np.nanmean(sim, axis=1)
        by_pair = {
            label: {
                other: float(np.mean(sim[codes == g, v]))
                for v, other in enumerate(groups.labels)
                if v != g
            }
            for g, label in enumerate(groups.labels)
            if (codes == g).any()
        }
        report["similarity"][name] = {
            "mean": float(np.nanmean(per_user)),
            "by_group": _by_group(per_user, codes, groups.labels),
            "to_value": by_pair,
            "gap_test": _gap(per_user, codes, len(groups.labels), confidence, n_permutations, rng),
        }
    change = ndcg["counterfactual"] - ndcg["factual"]
    report["ndcg_change"] = {
        "factual": float(np.mean(ndcg["factual"])),
        "counterfactual": float(np.mean(ndcg["counterfactual"])),
        "mean": float(np.mean(change)),
        "by_group": _by_group(change, codes, groups.labels),
        "gap_test": _gap(change, codes, len(groups.labels), confidence, n_permutations, rng),
    }
    if target is not None:
        atomic_write_text(target, json.dumps(jsonable(report), indent=2))
    return report


def _items(row: np.ndarray) -> list[int]:
    """A ranked list without its padding (``-1``: a user with fewer unseen items than k)."""
    return [int(i) for i in row if i >= 0]


def _ndcg(
    run: Any,
    users: np.ndarray,
    factual: np.ndarray,
    lists: dict[str, np.ndarray],
    codes: np.ndarray,
    *,
    k: int,
) -> dict[str, np.ndarray]:
    """Each user's NDCG@k with the factual list and, averaged over the values other than
    their own, with the counterfactual ones."""
    from equirec.fairness.inputs import AuditData

    data = AuditData.from_split(run.split, recommendations=run.recommendations, history=run.history)
    index = np.asarray(data.user_ids.get_indexer(run.dataset.user_ids[users]))

    def score(items: np.ndarray) -> np.ndarray:
        out = ranking_metrics(items, relevant=data.relevant, users=index, ks=(k,))
        return out[f"ndcg@{k}"].to_numpy()

    labels = list(lists)
    scores = np.stack([score(lists[v]) for v in labels], axis=1)  # users x values
    other = np.ones_like(scores, dtype=bool)
    other[np.arange(len(users)), codes] = False
    return {"factual": score(factual), "counterfactual": (scores * other).sum(1) / other.sum(1)}


def _by_group(values: np.ndarray, codes: np.ndarray, labels: tuple[str, ...]) -> dict[str, Any]:
    return {
        label: {"mean": float(np.nanmean(values[codes == g])), "n": int((codes == g).sum())}
        for g, label in enumerate(labels)
        if (codes == g).any()
    }


def _gap(
    values: np.ndarray,
    codes: np.ndarray,
    n_groups: int,
    confidence: float,
    n_permutations: int,
    rng: np.random.Generator,
) -> dict[str, Any] | None:
    test = gap_test(
        values,
        codes,
        n_groups=n_groups,
        confidence=confidence,
        n_permutations=n_permutations,
        rng=rng,
    )
    if test is None:
        return None
    return {
        "gap": float(test.means.max() - test.means.min()),
        "ci_low": test.gap_low,
        "ci_high": test.gap_high,
        "p_value": test.p_value,
    }
