"""In-processing mitigation: loss terms and example weights applied while a model trains.

Every method plugs into the shared :class:`~equirec.training.trainer.Trainer` of BPR, SASRec and
BERT4Rec without changing the models: the loss terms are added with ``model.add_loss_term(term)``
before ``fit`` and see the ``batch`` and ``outputs`` keys each model documents; the re-weighting
is a transformation of the training data's ``weight`` column.

- :class:`AdversarialDebiasing` (Beigi et al., WSDM 2020; FairGo, Wu et al., WWW 2021): one
  discriminator per sensitive user attribute predicts the attribute from ``outputs["user_repr"]``
  through a gradient-reversal layer; the discriminators minimise their cross-entropy while the
  recommender maximises it, i.e. ``min_model max_D  L_rec − λ·Σ_a L_D,a``. FairGo's filter
  network is *not* used: a filter would have to sit between the encoder and the scoring in every
  model, so the adversary acts on the encoder's representation directly (the representation the
  model scores with, which :meth:`~equirec.models.bpr.BPR.user_representations` returns).
- :class:`GroupGapPenalty`: ``λ`` times the gap between user groups of the mean per-example
  training loss in the batch (a batch-level surrogate of the group accuracy gap).
- :class:`ExposurePenalty` / :class:`PopularityPenalty`: ``λ`` times the disparity between item
  groups (head vs long tail for the latter) of the softmax probability mass per item that the
  model gives the batch's users.
- :func:`ipw_weights`: inverse-propensity weights ``1 / p(i)^η`` (clipped) on the training
  interactions, for popularity debiasing (Schnabel et al., ICML 2016; Yang et al., RecSys 2018).

Loss terms that are :class:`torch.nn.Module` are moved to the training device by the trainer, and
the trainer optimises their parameters (the discriminators) with the model's. A term keeps its
state across fits: build a fresh one (or call :meth:`AdversarialDebiasing.reset_parameters`)
before fitting another model.

The loss a model logs includes the terms' values (for the adversary: ``+Σ_a L_D,a``, the
discriminators' cross-entropy; the reversal acts only on the gradient).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from equirec.data.dataset import Dataset
from equirec.errors import ConfigError, DataError
from equirec.fairness.groups import Groups, categorical_groups
from equirec.fairness.item_metrics import head_items
from equirec.training.trainer import Batch, Outputs

Aggregate = Literal["mad", "variance"]
"""How group values are combined: mean absolute pairwise difference, or variance over groups."""

_AGGREGATES = ("mad", "variance")


# -- shared helpers ------------------------------------------------------------------------------


def _check_lam(lam: float, what: str) -> float:
    value = float(lam)
    if not math.isfinite(value) or value < 0:
        raise ConfigError(f"{what}: lam (λ) must be a finite number >= 0, got {lam!r}")
    return value


def _check_aggregate(aggregate: str, what: str) -> None:
    if aggregate not in _AGGREGATES:
        raise ConfigError(
            f"{what}: aggregate must be one of {list(_AGGREGATES)}, got {aggregate!r}"
        )


def _codes(groups: Groups | np.ndarray | torch.Tensor | Sequence[int], what: str) -> np.ndarray:
    """Integer codes (``-1`` = no group) from :class:`Groups` or an array of codes."""
    raw = groups.codes if isinstance(groups, Groups) else groups
    if isinstance(raw, torch.Tensor):
        raw = raw.detach().cpu().numpy()
    arr = np.asarray(raw)
    if arr.ndim != 1:
        raise DataError(f"{what}: group codes must be 1-D (one per unit), got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise DataError(f"{what}: group codes must be integers (-1 = missing), got {arr.dtype}")
    codes = arr.astype(np.int64)
    if (codes < -1).any():
        raise DataError(f"{what}: group codes must be >= -1 (-1 = missing), got {codes.min()}")
    return codes


def _n_classes(codes: np.ndarray, name: str, what: str, *, unit: str = "user") -> int:
    present = np.unique(codes[codes >= 0])
    if len(present) < 2:
        raise ConfigError(
            f"{what}: {unit} attribute {name!r} has {len(present)} class(es) with a value; "
            "it needs at least two to debias"
        )
    return int(codes.max()) + 1


def _user_groups(dataset: Dataset, attribute: str, what: str) -> Groups:
    """The categorical groups of a user attribute of ``dataset`` (ConfigError if unusable)."""
    kinds = dataset.user_attribute_kinds
    if dataset.user_attributes is None or attribute not in kinds:
        raise ConfigError(
            f"{what}: unknown user attribute {attribute!r}; the dataset {dataset.name!r} has "
            f"{sorted(kinds) if kinds else 'no user attributes'}"
        )
    if kinds[attribute] not in ("categorical", "numeric"):
        raise ConfigError(
            f"{what}: user attribute {attribute!r} is {kinds[attribute]}; use a categorical one "
            "(or a numeric one, each value a class)"
        )
    return categorical_groups(dataset.user_attributes[attribute], name=attribute)


def _first_rows(users: torch.Tensor) -> torch.Tensor:
    """Row of the first occurrence of every distinct user, in order of first occurrence."""
    uniq, inverse = torch.unique(users, return_inverse=True)
    rows = torch.arange(len(users), device=users.device)
    first = torch.full((len(uniq),), len(users), dtype=rows.dtype, device=users.device)
    first = first.scatter_reduce(0, inverse, rows, reduce="amin")
    return torch.sort(first).values


def _aggregate(values: torch.Tensor, aggregate: str) -> torch.Tensor:
    """Mean absolute pairwise difference (``"mad"``) or population variance of ``values``."""
    if aggregate == "variance":
        return values.var(unbiased=False)
    diffs = (values[:, None] - values[None, :]).abs()
    n = values.shape[0]
    return diffs.sum() / (n * (n - 1))


def _zero(tensor: torch.Tensor) -> torch.Tensor:
    """A zero scalar attached to the graph of ``tensor`` (so ``backward`` works)."""
    return tensor.sum() * 0.0


class _GradientReversal(torch.autograd.Function):
    """Identity forward; gradient multiplied by ``-lam`` backward (Ganin & Lempitsky 2015)."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, lam: float) -> torch.Tensor:
        ctx.lam = lam
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        return -ctx.lam * grad, None


def gradient_reversal(x: torch.Tensor, lam: float) -> torch.Tensor:
    """``x`` unchanged, but gradients flowing back through it are multiplied by ``-lam``."""
    out = _GradientReversal.apply(x, float(lam))
    assert isinstance(out, torch.Tensor)
    return out


# -- adversarial debiasing -----------------------------------------------------------------------


POSITIONS = ("auto", "last", "all")
"""Where :class:`AdversarialDebiasing` reads user representations (see its ``positions``)."""


class AdversarialDebiasing(nn.Module):
    """Adversarial removal of sensitive user attributes from the user representation.

    For every attribute ``a`` a discriminator ``D_a`` (an MLP: ``dim → hidden → ReLU →
    n_classes``, or linear with ``hidden=0``) predicts the attribute of the batch's users from
    ``outputs["user_repr"]`` passed through a gradient-reversal layer of strength ``λ``. The
    term's value is ``Σ_a L_D,a``, the discriminators' cross-entropy, so that (the trainer
    optimising the discriminators' parameters too) the discriminators minimise ``L_D,a`` while the
    model receives ``−λ·∇L_D,a``: training solves ``min_model max_D  L_rec − λ·Σ_a L_D,a``
    (Beigi et al., WSDM 2020; FairGo, Wu et al., WWW 2021, without the filter network: the
    adversary acts on the encoder directly).

    Users are the rows' ``batch["users"]`` (internal user indices; one row per user in the
    transformers, one per training triple in BPR, where each distinct user of the batch is
    counted once). Users whose label is missing (code ``-1``) are left out of the cross-entropy.
    With ``balanced=True`` each class is weighted by ``n / (n_classes · n_c)`` (class sizes over
    all labelled users) so that a minority class is not ignored, as in the leakage probe.

    λ = 0 trains the discriminators without any effect on the model (a control run).

    Args:
        groups: The attributes: one :class:`~equirec.fairness.groups.Groups` per attribute, with a
            code per internal user index of the model's training data (``-1`` = missing) —
            e.g. from :func:`~equirec.fairness.groups.categorical_groups` or
            ``activity_groups``.
        dim: Size of ``outputs["user_repr"]`` (the model's ``dim``).
        lam: Strength ``λ >= 0`` of the gradient reversal.
        hidden: Hidden units of each discriminator (0 = a linear discriminator).
        balanced: Weight classes inversely to their size.
        seed: Seeds the discriminators' initialisation (the global torch RNG is left alone).
        disc_steps: Extra discriminator updates per training step, on the batch's detached
            representations with the term's own Adam (``disc_lr``), before the adversarial
            loss is computed: keeps the discriminators near their best response, so the model
            is pushed against a strong adversary rather than a lagging one (0 = only the joint
            step through the trainer's optimiser).
        disc_lr: Learning rate of those extra updates.
        positions: ``"last"``: the discriminators read ``outputs["user_repr"]``, one vector
            per user. ``"all"`` (transformers): they read the hidden state at every target
            position (``outputs["hidden"][outputs["target_mask"]]``; for SASRec the user's
            representation after each prefix of the history), each user's positions sharing
            a weight of one user, so the attribute is removed from the representation at
            every point of the sequence, the one users are scored with included, from far
            more training signal than one vector per user. ``"auto"`` (default): ``"all"``
            where the model's outputs hold per-prefix user representations
            (``outputs["prefix_hidden"]``: SASRec), else ``"last"`` (BPR; BERT4Rec, whose
            masked positions are not user representations). On ML-100K SASRec, gender
            leakage fell from AUC 0.70 to 0.55 with ``"all"`` at λ = 1 (BENCHMARKS.md); with
            ``"last"`` it did not move up to λ = 10.

    Raises:
        ConfigError: ``lam < 0``, ``dim < 1``, ``hidden < 0``, no attribute, an attribute with
            fewer than two classes among the labelled users, or an unknown ``positions``.
        DataError: Malformed codes.

    Example:
        >>> adversary = AdversarialDebiasing.from_dataset(train, attributes=["gender"], dim=64)
        >>> model = SASRec(dim=64); model.add_loss_term(adversary); model.fit(train)
    """

    def __init__(
        self,
        groups: Groups | Sequence[Groups],
        *,
        dim: int,
        lam: float = 1.0,
        hidden: int = 64,
        balanced: bool = True,
        seed: int = 0,
        disc_steps: int = 0,
        disc_lr: float = 1e-3,
        positions: str = "auto",
    ) -> None:
        super().__init__()
        what = "AdversarialDebiasing"
        if int(disc_steps) < 0 or not float(disc_lr) > 0:
            raise ConfigError(f"{what}: disc_steps must be >= 0 and disc_lr > 0")
        if positions not in POSITIONS:
            raise ConfigError(
                f"{what}: positions must be one of {', '.join(POSITIONS)}, not {positions!r}"
            )
        self.positions = positions
        self.disc_steps = int(disc_steps)
        self.disc_lr = float(disc_lr)
        self._disc_optimizer: torch.optim.Optimizer | None = None
        attrs = [groups] if isinstance(groups, Groups) else list(groups)
        if not attrs:
            raise ConfigError(f"{what}: give at least one sensitive attribute")
        names = [g.name for g in attrs]
        if len(set(names)) != len(names):
            raise ConfigError(f"{what}: attributes must be distinct, got {names}")
        if int(dim) < 1:
            raise ConfigError(f"{what}: dim must be >= 1 (the model's dim), got {dim!r}")
        if int(hidden) < 0:
            raise ConfigError(f"{what}: hidden must be >= 0, got {hidden!r}")
        self.lam = _check_lam(lam, what)
        self.dim = int(dim)
        self.hidden = int(hidden)
        self.balanced = bool(balanced)
        self.seed = int(seed)
        self.attributes: tuple[str, ...] = tuple(names)
        self.class_labels: dict[str, tuple[str, ...]] = {}
        self.discriminators = nn.ModuleDict()
        self.last_losses: dict[str, torch.Tensor] = {}
        """The discriminators' cross-entropy at the last step (detached), per attribute."""
        self._buffers_by_attr: dict[str, tuple[str, str]] = {}
        for i, g in enumerate(attrs):
            codes = _codes(g, what)
            n_classes = _n_classes(codes, g.name, what)
            counts = np.bincount(codes[codes >= 0], minlength=n_classes).astype(np.float64)
            weight = np.where(counts > 0, counts.sum() / (n_classes * np.maximum(counts, 1)), 0.0)
            if not self.balanced:
                weight = (counts > 0).astype(np.float64)
            self.register_buffer(f"codes_{i}", torch.from_numpy(codes))
            self.register_buffer(f"class_weight_{i}", torch.from_numpy(weight).float())
            self._buffers_by_attr[g.name] = (f"codes_{i}", f"class_weight_{i}")
            self.class_labels[g.name] = tuple(g.labels)
            self.discriminators[f"d{i}"] = self._mlp(n_classes)
        self.reset_parameters()

    def _mlp(self, n_classes: int) -> nn.Module:
        if self.hidden == 0:
            return nn.Linear(self.dim, n_classes)
        return nn.Sequential(
            nn.Linear(self.dim, self.hidden), nn.ReLU(), nn.Linear(self.hidden, n_classes)
        )

    def reset_parameters(self) -> None:
        """Re-initialise the discriminators (seeded by ``seed``), e.g. before another fit."""
        self._disc_optimizer = None
        with torch.random.fork_rng(devices=[]), torch.no_grad():
            torch.manual_seed(self.seed)
            for module in self.discriminators.modules():
                if isinstance(module, nn.Linear):  # drawn on the CPU, whatever the device
                    fresh = nn.Linear(module.in_features, module.out_features)
                    module.weight.copy_(fresh.weight)
                    module.bias.copy_(fresh.bias)

    @classmethod
    def from_dataset(
        cls,
        dataset: Dataset,
        *,
        attributes: str | Sequence[str],
        dim: int,
        lam: float = 1.0,
        hidden: int = 64,
        balanced: bool = True,
        seed: int = 0,
        disc_steps: int = 0,
        disc_lr: float = 1e-3,
        positions: str = "auto",
    ) -> AdversarialDebiasing:
        """Build the labels from ``dataset.user_attributes`` (by internal user index).

        Args:
            dataset: The training data (its user vocabulary is the model's).
            attributes: Categorical (or numeric, each value a class) user attribute(s).
            dim: The model's representation size.
            lam: See the class.
            hidden: See the class.
            balanced: See the class.
            seed: See the class.
            disc_steps: See the class.
            disc_lr: See the class.
            positions: See the class.

        Raises:
            ConfigError: Unknown attribute (the message lists the dataset's), a multi-valued or
                text attribute, one with fewer than two classes, or a bad parameter.
        """
        names = [attributes] if isinstance(attributes, str) else list(attributes)
        groups = [_user_groups(dataset, name, "AdversarialDebiasing") for name in names]
        return cls(
            groups,
            dim=dim,
            lam=lam,
            hidden=hidden,
            balanced=balanced,
            seed=seed,
            disc_steps=disc_steps,
            disc_lr=disc_lr,
            positions=positions,
        )

    def labels(self, attribute: str) -> torch.Tensor:
        """Class code of every internal user index (``-1`` = missing) for ``attribute``."""
        if attribute not in self._buffers_by_attr:
            raise ConfigError(
                f"AdversarialDebiasing: unknown attribute {attribute!r}; it has "
                f"{list(self.attributes)}"
            )
        return self.get_buffer(self._buffers_by_attr[attribute][0])

    def forward(self, batch: Batch, outputs: Outputs) -> torch.Tensor:
        """``Σ_a`` cross-entropy of the discriminators on the batch's users (reversed gradient).

        Raises:
            DataError: ``outputs`` lacks ``user_repr``, its rows do not match ``batch["users"]``
                or its size is not ``dim``.
        """
        users, reprs = _users_and_reprs(batch, outputs, "AdversarialDebiasing")
        if reprs.shape[1] != self.dim:
            raise DataError(
                f"AdversarialDebiasing: built for dim={self.dim} but outputs['user_repr'] has "
                f"size {reprs.shape[1]}: pass the model's dim"
            )
        share: torch.Tensor | None = None  # weight of each row: 1 / its user's rows
        if self.positions == "all" or (self.positions == "auto" and "prefix_hidden" in outputs):
            users, reprs, share = _position_rows(users, outputs)
        else:
            rows = _first_rows(users)
            users, reprs = users[rows], reprs[rows]
        if self.disc_steps and torch.is_grad_enabled():
            if self._disc_optimizer is None:
                self._disc_optimizer = torch.optim.Adam(
                    self.discriminators.parameters(), lr=self.disc_lr
                )
            detached = reprs.detach()
            for _ in range(self.disc_steps):
                self._disc_optimizer.zero_grad(set_to_none=True)
                self._discriminator_loss(users, detached, share, record=False).backward()
                self._disc_optimizer.step()
            self._disc_optimizer.zero_grad(set_to_none=True)
        reversed_ = gradient_reversal(reprs, self.lam)
        return self._discriminator_loss(users, reversed_, share, record=True)

    def _discriminator_loss(
        self,
        users: torch.Tensor,
        x: torch.Tensor,
        share: torch.Tensor | None,
        *,
        record: bool,
    ) -> torch.Tensor:
        total = _zero(x)
        for i, name in enumerate(self.attributes):
            codes_name, weight_name = self._buffers_by_attr[name]
            codes = self.get_buffer(codes_name).to(users.device)[users]
            keep = codes >= 0
            logits = self.discriminators[f"d{i}"](x[keep])
            weight = self.get_buffer(weight_name).to(logits.device)
            if logits.shape[0] == 0:
                loss = _zero(logits)
            elif share is None:
                loss = F.cross_entropy(logits, codes[keep], weight=weight)
            else:  # class weight times the row's share of its user, normalised
                w = weight[codes[keep]] * share[keep]
                ce = F.cross_entropy(logits, codes[keep], reduction="none")
                loss = (w * ce).sum() / w.sum().clamp_min(1e-12)
            if record:
                self.last_losses[name] = loss.detach()
            total = total + loss
        return total

    def extra_repr(self) -> str:
        return (
            f"attributes={list(self.attributes)}, lam={self.lam}, dim={self.dim}, "
            f"positions={self.positions!r}"
        )


def _position_rows(
    users: torch.Tensor, outputs: Outputs
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Every target position's hidden state, its user, and ``1 / (positions of that user)``."""
    if "hidden" not in outputs or "target_mask" not in outputs:
        raise DataError(
            "AdversarialDebiasing: positions='all' needs outputs['hidden'] and "
            "outputs['target_mask'] (SASRec and BERT4Rec provide them; BPR has one vector per "
            "user: use positions='last')"
        )
    mask = outputs["target_mask"]
    rows = users[:, None].expand_as(mask)[mask]
    counts = mask.sum(dim=1).clamp_min(1).to(outputs["hidden"].dtype)
    share = (1.0 / counts)[:, None].expand_as(mask)[mask]
    return rows, outputs["hidden"][mask], share


def _users_and_reprs(
    batch: Batch, outputs: Outputs, what: str
) -> tuple[torch.Tensor, torch.Tensor]:
    if "users" not in batch or "user_repr" not in outputs:
        raise DataError(
            f"{what}: needs batch['users'] and outputs['user_repr'] (BPR, SASRec and BERT4Rec "
            f"provide them); got batch keys {sorted(batch)} and outputs keys {sorted(outputs)}"
        )
    users, reprs = batch["users"], outputs["user_repr"]
    if users.dim() != 1 or reprs.dim() != 2 or users.shape[0] != reprs.shape[0]:
        raise DataError(
            f"{what}: batch['users'] {tuple(users.shape)} and outputs['user_repr'] "
            f"{tuple(reprs.shape)} must have one row per user row (B,) and (B, D)"
        )
    return users, reprs


# -- group gap penalty ---------------------------------------------------------------------------


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
    def from_dataset(
        cls,
        dataset: Dataset,
        *,
        attribute: str,
        lam: float = 1.0,
        aggregate: Aggregate = "mad",
        smoothing: float = 0.9,
        raise_better: bool = False,
    ) -> GroupGapPenalty:
        """Groups from a categorical (or numeric) user attribute of ``dataset``.

        Raises:
            ConfigError: Unknown attribute (the message lists the dataset's), an unusable kind,
                fewer than two classes, or a bad parameter.
        """
        groups = _user_groups(dataset, attribute, "GroupGapPenalty")
        return cls(
            groups, lam=lam, aggregate=aggregate, smoothing=smoothing, raise_better=raise_better
        )

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


# -- exposure / popularity penalties -------------------------------------------------------------


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
        cls,
        dataset: Dataset,
        attribute: str,
        *,
        lam: float = 1.0,
        temperature: float = 1.0,
        max_users: int | None = 256,
    ) -> ExposurePenalty:
        """Item groups from a categorical item attribute of ``dataset`` (e.g. ``provider``).

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
        return cls(groups, lam=lam, temperature=temperature, max_users=max_users)

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


class PopularityPenalty(ExposurePenalty):
    """:class:`ExposurePenalty` with head (short-head) vs long-tail items as the two groups.

    The head is computed by :func:`~equirec.fairness.item_metrics.head_items` from the training
    popularity, with the audit's defaults: the most popular items holding 80% of the training
    interactions (``method="share"``), or the ``cutoff`` most popular share of items
    (``method="top"``, e.g. 0.2 as in CPFair). Group 0 is ``head``, group 1 ``tail``; the term is
    ``λ · (r_head − r_tail)²`` (see :class:`ExposurePenalty`).

    Args:
        popularity: ``(n_items,)`` training interaction count of every catalogue item.
        lam: Weight ``λ >= 0``.
        method: ``"share"`` or ``"top"``.
        cutoff: Share of interactions (``"share"``) or of items (``"top"``), in ``(0, 1)``.
        temperature: Softmax temperature ``τ > 0``.
        max_users: Distinct users of a batch used (``None`` = all).

    Raises:
        ConfigError: A bad parameter, or a head or tail that is empty.
    """

    def __init__(
        self,
        popularity: np.ndarray,
        *,
        lam: float = 1.0,
        method: str = "share",
        cutoff: float = 0.8,
        temperature: float = 1.0,
        max_users: int | None = 256,
    ) -> None:
        head = head_items(np.asarray(popularity), method=method, cutoff=cutoff)
        groups = Groups("popularity", np.where(head, 0, 1).astype(np.int64), ("head", "tail"))
        super().__init__(groups, lam=lam, temperature=temperature, max_users=max_users)
        self.head_mask: np.ndarray = head
        """``True`` for the head items."""

    @classmethod
    def from_dataset(
        cls,
        dataset: Dataset,
        *,
        lam: float = 1.0,
        method: str = "share",
        cutoff: float = 0.8,
        temperature: float = 1.0,
        max_users: int | None = 256,
    ) -> PopularityPenalty:
        """Head and tail from the item counts of ``dataset`` (pass the training data only)."""
        popularity = dataset.history().item_counts()
        return cls(
            popularity,
            lam=lam,
            method=method,
            cutoff=cutoff,
            temperature=temperature,
            max_users=max_users,
        )


# -- inverse-propensity weighting ----------------------------------------------------------------


def ipw_weights(
    dataset: Dataset,
    *,
    eta: float = 0.5,
    clip: float = 10.0,
    popularity: Dataset | None = None,
    normalize: bool = True,
) -> Dataset:
    """Inverse-propensity weights for popularity debiasing, as the interactions' ``weight``.

    The propensity of an item is taken as a power of its training popularity ``n_i`` (number of
    training interactions), ``p(i) ∝ n_i^η`` (Yang et al., RecSys 2018), so its interactions get
    the weight, relative to the most popular item's,

        ``w_i = min(clip, (n_max / n_i)^η)``

    (1 for the most popular item, at most ``clip``; an item without training interactions gets
    ``clip``). Each interaction's weight becomes its current weight times ``w_i``; with
    ``normalize`` all weights are then scaled by one constant so that their mean is unchanged
    (the loss keeps its scale; ratios, hence the clip, are unaffected). Nothing else changes:
    same interactions in the same order, same vocabularies, attributes and columns.

    BPR, SASRec and BERT4Rec multiply each example's loss by its interaction's weight (the
    transformers: the weight of the target interaction), so fitting on the result trains with
    inverse-propensity weights. Weights apply to training only: pass the training part of a
    split, and compute the popularity from the training data only.

    Args:
        dataset: The interactions to re-weight (the training data).
        eta: Exponent ``η >= 0`` of the propensity (0 = no re-weighting; 1 = plain inverse
            popularity).
        clip: Largest weight ratio to the most popular item's, ``>= 1`` (``inf`` = no clipping;
            then every re-weighted item needs a training interaction).
        popularity: The training data whose item counts give ``n_i`` (default: ``dataset``);
            must share ``dataset``'s item vocabulary.
        normalize: Keep the mean weight of the interactions.

    Returns:
        A new :class:`Dataset` (``info["ipw"]`` records the parameters).

    Raises:
        ConfigError: ``eta < 0`` or ``clip < 1``.
        DataError: An empty popularity source, a different item vocabulary, or an item without
            training interactions when ``clip`` is infinite.
    """
    eta_v, clip_v = float(eta), float(clip)
    if not math.isfinite(eta_v) or eta_v < 0:
        raise ConfigError(f"ipw_weights: eta must be a finite number >= 0, got {eta!r}")
    if math.isnan(clip_v) or clip_v < 1:
        raise ConfigError(
            f"ipw_weights: clip must be >= 1 (the largest weight relative to the most popular "
            f"item's), got {clip!r}"
        )
    source = dataset if popularity is None else popularity
    if not source.item_ids.equals(dataset.item_ids):
        raise DataError(
            "ipw_weights: the popularity data must share the dataset's item vocabulary (use "
            "the training part of the same split)"
        )
    counts = np.bincount(
        source.interactions["item_idx"].to_numpy(), minlength=dataset.n_items
    ).astype(np.float64)
    if counts.sum() == 0:
        raise DataError(f"ipw_weights: the popularity data {source.name!r} has no interactions")
    df = dataset.interactions
    items = df["item_idx"].to_numpy()
    n_i = counts[items]
    if (n_i == 0).any() and math.isinf(clip_v):
        raise DataError(
            "ipw_weights: some interactions are of items without training interactions; their "
            "inverse propensity is infinite, so give a finite clip"
        )
    with np.errstate(divide="ignore"):
        ratio = np.where(n_i > 0, counts.max() / np.where(n_i > 0, n_i, 1.0), np.inf)
    w_item = np.minimum(clip_v, ratio**eta_v) if eta_v > 0 else np.ones_like(ratio)
    old = df["weight"].to_numpy(dtype=np.float64)
    new = old * w_item
    if normalize and new.sum() > 0:
        new = new * (old.sum() / new.sum())
    rows = df.drop(columns=["user_idx", "item_idx"]).copy()
    rows["weight"] = new.astype(np.float32)
    out = dataset.with_interactions(rows)
    out.info["ipw"] = f"eta={eta_v:g}, clip={clip_v:g}, normalize={bool(normalize)}"
    return out
