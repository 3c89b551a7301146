"""Group-gap penalty: the gap between user groups of the mean training loss in each batch."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from equirec.data.dataset import Dataset
from equirec.errors import ConfigError, DataError
from equirec.fairness.groups import Groups
from equirec.mitigation.inprocessing._shared import (
    _check_lam,
    _codes,
    _n_classes,
    _user_groups,
    _zero,
)
from equirec.training.trainer import Batch, Outputs

__all__ = ["Aggregate", "GroupGapPenalty"]

Aggregate = Literal["mad", "variance"]
"""How group values are combined: mean absolute pairwise difference, or variance over groups."""

_AGGREGATES = ("mad", "variance")


def _check_aggregate(aggregate: str, what: str) -> None:
    if aggregate not in _AGGREGATES:
        raise ConfigError(
            f"{what}: aggregate must be one of {list(_AGGREGATES)}, got {aggregate!r}"
        )


def _aggregate(values: torch.Tensor, aggregate: str) -> torch.Tensor:
    """Mean absolute pairwise difference (``"mad"``) or population variance of ``values``."""
    if aggregate == "variance":
        return values.var(unbiased=False)
    diffs = (values[:, None] - values[None, :]).abs()
    n = values.shape[0]
    return diffs.sum() / (n * (n - 1))


class GroupGapPenalty(nn.Module):
    """Penalise the gap between user groups of the mean training loss in each batch.

    With ``ℓ_e`` the per-example loss of the batch (``outputs["losses"]``: one per BPR triple,
    one per target position of a transformer) and ``w_e`` its weight (``batch["weights"]``, the
    interactions' weights), the mean loss of group ``g`` in the batch is
    ``m_g = Σ_{e∈g} w_e ℓ_e / Σ_{e∈g} w_e`` over the examples of the group's users, and the term's
    value is ``λ · agg(m)`` over the groups present in the batch, with ``agg`` the mean absolute
    difference over pairs of groups (``"mad"``, default; ``|m_A − m_B|`` for two groups) or
    the population variance of the ``m_g`` (``"variance"``). Users without a group (code ``-1``)
    are left out; a batch with fewer than two groups contributes 0.

    Gradient. Two departures from the plain gradient of the batch value, both on by default,
    because on synthetic data the plain gradient *widened* the gap of SASRec and made BPR
    collapse to constant scores:

    - *Levelling down.* The plain gradient of ``|m_A − m_B|`` raises the loss of the
      better-served group as much as it lowers the other's, and gradient ascent on a
      cross-entropy is easy (destroy that group's predictions). With ``raise_better=False``
      the gradient flows only into the worse-served groups' means (the positive part of each
      group's coefficient ``∂agg/∂m_g``): the penalty up-weights the losses of the groups that
      are served worse and never trains the model to serve a group worse on purpose.
    - *Noise.* The batch means are noisy (a minority group may have a handful of users in a
      batch), so which group is worse changes from batch to batch, and the gradient of a gap
      also penalises the noise itself (pushing every example's loss towards the same value).
      With ``smoothing > 0`` the coefficients are taken at running means ``r_g`` of the group
      means (exponential moving averages with factor ``smoothing``, updated at every step):
      the value is still ``λ · agg(m)``, but the gradient is ``λ · Σ_g c_g · ∇m_g`` with
      ``c_g = ∂agg/∂m_g`` at ``r`` — for two groups ``λ · ∇m_worse`` (one-sided) or
      ``λ · sign(r_A − r_B) · (∇m_A − ∇m_B)`` (two-sided), whatever the noise of the batch.

    ``smoothing=0, raise_better=True`` gives the plain gradient of the batch value. The running
    means are a buffer kept across fits (:meth:`reset` clears them).

    Args:
        groups: :class:`~equirec.fairness.groups.Groups` (or integer codes) per internal user
            index, ``-1`` = no group — e.g. a categorical attribute or ``activity_groups`` (UGF).
        lam: Weight ``λ >= 0``.
        aggregate: ``"mad"`` or ``"variance"``.
        smoothing: Factor of the running group means in ``[0, 1)`` (0 = the batch's means).
        raise_better: Let the gradient also raise the loss of better-served groups.

    Raises:
        ConfigError: ``lam < 0``, unknown ``aggregate``, ``smoothing`` outside ``[0, 1)``, fewer
            than two groups.
    """

    def __init__(
        self,
        groups: Groups | np.ndarray | torch.Tensor,
        *,
        lam: float = 1.0,
        aggregate: Aggregate = "mad",
        smoothing: float = 0.9,
        raise_better: bool = False,
    ) -> None:
        super().__init__()
        what = "GroupGapPenalty"
        self.lam = _check_lam(lam, what)
        _check_aggregate(aggregate, what)
        if not 0.0 <= float(smoothing) < 1.0:
            raise ConfigError(f"{what}: smoothing must be in [0, 1), got {smoothing!r}")
        self.aggregate: Aggregate = aggregate
        self.smoothing = float(smoothing)
        self.raise_better = bool(raise_better)
        codes = _codes(groups, what)
        name = groups.name if isinstance(groups, Groups) else "groups"
        self.n_groups = _n_classes(codes, name, what)
        self.attribute = name
        self.codes: torch.Tensor
        self.running: torch.Tensor
        self.register_buffer("codes", torch.from_numpy(codes))
        self.register_buffer("running", torch.full((self.n_groups,), torch.nan))

    @classmethod
    def from_dataset(cls, dataset: Dataset, *, attribute: str, **params: Any) -> GroupGapPenalty:
        """Groups from a categorical (or numeric) user attribute of ``dataset``.

        Args:
            dataset: The training data (its user vocabulary is the model's).
            attribute: Categorical (or numeric, each value a group) user attribute.
            **params: The constructor's keyword parameters (``lam``, ``aggregate``...).

        Raises:
            ConfigError: Unknown attribute (the message lists the dataset's), an unusable kind,
                fewer than two classes, or a bad parameter.
        """
        groups = _user_groups(dataset, attribute, "GroupGapPenalty")
        return cls(groups, **params)

    def reset(self) -> None:
        """Forget the running group means (e.g. before fitting another model)."""
        self.running.fill_(torch.nan)

    def group_means(self, batch: Batch, outputs: Outputs) -> torch.Tensor:
        """Weighted mean per-example loss of every group in the batch, NaN for absent groups."""
        losses = outputs.get("losses")
        if losses is None or "users" not in batch:
            raise DataError(
                "GroupGapPenalty: needs batch['users'] and outputs['losses'] (per-example "
                "losses; BPR, SASRec and BERT4Rec provide them); got outputs keys "
                f"{sorted(outputs)}"
            )
        users = batch["users"]
        weights = batch.get("weights")
        if losses.shape[0] != users.shape[0]:  # transformers: one example per target position
            mask = outputs.get("target_mask")
            if mask is None or mask.shape[0] != users.shape[0]:
                raise DataError(
                    f"GroupGapPenalty: {losses.shape[0]} per-example losses for "
                    f"{users.shape[0]} users and no matching outputs['target_mask']"
                )
            users = users[:, None].expand_as(mask)[mask]
            weights = weights[mask] if weights is not None and weights.shape == mask.shape else None
        w = torch.ones_like(losses) if weights is None else weights.to(losses.dtype)
        codes = self.codes.to(users.device)[users]
        w = w * (codes >= 0)
        index = codes.clamp(min=0)
        zeros = losses.new_zeros(self.n_groups)
        sums = zeros.index_add(0, index, losses * w)
        counts = zeros.index_add(0, index, w)
        return torch.where(counts > 0, sums / counts.clamp(min=1e-12), torch.nan)

    def forward(self, batch: Batch, outputs: Outputs) -> torch.Tensor:
        """``λ · agg`` of the groups' mean losses in the batch (0 with fewer than two groups)."""
        means = self.group_means(batch, outputs)
        present = ~torch.isnan(means)
        if int(present.sum()) < 2:
            return _zero(outputs["losses"])
        m = means[present]
        value = self.lam * _aggregate(m, self.aggregate)
        if self.smoothing == 0.0 and self.raise_better:
            return value
        with torch.no_grad():
            running = self.running.to(means.device)
            s = self.smoothing
            update = torch.where(torch.isnan(running), means, s * running + (1 - s) * means)
            running = torch.where(present, update, running)
            self.running.copy_(running.to(self.running.device))
        ref = (running[present] if self.smoothing > 0 else m).detach().requires_grad_(True)
        with torch.enable_grad():
            (coef,) = torch.autograd.grad(_aggregate(ref, self.aggregate), ref)
        if not self.raise_better:
            coef = coef.clamp(min=0.0)
        return value.detach() + self.lam * (coef * (m - m.detach())).sum()

    def extra_repr(self) -> str:
        return (
            f"attribute={self.attribute!r}, lam={self.lam}, aggregate={self.aggregate!r}, "
            f"smoothing={self.smoothing}, raise_better={self.raise_better}"
        )
