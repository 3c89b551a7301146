"""Exposure penalty: the disparity between item groups of the probability mass the model gives."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from equirec.data.dataset import Dataset
from equirec.errors import ConfigError, DataError
from equirec.fairness.groups import Groups, categorical_groups
from equirec.mitigation.inprocessing._shared import (
    _check_lam,
    _codes,
    _first_rows,
    _n_classes,
    _users_and_reprs,
)
from equirec.training.trainer import Batch, Outputs

__all__ = ["ExposurePenalty"]


class ExposurePenalty(nn.Module):
    """Penalise the disparity between item groups of the probability mass the model gives them.

    For the distinct users ``u`` of the batch (at most ``max_users``, in order of first
    appearance) the model's scores of the whole catalogue ``s_u = user_repr_u · item_table^T``
    (``outputs["item_table"]``) become a distribution ``p_u = softmax(s_u / τ)``; the mean mass
    of group ``g`` (``|g|`` items of the ``|I|``) relative to its share of the catalogue is

        ``r_g = mean_u Σ_{i∈g} p_ui / (|g| / |I|)``

    (``|I| ×`` the mean probability per item of the group; 1 for every group when the
    distribution is uniform). The term is ``λ · mean_{g<h} (r_g − r_h)²`` over the pairs of
    groups, i.e. ``λ · (r_head − r_tail)²`` for two groups: the squared difference between the
    groups' mean probability mass per item, normalised by group size. Items without a group
    (code ``-1``) count in ``|I|`` only. A lower temperature ``τ`` concentrates ``p_u`` on the
    top of the ranking (what a top-k list shows).

    Args:
        item_groups: :class:`~equirec.fairness.groups.Groups` (or integer codes) per internal item
            index, ``-1`` = no group.
        lam: Weight ``λ >= 0``.
        temperature: Softmax temperature ``τ > 0``.
        max_users: Distinct users of a batch used (bounds the ``users × items`` scores; ``None``
            = all).

    Raises:
        ConfigError: ``lam < 0``, ``temperature <= 0``, ``max_users < 1``, fewer than two groups.
    """

    def __init__(
        self,
        item_groups: Groups | np.ndarray | torch.Tensor,
        *,
        lam: float = 1.0,
        temperature: float = 1.0,
        max_users: int | None = 256,
    ) -> None:
        super().__init__()
        what = type(self).__name__
        self.lam = _check_lam(lam, what)
        if not float(temperature) > 0 or not math.isfinite(float(temperature)):
            raise ConfigError(f"{what}: temperature must be > 0, got {temperature!r}")
        if max_users is not None and int(max_users) < 1:
            raise ConfigError(f"{what}: max_users must be >= 1 or None, got {max_users!r}")
        self.temperature = float(temperature)
        self.max_users = None if max_users is None else int(max_users)
        codes = _codes(item_groups, what)
        name = item_groups.name if isinstance(item_groups, Groups) else "item groups"
        self.n_groups = _n_classes(codes, name, what, unit="item")
        self.labels: tuple[str, ...] = (
            tuple(item_groups.labels)
            if isinstance(item_groups, Groups)
            else tuple(str(g) for g in range(self.n_groups))
        )
        sizes = np.bincount(codes[codes >= 0], minlength=self.n_groups).astype(np.float64)
        share = sizes / len(codes)
        self.codes: torch.Tensor
        self.share: torch.Tensor
        self.register_buffer("codes", torch.from_numpy(codes))
        # Empty groups (never in the penalty) get share inf so that their r_g is 0 and ignored.
        self.register_buffer("share", torch.from_numpy(np.where(sizes > 0, share, np.inf)).float())
        self.present: torch.Tensor
        self.register_buffer("present", torch.from_numpy(sizes > 0))

    @classmethod
    def from_item_attribute(
        cls, dataset: Dataset, attribute: str, **params: Any
    ) -> ExposurePenalty:
        """Item groups from a categorical item attribute of ``dataset`` (e.g. ``provider``).

        Args:
            dataset: The training data.
            attribute: Categorical item attribute (e.g. ``provider``).
            **params: The constructor's keyword parameters (``lam``, ``temperature``...).

        Raises:
            ConfigError: Unknown or non-categorical attribute (the message lists the
                dataset's), fewer than two groups, or a bad parameter.
        """
        kinds = dataset.item_attribute_kinds
        if dataset.item_attributes is None or attribute not in kinds:
            raise ConfigError(
                f"{cls.__name__}: unknown item attribute {attribute!r}; the dataset "
                f"{dataset.name!r} has {sorted(kinds) if kinds else 'no item attributes'}"
            )
        if kinds[attribute] not in ("categorical", "numeric"):
            raise ConfigError(
                f"{cls.__name__}: item attribute {attribute!r} is {kinds[attribute]}; use a "
                "categorical one"
            )
        groups = categorical_groups(dataset.item_attributes[attribute], name=attribute)
        return cls(groups, **params)

    def group_ratios(self, batch: Batch, outputs: Outputs) -> torch.Tensor:
        """``r_g`` of every group for the batch's users (0 for empty groups)."""
        if "item_table" not in outputs:
            raise DataError(
                f"{type(self).__name__}: needs outputs['item_table'] (BPR, SASRec and BERT4Rec "
                f"provide it when a loss term is added); got outputs keys {sorted(outputs)}"
            )
        users, reprs = _users_and_reprs(batch, outputs, type(self).__name__)
        table = outputs["item_table"]
        if table.shape[0] != self.codes.shape[0]:
            raise DataError(
                f"{type(self).__name__}: item groups cover {self.codes.shape[0]} items but the "
                f"model scores {table.shape[0]}: build the penalty from the model's training data"
            )
        rows = _first_rows(users)
        if self.max_users is not None:
            rows = rows[: self.max_users]
        probs = torch.softmax((reprs[rows] @ table.T) / self.temperature, dim=1)
        per_item = probs.mean(0)
        codes = self.codes.to(per_item.device)
        keep = codes >= 0
        mass = per_item.new_zeros(self.n_groups).index_add(0, codes[keep], per_item[keep])
        return mass / self.share.to(mass.device)

    def forward(self, batch: Batch, outputs: Outputs) -> torch.Tensor:
        """``λ · mean over group pairs of (r_g − r_h)²``."""
        ratios = self.group_ratios(batch, outputs)[self.present.to(outputs["item_table"].device)]
        diffs = (ratios[:, None] - ratios[None, :]).pow(2)
        n = ratios.shape[0]
        return self.lam * diffs.sum() / (n * (n - 1))

    def extra_repr(self) -> str:
        return (
            f"groups={list(self.labels)}, lam={self.lam}, temperature={self.temperature}, "
            f"max_users={self.max_users}"
        )
