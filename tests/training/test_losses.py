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
