"""A small, general training loop with early stopping, example weights and extra loss terms.

Models describe *what* to train through a :class:`TrainingTask` (how to batch, the per-example loss,
how to validate); the :class:`Trainer` owns *how*: optimiser, steps, weights, extra loss terms,
validation cadence, early stopping with the best weights restored, progress bars and the log.
Progress goes through :mod:`logging` (logger ``equirec.training.trainer``): the bar shows when it
is enabled for INFO, a summary of each fit is logged at INFO and every epoch at DEBUG.
Mitigation methods plug in as extra loss terms (adversaries, regularisers) or example weights
(re-weighting) without touching the models.
"""

from __future__ import annotations

import copy
import logging
import math
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from equirec.errors import ConfigError
from equirec.progress import show_progress
from equirec.training import distributed
from equirec.training.distributed import SINGLE, Shard
from equirec.training.privacy import Privacy, PrivateTraining

log = logging.getLogger(__name__)

Batch = dict[str, torch.Tensor]
Outputs = dict[str, torch.Tensor]
LossTerm = Callable[[Batch, Outputs], torch.Tensor]
"""An extra loss term: ``(batch, outputs) -> scalar`` added to the loss at every step.

``outputs`` holds what the model's task exposes (e.g. ``hidden`` states, ``user_repr``), so an
adversary or a regulariser can act on the model's representations.

A term that is a :class:`torch.nn.Module` is moved to the device of the trained module and its
trainable parameters are optimised together with the model's (same optimiser, learning rate,
weight decay and gradient clipping), so a term can learn, e.g. an adversary's discriminator.
Its parameters are not part of the model: they are neither saved nor restored by early
stopping, and they keep their values from one fit to the next.
"""


_VALIDATION_HOOK: ContextVar[Callable[[int, float], None] | None] = ContextVar(
    "equirec_validation_hook", default=None
)


@contextmanager
def on_validation(hook: Callable[[int, float], None]) -> Iterator[None]:
    """Call ``hook(epoch, score)`` after every validation of every :meth:`Trainer.fit` inside
    the block (e.g. a tuner reporting to its pruner; an exception it raises stops training and
    propagates)."""
    token = _VALIDATION_HOOK.set(hook)
    try:
        yield
    finally:
        _VALIDATION_HOOK.reset(token)


class LossTermsMixin:
    """Lets an estimator collect extra loss terms for its :class:`Trainer`.

    Terms are kept by the estimator (not parameters: they are neither cloned nor saved) and apply
    to every later fit. Each model documents the ``batch`` and ``outputs`` keys its terms see.
    """

    def add_loss_term(self, term: LossTerm) -> None:
        """Add ``term(batch, outputs)`` (a scalar tensor) to the training loss at every step."""
        if not hasattr(self, "_extra_losses"):
            self._extra_losses: list[LossTerm] = []
        self._extra_losses.append(term)

    def loss_terms(self) -> tuple[LossTerm, ...]:
        """The extra loss terms added so far."""
        return tuple(getattr(self, "_extra_losses", ()))


class TrainingTask(Protocol):
    """What a model must tell the :class:`Trainer`."""

    def batches(self, rng: np.random.Generator, *, shard: Shard = SINGLE) -> Iterator[Batch | None]:
        """Batches of one epoch (tensors already on the training device). In a process group
        (only then is ``shard`` given): of each, the rows of ``shard`` (``None`` when it holds
        none of them), every process drawing the same batches from ``rng``."""
        ...

    def loss(self, module: nn.Module, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, Outputs]:
        """Per-example losses, their weights (same shape) and outputs for extra loss terms."""
        ...

    def validate(self, module: nn.Module) -> float:
        """Validation score, higher is better (e.g. NDCG@10)."""
        ...

    # Optional: ``n_batches() -> int``, the number of batches per epoch, lets a learning-rate
    # schedule advance within the first epoch too.


SCHEDULES = ("constant", "cosine", "linear")


def lr_factor(progress: float, *, epochs: int, schedule: str, warmup: float) -> float:
    """Multiplier of the base learning rate after ``progress`` epochs (a float) of ``epochs``.

    Linear warm-up from 0 over the first ``warmup`` epochs, then ``schedule``: ``"constant"``,
    ``"cosine"`` (half a cosine down to 0 at ``epochs``) or ``"linear"`` (straight down to 0).
    """
    if warmup > 0 and progress < warmup:
        return progress / warmup
    if schedule == "constant":
        return 1.0
    t = min(1.0, (progress - warmup) / max(1e-12, epochs - warmup))
    if schedule == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * t))
    return 1.0 - t


@dataclass
class TrainingLog:
    """What happened during training; saved with the model and reported with results."""

    epochs: int = 0
    steps: int = 0
    best_epoch: int = 0
    best_score: float = float("nan")
    seconds: float = 0.0
    history: list[dict[str, float]] = field(default_factory=list)
    stopped_early: bool = False
    privacy: dict[str, Any] | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    """Values the model's ``"auto"`` parameters took for the data (empty: none was)."""

    def as_dict(self) -> dict[str, Any]:
        return {
            "privacy": self.privacy,
            "epochs": self.epochs,
            "steps": self.steps,
            "best_epoch": self.best_epoch,
            "best_score": self.best_score,
            "seconds": self.seconds,
            "stopped_early": self.stopped_early,
            "history": self.history,
            "settings": self.settings,
        }


@dataclass
class Trainer:
    """Adam(W) training loop.

    Attributes:
        epochs: Maximum number of passes over the training data.
        lr: Learning rate.
        weight_decay: Decoupled weight decay (AdamW).
        patience: Stop after this many validations without improvement (0 disables).
        eval_every: Validate every this many epochs.
        grad_clip: Clip the gradient norm (0 disables).
        extra_losses: Extra loss terms added to the weighted mean loss at every step (the
            parameters of terms that are modules are trained too: see :data:`LossTerm`).
        seed: Seeds batching and every torch random draw (dropout, sampling).
        min_epochs: Never stop before this many epochs; patience counts only the validations
            without improvement after them (so with early stopping training runs at least
            ``min_epochs + patience`` epochs): a score that peaked early and rises again later
            would otherwise stop right at ``min_epochs``.
        lr_schedule: Learning-rate schedule over ``epochs``: ``"constant"``, ``"cosine"`` or
            ``"linear"`` decay to 0 (see :func:`lr_factor`). A decaying schedule spends its
            budget by ``epochs``; early stopping may still end training sooner.
        warmup_epochs: Epochs (may be fractional) of linear learning-rate warm-up from 0.
        description: Names the fit in progress bars and logs.
        privacy: User-level DP-SGD (:mod:`equirec.training.privacy`): the task's units are
            Poisson-sampled, each unit's gradient clipped, noise added; every epoch runs
            (no validation, no early stopping) and the privacy spent is in the log. The task
            must name its units (``units``, ``make_batch``, ``unit_positions``).
    """

    epochs: int = 200
    lr: float = 1e-3
    weight_decay: float = 0.0
    patience: int = 5
    eval_every: int = 1
    grad_clip: float = 0.0
    extra_losses: Sequence[LossTerm] = ()
    seed: int = 0
    min_epochs: int = 0
    lr_schedule: str = "constant"
    warmup_epochs: float = 0.0
    description: str = "training"
    privacy: Privacy | None = None

    def __post_init__(self) -> None:
        if self.lr_schedule not in SCHEDULES:
            raise ValueError(f"lr_schedule must be one of {SCHEDULES}, not {self.lr_schedule!r}")
        if not 0.0 <= self.warmup_epochs <= self.epochs:
            raise ValueError(
                f"warmup_epochs must be in [0, epochs={self.epochs}], not {self.warmup_epochs!r}"
            )

    def fit(self, module: nn.Module, task: TrainingTask, *, validate: bool = True) -> TrainingLog:
        """Train ``module`` in place; with validation, the best weights are restored at the end.

        In a process group (:mod:`equirec.training.distributed`) every process trains its shard
        of every batch and the gradients are summed over the processes.
        """
        shard = distributed.current()
        torch.manual_seed(self.seed + 7919 * shard.rank)  # dropout: each shard its own masks
        rng = np.random.default_rng(self.seed)  # batches: the same on every process
        if shard.world > 1 and (self.privacy is not None or self.extra_losses):
            raise ConfigError(
                f"{self.description}: private training and a mitigation's loss terms run in "
                "one process; leave out --nproc (or torchrun)"
            )
        private = self._private(task)
        if private is not None:
            validate = False  # choosing the model by private validation items is not covered
        params = [p for p in module.parameters() if p.requires_grad]
        device = params[0].device if params else None
        for term in self.extra_losses:
            if isinstance(term, nn.Module):  # a term that learns (e.g. a discriminator)
                if device is not None:
                    term.to(device)
                known = {id(p) for p in params}
                params += [p for p in term.parameters() if p.requires_grad and id(p) not in known]
        optimizer = torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay)
        result = TrainingLog()
        best_state: dict[str, torch.Tensor] | None = None
        stale = 0
        start = time.perf_counter()
        bar = tqdm(
            range(1, self.epochs + 1),
            desc=self.description,
            disable=not show_progress(log),
            leave=False,
            unit="epoch",
        )
        # Batches per epoch place each step within its epoch for the schedule: from the task when
        # it knows (``n_batches()``), else counted in the first epoch (which then uses the
        # learning rate of its end throughout).
        n_batches = int(getattr(task, "n_batches", lambda: 0)())
        for epoch in bar:
            module.train()
            total, count = 0.0, 0
            if private is not None:
                batches: Iterator[Any] = private.steps(rng)
            elif shard.world > 1:  # a task that trains in processes takes a shard
                batches = task.batches(rng, shard=shard)
            else:
                batches = task.batches(rng)
            for batch in batches:
                if self.lr_schedule != "constant" or self.warmup_epochs > 0:
                    within = min(1.0, (count + 1) / n_batches) if n_batches else 1.0
                    factor = lr_factor(
                        epoch - 1 + within,
                        epochs=self.epochs,
                        schedule=self.lr_schedule,
                        warmup=self.warmup_epochs,
                    )
                    for group in optimizer.param_groups:
                        group["lr"] = self.lr * factor
                optimizer.zero_grad(set_to_none=True)
                if private is not None:
                    loss = private.step(module, params, batch, rng)
                elif shard.world > 1:
                    loss = self._shard_step(module, task, params, batch)
                else:
                    losses, weights, outputs = task.loss(module, batch)
                    loss = (losses * weights).sum() / max(1, losses.numel())
                    for term in self.extra_losses:
                        loss = loss + term(batch, outputs)
                    loss.backward()
                if self.grad_clip > 0 and private is None:
                    nn.utils.clip_grad_norm_(params, self.grad_clip)
                optimizer.step()
                total += float(loss.detach())
                count += 1
                result.steps += 1
            n_batches = count
            result.epochs = epoch
            record = {
                "epoch": float(epoch),
                "loss": total / max(1, count),
                "lr": float(optimizer.param_groups[0]["lr"]),
            }
            if validate and epoch % self.eval_every == 0:
                module.eval()
                score = float("nan")
                if shard.rank == 0:  # validated once; every process stops alike
                    with torch.no_grad():
                        score = float(task.validate(module))
                score = distributed.broadcast_float(score)
                record["valid"] = score
                hook = _VALIDATION_HOOK.get()
                if hook is not None:
                    hook(epoch, score)
                if not score <= result.best_score:  # also true for the first (NaN best)
                    result.best_score, result.best_epoch, stale = score, epoch, 0
                    best_state = copy.deepcopy(module.state_dict())
                elif epoch > self.min_epochs:  # patience counts after min_epochs only
                    stale += 1
                best = f"{result.best_score:.4f}"
                bar.set_postfix(loss=f"{record['loss']:.4f}", valid=f"{score:.4f}", best=best)
                log.debug(
                    "%s epoch %d/%d: loss %.4f, valid %.4f (best %.4f at epoch %d)",
                    self.description,
                    epoch,
                    self.epochs,
                    record["loss"],
                    score,
                    result.best_score,
                    result.best_epoch,
                )
            else:
                bar.set_postfix(loss=f"{record['loss']:.4f}")
                log.debug(
                    "%s epoch %d/%d: loss %.4f",
                    self.description,
                    epoch,
                    self.epochs,
                    record["loss"],
                )
            result.history.append(record)
            if self.patience and stale >= self.patience:
                result.stopped_early = True
                break
        bar.close()
        if private is not None:
            result.privacy = private.spent()
        if best_state is not None:
            module.load_state_dict(best_state)
        module.eval()
        result.seconds = time.perf_counter() - start
        log.info("%s: %s", self.description, _summary(result))
        return result

    @staticmethod
    def _shard_step(
        module: nn.Module, task: TrainingTask, params: Sequence[torch.Tensor], batch: Batch | None
    ) -> torch.Tensor:
        """Set the whole batch's gradient from this process's shard of it; the batch's loss.

        The shard's summed loss is divided by the batch's total count, and the gradients are
        summed over the processes: the mean over the whole batch, as one process computes it.
        """
        device = params[0].device
        if batch is None:  # this shard holds none of the batch's rows
            total = torch.zeros((), device=device)
            count = torch.zeros(1, device=device)
        else:
            losses, weights, _ = task.loss(module, batch)
            total = (losses * weights).sum()
            count = torch.tensor([float(losses.numel())], device=device)
        distributed.all_reduce_sum([count])
        loss = total / max(1.0, float(count.item()))
        if loss.requires_grad:
            loss.backward()
        for p in params:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        value = loss.detach().reshape(1)
        distributed.all_reduce_sum([*(p.grad for p in params if p.grad is not None), value])
        return value[0]

    def _private(self, task: TrainingTask) -> PrivateTraining | None:
        if self.privacy is None:
            return None
        if self.extra_losses:
            raise ConfigError(
                f"{self.description}: private training takes no extra loss terms (a "
                "mitigation's adversary or regulariser reads other users' outputs in a batch)"
            )
        units = getattr(task, "units", None)
        if units is None or not hasattr(task, "make_batch"):
            raise ConfigError(f"{self.description} cannot be trained privately")
        return PrivateTraining(self, task, np.asarray(units), self.privacy)


def _summary(result: TrainingLog) -> str:
    """One line on a finished fit, e.g. ``12 epochs (stopped early) in 3.1 s, best ...``."""
    text = f"{result.epochs} epoch{'s' if result.epochs != 1 else ''}"
    if result.stopped_early:
        text += " (stopped early)"
    text += f" in {result.seconds:.1f} s, final loss "
    text += f"{result.history[-1]['loss']:.4f}" if result.history else "n/a"
    if result.best_epoch:
        text += f", best validation {result.best_score:.4f} at epoch {result.best_epoch}"
    return text
