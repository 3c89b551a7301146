"""A sequence model's user features, read and temporarily replaced (counterfactual scoring).

A SASRec or BERT4Rec fitted with ``user_attributes`` adds a projection of each user's features
(gender, age...) to every position. :func:`user_features` reads the matrix it was fitted with;
:func:`replaced_user_features` scores with another one inside a ``with`` block (every user
"as if" female, say) and restores the model's own afterwards, even on error.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch

from equirec.errors import ConfigError
from equirec.models.base import Recommender

__all__ = ["replaced_user_features", "user_features"]


def user_features(model: Recommender) -> np.ndarray | None:
    """The ``(n_users, F)`` features the model scores users with (``None`` without any)."""
    module = getattr(model, "module_", None)
    buffer = getattr(module, "user_features", None)
    return None if buffer is None else buffer.detach().cpu().numpy().copy()


@contextmanager
def replaced_user_features(model: Recommender, features: np.ndarray) -> Iterator[None]:
    """Score with ``features`` instead of the model's own user features inside the block.

    Raises:
        ConfigError: The model has no user features, or ``features`` has another shape.
    """
    module = getattr(model, "module_", None)
    own = getattr(module, "user_features", None)
    if module is None or own is None:
        raise ConfigError(
            f"{model.name} takes no user features: fit it with user_attributes to score it "
            "counterfactually"
        )
    if tuple(features.shape) != tuple(own.shape):
        raise ConfigError(
            f"counterfactual user features of shape {features.shape}, the model's are "
            f"{tuple(own.shape)}"
        )
    prepared = getattr(model, "_prepared", None)
    module.user_features = torch.as_tensor(features, dtype=own.dtype, device=own.device)
    model._prepared = None  # encodings of the real features
    try:
        yield
    finally:
        module.user_features = own
        model._prepared = prepared
