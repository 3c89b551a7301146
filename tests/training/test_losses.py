import math

import torch
import torch.nn.functional as F

from equirec.training.losses import full_cross_entropy, sampled_cross_entropy


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
    losses = sampled_cross_entropy(hidden, table, targets, n_negatives=n_neg, generator=gen)
    gen = torch.Generator().manual_seed(0)
    negatives = torch.randint(0, 5, (n_neg,), generator=gen)
    for row, t in enumerate(targets.tolist()):
        kept = int((negatives != t).sum())
        # all logits are 0: loss = log(1 + number of unmasked negatives)
        assert math.isclose(float(losses[row]), math.log(1 + kept), rel_tol=1e-5)
