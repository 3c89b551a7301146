"""User-level differentially private training (DP-SGD) with the privacy spent accounted.

Every privacy unit (a user: their whole training history is one example) joins each step with
probability ``q`` (Poisson sampling). Each unit's gradient is computed on its own and clipped to
norm ``C``; Gaussian noise of standard deviation ``σ·C`` is added to their sum, which is divided
by the expected batch ``q·N`` (Abadi et al. 2016). Where the task gives one unit's loss from its
row of a batch (``unit_loss``: SASRec and BERT4Rec), the units' gradients come from one
vectorised pass (``torch.func.vmap`` of ``grad``), else from one backward pass per unit. Either
is exact for every layer, tied input/output embeddings and attention included, where per-sample
gradient hooks would miss a table used outside its module. The privacy spent is Opacus' Rényi
accountant for the sampled Gaussian mechanism (Mironov et al. 2019), converted to ``(ε, δ)``; a
target ε gives ``σ`` through Opacus' ``get_noise_multiplier``. The optimiser's update (AdamW)
is post-processing.

Only the units' gradients are protected: a run's early stopping on validation items of the
same users would choose the model by private data, so private training runs every epoch and
keeps the last weights.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from equirec.errors import ConfigError

__all__ = [
    "Privacy",
    "PrivacyBudget",
    "PrivateTraining",
    "accountant",
    "noisy_gradient",
    "private_settings",
    "resolve_privacy",
    "sample_units",
    "steps_per_epoch",
]

ACCOUNTANT = "rdp"
ALPHAS = (
    [1 + x / 100 for x in range(1, 10)] + [1 + x / 10 for x in range(1, 100)] + list(range(11, 256))
)
"""Rényi orders the ε is minimised over (Opacus' default range, widened at both ends so that a
small or a large ε is not bounded by the range)."""


@dataclass(frozen=True)
class Privacy:
    """User-level DP-SGD settings (exactly one of ``noise_multiplier`` and ``epsilon``).

    Attributes:
        noise_multiplier: ``σ``: the noise's standard deviation over the clipping norm.
        epsilon: A target ``ε`` for the whole training; ``σ`` is found for it.
        delta: ``δ`` (default ``1 / (10 N)`` for ``N`` units, below ``1 / N``).
        max_grad_norm: The clipping norm ``C`` of each unit's gradient (``None``: no clipping,
            which gives no guarantee unless the noise is 0: for checks only).
        sample_rate: ``q``, each unit's chance to join a step (default: the model's batch size
            over ``N``).
    """

    noise_multiplier: float | None = None
    epsilon: float | None = None
    delta: float | None = None
    max_grad_norm: float | None = 1.0
    sample_rate: float | None = None


@dataclass(frozen=True)
class PrivacyBudget:
    """The settings a private training runs with, all resolved."""

    noise_multiplier: float
    delta: float
    max_grad_norm: float | None
    sample_rate: float
    steps: int
    units: int
    target_epsilon: float | None


def resolve_privacy(
    privacy: Privacy, *, units: int, epochs: int, batch_size: int, name: str
) -> PrivacyBudget:
    """Check ``privacy`` and resolve its defaults and the noise for a target ε.

    Raises:
        ConfigError: ε ≤ 0, δ outside (0, 1), both or neither of ε and σ, a bad clipping norm
            or sampling rate (each named, with what is valid).
    """
    if units < 1:
        raise ConfigError(f"{name}: private training needs at least one user to train on")
    eps, sigma = privacy.epsilon, privacy.noise_multiplier
    if (eps is None) == (sigma is None):
        raise ConfigError(
            f"{name}: private training needs exactly one of epsilon (a target) and "
            f"noise_multiplier, not {'both' if eps is not None else 'neither'}"
        )
    if eps is not None and not (eps > 0 and math.isfinite(eps)):
        raise ConfigError(f"{name}: epsilon must be a positive number, not {eps!r}")
    if sigma is not None and not sigma >= 0:
        raise ConfigError(f"{name}: noise_multiplier must be >= 0, not {sigma!r}")
    delta = 1.0 / (10 * units) if privacy.delta is None else float(privacy.delta)
    if not 0.0 < delta < 1.0:
        raise ConfigError(
            f"{name}: delta must be in (0, 1), not {privacy.delta!r} (choose it below 1 / "
            f"{units} users, e.g. {1.0 / (10 * units):.2g})"
        )
    clip = privacy.max_grad_norm
    if clip is not None and not clip > 0:
        raise ConfigError(f"{name}: max_grad_norm must be > 0 (or None), not {clip!r}")
    if clip is None and (eps is not None or (sigma or 0.0) > 0):
        raise ConfigError(
            f"{name}: the noise is calibrated to the clipping norm: give max_grad_norm (no "
            "clipping is only for noise_multiplier = 0, which protects nothing)"
        )
    q = min(1.0, batch_size / units) if privacy.sample_rate is None else privacy.sample_rate
    if not 0.0 < q <= 1.0:
        raise ConfigError(f"{name}: sample_rate must be in (0, 1], not {q!r}")
    steps = epochs * steps_per_epoch(q)
    if eps is not None:
        from opacus.accountants.utils import get_noise_multiplier

        with warnings.catch_warnings():  # the search tries noises far from the answer
            warnings.filterwarnings("ignore", message="Optimal order is")
            sigma = float(
                get_noise_multiplier(
                    target_epsilon=eps,
                    target_delta=delta,
                    sample_rate=q,
                    steps=steps,
                    accountant=ACCOUNTANT,
                    alphas=ALPHAS,
                )
            )
    assert sigma is not None
    return PrivacyBudget(
        noise_multiplier=float(sigma),
        delta=delta,
        max_grad_norm=clip,
        sample_rate=q,
        steps=steps,
        units=units,
        target_epsilon=eps,
    )


def steps_per_epoch(q: float) -> int:
    """Steps that sample ``N`` units in expectation: ``1 / q``, rounded."""
    return max(1, round(1.0 / q))


def accountant() -> Any:
    """A fresh Rényi accountant (``pip install 'equirec[privacy]'``)."""
    try:
        from opacus.accountants import RDPAccountant
    except ImportError as exc:
        raise ConfigError("private training needs Opacus: pip install 'equirec[privacy]'") from exc
    return RDPAccountant()


def noisy_gradient(
    params: Sequence[torch.Tensor],
    unit_gradients: Iterable[Sequence[torch.Tensor | None]],
    budget: PrivacyBudget,
    generator: torch.Generator,
) -> None:
    """Set every parameter's ``.grad`` to the private gradient of one step.

    Args:
        params: The trained parameters.
        unit_gradients: The sampled units' gradients in chunks: per chunk, one tensor per
            parameter whose first dimension is the chunk's units (``None``: no gradient).
        budget: The resolved settings.
        generator: Draws the noise.
    """
    total = [torch.zeros_like(p) for p in params]
    clip = budget.max_grad_norm
    for grads in unit_gradients:
        present = [g for g in grads if g is not None]
        if not present:
            continue
        n = present[0].shape[0]
        norms = torch.stack([(g.reshape(n, -1).float() ** 2).sum(1) for g in present]).sum(0).sqrt()
        factor = torch.ones(n) if clip is None else (clip / (norms + 1e-12)).clamp(max=1.0)
        for acc, g in zip(total, grads, strict=True):
            if g is not None:
                acc.add_(torch.tensordot(factor.to(g.dtype).to(g.device), g, dims=1))
    scale = budget.noise_multiplier * (clip or 0.0)
    expected = budget.sample_rate * budget.units
    for p, acc in zip(params, total, strict=True):
        if scale > 0:
            noise = torch.randn(acc.shape, generator=generator, device="cpu").to(acc.device)
            acc.add_(noise, alpha=scale)
        p.grad = acc / expected


UNIT_GRADIENT_BYTES = 2**28
"""Memory for the per-unit gradients of one chunk computed at once (256 MiB)."""


def sample_units(units: np.ndarray, q: float, rng: np.random.Generator) -> np.ndarray:
    """Poisson sampling: every unit joins with probability ``q`` (the batch may be empty)."""
    return units[rng.random(len(units)) < q]


class PrivateTraining:
    """One private fit: Poisson-sampled steps, each unit's clipped gradient, the accountant.

    Args:
        trainer: The :class:`~equirec.training.trainer.Trainer` (its epochs, seed, name).
        task: The training task; its ``units`` are the privacy units (users), ``make_batch``
            builds one unit's batch, ``unit_positions()`` is the mean number of loss terms
            per unit, which scales each unit's summed loss as ordinary training's mean does
            (with ``q = 1``, no clipping and no noise the two train alike), and
            ``batch_size`` gives the default sampling rate.
        units: The units.
        privacy: The settings.
    """

    def __init__(self, trainer: Any, task: Any, units: np.ndarray, privacy: Privacy) -> None:
        self.task = task
        self.units = units
        self.budget = resolve_privacy(
            privacy,
            units=len(units),
            epochs=int(trainer.epochs),
            batch_size=int(getattr(task, "batch_size", 1)),
            name=trainer.description,
        )
        self.per_unit = float(task.unit_positions())
        self.generator = torch.Generator().manual_seed(int(trainer.seed))
        self.accountant = accountant()

    def steps(self, rng: np.random.Generator) -> Any:
        """One epoch's steps: the units sampled for each."""
        for _ in range(steps_per_epoch(self.budget.sample_rate)):
            yield sample_units(self.units, self.budget.sample_rate, rng)

    def step(
        self,
        module: torch.nn.Module,
        params: Sequence[torch.Tensor],
        units: np.ndarray,
        rng: np.random.Generator,
    ) -> torch.Tensor:
        """Set the private gradient of a step over ``units``; their mean loss, for the log."""
        seen: list[float] = []
        make = getattr(self.task, "unit_loss", None)
        unit_loss = None if make is None else make(module)
        if unit_loss is not None and len(units):
            chunks = self._vectorised(unit_loss, params, units, rng, seen)
        else:
            chunks = self._one_by_one(module, params, units, rng, seen)
        noisy_gradient(params, chunks, self.budget, self.generator)
        self.accountant.step(
            noise_multiplier=self.budget.noise_multiplier, sample_rate=self.budget.sample_rate
        )
        return torch.tensor(float(np.mean(seen)) if seen else 0.0)

    def _one_by_one(
        self,
        module: torch.nn.Module,
        params: Sequence[torch.Tensor],
        units: np.ndarray,
        rng: np.random.Generator,
        seen: list[float],
    ) -> Iterator[list[torch.Tensor | None]]:
        """Each unit's gradient by its own backward pass (any task)."""
        for unit in units:
            got, weights, _ = self.task.loss(module, self.task.make_batch(np.array([unit]), rng))
            loss = (got * weights).sum() / self.per_unit
            seen.append(float(loss.detach()))
            grads = torch.autograd.grad(loss, params, allow_unused=True)
            yield [None if g is None else g[None] for g in grads]

    def _vectorised(
        self,
        unit_loss: torch.nn.Module,
        params: Sequence[torch.Tensor],
        units: np.ndarray,
        rng: np.random.Generator,
        seen: list[float],
    ) -> Iterator[list[torch.Tensor | None]]:
        """The units' gradients in chunks, vectorised over units (``torch.func``: one forward
        and backward per chunk, each unit's gradient exact and apart). ``unit_loss`` holds the
        model and maps one unit's row of a batch to its summed loss."""
        from torch.func import functional_call, grad_and_value, vmap

        names = {id(p): name for name, p in unit_loss.named_parameters()}
        trained = [names[id(p)] for p in params]
        state = {n: p.detach() for n, p in unit_loss.named_parameters() if n not in trained}
        state |= dict(unit_loss.named_buffers())
        size = sum(p.numel() * p.element_size() for p in params)
        chunk = max(1, min(len(units), UNIT_GRADIENT_BYTES // max(1, size)))

        def loss_of(weights: dict[str, torch.Tensor], row: dict[str, torch.Tensor]) -> torch.Tensor:
            return functional_call(unit_loss, {**state, **weights}, (row,)) / self.per_unit

        per_unit = vmap(grad_and_value(loss_of), in_dims=(None, 0), randomness="different")
        weights = {n: p.detach() for n, p in zip(trained, params, strict=True)}
        for start in range(0, len(units), chunk):
            batch = self.task.make_batch(units[start : start + chunk], rng)
            with warnings.catch_warnings():  # attention's backward runs unbatched: exact
                warnings.filterwarnings("ignore", message="There is a performance drop")
                grads, losses = per_unit(weights, batch)
            seen.extend(losses.detach().tolist())
            yield [grads[n] for n in trained]

    def spent(self) -> dict[str, Any]:
        """The privacy spent and the settings, for the training log and metrics.json."""
        b = self.budget
        return {
            "unit": "user",
            "epsilon": float(self.accountant.get_epsilon(delta=b.delta, alphas=ALPHAS))
            if b.noise_multiplier > 0
            else math.inf,  # no noise: no guarantee
            "delta": b.delta,
            "target_epsilon": b.target_epsilon,
            "noise_multiplier": b.noise_multiplier,
            "max_grad_norm": b.max_grad_norm,
            "sample_rate": b.sample_rate,
            "steps": int(sum(step[2] for step in self.accountant.history)),
            "units": b.units,
            "accountant": "Opacus RDP (sampled Gaussian mechanism)",
        }


PRIVACY_KEYS = ("noise_multiplier", "epsilon", "delta", "max_grad_norm", "sample_rate")


def private_settings(privacy: Any, *, name: str) -> Privacy | None:
    """The ``privacy`` parameter as :class:`~equirec.training.privacy.Privacy` (``None``: off).

    Raises:
        ConfigError: Not a table, an unknown key or a value that is not a number.
    """
    if privacy is None:
        return None
    if not isinstance(privacy, dict):
        raise ConfigError(f"{name}: privacy must be a table of {PRIVACY_KEYS}, not {privacy!r}")
    unknown = sorted(set(privacy) - set(PRIVACY_KEYS))
    if unknown:
        raise ConfigError(
            f"{name}: unknown privacy key(s) {unknown}; the keys are {', '.join(PRIVACY_KEYS)}"
        )
    for key, value in privacy.items():
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ConfigError(f"{name}: privacy.{key} must be a number, not {value!r}")
    return Privacy(**{k: None if v is None else float(v) for k, v in privacy.items()})
