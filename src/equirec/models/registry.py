"""Model registry: names used on the command line and in configs -> estimator classes.

Built-in models are listed by import path with one line of description, so listing them
(``equirec models``) imports no model code; a model is imported when it is first asked for. A
new model registers itself with :func:`register` (models outside the package can too).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, TypeVar

from equirec.errors import ConfigError

if TYPE_CHECKING:
    from equirec.models.base import Recommender

T = TypeVar("T", bound="type[Recommender]")

_REGISTRY: dict[str, type[Recommender]] = {}

BUILT_IN: dict[str, tuple[str, str]] = {
    "bert4rec": (
        "equirec.models.bert4rec",
        "BERT4Rec (Sun et al. 2019): bidirectional transformer trained to recover masked items.",
    ),
    "bpr": (
        "equirec.models.bpr",
        "Bayesian Personalised Ranking matrix factorisation (Rendle et al., UAI 2009).",
    ),
    "contentknn": (
        "equirec.models.contentknn",
        "Rank items by the cosine similarity of their content to the user's last items.",
    ),
    "ease": (
        "equirec.models.ease",
        'EASE^R (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019).',
    ),
    "itemknn": (
        "equirec.models.itemknn",
        "Item-based collaborative filtering (Sarwar et al. 2001) with shrunk cosine similarity.",
    ),
    "pop": (
        "equirec.models.popularity",
        "Rank items by their number of training interactions (distinct users, by default).",
    ),
    "sasrec": (
        "equirec.models.sequential",
        "SASRec (Kang & McAuley 2018) trained with full softmax cross-entropy (SASRec+).",
    ),
}
"""Built-in model name -> (module that registers it, the first line of its docstring)."""


def register(cls: T) -> T:
    """Class decorator: make ``cls`` available under ``cls.name``."""
    _REGISTRY[cls.name] = cls
    return cls


def model_class(name: str) -> type[Recommender]:
    """The estimator class registered under ``name`` (case-insensitive)."""
    key = name.lower()
    if key not in _REGISTRY and key in BUILT_IN:
        importlib.import_module(BUILT_IN[key][0])  # registers it
    if key not in _REGISTRY:
        raise ConfigError(f"unknown model {name!r}; choose one of: {', '.join(available_models())}")
    return _REGISTRY[key]


def available_models() -> list[str]:
    """Names of every registered model."""
    return sorted(set(BUILT_IN) | set(_REGISTRY))


def describe_model(name: str) -> str:
    """One line about the model (built-ins without importing them)."""
    key = name.lower()
    if key in BUILT_IN and key not in _REGISTRY:
        return BUILT_IN[key][1]
    doc = (model_class(key).__doc__ or "").strip().splitlines()
    return doc[0] if doc else ""
