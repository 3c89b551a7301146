"""Model registry: names used on the command line and in configs -> estimator classes.

A new model registers itself with :func:`register` (models outside the package can too).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from equirec.errors import ConfigError

if TYPE_CHECKING:
    from equirec.models.base import Recommender

T = TypeVar("T", bound="type[Recommender]")

_REGISTRY: dict[str, type[Recommender]] = {}


def register(cls: T) -> T:
    """Class decorator: make ``cls`` available under ``cls.name``."""
    _REGISTRY[cls.name] = cls
    return cls


def model_class(name: str) -> type[Recommender]:
    """The estimator class registered under ``name`` (case-insensitive)."""
    import equirec.models  # noqa: F401  (registers the built-in models)

    key = name.lower()
    if key not in _REGISTRY:
        raise ConfigError(f"unknown model {name!r}; choose one of: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[key]


def available_models() -> list[str]:
    """Names of every registered model."""
    import equirec.models  # noqa: F401

    return sorted(_REGISTRY)
