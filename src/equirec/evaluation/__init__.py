"""Evaluation: full-ranking accuracy and beyond-accuracy metrics, per user and overall."""

from equirec.evaluation.beyond import (
    catalogue_metrics,
    entropy,
    gini,
    popularity_metrics,
    recommendation_counts,
)
from equirec.evaluation.evaluator import EvaluationResult, evaluate
from equirec.evaluation.metrics import (
    ACCURACY_METRICS,
    accuracy_metrics,
    hit_matrix,
    ranking_metrics,
    relevant_matrix,
)
from equirec.evaluation.sampled import sampled_metrics, sampled_ranks
from equirec.evaluation.slices import COLD_TARGET, WARM_TARGET, slice_metrics, target_slices

__all__ = [
    "ACCURACY_METRICS",
    "COLD_TARGET",
    "WARM_TARGET",
    "EvaluationResult",
    "accuracy_metrics",
    "catalogue_metrics",
    "entropy",
    "evaluate",
    "gini",
    "hit_matrix",
    "popularity_metrics",
    "ranking_metrics",
    "recommendation_counts",
    "relevant_matrix",
    "sampled_metrics",
    "sampled_ranks",
    "slice_metrics",
    "target_slices",
]
