"""Evaluation: full-ranking accuracy and beyond-accuracy metrics, per user and overall."""

from equirec.evaluation.evaluator import EvaluationResult, evaluate
from equirec.evaluation.metrics import (
    accuracy_metrics,
    catalogue_metrics,
    entropy,
    gini,
    hit_matrix,
    popularity_metrics,
    recommendation_counts,
)

__all__ = [
    "EvaluationResult",
    "accuracy_metrics",
    "catalogue_metrics",
    "entropy",
    "evaluate",
    "gini",
    "hit_matrix",
    "popularity_metrics",
    "recommendation_counts",
]
