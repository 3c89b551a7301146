from collections.abc import Iterator

import numpy as np
import torch
from torch import nn

from equirec.training.trainer import Trainer


class _LinearTask:
    """Regression of y = 2x with per-example weights and scripted validation scores."""

    def __init__(self, weights: torch.Tensor, scores: list[float] | None = None) -> None:
        self.x = torch.linspace(-1, 1, 16)[:, None]
        self.y = 2 * self.x[:, 0]
        self.w = weights
        self.scores = list(scores or [])
        self.validated = 0

    def batches(self, rng: np.random.Generator) -> Iterator[dict[str, torch.Tensor]]:
        yield {"x": self.x, "y": self.y}

    def loss(self, module, batch):
        pred = module(batch["x"])[:, 0]
        return (pred - batch["y"]) ** 2, self.w, {"pred": pred}

    def validate(self, module) -> float:
        self.validated += 1
        return self.scores.pop(0) if self.scores else 0.0


def test_trainer_learns_and_extra_terms_are_added():
    torch.manual_seed(0)
    model = nn.Linear(1, 1, bias=False)
    calls = []

    def term(batch, outputs):
        calls.append(1)
        return 0.0 * outputs["pred"].sum()

    log = Trainer(epochs=300, lr=0.05, verbose=False, extra_losses=[term]).fit(
        model, _LinearTask(torch.ones(16)), validate=False
    )
    assert abs(model.weight.item() - 2.0) < 1e-2
    assert len(calls) == log.steps == 300


def test_zero_weights_remove_examples_from_the_loss():
    torch.manual_seed(0)
    model = nn.Linear(1, 1, bias=False)
    before = model.weight.detach().clone()
    Trainer(epochs=5, lr=0.1, verbose=False).fit(
        model, _LinearTask(torch.zeros(16)), validate=False
    )
    torch.testing.assert_close(model.weight.detach(), before)


def test_early_stopping_restores_the_best_weights():
    torch.manual_seed(0)
    model = nn.Linear(1, 1, bias=False)
    snapshots = []

    class Task(_LinearTask):
        def validate(self, module):
            snapshots.append(module.weight.detach().clone())
            return super().validate(module)

    task = Task(torch.ones(16), scores=[0.1, 0.5, 0.2, 0.3, 0.4, 0.1])
    log = Trainer(epochs=50, lr=0.05, patience=3, verbose=False).fit(model, task)
    assert log.best_epoch == 2 and log.best_score == 0.5
    assert log.stopped_early and log.epochs == 5
    torch.testing.assert_close(model.weight.detach(), snapshots[1])
