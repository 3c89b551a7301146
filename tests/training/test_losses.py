import math

import pytest
import torch
import torch.nn.functional as F

from equirec.training import losses as losses_module
from equirec.training.losses import full_cross_entropy, gbce, sampled_cross_entropy


def test_full_cross_entropy_matches_torch_and_chunking_keeps_gradients():
    torch.manual_seed(0)
    hidden = torch.randn(50, 8, requires_grad=True)
    table = torch.randn(30, 8, requires_grad=True)
    targets = torch.randint(0, 30, (50,))
    expected = F.cross_entropy(hidden @ table.T, targets, reduction="none")
    whole = full_cross_entropy(hidden, table, targets)
    chunked = full_cross_entropy(hidden, table, targets, chunk_size=7)
    torch.testing.assert_close(whole, expected)
    torch.testing.assert_close(chunked, expected)
    g_whole = torch.autograd.grad(whole.sum(), [hidden, table])
    g_chunk = torch.autograd.grad(chunked.sum(), [hidden, table])
    for a, b in zip(g_whole, g_chunk, strict=True):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("chunk_size", [None, 7])
def test_fused_cross_entropy_gradients_match_torch_for_any_upstream_gradient(chunk_size):
    torch.manual_seed(1)
    hidden = (torch.randn(40, 6) * 3).requires_grad_()  # large logits: the max shift matters
    table = torch.randn(25, 6, requires_grad=True)
    targets = torch.randint(0, 25, (40,))
    upstream = torch.rand(40)  # example weights, as the trainer applies them
    expected = F.cross_entropy(hidden @ table.T, targets, reduction="none")
    e_grads = torch.autograd.grad((expected * upstream).sum(), [hidden, table])
    fused = full_cross_entropy(hidden, table, targets, chunk_size=chunk_size)
    f_grads = torch.autograd.grad((fused * upstream).sum(), [hidden, table])
    torch.testing.assert_close(fused, expected)
    for a, b in zip(f_grads, e_grads, strict=True):
        torch.testing.assert_close(a, b)
    # only the table trained (a frozen encoder): no gradient is asked of the hidden states
    frozen = hidden.detach()
    (g_table,) = torch.autograd.grad(full_cross_entropy(frozen, table, targets).sum(), [table])
    (e_table,) = torch.autograd.grad(
        F.cross_entropy(frozen @ table.T, targets, reduction="sum"), [table]
    )
    torch.testing.assert_close(g_table, e_table)


def test_bf16_cross_entropy_stays_close_to_fp32_and_returns_fp32():
    torch.manual_seed(2)
    hidden = torch.randn(64, 16, requires_grad=True)
    table = torch.randn(300, 16, requires_grad=True)
    targets = torch.randint(0, 300, (64,))
    exact = full_cross_entropy(hidden, table, targets)
    for fused in (True, False):
        low = full_cross_entropy(hidden, table, targets, precision="bf16", fused=fused)
        assert low.dtype == torch.float32
        # bf16 keeps 8 bits of mantissa: logits of size ~4 are off by ~0.02
        assert float((low - exact).detach().abs().max()) < 0.1
        grads = torch.autograd.grad(low.sum(), [hidden, table])
        assert all(g.dtype == torch.float32 for g in grads)
    with pytest.raises(ValueError, match="precision"):
        full_cross_entropy(hidden, table, targets, precision="fp16")


def test_unfused_cross_entropy_is_what_torch_func_differentiates():
    torch.manual_seed(3)
    table = torch.randn(12, 4)
    hidden = torch.randn(5, 4)
    targets = torch.randint(0, 12, (5,))

    def loss(t: torch.Tensor, h: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return full_cross_entropy(h[None], t, y[None], fused=False).sum()

    per_row = torch.func.vmap(torch.func.grad(loss), in_dims=(None, 0, 0))(table, hidden, targets)
    expected = torch.stack(
        [
            torch.autograd.grad(
                F.cross_entropy(hidden[i : i + 1] @ t.T, targets[i : i + 1], reduction="sum"), [t]
            )[0]
            for i in range(5)
            for t in [table.clone().requires_grad_()]
        ]
    )
    torch.testing.assert_close(per_row, expected)


def test_sampled_cross_entropy_known_value_and_accidental_hits_masked():
    hidden = torch.zeros(4, 3)
    table = torch.randn(5, 3)
    targets = torch.tensor([0, 1, 2, 3])
    gen = torch.Generator().manual_seed(0)
    n_neg = 200  # every item is drawn, so each row sees its own target among the negatives
    losses = sampled_cross_entropy(
        hidden, table, targets, n_negatives=n_neg, shared=True, generator=gen
    )
    gen = torch.Generator().manual_seed(0)
    negatives = torch.randint(0, 5, (n_neg,), generator=gen)
    for row, t in enumerate(targets.tolist()):
        kept = int((negatives != t).sum())
        # all logits are 0: loss = log(1 + number of unmasked negatives)
        assert math.isclose(float(losses[row]), math.log(1 + kept), rel_tol=1e-5)


def _expected_sampled(hidden, table, targets, k):
    """What a sampled softmax over ``k`` draws estimates: the positive against ``k / n`` of
    the rest of the catalogue's mass."""
    logits = hidden @ table.T
    pos = logits.gather(1, targets[:, None])[:, 0]
    rest = logits.exp().sum(1) - pos.exp()
    return -pos + torch.log(pos.exp() + k / table.shape[0] * rest)


def test_popularity_sampling_with_the_logq_correction_estimates_what_uniform_does():
    torch.manual_seed(0)
    hidden, table = torch.randn(6, 4), torch.randn(20, 4)
    targets = torch.arange(6)
    popularity = torch.arange(1, 21, dtype=torch.float) ** 2  # skewed: item 19 drawn 400x item 0
    log_q = torch.log(popularity / popularity.sum())
    k = 400_000
    expected = _expected_sampled(hidden, table, targets, k)
    gen = torch.Generator().manual_seed(1)
    uniform = sampled_cross_entropy(hidden, table, targets, n_negatives=k, generator=gen)
    corrected = sampled_cross_entropy(
        hidden, table, targets, n_negatives=k, generator=gen, log_q=log_q
    )
    torch.testing.assert_close(uniform, expected, rtol=2e-3, atol=2e-3)
    torch.testing.assert_close(corrected, expected, rtol=2e-3, atol=2e-3)
    # uncorrected, the popular items' draws inflate the normaliser: a biased loss
    gen = torch.Generator().manual_seed(2)
    negatives = torch.multinomial(popularity, k, replacement=True, generator=gen)
    raw = hidden @ table[negatives].T
    raw = raw.masked_fill(negatives[None, :] == targets[:, None], float("-inf"))
    pos = (hidden * table[targets]).sum(-1, keepdim=True)
    uncorrected = -pos[:, 0] + torch.logsumexp(torch.cat([pos, raw], 1), 1)
    assert (uncorrected - expected).abs().max() > 0.05


def test_gbce_known_values():
    torch.manual_seed(0)
    hidden, table = torch.randn(3, 4), torch.randn(11, 4)
    targets = torch.tensor([0, 5, 10])
    k = 5

    def loss(t):
        gen = torch.Generator().manual_seed(3)
        return gbce(hidden, table, targets, n_negatives=k, t=t, shared=True, generator=gen)

    negatives = torch.randint(0, 11, (k,), generator=torch.Generator().manual_seed(3))
    pos = (hidden * table[targets]).sum(-1)
    neg = hidden @ table[negatives].T
    keep = negatives[None, :] != targets[:, None]
    negative_part = -(F.logsigmoid(-neg) * keep).sum(-1)
    # t = 0: plain binary cross-entropy
    torch.testing.assert_close(loss(0.0), -F.logsigmoid(pos) + negative_part)
    # t = 1: the positive's log-probability scaled by beta = alpha = k / (n - 1)
    alpha = k / 10
    torch.testing.assert_close(loss(1.0), -alpha * F.logsigmoid(pos) + negative_part)
    beta = alpha * (0.75 * (1 - 1 / alpha) + 1 / alpha)
    torch.testing.assert_close(loss(0.75), -beta * F.logsigmoid(pos) + negative_part)


@pytest.mark.parametrize("dense", [32, 0])  # logits gathered from the full product, or not
@pytest.mark.parametrize("loss", ["sampled", "gbce"])
def test_per_row_negatives_known_value_and_chunks_keep_gradients(loss, dense, monkeypatch):
    monkeypatch.setattr(losses_module, "DENSE_NEGATIVES", dense)
    torch.manual_seed(0)
    hidden = torch.randn(9, 4, requires_grad=True)
    table = torch.randn(7, 4, requires_grad=True)
    targets = torch.randint(0, 7, (9,))
    k = 6

    def run():
        gen = torch.Generator().manual_seed(5)
        if loss == "sampled":
            return sampled_cross_entropy(hidden, table, targets, n_negatives=k, generator=gen)
        return gbce(hidden, table, targets, n_negatives=k, t=0.0, generator=gen)

    # each row has its own k draws, in row order from the generator
    negatives = torch.randint(0, 7, (9, k), generator=torch.Generator().manual_seed(5))
    assert len({tuple(row) for row in negatives.tolist()}) > 1
    pos = (hidden * table[targets]).sum(-1)
    neg = torch.stack([hidden[r] @ table[negatives[r]].T for r in range(9)])
    hit = negatives == targets[:, None]
    if loss == "sampled":
        neg = neg.masked_fill(hit, float("-inf"))
        expected = -pos + torch.logsumexp(torch.cat([pos[:, None], neg], 1), 1)
    else:
        expected = -F.logsigmoid(pos) - (F.logsigmoid(-neg) * ~hit).sum(-1)
    whole = run()
    torch.testing.assert_close(whole, expected)
    monkeypatch.setattr(losses_module, "LOGITS_PER_CHUNK", 2 * k * 4)  # chunks of 2 rows
    chunked = run()
    torch.testing.assert_close(chunked, expected)
    g_whole = torch.autograd.grad(whole.sum(), [hidden, table])
    g_chunk = torch.autograd.grad(chunked.sum(), [hidden, table])
    for a, b in zip(g_whole, g_chunk, strict=True):
        torch.testing.assert_close(a, b)
