"""Recommenders: baselines and transformer sequence models behind one interface."""

from equirec.models.base import NotFittedError, Recommender
from equirec.models.registry import available_models, model_class, register

__all__ = ["NotFittedError", "Recommender", "available_models", "model_class", "register"]

from equirec.models.popularity import Popularity

__all__ += ["Popularity"]

from equirec.models.sequential import BERT4Rec, SASRec  # noqa: E402  (registers the transformers)

__all__ += ["BERT4Rec", "SASRec"]

from equirec.models.bpr import BPR  # noqa: E402  (registers the baselines)
from equirec.models.ease import EASE  # noqa: E402
from equirec.models.itemknn import ItemKNN  # noqa: E402

__all__ += ["BPR", "EASE", "ItemKNN"]
