"""BPR-MF (Rendle et al. 2009): matrix factorisation trained on (user, seen, unseen) triples.

The network is the pure :class:`BPRModule` (embeddings in, scores out); the estimator :class:`BPR`
owns vocabularies, sampling and devices, and trains through the shared
:class:`~equirec.training.trainer.Trainer` (per-example weights, extra loss terms, early stopping).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from equirec.data.dataset import Dataset
from equirec.data.history import History
from equirec.errors import ConfigError
from equirec.models.base import Recommender
from equirec.models.registry import register
from equirec.training.device import resolve_device
from equirec.training.distributed import SINGLE, Shard
from equirec.training.privacy import private_settings
from equirec.training.trainer import (
    Batch,
    LossTermsMixin,
    Outputs,
    Trainer,
    TrainingLog,
)
from equirec.training.validation import masked_ndcg

VALID_K = 10
"""Cut-off of the validation NDCG used for early stopping."""

_MAX_RESAMPLING_ROUNDS = 50


class BPRModule(nn.Module):
    """User and item embeddings scored by dot products.

    Args:
        n_users: Number of users.
        n_items: Number of items.
        dim: Embedding size.
        init_std: Standard deviation of the normal initialisation.
        generator: Random generator of the initialisation (``None``: torch's global one).
    """

    def __init__(
        self,
        n_users: int,
        n_items: int,
        dim: int,
        *,
        init_std: float = 0.1,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.user_embeddings = nn.Embedding(n_users, dim)
        self.item_embeddings = nn.Embedding(n_items, dim)
        nn.init.normal_(self.user_embeddings.weight, std=init_std, generator=generator)
        nn.init.normal_(self.item_embeddings.weight, std=init_std, generator=generator)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Scores of ``items`` for ``users``: ``(B,)`` users with ``(B,)`` or ``(B, M)`` items."""
        u = self.user_embeddings(users)
        v = self.item_embeddings(items)
        if v.dim() == 3:
            u = u.unsqueeze(1)
        return (u * v).sum(-1)

    def full_scores(self, users: torch.Tensor) -> torch.Tensor:
        """Scores of every item for ``users``: ``(B, n_items)``."""
        return self.user_embeddings(users) @ self.item_embeddings.weight.T


@register
class BPR(LossTermsMixin, Recommender):
    """Bayesian Personalised Ranking matrix factorisation (Rendle et al., UAI 2009).

    Extra loss terms (:meth:`add_loss_term`) see ``batch`` with ``users``, ``items`` (positives),
    ``negatives`` and ``weights`` (one row per triple), and ``outputs`` with ``user_repr``,
    ``item_repr``, ``negative_repr`` (embeddings, ``(B, dim)``), ``pos_scores``, ``neg_scores``,
    ``losses`` (per-triple losses before weighting, ``(B,)``) and ``item_table`` (every item's
    embedding, ``(n_items, dim)``: scores are ``user_repr @ item_table.T``).

    Every training interaction ``(u, i)`` is paired, each epoch, with an item ``j`` drawn uniformly
    among the items ``u`` has not interacted with in training; the per-example loss
    ``-log σ(s_ui - s_uj) + l2 · (‖p_u‖² + ‖q_i‖² + ‖q_j‖²)`` is multiplied by the interaction's
    weight (``Dataset`` column ``weight``, 1.0 by default), so a weight ``w`` counts the interaction
    ``w`` times and 0 removes it. Optimised with Adam. With validation data, training stops after
    ``patience`` validations without improving the full-ranking NDCG@10 of the validation items
    (training items excluded) and the best epoch's weights are kept.

    Scores depend on the learned user embeddings only: a history given at prediction time is used
    to exclude seen items, not to change the scores.

    Args:
        dim: Embedding size.
        epochs: Maximum passes over the training interactions.
        batch_size: Triples per step.
        lr: Adam learning rate.
        l2: Weight of the squared norms of the embeddings of each triple.
        init_std: Standard deviation of the normal initialisation of the embeddings.
        patience: Validations without improvement before stopping (only with validation data).
        eval_every: Epochs between validations.
        min_epochs: Never stop before this many epochs.
        privacy: User-level differentially private training, a user's triples being one
            example: as SASRec's (:mod:`equirec.training.privacy`); every epoch runs.
        seed: Seeds initialisation (a local ``torch.Generator``) and shuffling and negative sampling
            (``numpy.random.default_rng``).
        device: ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``...

    Attributes:
        module_: The trained :class:`BPRModule` (on the CPU).
        training_log_: Losses and validation scores per epoch.
    """

    name = "bpr"
    scores_from_history = False  # one learned vector per training user: a new user has none
    _prepared: tuple[torch.Tensor, torch.Tensor] | None = None

    def __init__(
        self,
        *,
        dim: int = 64,
        epochs: int = 100,
        batch_size: int = 1024,
        lr: float = 1e-3,
        l2: float = 1e-5,
        init_std: float = 0.1,
        patience: int = 5,
        eval_every: int = 1,
        min_epochs: int = 0,
        privacy: dict[str, float | None] | None = None,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        self.dim = dim
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.l2 = l2
        self.init_std = init_std
        self.patience = patience
        self.eval_every = eval_every
        self.min_epochs = min_epochs
        self.privacy = privacy
        self.seed = seed
        self.device = device

    # -- extension point for mitigation ----------------------------------------------------------
    # -- training --------------------------------------------------------------------------------
    def _check_params(self) -> None:
        for key in ("dim", "epochs", "batch_size", "eval_every"):
            if int(getattr(self, key)) < 1:
                raise ConfigError(f"bpr: {key} must be >= 1, not {getattr(self, key)!r}")
        for key in ("l2", "patience", "min_epochs"):
            if getattr(self, key) < 0:
                raise ConfigError(f"bpr: {key} must be >= 0, not {getattr(self, key)!r}")
        if not self.lr > 0 or not self.init_std > 0:
            raise ConfigError(
                f"bpr: lr and init_std must be > 0, not {self.lr!r}, {self.init_std!r}"
            )

    def _fit(self, train: History, *, valid: History | None, dataset: Dataset) -> None:
        self._check_params()
        device = resolve_device(self.device)
        generator = torch.Generator().manual_seed(int(self.seed))
        self._prepared = None  # a refit model drops the kept tables
        self.module_ = BPRModule(
            train.n_users,
            train.n_items,
            int(self.dim),
            init_std=float(self.init_std),
            generator=generator,
        ).to(device)
        task = _BPRTask(self, train, valid, device)
        trainer = Trainer(
            epochs=int(self.epochs),
            lr=float(self.lr),
            weight_decay=0.0,
            patience=int(self.patience) if task.can_validate else 0,
            eval_every=int(self.eval_every),
            min_epochs=int(self.min_epochs),
            extra_losses=self.loss_terms(),
            seed=int(self.seed),
            description=self.name,
            privacy=private_settings(self.privacy, name=self.name),
        )
        self.training_log_: TrainingLog = trainer.fit(
            self.module_, task, validate=task.can_validate
        )
        self.module_.to("cpu").eval()

    # -- inference -------------------------------------------------------------------------------
    def prepare(self, history: History | None = None) -> None:
        """Keep both embedding tables in double precision (see :meth:`Recommender.prepare`);
        BPR's scores do not depend on the history."""
        self._check_fitted()
        with torch.no_grad():
            users = self.module_.user_embeddings.weight.double()
            items = self.module_.item_embeddings.weight.double().T.contiguous()
        self._prepared = (users, items)

    def _score(self, users: np.ndarray, history: History) -> torch.Tensor:
        index = torch.as_tensor(users, dtype=torch.long)
        if self._prepared is not None:
            table, items = self._prepared
            return table[index] @ items
        return self.module_.full_scores(index)

    def item_vectors(self) -> torch.Tensor:
        """The item embeddings: ``scores = user_representations(users) @ item_vectors().T``."""
        self._check_fitted()
        return self.module_.item_embeddings.weight.detach().cpu()

    def user_representations(
        self, users: np.ndarray, history: History | None = None
    ) -> torch.Tensor:
        """The users' embeddings ``(B, dim)`` (``history`` is not used: BPR's users are fixed)."""
        self._check_fitted()
        with torch.no_grad():
            return self.module_.user_embeddings(torch.as_tensor(users, dtype=torch.long)).cpu()

    # -- persistence -----------------------------------------------------------------------------
    def _state(self) -> dict[str, torch.Tensor]:
        return dict(self.module_.state_dict())

    def _load_state(self, state: dict[str, torch.Tensor]) -> None:
        n_users, dim = state["user_embeddings.weight"].shape
        self._prepared = None
        self.module_ = BPRModule(int(n_users), len(self.item_ids_), int(dim))
        self.module_.load_state_dict(state)
        self.module_.eval()

    def _extra_settings(self) -> dict[str, Any]:
        log = getattr(self, "training_log_", None)
        return {"training": None if log is None else log.as_dict()}


class _BPRTask:
    """Triples, the weighted BPR loss and validation NDCG for the :class:`Trainer`."""

    def __init__(
        self, model: BPR, train: History, valid: History | None, device: torch.device
    ) -> None:
        self.model = model
        self.train = train
        self.device = device
        self.n_items = train.n_items
        self.users = train.users()
        self.items = train.items.astype(np.int64)
        self.weights = train.weights.astype(np.float32)
        self.seen_keys = np.unique(self.users * self.n_items + self.items)
        self.valid_users = np.zeros(0, dtype=np.int64)
        self.valid = valid
        if valid is not None:
            relevant = valid.csr(binary=True)
            relevant = (relevant - relevant.multiply(train.csr(binary=True))).tocsr()
            relevant.eliminate_zeros()
            self.valid_users = np.flatnonzero(relevant.getnnz(axis=1) > 0)

    @property
    def can_validate(self) -> bool:
        """Whether some user has a validation item not seen in training."""
        return len(self.valid_users) > 0

    def negatives(self, users: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One item per user drawn uniformly among the items the user has not seen in training.

        Users who have seen (almost) every item may keep a seen item after a bounded number of
        redraws.
        """
        negatives = rng.integers(0, self.n_items, len(users))
        todo = np.arange(len(users))
        for _ in range(_MAX_RESAMPLING_ROUNDS):
            keys = users[todo] * self.n_items + negatives[todo]
            pos = np.minimum(np.searchsorted(self.seen_keys, keys), len(self.seen_keys) - 1)
            todo = todo[self.seen_keys[pos] == keys]
            if not len(todo):
                break
            negatives[todo] = rng.integers(0, self.n_items, len(todo))
        return negatives

    # -- private training: a user's triples are one unit ------------------------------------------
    @property
    def units(self) -> np.ndarray:
        """The privacy units: the users with training interactions."""
        return np.unique(self.users)

    @property
    def batch_size(self) -> int:
        """Users per step that hold, on average, ``batch_size`` triples."""
        return max(1, round(int(self.model.batch_size) / self.unit_positions()))

    def unit_positions(self) -> float:
        """Mean training triples per user."""
        return len(self.items) / max(1, len(self.units))

    def make_batch(self, units: np.ndarray, rng: np.random.Generator) -> Batch:
        """Every training triple of ``units``, each with a fresh negative."""
        idx = np.flatnonzero(np.isin(self.users, units))
        return self._batch(idx, self.negatives(self.users[idx], rng))

    def _batch(self, idx: np.ndarray, negatives: np.ndarray) -> Batch:
        d = self.device
        return {
            "users": torch.from_numpy(self.users[idx]).to(d),
            "items": torch.from_numpy(self.items[idx]).to(d),
            "negatives": torch.from_numpy(negatives).to(d),
            "weights": torch.from_numpy(self.weights[idx]).to(d),
        }

    def batches(self, rng: np.random.Generator, *, shard: Shard = SINGLE) -> Iterator[Batch | None]:
        """Every training interaction once, shuffled, each with a fresh negative; of each
        batch, ``shard``'s rows."""
        order = rng.permutation(len(self.items))
        negatives = self.negatives(self.users[order], rng)
        bs = int(self.model.batch_size)
        for start in range(0, len(order), bs):
            rows = shard.rows(min(bs, len(order) - start))
            idx = order[start : start + bs][rows]
            yield self._batch(idx, negatives[start : start + bs][rows]) if len(idx) else None

    def loss(self, module: nn.Module, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, Outputs]:
        """Per-triple BPR loss with the triple's embedding penalty, and the interaction weights."""
        assert isinstance(module, BPRModule)
        u = module.user_embeddings(batch["users"])
        p = module.item_embeddings(batch["items"])
        q = module.item_embeddings(batch["negatives"])
        pos, neg = (u * p).sum(-1), (u * q).sum(-1)
        losses = -F.logsigmoid(pos - neg)
        if self.model.l2:
            losses = losses + float(self.model.l2) * (u.pow(2) + p.pow(2) + q.pow(2)).sum(-1)
        outputs = {
            "user_repr": u,
            "item_repr": p,
            "negative_repr": q,
            "pos_scores": pos,
            "neg_scores": neg,
            "losses": losses,
            "item_table": module.item_embeddings.weight,
        }
        return losses, batch["weights"], outputs

    def validate(self, module: nn.Module) -> float:
        """Mean NDCG@10 of the validation items (training items excluded, full ranking)."""
        assert isinstance(module, BPRModule) and self.valid is not None
        total = 0.0
        for start in range(0, len(self.valid_users), 1024):
            users = self.valid_users[start : start + 1024]
            scores = module.full_scores(torch.from_numpy(users).to(self.device)).float().cpu()
            total += float(masked_ndcg(scores, users, self.train, self.valid, k=VALID_K).sum())
        return total / len(self.valid_users)
