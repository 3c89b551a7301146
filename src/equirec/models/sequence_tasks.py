"""The training tasks of the transformer recommenders: batches, loss and validation.

:class:`NextItemTask` (SASRec: every position predicts the next item) and
:class:`MaskedItemTask` (BERT4Rec: masked positions are recovered) over the shared
:class:`SequenceTask`; the :class:`~equirec.training.trainer.Trainer` drives them. They read
the estimator (:class:`~equirec.models.sequential.SequentialRecommender`) for its parameters and
its scoring helpers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from equirec.data.history import History
from equirec.training.distributed import SINGLE, Shard
from equirec.training.losses import full_cross_entropy, gbce, sampled_cross_entropy
from equirec.training.trainer import Batch, Outputs
from equirec.training.validation import masked_ndcg

if TYPE_CHECKING:
    from equirec.models.sequential import SequentialRecommender

__all__ = ["MaskedItemTask", "NextItemTask", "SequenceTask", "UnitLoss"]


class SequenceTask:
    """Batching, loss and validation shared by both transformer recommenders."""

    def __init__(self, model: SequentialRecommender, train: History, valid: History | None) -> None:
        self.model = model
        self.train = train
        self.valid = valid
        self.device = model.device_
        self.generator = torch.Generator(device=self.device).manual_seed(model.seed)
        lengths = train.lengths()
        self.users = np.flatnonzero(lengths >= self.min_length)
        if valid is not None:
            has_valid = valid.lengths() > 0
            self.valid_users = np.flatnonzero(has_valid)

    min_length = 2
    epochs_drawn = 0

    @property
    def units(self) -> np.ndarray:
        """The privacy units of private training: the users with a training sequence."""
        return self.users

    @property
    def batch_size(self) -> int:
        return int(self.model.batch_size)

    def unit_positions(self) -> float:
        """Mean number of predicted positions per user (each user's next items in the window)."""
        lengths = self.train.lengths()[self.users]
        return float(np.minimum(lengths - 1, self.model.max_len).mean())

    def n_batches(self) -> int:
        return -(-len(self.users) // self.model.batch_size)

    def batches(self, rng: np.random.Generator, *, shard: Shard = SINGLE) -> Iterator[Batch | None]:
        """Batches of users of similar history length, in random order, trimmed of padding.

        Grouping by length (random among equal lengths) keeps padding, hence wasted compute,
        small; the batch order is shuffled every epoch. Of each batch, ``shard``'s users.
        """
        lengths = np.minimum(self.train.lengths()[self.users], self.model.max_len + 1)
        order = self.users[np.lexsort((rng.random(len(self.users)), lengths))]
        bs = self.model.batch_size
        starts = rng.permutation(np.arange(0, len(order), bs))
        draws = rng
        self.epochs_drawn += 1
        if shard.world > 1:  # masks drawn apart per process, the shared stream left in step
            draws = np.random.default_rng([self.model.seed, self.epochs_drawn, shard.rank])
        for start in starts:
            users = order[start : start + bs][shard.rows(min(bs, len(order) - start))]
            yield self.make_batch(users, draws) if len(users) else None

    def make_batch(self, users: np.ndarray, rng: np.random.Generator) -> Batch:
        raise NotImplementedError

    def loss(self, module: nn.Module, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, Outputs]:
        hidden = module(batch["tokens"])
        extra = module.user_vectors(batch["users"])  # type: ignore[operator]
        if extra is not None:  # user features: part of every position's representation
            hidden = hidden + extra[:, None, :]
        mask = batch["targets"] >= 0
        losses = self.item_loss(module, hidden[mask], batch["targets"][mask])
        outputs = {
            "hidden": hidden,
            "user_repr": hidden[:, -1],
            "target_mask": mask,
            "losses": losses,
        }
        if self.model.causal:  # every position's state represents the user after that prefix
            outputs["prefix_hidden"] = hidden
        if self.model.loss_terms():  # content features make the table cost a projection
            outputs["item_table"] = module.output_embeddings()  # type: ignore[operator]
        if "repr_tokens" in batch:  # BERT4Rec with loss terms: the prediction-time representation
            outputs["user_repr"] = module(batch["repr_tokens"], last_only=True)
            if extra is not None:
                outputs["user_repr"] = outputs["user_repr"] + extra
        return losses, batch["weights"][mask], outputs

    def item_loss(
        self, module: nn.Module, hidden: torch.Tensor, targets: torch.Tensor, *, fused: bool = True
    ) -> torch.Tensor:
        """The model's next-item loss of every row of ``hidden`` against its target item
        (``fused=False``: a full cross-entropy that ``torch.func`` transforms)."""
        model = self.model
        table = module.output_embeddings()  # type: ignore[operator]
        seen, log_q = model._train_items, model._log_q
        if seen is not None:  # content models: the softmax over the items training saw
            table, targets = table[seen[0]], seen[1][targets]
            log_q = None if log_q is None else log_q[seen[0]]
        k, shared, gen = int(model.n_negatives), bool(model.shared_negatives), self.generator
        if model.loss == "sampled":
            return sampled_cross_entropy(
                hidden, table, targets, n_negatives=k, shared=shared, generator=gen, log_q=log_q
            )
        if model.loss == "gbce":
            return gbce(
                hidden, table, targets, n_negatives=k, t=model.gbce_t, shared=shared, generator=gen
            )
        return full_cross_entropy(hidden, table, targets, precision=model.precision, fused=fused)

    def unit_loss(self, module: nn.Module) -> nn.Module | None:
        """One user's summed loss from their row of a batch, for per-user gradients in one
        vectorised pass of private training (``None`` where a loss needs more than the row:
        sampled negatives, user features)."""
        if self.model.loss != "ce" or getattr(module, "user_proj", None) is not None:
            return None
        return UnitLoss(module, self.item_loss)

    def validate(self, module: nn.Module) -> float:
        """Mean NDCG@10 of the validation items, full ranking, training items excluded."""
        assert self.valid is not None
        # All users encoded at once (length-sorted over everyone), then scored in chunks.
        hidden = self.model._last_hidden(module, self.valid_users, self.train)
        table = module.output_embeddings()  # type: ignore[operator]
        total = 0.0
        for start in range(0, len(self.valid_users), 512):
            users = self.valid_users[start : start + 512]
            scores = (hidden[start : start + 512] @ table.T).float().cpu()
            total += float(masked_ndcg(scores, users, self.train, self.valid, k=10).sum())
        return total / max(1, len(self.valid_users))


class UnitLoss(nn.Module):
    """One unit's (user's) summed next-item loss from its batch row, written for ``torch.func``:
    no data-dependent shapes (every position is scored; one without a target has weight 0)."""

    def __init__(self, module: nn.Module, item_loss: Callable[..., torch.Tensor]) -> None:
        super().__init__()
        self.module = module
        self.item_loss = item_loss

    def forward(self, row: dict[str, torch.Tensor]) -> torch.Tensor:
        hidden = self.module(row["tokens"][None])[0]  # (L, D)
        losses = self.item_loss(self.module, hidden, row["targets"].clamp(min=0), fused=False)
        return (losses * row["weights"]).sum()


class NextItemTask(SequenceTask):
    """SASRec: predict the next item at every position of the training sequence."""

    def make_batch(self, users: np.ndarray, rng: np.random.Generator) -> Batch:
        length = self.model.max_len
        tokens = np.zeros((len(users), length), dtype=np.int64)
        targets = np.full((len(users), length), -1, dtype=np.int64)
        weights = np.zeros((len(users), length), dtype=np.float32)
        for row, u in enumerate(users):
            lo, hi = self.train.indptr[u], self.train.indptr[u + 1]
            seq, w = self.train.items[lo:hi], self.train.weights[lo:hi]
            inp, tgt, tw = seq[:-1][-length:], seq[1:][-length:], w[1:][-length:]
            n = len(inp)
            tokens[row, length - n :] = inp + 1
            targets[row, length - n :] = tgt
            weights[row, length - n :] = tw
        return self._to_device(users, tokens, targets, weights)

    def _to_device(
        self, users: np.ndarray, tokens: np.ndarray, targets: np.ndarray, weights: np.ndarray
    ) -> Batch:
        d = self.device
        first = int(np.argmax((tokens != 0).any(axis=0)))  # leading all-padding columns
        tokens, targets, weights = tokens[:, first:], targets[:, first:], weights[:, first:]
        return {
            "users": torch.from_numpy(users).to(d),
            "tokens": torch.from_numpy(tokens).to(d),
            "targets": torch.from_numpy(targets).to(d),
            "weights": torch.from_numpy(weights).to(d),
        }


class MaskedItemTask(NextItemTask):
    """BERT4Rec: recover randomly masked items of the training sequence (Cloze task)."""

    min_length = 1

    def unit_positions(self) -> float:
        """Expected masked positions per user (at least one per sequence)."""
        lengths = np.minimum(self.train.lengths()[self.users], self.model.max_len)
        random = float(np.maximum(1.0, self.model.mask_prob * lengths).mean())
        last = float(self.model.last_mask_prob)
        return (1.0 - last) * random + last  # a last-item sequence masks one position

    def make_batch(self, users: np.ndarray, rng: np.random.Generator) -> Batch:
        from equirec.models.bert4rec import BERT4Rec

        model = self.model
        assert isinstance(model, BERT4Rec)
        length = model.max_len
        mask_token = self.train.n_items + 1
        tokens = np.zeros((len(users), length), dtype=np.int64)
        targets = np.full((len(users), length), -1, dtype=np.int64)
        weights = np.zeros((len(users), length), dtype=np.float32)
        for row, u in enumerate(users):
            lo, hi = self.train.indptr[u], self.train.indptr[u + 1]
            seq, w = self.train.items[lo:hi][-length:], self.train.weights[lo:hi][-length:]
            n = len(seq)
            if model.last_mask_prob and rng.random() < model.last_mask_prob:
                masked = np.zeros(n, dtype=bool)  # the prediction's form: the last item alone
                masked[-1] = True
            else:
                masked = rng.random(n) < model.mask_prob
                if not masked.any():
                    masked[rng.integers(n)] = True
            inp = np.where(masked, mask_token, seq + 1)
            tokens[row, length - n :] = inp
            targets[row, length - n :] = np.where(masked, seq, -1)
            weights[row, length - n :] = np.where(masked, w, 0.0)
        batch = self._to_device(users, tokens, targets, weights)
        if model.loss_terms():
            inputs = model._inputs(users, self.train).numpy()
            first = int(np.argmax((inputs != 0).any(axis=0)))  # leading all-padding columns
            batch["repr_tokens"] = torch.from_numpy(inputs[:, first:]).to(self.device)
        return batch
