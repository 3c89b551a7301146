"""Content-kNN: items ranked by the cosine of their content to the user's recent items.

The cold-start baseline: it never reads who interacted with an item, only what the item is
(title embeddings, genres, year...), so an item training never saw ranks like any other.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from equirec.data.dataset import Dataset
from equirec.data.history import History
from equirec.errors import ConfigError
from equirec.features.content import ContentFeatures, item_content
from equirec.models.base import Recommender
from equirec.models.registry import register

__all__ = ["ContentKNN"]

CONTENT_KINDS = ("text", "multi", "categorical", "numeric")


@register
class ContentKNN(Recommender):
    """Rank items by the cosine similarity of their content to the user's last items.

    Every attribute block of :func:`~equirec.features.content.item_content` is scaled to unit
    length, so that a text embedding, a genre set and a year weigh the same, and each item's
    vector is normalised. A user's score for item ``j`` is the mean cosine between ``j`` and the
    user's last ``window`` items (``content_j · mean of their vectors``). Histories given at
    prediction time are used as they are (new users need no refit); an empty history gives
    zeros.

    Args:
        content_attributes: Item attributes to compare (default: every text, multi-valued,
            categorical and numeric attribute of the data).
        text_model: The sentence-transformers model of text attributes (``"default"``: the
            packaged all-MiniLM-L6-v2).
        window: How many of the user's most recent items make the profile (``None``: all).

    Attributes:
        content_: ``(n_items, F)`` float32 unit rows (zeros for an item without content).
    """

    name = "contentknn"

    def __init__(
        self,
        *,
        content_attributes: Sequence[str] = (),
        text_model: str = "default",
        window: int | None = 20,
    ) -> None:
        self.content_attributes = content_attributes
        self.text_model = text_model
        self.window = window

    def _fit(self, train: History, *, valid: History | None, dataset: Dataset) -> None:
        if self.window is not None and int(self.window) < 1:
            raise ConfigError(f"contentknn: window must be >= 1 or None, not {self.window!r}")
        kinds = dataset.item_attribute_kinds
        attributes = list(self.content_attributes) or [
            a for a, kind in kinds.items() if kind in CONTENT_KINDS
        ]
        if not attributes:
            raise ConfigError(
                "contentknn needs item attributes to compare (titles, genres...); the data has "
                "none: load item attributes (--item-attributes) or choose another model"
            )
        content = item_content(dataset, attributes, text_model=self.text_model)
        self.warnings_ += list(content.warnings)
        self.content_ = _unit_blocks(content)

    def _score(self, users: np.ndarray, history: History) -> torch.Tensor:
        content = self.content_
        if self.window is None:
            profile = history.rows(users) @ content
        else:
            recent = history.padded(users, int(self.window))  # -1 pads the left
            vectors = np.where((recent >= 0)[..., None], content[np.maximum(recent, 0)], 0.0)
            profile = vectors.sum(axis=1)
        return torch.from_numpy(np.asarray(profile @ content.T, dtype=np.float32))

    def _state(self) -> dict[str, torch.Tensor]:
        return {"content": torch.from_numpy(self.content_)}

    def _load_state(self, state: dict[str, torch.Tensor]) -> None:
        self.content_ = state["content"].numpy()


def _unit_blocks(features: ContentFeatures) -> np.ndarray:
    """Each attribute's block scaled to unit row length, then every row to unit length."""
    matrix = features.matrix.astype(np.float32).copy()
    start = 0
    for block in features.blocks:
        part = matrix[:, start : start + block.width]
        norms = np.linalg.norm(part, axis=1, keepdims=True)
        np.divide(part, norms, out=part, where=norms > 0)
        start += block.width
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    np.divide(matrix, norms, out=matrix, where=norms > 0)
    return matrix
