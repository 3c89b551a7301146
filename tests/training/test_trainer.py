from collections.abc import Iterator

import numpy as np
import pytest
import torch
from torch import nn

from equirec.training.trainer import Trainer, lr_factor


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

    log = Trainer(epochs=300, lr=0.05, extra_losses=[term]).fit(
        model, _LinearTask(torch.ones(16)), validate=False
    )
    assert abs(model.weight.item() - 2.0) < 1e-2
    assert len(calls) == log.steps == 300


def test_zero_weights_remove_examples_from_the_loss():
    torch.manual_seed(0)
    model = nn.Linear(1, 1, bias=False)
    before = model.weight.detach().clone()
    Trainer(epochs=5, lr=0.1).fit(model, _LinearTask(torch.zeros(16)), validate=False)
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
    log = Trainer(epochs=50, lr=0.05, patience=3).fit(model, task)
    assert log.best_epoch == 2 and log.best_score == 0.5
    assert log.stopped_early and log.epochs == 5
    torch.testing.assert_close(model.weight.detach(), snapshots[1])


def test_lr_factor_warms_up_then_decays_to_zero():
    kw = {"epochs": 10, "warmup": 2.0}
    assert lr_factor(1.0, schedule="cosine", **kw) == pytest.approx(0.5)  # half-way up
    assert lr_factor(2.0, schedule="cosine", **kw) == pytest.approx(1.0)
    assert lr_factor(6.0, schedule="cosine", **kw) == pytest.approx(0.5)  # half-way down
    assert lr_factor(10.0, schedule="cosine", **kw) == pytest.approx(0.0)
    assert lr_factor(4.0, schedule="linear", **kw) == pytest.approx(0.75)
    assert lr_factor(9.0, schedule="constant", **kw) == 1.0
    assert lr_factor(3.0, epochs=10, schedule="linear", warmup=0.0) == pytest.approx(0.7)


class _MultiBatchTask(_LinearTask):
    """Four batches per epoch; records the learning rate every step saw."""

    def __init__(self, optimizer_lrs: list[float], *, known: bool) -> None:
        super().__init__(torch.ones(4))
        self.lrs = optimizer_lrs
        if known:
            self.n_batches = lambda: 4

    def batches(self, rng):
        for i in range(4):
            yield {"x": self.x[4 * i : 4 * i + 4], "y": self.y[4 * i : 4 * i + 4]}


@pytest.mark.parametrize("known", [True, False])
def test_schedule_steps_within_epochs(monkeypatch, known):
    seen: list[float] = []
    original = torch.optim.AdamW.step

    def step(self, *args, **kwargs):
        seen.append(self.param_groups[0]["lr"])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.AdamW, "step", step)
    model = nn.Linear(1, 1, bias=False)
    trainer = Trainer(epochs=4, lr=0.1, lr_schedule="linear", warmup_epochs=1)
    log = trainer.fit(model, _MultiBatchTask(seen, known=known), validate=False)
    assert len(seen) == log.steps == 16
    first = [0.025, 0.05, 0.075, 0.1] if known else [0.1] * 4  # counted in epoch 1 if unknown
    np.testing.assert_allclose(seen[:4], first)
    # then linear decay from 0.1 (end of warm-up) to 0 at the end of epoch 4
    np.testing.assert_allclose(seen[4:], 0.1 * (1 - np.arange(1, 13) / 12), atol=1e-12)
    assert log.history[-1]["lr"] == pytest.approx(0.0)


def test_unknown_schedule_is_rejected():
    with pytest.raises(ValueError, match="lr_schedule"):
        Trainer(lr_schedule="step")
    with pytest.raises(ValueError, match="warmup_epochs"):
        Trainer(epochs=3, warmup_epochs=5)


def test_patience_counts_only_after_min_epochs():
    # Peak at epoch 1, flat until a late rise at epoch 7: with min_epochs 4 and patience 3
    # training must not stop at epoch 4 (3 stale validations before it do not count).
    scores = [0.5, 0.1, 0.1, 0.1, 0.1, 0.1, 0.6, 0.1, 0.1, 0.1, 0.1]
    model = nn.Linear(1, 1, bias=False)
    task = _LinearTask(torch.ones(16), scores=scores)
    log = Trainer(epochs=50, lr=0.05, patience=3, min_epochs=4).fit(model, task)
    assert log.best_epoch == 7 and log.best_score == 0.6
    assert log.stopped_early and log.epochs == 10
    flat = _LinearTask(torch.ones(16), scores=[0.5] + [0.1] * 20)
    log = Trainer(epochs=50, lr=0.05, patience=3, min_epochs=4).fit(model, flat)
    assert log.epochs == 4 + 3  # at least min_epochs + patience
