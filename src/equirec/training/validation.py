"""Validation metrics computed inside training loops (early stopping), on score tensors."""

from __future__ import annotations

import numpy as np
import torch

from equirec.data.history import History


def masked_ndcg(
    scores: torch.Tensor, users: np.ndarray, seen: History, relevant: History, *, k: int
) -> torch.Tensor:
    """Binary-relevance NDCG@k of each row of ``scores`` (modified in place: seen items masked).

    Relevant items are those of ``relevant`` not in ``seen`` (seen items cannot be recommended);
    rows without any count as 0.
    """
    seen_rows = seen.rows(users).tocoo()
    scores[torch.from_numpy(seen_rows.row), torch.from_numpy(seen_rows.col)] = -torch.inf
    rel = torch.from_numpy(relevant.rows(users).toarray() > 0)
    rel[torch.from_numpy(seen_rows.row), torch.from_numpy(seen_rows.col)] = False
    k = min(k, scores.shape[1])
    top = torch.topk(scores, k, dim=1).indices
    discounts = 1.0 / torch.log2(torch.arange(2, k + 2, dtype=torch.float64))
    dcg = (rel.gather(1, top).double() * discounts).sum(1)
    n_rel = rel.sum(1).clamp(max=k)
    idcg = torch.cumsum(discounts, 0)[(n_rel - 1).clamp(min=0)]
    return torch.where(n_rel > 0, dcg / idcg, torch.zeros_like(dcg))
