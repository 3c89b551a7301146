"""Recommenders: baselines and transformer sequence models behind one interface.

The registry (:mod:`equirec.models.registry`) is light; model classes are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from equirec._lazy import lazy_exports
from equirec.models.registry import available_models, describe_model, model_class, register

__all__ = [
    "BPR",
    "EASE",
    "BERT4Rec",
    "ItemKNN",
    "NotFittedError",
    "Popularity",
    "Recommender",
    "SASRec",
    "available_models",
    "describe_model",
    "model_class",
    "register",
]

_LAZY = {
    "NotFittedError": "equirec.models.base",
    "Recommender": "equirec.models.base",
    "Popularity": "equirec.models.popularity",
    "SASRec": "equirec.models.sequential",
    "BERT4Rec": "equirec.models.bert4rec",
    "BPR": "equirec.models.bpr",
    "EASE": "equirec.models.ease",
    "ItemKNN": "equirec.models.itemknn",
}

if TYPE_CHECKING:
    from equirec.models.base import NotFittedError, Recommender
    from equirec.models.bert4rec import BERT4Rec
    from equirec.models.bpr import BPR
    from equirec.models.ease import EASE
    from equirec.models.itemknn import ItemKNN
    from equirec.models.popularity import Popularity
    from equirec.models.sequential import SASRec

__getattr__ = lazy_exports(__name__, _LAZY)
