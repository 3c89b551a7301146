"""BERT4Rec: the bidirectional transformer recommender trained by the Cloze task."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from equirec.data.history import History
from equirec.errors import ConfigError
from equirec.models.registry import register
from equirec.models.sequence_tasks import MaskedItemTask, SequenceTask
from equirec.models.sequential import SequentialRecommender

__all__ = ["BERT4Rec"]


@register
class BERT4Rec(SequentialRecommender):
    """BERT4Rec (Sun et al. 2019): bidirectional transformer trained to recover masked items.

    Same parameters as :class:`SASRec`, plus ``mask_prob`` (share of items masked in training)
    and ``last_mask_prob`` (share of training sequences whose last item alone is masked, as
    the original BERT4Rec's data generator adds them: the form a prediction takes). Its
    defaults differ from SASRec's where measured: dropout 0.2 (the masking already corrupts
    the input: 0.5 cost 11% of NDCG@10 on ML-100K, BENCHMARKS.md "Why BERT4Rec trailed
    SASRec") and up to 300 epochs with patience 30 (a masked position is a fifth of SASRec's
    training signal per sequence; validation still rises past epoch 100). At prediction a mask
    token is appended after the user's last ``max_len - 1`` items and its
    output scores the catalogue.
    """

    name = "bert4rec"
    causal = False
    extra_tokens = 1

    def __init__(
        self,
        *,
        mask_prob: float = 0.2,
        last_mask_prob: float = 0.0,
        dropout: float = 0.2,
        epochs: int = 300,
        patience: int = 30,
        **kwargs: Any,
    ):
        super().__init__(dropout=dropout, epochs=epochs, patience=patience, **kwargs)
        self.mask_prob = mask_prob
        self.last_mask_prob = last_mask_prob

    def _check_params(self) -> None:
        super()._check_params()
        if not 0.0 < self.mask_prob < 1.0:
            raise ConfigError(f"bert4rec: mask_prob must be in (0, 1), not {self.mask_prob!r}")
        if not 0.0 <= self.last_mask_prob <= 1.0:
            raise ConfigError(
                f"bert4rec: last_mask_prob must be in [0, 1], not {self.last_mask_prob!r}"
            )

    def _task(self, train: History, valid: History | None) -> SequenceTask:
        return MaskedItemTask(self, train, valid)

    def _inputs(self, users: np.ndarray, history: History) -> torch.Tensor:
        tokens = history.padded(users, self.max_len - 1) + 1
        mask = np.full((len(users), 1), self.n_items + 1, dtype=np.int64)
        return torch.from_numpy(np.concatenate([tokens, mask], axis=1))

    @classmethod
    def _get_param_names(cls) -> list[str]:
        return sorted({"mask_prob", "last_mask_prob", *SequentialRecommender._get_param_names()})
