"""Next-item losses over the catalogue: full softmax cross-entropy (chunked) and sampled softmax."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint


def _ce_chunk(hidden: torch.Tensor, table: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(hidden @ table.T, targets, reduction="none")


def full_cross_entropy(
    hidden: torch.Tensor,
    table: torch.Tensor,
    targets: torch.Tensor,
    *,
    chunk_size: int = 8192,
) -> torch.Tensor:
    """Per-row softmax cross-entropy of ``hidden @ table.T`` against ``targets``.

    The ``rows x catalogue`` logits matrix is the memory wall of full-softmax training; rows are
    processed in chunks whose logits are recomputed in the backward pass, so peak memory is one
    chunk's logits whatever the batch.

    Args:
        hidden: ``(N, D)`` hidden states of the positions that have a target.
        table: ``(n_items, D)`` output item embeddings.
        targets: ``(N,)`` internal item indices.
        chunk_size: Rows per chunk.

    Returns:
        ``(N,)`` losses.
    """
    if hidden.shape[0] <= chunk_size:
        return _ce_chunk(hidden, table, targets)
    parts = [
        checkpoint(
            _ce_chunk,
            hidden[s : s + chunk_size],
            table,
            targets[s : s + chunk_size],
            use_reentrant=False,
        )
        for s in range(0, hidden.shape[0], chunk_size)
    ]
    return torch.cat(parts)


def sampled_cross_entropy(
    hidden: torch.Tensor,
    table: torch.Tensor,
    targets: torch.Tensor,
    *,
    n_negatives: int,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Softmax cross-entropy over the target and ``n_negatives`` uniformly sampled items.

    Negatives are shared by all rows of the batch; a negative equal to a row's target is masked
    out for that row. Uniform sampling needs no logQ correction.
    """
    n_items = table.shape[0]
    negatives = torch.randint(0, n_items, (n_negatives,), device=hidden.device, generator=generator)
    pos = (hidden * table[targets]).sum(-1, keepdim=True)
    neg = hidden @ table[negatives].T
    neg = neg.masked_fill(negatives[None, :] == targets[:, None], float("-inf"))
    logits = torch.cat([pos, neg], dim=1)
    return F.cross_entropy(
        logits, torch.zeros(len(targets), dtype=torch.long, device=hidden.device), reduction="none"
    )
