"""Loss terms that are modules: the trainer optimises their parameters with the model's."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch
from torch import nn

from equirec.training.trainer import Trainer


class _Task:
    """Regression of y = 2x (one batch per epoch)."""

    def __init__(self) -> None:
        self.x = torch.linspace(-1, 1, 16)[:, None]

    def batches(self, rng: np.random.Generator) -> Iterator[dict[str, torch.Tensor]]:
        yield {"x": self.x}

    def loss(self, module, batch):
        pred = module(batch["x"])[:, 0]
        return (pred - 2 * batch["x"][:, 0]) ** 2, torch.ones(16), {"pred": pred}

    def validate(self, module) -> float:
        return 0.0


class _Pull(nn.Module):
    """A term that learns: pulls its own parameter (and nothing else) towards 3."""

    def __init__(self) -> None:
        super().__init__()
        self.target = nn.Parameter(torch.zeros(()))

    def forward(self, batch, outputs):
        return (self.target - 3.0) ** 2


def test_trainer_optimises_the_parameters_of_module_terms():
    torch.manual_seed(0)
    model = nn.Linear(1, 1, bias=False)
    term = _Pull()
    Trainer(epochs=300, lr=0.05, extra_losses=[term, term]).fit(model, _Task(), validate=False)
    assert abs(term.target.item() - 3.0) < 1e-2  # trained (once, though listed twice)
    assert abs(model.weight.item() - 2.0) < 1e-2  # the model still trains
    plain = _Pull()
    Trainer(epochs=5, lr=0.05, extra_losses=[lambda b, o: plain(b, o)]).fit(
        nn.Linear(1, 1), _Task(), validate=False
    )
    assert plain.target.item() == 0.0  # a plain callable's parameters are not optimised
