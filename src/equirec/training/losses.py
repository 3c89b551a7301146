"""Next-item losses over the catalogue: full softmax cross-entropy (chunked), sampled softmax
(uniform, or popularity-sampled with the logQ correction) and gBCE (Petrov & Macdonald 2023)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint


def _ce_chunk(hidden: torch.Tensor, table: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(hidden @ table.T, targets, reduction="none")


LOGITS_PER_CHUNK = 1 << 26
"""Logits one chunk of the full cross-entropy holds (256 MiB in fp32, as many again for their
gradient): the rows per chunk are this over the catalogue size."""


def full_cross_entropy(
    hidden: torch.Tensor,
    table: torch.Tensor,
    targets: torch.Tensor,
    *,
    chunk_size: int | None = None,
) -> torch.Tensor:
    """Per-row softmax cross-entropy of ``hidden @ table.T`` against ``targets``.

    The ``rows x catalogue`` logits matrix is the memory wall of full-softmax training; rows are
    processed in chunks whose logits are recomputed in the backward pass, so peak memory is one
    chunk's logits whatever the batch and the catalogue.

    Args:
        hidden: ``(N, D)`` hidden states of the positions that have a target.
        table: ``(n_items, D)`` output item embeddings.
        targets: ``(N,)`` internal item indices.
        chunk_size: Rows per chunk (default :data:`LOGITS_PER_CHUNK` over the catalogue size:
            one chunk for ML-100K's or movielens-small's batches, 67 rows for a million items).

    Returns:
        ``(N,)`` losses.
    """
    if chunk_size is None:
        chunk_size = max(1, LOGITS_PER_CHUNK // max(1, table.shape[0]))
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


def sample_negatives(
    n_negatives: int,
    n_items: int,
    *,
    log_q: torch.Tensor | None,
    device: torch.device,
    generator: torch.Generator | None,
) -> torch.Tensor:
    """``n_negatives`` items drawn with replacement: uniformly, or from ``exp(log_q)``."""
    if log_q is None:
        return torch.randint(0, n_items, (n_negatives,), device=device, generator=generator)
    return torch.multinomial(log_q.exp(), n_negatives, replacement=True, generator=generator)


def sampled_cross_entropy(
    hidden: torch.Tensor,
    table: torch.Tensor,
    targets: torch.Tensor,
    *,
    n_negatives: int,
    generator: torch.Generator | None = None,
    log_q: torch.Tensor | None = None,
) -> torch.Tensor:
    """Softmax cross-entropy over the target and ``n_negatives`` sampled items.

    Negatives are shared by all rows of the batch; a negative equal to a row's target is masked
    out for that row. They are drawn uniformly, or with ``log_q`` (``(n_items,)`` log sampling
    probabilities, e.g. of popularity) from that distribution, in which case every negative's
    logit is corrected by ``-log(n_items · Q(item))`` (the logQ correction: the sample then
    estimates the full softmax's normaliser without the bias towards the popular items it
    draws; zero for uniform sampling, which needs none).
    """
    n_items = table.shape[0]
    negatives = sample_negatives(
        n_negatives, n_items, log_q=log_q, device=hidden.device, generator=generator
    )
    pos = (hidden * table[targets]).sum(-1, keepdim=True)
    neg = hidden @ table[negatives].T
    if log_q is not None:
        neg = neg - (log_q[negatives] + math.log(n_items))[None, :]
    neg = neg.masked_fill(negatives[None, :] == targets[:, None], float("-inf"))
    logits = torch.cat([pos, neg], dim=1)
    return F.cross_entropy(
        logits, torch.zeros(len(targets), dtype=torch.long, device=hidden.device), reduction="none"
    )


def gbce(
    hidden: torch.Tensor,
    table: torch.Tensor,
    targets: torch.Tensor,
    *,
    n_negatives: int,
    t: float = 0.75,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Generalised binary cross-entropy (gSASRec, Petrov & Macdonald 2023), per row.

    ``-log σ(s⁺)^β - Σ log(1 - σ(s⁻))`` over ``n_negatives`` uniformly sampled negatives (shared
    by the batch; one equal to a row's target is left out for that row), with
    ``β = α (t (1 - 1/α) + 1/α)`` and ``α = n_negatives / (n_items - 1)``: the positive's
    probability is raised to ``β`` so that the model's scores are not overconfident as they
    are with plain BCE over few negatives (``t = 0``: plain BCE; ``t = 1``: fully calibrated).
    """
    n_items = table.shape[0]
    negatives = sample_negatives(
        n_negatives, n_items, log_q=None, device=hidden.device, generator=generator
    )
    alpha = n_negatives / max(1, n_items - 1)
    beta = alpha * (t * (1.0 - 1.0 / alpha) + 1.0 / alpha)
    pos = (hidden * table[targets]).sum(-1)
    neg = hidden @ table[negatives].T
    keep = (negatives[None, :] != targets[:, None]).to(neg.dtype)
    return -beta * F.logsigmoid(pos) - (F.logsigmoid(-neg) * keep).sum(-1)
