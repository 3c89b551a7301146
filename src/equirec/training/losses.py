"""Next-item losses over the catalogue: full softmax cross-entropy (chunked), sampled softmax
(uniform, or popularity-sampled with the logQ correction) and gBCE (Petrov & Macdonald 2023)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch.autograd.function import once_differentiable
from torch.utils.checkpoint import checkpoint

PRECISIONS = ("fp32", "bf16")
"""Precisions of the catalogue logits' matrix products: ``"bf16"`` multiplies bfloat16 copies
of the hidden states and the item table (the softmax and the loss stay in fp32)."""


class _SoftmaxCrossEntropy(torch.autograd.Function):
    """``cross_entropy(hidden @ table.T, targets)`` per row in one buffer of logits.

    The logits are exponentiated and normalised in place, and the probabilities they become are
    what the backward pass turns into the logits' gradient (``p - onehot``), again in place: no
    log-probabilities, no separate gradient buffer, half of the memory passes of
    ``F.cross_entropy``'s log-softmax (142 against 306 ms for 6,400 rows over ML-100K's 1,682
    items, forward and backward; see BENCHMARKS.md). Not for ``torch.func`` (private training
    uses :func:`F.cross_entropy`).
    """

    @staticmethod
    def forward(
        ctx: Any, hidden: torch.Tensor, table: torch.Tensor, targets: torch.Tensor, bf16: bool
    ) -> torch.Tensor:
        logits = _logits(hidden, table, bf16=bf16)
        logits.sub_(logits.amax(dim=1, keepdim=True))
        target_logits = logits.gather(1, targets[:, None])[:, 0]
        total = logits.exp_().sum(dim=1)
        losses = total.log() - target_logits
        probs = logits.div_(total[:, None])
        ctx.save_for_backward(probs, hidden, table, targets)
        ctx.bf16 = bf16
        return losses

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:
        probs, hidden, table, targets = ctx.saved_tensors
        probs[torch.arange(len(targets), device=probs.device), targets] -= 1.0
        g = probs.mul_(grad[:, None])  # d loss / d logits
        if ctx.bf16:
            g, hidden, table = g.bfloat16(), hidden.bfloat16(), table.bfloat16()
        grad_hidden = (g @ table).to(grad.dtype) if ctx.needs_input_grad[0] else None
        grad_table = (g.T @ hidden).to(grad.dtype) if ctx.needs_input_grad[1] else None
        return grad_hidden, grad_table, None, None


def _logits(hidden: torch.Tensor, table: torch.Tensor, *, bf16: bool) -> torch.Tensor:
    if bf16:
        return (hidden.bfloat16() @ table.bfloat16().T).to(hidden.dtype)
    return hidden @ table.T


def _ce_chunk(
    hidden: torch.Tensor, table: torch.Tensor, targets: torch.Tensor, *, fused: bool, bf16: bool
) -> torch.Tensor:
    if fused:
        return _SoftmaxCrossEntropy.apply(hidden, table, targets, bf16)
    return F.cross_entropy(_logits(hidden, table, bf16=bf16), targets, reduction="none")


def _by_rows(fn: Callable[..., torch.Tensor], rows: int, *tensors: torch.Tensor) -> torch.Tensor:
    """``fn`` over chunks of ``rows`` rows of ``tensors``, each chunk's intermediates
    recomputed in the backward pass, so that peak memory is one chunk's (its logits, or its
    per-row negatives' gathered embeddings) whatever the number of rows."""
    if tensors[0].shape[0] <= rows:
        return fn(*tensors)
    parts = [
        checkpoint(fn, *(t[s : s + rows] for t in tensors), use_reentrant=False)
        for s in range(0, tensors[0].shape[0], rows)
    ]
    return torch.cat(parts)


LOGITS_PER_CHUNK = 1 << 26
"""Logits one chunk of the full cross-entropy holds (256 MiB in fp32, as many again for their
gradient): the rows per chunk are this over the catalogue size."""


def full_cross_entropy(
    hidden: torch.Tensor,
    table: torch.Tensor,
    targets: torch.Tensor,
    *,
    chunk_size: int | None = None,
    precision: str = "fp32",
    fused: bool = True,
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
        precision: One of :data:`PRECISIONS`, of the logits' matrix products.
        fused: The in-place softmax and gradient of :class:`_SoftmaxCrossEntropy` (``False``:
            ``F.cross_entropy``, which ``torch.func`` transforms).

    Returns:
        ``(N,)`` losses.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
    if chunk_size is None:
        chunk_size = max(1, LOGITS_PER_CHUNK // max(1, table.shape[0]))
    bf16 = precision == "bf16"

    def chunk(h: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return _ce_chunk(h, table, t, fused=fused, bf16=bf16)

    return _by_rows(chunk, chunk_size, hidden, targets)


def sample_negatives(
    shape: tuple[int, ...],
    n_items: int,
    *,
    log_q: torch.Tensor | None,
    device: torch.device,
    generator: torch.Generator | None,
) -> torch.Tensor:
    """Items of ``shape`` drawn with replacement: uniformly, or from ``exp(log_q)``."""
    if log_q is None:
        return torch.randint(0, n_items, shape, device=device, generator=generator)
    draws = torch.multinomial(log_q.exp(), math.prod(shape), replacement=True, generator=generator)
    return draws.view(shape)


def _draw(
    hidden: torch.Tensor,
    n_items: int,
    n_negatives: int,
    *,
    shared: bool,
    log_q: torch.Tensor | None,
    generator: torch.Generator | None,
) -> torch.Tensor:
    """``(1, k)`` negatives shared by every row, or ``(rows, k)`` drawn for each row."""
    shape = (1, n_negatives) if shared else (hidden.shape[0], n_negatives)
    return sample_negatives(shape, n_items, log_q=log_q, device=hidden.device, generator=generator)


DENSE_NEGATIVES = 32
"""Per-row negatives' logits come from the full ``rows x catalogue`` product when the catalogue
is at most this many times ``n_negatives`` (then one matrix product and a gather beat
gathering ``rows x k`` embeddings: 46 against 280 ms a step on ML-100K's 1,682 items, 1,600
rows, k = 256; the gather wins past about 40 k items, 336 against 722 ms at 27,000)."""


def _negative_logits(
    hidden: torch.Tensor, table: torch.Tensor, negatives: torch.Tensor
) -> torch.Tensor:
    if negatives.shape[0] == 1:  # shared: one matrix product
        return hidden @ table[negatives[0]].T
    if table.shape[0] <= DENSE_NEGATIVES * negatives.shape[1]:
        return (hidden @ table.T).gather(1, negatives)
    return torch.bmm(F.embedding(negatives, table), hidden[:, :, None])[..., 0]


def _rows_per_chunk(negatives: torch.Tensor, table: torch.Tensor) -> int:
    return max(1, LOGITS_PER_CHUNK // max(1, negatives.shape[1] * table.shape[1]))


def sampled_cross_entropy(
    hidden: torch.Tensor,
    table: torch.Tensor,
    targets: torch.Tensor,
    *,
    n_negatives: int,
    shared: bool = False,
    generator: torch.Generator | None = None,
    log_q: torch.Tensor | None = None,
) -> torch.Tensor:
    """Softmax cross-entropy over the target and ``n_negatives`` sampled items, per row.

    Negatives are drawn for each row (``shared=False``) or once for the whole batch; a
    negative equal to a row's target is masked out for that row. They are drawn uniformly, or
    with ``log_q`` (``(n_items,)`` log sampling probabilities, e.g. of popularity) from that
    distribution, in which case every negative's logit is corrected by ``-log(n_items ·
    Q(item))`` (the logQ correction: the sample then estimates the full softmax's normaliser
    without the bias towards the popular items it draws; zero for uniform sampling, which
    needs none).
    """
    n_items = table.shape[0]
    negatives = _draw(hidden, n_items, n_negatives, shared=shared, log_q=log_q, generator=generator)

    def rows(h: torch.Tensor, t: torch.Tensor, negs: torch.Tensor) -> torch.Tensor:
        pos = (h * table[t]).sum(-1, keepdim=True)
        neg = _negative_logits(h, table, negs)
        if log_q is not None:
            neg = neg - (log_q[negs] + math.log(n_items))
        neg = neg.masked_fill(negs == t[:, None], float("-inf"))
        logits = torch.cat([pos, neg], dim=1)
        zeros = torch.zeros(len(t), dtype=torch.long, device=h.device)
        return F.cross_entropy(logits, zeros, reduction="none")

    if shared:
        return rows(hidden, targets, negatives)
    return _by_rows(rows, _rows_per_chunk(negatives, table), hidden, targets, negatives)


def gbce(
    hidden: torch.Tensor,
    table: torch.Tensor,
    targets: torch.Tensor,
    *,
    n_negatives: int,
    t: float = 0.75,
    shared: bool = False,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Generalised binary cross-entropy (gSASRec, Petrov & Macdonald 2023), per row.

    ``-log σ(s⁺)^β - Σ log(1 - σ(s⁻))`` over ``n_negatives`` uniformly sampled negatives
    (drawn for each row as gSASRec does, or shared by the batch with ``shared=True``; one equal
    to a row's target is left out for that row), with ``β = α (t (1 - 1/α) + 1/α)`` and
    ``α = n_negatives / (n_items - 1)``: the positive's probability is raised to ``β`` so that
    the model's scores are not overconfident as they are with plain BCE over few negatives
    (``t = 0``: plain BCE; ``t = 1``: fully calibrated).
    """
    n_items = table.shape[0]
    negatives = _draw(hidden, n_items, n_negatives, shared=shared, log_q=None, generator=generator)
    alpha = n_negatives / max(1, n_items - 1)
    beta = alpha * (t * (1.0 - 1.0 / alpha) + 1.0 / alpha)

    def rows(h: torch.Tensor, tg: torch.Tensor, negs: torch.Tensor) -> torch.Tensor:
        pos = (h * table[tg]).sum(-1)
        neg = _negative_logits(h, table, negs)
        keep = (negs != tg[:, None]).to(neg.dtype)
        return -beta * F.logsigmoid(pos) - (F.logsigmoid(-neg) * keep).sum(-1)

    if shared:
        return rows(hidden, targets, negatives)
    return _by_rows(rows, _rows_per_chunk(negatives, table), hidden, targets, negatives)
