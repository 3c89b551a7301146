"""Conformance checks every recommender must pass, as a test-class mixin (no pytest needed).

A model's test declares how to build the model and the quality it must reach::

    from equirec.testing import RecommenderChecks

    class TestEASE(RecommenderChecks):
        min_lift = 2.0

        def model_factory(self) -> EASE:
            return EASE(l2=10.0)

(or just ``model_class = EASE`` to check the default parameters).

The checks fit the model once per class on :func:`planted_split`, a tiny dataset with a clear
structure (two user clusters, each consuming one half of the catalogue) whose users are strings
and whose items are non-contiguous integers (first seen in shuffled order), so that confusing
internal indices with original ids fails loudly. The checks are plain ``assert`` statements; a
check that does not apply raises :class:`unittest.SkipTest` (pytest reports it as skipped). Put
``pytest.register_assert_rewrite("equirec.testing")`` in a ``conftest.py`` for detailed
assertion messages.
"""

from __future__ import annotations

import json
import tempfile
import unittest
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import clone

from equirec.data.dataset import Dataset
from equirec.errors import EquirecError
from equirec.models.base import SETTINGS_FILE, WEIGHTS_FILE, NotFittedError, Recommender
from equirec.models.registry import model_class
from equirec.testing.asserts import raises

__all__ = [
    "COLD_ITEM",
    "COLD_USER",
    "HELD_OUT",
    "ITEMS_PER_HALF",
    "ITEMS_PER_USER",
    "N_CLUSTER_USERS",
    "FittedCase",
    "RecommenderChecks",
    "hit_rate",
    "item_id",
    "planted_split",
]

N_CLUSTER_USERS = 60
"""Users of the planted dataset with training data (half in each cluster)."""
ITEMS_PER_HALF = 20
"""Items in each half of the planted catalogue."""
ITEMS_PER_USER = 10
"""Distinct items each cluster user consumes, all from their cluster's half."""
HELD_OUT = 3
"""Last interactions of each user held out for the quality check."""
COLD_USER = "zz-cold"
"""A user whose interactions are all held out: no training history."""
COLD_ITEM = 99_999
"""An item that appears only in held-out data: in the catalogue, never in training."""


def item_id(index: int) -> int:
    """Original id of planted item ``index`` (``0..2*ITEMS_PER_HALF-1``; first half below)."""
    return 1_000 + 37 * index


@lru_cache(maxsize=4)
def planted_split(seed: int = 0) -> tuple[Dataset, Dataset]:
    """``(train, held_out)``: a tiny dataset with two planted user clusters, split in time.

    User ``u{n:02d}`` belongs to cluster ``n % 2`` and consumes :data:`ITEMS_PER_USER` distinct
    items of that cluster's half of the catalogue (a mildly skewed popularity within the half), at
    increasing timestamps; the last :data:`HELD_OUT` of each user are held out. The catalogue
    also holds :data:`COLD_ITEM` and the vocabulary :data:`COLD_USER`, both only in held-out
    data. Both parts share the full vocabularies. Cached per seed: do not modify the datasets.
    """
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.sqrt(np.arange(1, ITEMS_PER_HALF + 1))
    rows: list[tuple[str, int, int]] = []
    time = 0
    for n in rng.permutation(N_CLUSTER_USERS):
        half = int(n) % 2
        picks = rng.choice(ITEMS_PER_HALF, ITEMS_PER_USER, replace=False, p=weights / weights.sum())
        for pick in rng.permutation(picks):
            rows.append((f"u{int(n):02d}", item_id(half * ITEMS_PER_HALF + int(pick)), time))
            time += 1
    rows += [(COLD_USER, item_id(0), time), (COLD_USER, COLD_ITEM, time + 1)]
    df = pd.DataFrame(rows, columns=["user", "item", "timestamp"])
    data = Dataset(interactions=df, name="planted")
    from_end = data.interactions.groupby("user_idx").cumcount(ascending=False).to_numpy()
    cold = (data.interactions["user"] == COLD_USER).to_numpy()
    held = (from_end < HELD_OUT) | cold
    return data.subset(~held, name="planted-train"), data.subset(held, name="planted-held-out")


def hit_rate(
    model: Recommender, train: Dataset, held_out: Dataset, *, k: int
) -> tuple[float, float]:
    """Share of held-out interactions found in the user's top-``k`` (seen items excluded).

    Only users with training data count; the held-out items must be unseen in training.

    Returns:
        ``(hit_rate, random_hit_rate)``: the model's, and the expectation for uniformly random
        lists of the user's unseen items.
    """
    seen = train.interactions.groupby("user")["item"].agg(set)
    held = held_out.interactions[held_out.interactions["user"].isin(seen.index)]
    recs = model.recommend(list(seen.index), k=k)
    lists = recs.groupby("user")["item"].agg(set)
    hits = [item in lists.get(user, set()) for user, item in _pairs(held)]
    n_unseen = np.array([train.n_items - len(seen[u]) for u in held["user"]], dtype=np.float64)
    return float(np.mean(hits)), float(np.mean(np.minimum(k, n_unseen) / n_unseen))


def _pairs(frame: pd.DataFrame) -> list[tuple[Any, Any]]:
    return list(zip(frame["user"], frame["item"], strict=True))


@dataclass
class FittedCase:
    """The model of a :class:`RecommenderChecks` class, fitted once per class."""

    model: Recommender
    returned: Any
    train: Dataset
    held_out: Dataset


class RecommenderChecks:
    """Pytest mixin: the behaviour every :class:`~equirec.models.base.Recommender` must have.

    Subclass it in a ``Test...`` class and set :attr:`model_class` (default parameters) or
    override :meth:`model_factory` (small, fast parameters: few epochs, ``verbose=False``). Tests
    only read the fitted model (:attr:`fitted`), which is fitted once per class.
    """

    model_class: ClassVar[type[Recommender]]
    """The estimator class under test (used by the default :meth:`model_factory`)."""
    min_lift: ClassVar[float | None] = 2.0
    """The held-out hit rate @ :attr:`k` must reach this multiple of random lists' (``None``:
    no quality check). Knowing each user's cluster and nothing else gives about 2.5; item-kNN and
    EASE reach about 3, BPR about 2.6, popularity about 1.3."""
    k: ClassVar[int] = 5
    """List length of the checks."""
    deterministic: ClassVar[bool] = True
    """Two fits with the same parameters give the same recommendations."""

    _fitted_case: ClassVar[FittedCase | None] = None

    def model_factory(self) -> Recommender:
        """A fresh, unfitted model."""
        return self.model_class()

    @property
    def fitted(self) -> FittedCase:
        """The model fitted on :func:`planted_split`, once per class (kept for later checks)."""
        cls = type(self)
        case = cls.__dict__.get("_fitted_case")
        if case is None:
            train, held_out = planted_split()
            model = self.model_factory()
            case = FittedCase(
                model=model, returned=model.fit(train), train=train, held_out=held_out
            )
            cls._fitted_case = case
        return case

    # -- estimator conventions -------------------------------------------------------------------
    def test_fit_returns_self(self) -> None:
        fitted = self.fitted
        assert fitted.returned is fitted.model

    def test_init_only_stores_parameters(self) -> None:
        model = self.model_factory()
        params = model.get_params(deep=False)
        assert set(vars(model)) == set(params), (
            "__init__ must store its parameters and nothing else"
        )
        assert clone(model).get_params(deep=False) == params

    def test_registered_under_its_name(self) -> None:
        model = self.model_factory()
        assert model_class(model.name) is type(model)

    def test_unfitted_model_raises(self) -> None:
        model = self.model_factory()
        with raises(NotFittedError):
            model.recommend(["u00"])
        with raises(NotFittedError):
            model.score_items(["u00"], [item_id(0)])

    # -- recommendations -------------------------------------------------------------------------
    def test_recommend_speaks_original_ids(self) -> None:
        model, train = self.fitted.model, self.fitted.train
        recs = model.recommend(k=self.k)
        assert list(recs.columns) == ["user", "rank", "item", "score"]
        assert set(recs["user"]) == set(train.user_ids), "every user gets a list"
        assert all(isinstance(u, str) for u in recs["user"])
        assert recs["item"].isin(train.item_ids).all()
        assert pd.api.types.is_integer_dtype(recs["item"])
        some = ["u07", COLD_USER, "u00"]
        part = model.recommend(some, k=self.k)
        assert list(pd.unique(part["user"])) == some, "lists come in the order of the users asked"

    def test_ranks_and_scores_are_ordered(self) -> None:
        recs = self.fitted.model.recommend(k=self.k)
        assert (recs.groupby("user").size() == self.k).all()
        for _, group in recs.groupby("user"):
            assert group["rank"].tolist() == list(range(1, self.k + 1))
            assert group["score"].is_monotonic_decreasing
            assert np.isfinite(group["score"]).all()
            assert group["item"].is_unique

    def test_seen_items_are_excluded_unless_asked(self) -> None:
        model, train = self.fitted.model, self.fitted.train
        pairs = set(_pairs(train.interactions))
        recs = model.recommend(k=self.k)
        assert not any(p in pairs for p in _pairs(recs))
        n = train.n_items
        everything = model.recommend(["u03", "u04"], k=n, exclude_seen=False)
        assert len(everything) == 2 * n
        assert set(everything["item"]) == set(train.item_ids)

    def test_prediction_time_history_is_excluded(self) -> None:
        model, train, held_out = self.fitted.model, self.fitted.train, self.fitted.held_out
        columns = ["user", "item", "timestamp"]
        both = train.with_interactions(
            pd.concat([train.interactions[columns], held_out.interactions[columns]])
        )
        recs = model.recommend(["u05", COLD_USER], k=self.k, history=both)
        pairs = set(_pairs(both.interactions))
        assert len(recs) == 2 * self.k
        assert not any(p in pairs for p in _pairs(recs))

    def test_score_items_agrees_with_recommend(self) -> None:
        model = self.fitted.model
        for user in ["u01", "u02", COLD_USER]:
            recs = model.recommend([user], k=self.k)
            scored = model.score_items([user], recs["item"].tolist())
            assert list(scored.columns) == ["user", "item", "score"]
            assert scored["item"].tolist() == recs["item"].tolist()
            np.testing.assert_allclose(scored["score"], recs["score"], rtol=1e-5, atol=1e-6)

    def test_unknown_ids_raise(self) -> None:
        with raises(EquirecError, match="unknown user"):
            self.fitted.model.recommend(["u00", "nobody"])
        with raises(EquirecError, match="unknown item"):
            self.fitted.model.score_items(["u00"], [item_id(0) + 1])

    # -- persistence -----------------------------------------------------------------------------
    def test_save_load_round_trip(self) -> None:
        model = self.fitted.model
        with tempfile.TemporaryDirectory() as tmp:
            folder = model.save(Path(tmp) / "model")
            assert sorted(p.name for p in folder.iterdir()) == sorted([SETTINGS_FILE, WEIGHTS_FILE])
            settings = json.loads((folder / SETTINGS_FILE).read_text())
            loaded = Recommender.load(folder)
        assert settings["name"] == model.name
        assert type(loaded) is type(model)
        assert loaded.get_params(deep=False) == model.get_params(deep=False)
        for exclude_seen in (True, False):
            pd.testing.assert_frame_equal(
                loaded.recommend(k=self.k, exclude_seen=exclude_seen),
                model.recommend(k=self.k, exclude_seen=exclude_seen),
            )

    def test_same_parameters_same_recommendations(self) -> None:
        fitted = self.fitted
        if not self.deterministic:
            raise unittest.SkipTest(f"{type(fitted.model).__name__} is declared non-deterministic")
        again = self.model_factory().fit(fitted.train)
        pd.testing.assert_frame_equal(again.recommend(k=self.k), fitted.model.recommend(k=self.k))

    # -- quality ---------------------------------------------------------------------------------
    def test_finds_the_planted_clusters(self) -> None:
        fitted = self.fitted
        if self.min_lift is None:
            raise unittest.SkipTest("no quality bar declared (min_lift is None)")
        hits, random = hit_rate(fitted.model, fitted.train, fitted.held_out, k=self.k)
        assert hits >= self.min_lift * random, (
            f"held-out hit rate@{self.k} {hits:.3f} < {self.min_lift} x random ({random:.3f})"
        )
