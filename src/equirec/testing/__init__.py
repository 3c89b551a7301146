"""Conformance checks for extensions, as test-class mixins that need no test framework.

* :class:`RecommenderChecks`: the behaviour every :class:`~equirec.models.base.Recommender`
  must have (fit, recommend in original ids, seen items, persistence, a quality bar).
* :class:`RerankerChecks`: the contract of every registered re-ranker (only the list's own
  candidates, no repeats, padding, ``k`` checks, determinism, no test data read) and the
  messages of its parameter model.

Subclass one in a ``Test...`` class and set a few class attributes; see each class. The checks
are plain ``assert`` statements and raise :class:`unittest.SkipTest` where they do not apply, so
pytest (or unittest) runs them as they are.
"""

from equirec.testing.recommenders import (
    COLD_ITEM,
    COLD_USER,
    FittedCase,
    RecommenderChecks,
    hit_rate,
    item_id,
    planted_split,
)
from equirec.testing.rerankers import RerankerCase, RerankerChecks, reranker_case

__all__ = [
    "COLD_ITEM",
    "COLD_USER",
    "FittedCase",
    "RecommenderChecks",
    "RerankerCase",
    "RerankerChecks",
    "hit_rate",
    "item_id",
    "planted_split",
    "reranker_case",
]
