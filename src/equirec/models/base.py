"""The interface every recommender implements.

Conventions (scikit-learn's): ``__init__`` stores keyword-only parameters and nothing else;
``fit`` validates, learns and returns ``self``; learned state ends in ``_``. A subclass implements
:meth:`Recommender._fit` and :meth:`Recommender._score`; ranking, seen-item exclusion, id mapping
and saving are shared here.

Saving never uses pickle: ``settings.json`` holds the class name, parameters and vocabularies,
``weights.safetensors`` holds every tensor (including the training history needed to exclude seen
items after loading).
"""

from __future__ import annotations

import inspect
import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load_file, save_file
from sklearn.base import BaseEstimator

from equirec.data.dataset import Dataset
from equirec.data.history import History
from equirec.data.lists import RankedLists
from equirec.errors import ConfigError, DataError, EquirecError
from equirec.io import atomic_dir, jsonable

R = TypeVar("R", bound="Recommender")

SETTINGS_FILE = "settings.json"
WEIGHTS_FILE = "weights.safetensors"


class NotFittedError(EquirecError):
    """A model was used before :meth:`Recommender.fit`."""


class Recommender(BaseEstimator, ABC):
    """Base class: fit on a :class:`Dataset`, rank the whole catalogue for any user.

    Subclasses set ``name`` (the registry name) and implement ``_fit`` and ``_score``. They may
    override ``_state`` / ``_load_state`` to save learned tensors.

    Attributes:
        warnings_: What fitting found probably not meant (missing content values, labels a
            transferred model does not know, a sensitive attribute used as a feature): logged,
            and recorded with a run's results.
        scores_from_history: Whether ``_score`` ranks a user from the given history alone, so
            that users the model was not trained on (a new user, a session) can be scored from
            their items; ``False`` for models with a learned vector per training user (BPR).
    """

    name: ClassVar[str] = "base"
    scores_from_history: ClassVar[bool] = True

    # -- to implement ----------------------------------------------------------------------------
    @abstractmethod
    def _fit(self, train: History, *, valid: History | None, dataset: Dataset) -> None:
        """Learn from ``train`` (internal indices); ``valid`` is for early stopping only."""

    @abstractmethod
    def _score(self, users: np.ndarray, history: History) -> torch.Tensor:
        """Scores ``(len(users), n_items)`` of every catalogue item for internal user indices.

        ``history`` is what is known about the users at prediction time (their training
        interactions, possibly followed by later ones); higher scores rank first.
        """

    def _state(self) -> dict[str, torch.Tensor]:
        """Learned tensors to save (besides vocabularies and history)."""
        return {}

    def _load_state(self, state: dict[str, torch.Tensor]) -> None:
        """Restore what :meth:`_state` returned."""

    # -- public API ------------------------------------------------------------------------------
    def fit(self: R, dataset: Dataset, *, valid: Dataset | None = None) -> R:
        """Learn from ``dataset``; ``valid`` (same vocabularies) is used for early stopping only.

        Returns:
            ``self``, fitted.

        Raises:
            DataError: ``dataset`` is not a :class:`~equirec.data.Dataset` (e.g. a DataFrame), or
                it is empty, or ``valid`` has other vocabularies.
        """
        for name, value in (("dataset", dataset), ("valid", valid)):
            if value is not None and not isinstance(value, Dataset):
                raise DataError(
                    f"{self.name}.fit: {name} must be an equirec Dataset, got "
                    f"{type(value).__name__}; wrap a DataFrame of user, item, timestamp columns "
                    "with equirec.data.Dataset(interactions=frame), or read a file with "
                    "equirec.data.load_interactions(path)"
                )
        if len(dataset) == 0:
            raise EquirecError(
                f"cannot fit {self.name}: the training data {dataset.name!r} is empty"
            )
        if valid is not None and (
            not valid.item_ids.equals(dataset.item_ids)
            or not valid.user_ids.equals(dataset.user_ids)
        ):
            raise EquirecError("the validation data must share the training data's vocabularies")
        self.user_ids_ = dataset.user_ids
        self.item_ids_ = dataset.item_ids
        self.history_ = dataset.history()
        self.warnings_: list[str] = []
        self._fit(self.history_, valid=None if valid is None else valid.history(), dataset=dataset)
        return self

    def set_history(self, history: History) -> None:
        """Replace what the fitted model knows about its users at prediction time.

        The default ``history`` of :meth:`topk`, :meth:`recommend` and :meth:`score_items`, and
        what :meth:`save` stores. A run sets it to what it knew before the test (training, then
        validation), so that the saved model ranks as the run did.
        """
        self._check_fitted()
        if history.n_items != len(self.item_ids_) or history.n_users != len(self.user_ids_):
            raise EquirecError("the history must use the model's user and item vocabularies")
        self.history_ = history

    def prepare(self, history: History | None = None) -> None:
        """Precompute what scoring the users of ``history`` needs, for repeated requests.

        A service answering requests calls it once at start-up: later scoring of those users
        with that same ``history`` object (``topk``, ``rank``, ``score_users``) reuses the
        precomputed part. The models whose scores are a product of user and item vectors
        (SASRec, BERT4Rec, BPR) keep both in double precision (the sequence models'
        ``n_users x dim`` user representations encoded once) and score from them, so that a
        user's scores do not depend on which other users are scored in the same call (float32
        products do, in their last bits): a service that scores requests together answers what
        one-by-one scoring answers. EASE, item-kNN and popularity score each row on its own
        already and keep nothing.

        Args:
            history: What is known about the users (default: the model's own history).
        """
        self._check_fitted()

    @property
    def n_items(self) -> int:
        self._check_fitted()
        return len(self.item_ids_)

    def _check_fitted(self) -> None:
        if not hasattr(self, "history_"):
            raise NotFittedError(
                f"{type(self).__name__} is not fitted yet: call fit(dataset) first"
            )

    def score_users(
        self, users: np.ndarray, *, history: History | None = None, batch_size: int = 256
    ) -> torch.Tensor:
        """Scores of every item for internal user indices, computed in batches (float32, CPU)."""
        self._check_fitted()
        history = self.history_ if history is None else history
        out = []
        for start in range(0, len(users), batch_size):
            with torch.no_grad():
                out.append(self._score(users[start : start + batch_size], history).float().cpu())
        if not out:
            return torch.empty((0, self.n_items))
        return torch.cat(out)

    def score_histories(
        self, histories: Sequence[np.ndarray], *, user: int | None = None, batch_size: int = 256
    ) -> torch.Tensor:
        """Scores of every item for each given history, as if it were the user's: ``(V, n_items)``.

        What explanations re-score: a user's history with some items removed. Only models that
        score from the history (``scores_from_history``) support it.

        Args:
            histories: Internal item indices, each chronological.
            user: The known user (internal index) these histories belong to, for what a model
                learned about them besides their history (user features); ``None``: a new user.
            batch_size: Histories scored at once.

        Raises:
            ConfigError: The model scores a user by a learned vector, not from their history.
        """
        self._check_fitted()
        if not self.scores_from_history:
            raise ConfigError(
                f"{self.name} scores a user by their learned vector, not from their history: "
                "changing the history cannot change its scores"
            )
        history = History.from_sequences(histories, n_items=self.n_items)
        return self.score_users(np.arange(len(histories)), history=history, batch_size=batch_size)

    def topk(
        self,
        users: np.ndarray,
        *,
        k: int,
        history: History | None = None,
        exclude: Iterable[History] = (),
        exclude_seen: bool = True,
        batch_size: int = 256,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` internal item indices and scores per user, ranked over the whole catalogue.

        Args:
            users: Internal user indices.
            k: List length; lists are shorter (padded with ``-1`` / ``-inf``) when fewer items
                remain after exclusion.
            history: What is known about the users (default: the training data).
            exclude: Further histories whose items are removed from the ranking (e.g. validation
                interactions when ``history`` is the training data only).
            exclude_seen: Remove the items of ``history`` (and of ``exclude``) from the ranking.
            batch_size: Users scored at once.

        Returns:
            ``(items, scores)``, both shaped ``(len(users), k)``; ties are broken by item index.
        """
        self._check_fitted()
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
            raise ConfigError(f"k must be a positive integer (the list length), got {k!r}")
        history = self.history_ if history is None else history
        users = np.asarray(users, dtype=np.int64)
        k = int(min(k, self.n_items))
        masks = [history, *exclude] if exclude_seen else []
        items_out = np.full((len(users), k), -1, dtype=np.int64)
        scores_out = np.full((len(users), k), -np.inf, dtype=np.float32)
        for start in range(0, len(users), batch_size):
            batch = users[start : start + batch_size]
            with torch.no_grad():
                scores = self._score(batch, history).float().cpu().clone()
            for h in masks:
                rows, cols = _rows_cols(h, batch)
                scores[rows, cols] = -torch.inf
            # A stable sort, so that equal scores rank by item index (torch.topk's tie order is
            # unspecified and would make lists depend on the platform).
            top_scores, top_items = torch.sort(scores, dim=1, descending=True, stable=True)
            top_scores, top_items = top_scores[:, :k], top_items[:, :k]
            valid = torch.isfinite(top_scores)
            items_out[start : start + len(batch)] = torch.where(valid, top_items, -1).numpy()
            scores_out[start : start + len(batch)] = top_scores.numpy()
        return items_out, scores_out

    def recommend(
        self,
        users: Iterable[Any] | None = None,
        *,
        k: int = 10,
        exclude_seen: bool = True,
        history: Dataset | None = None,
    ) -> pd.DataFrame:
        """Top-``k`` recommendations in original ids.

        Args:
            users: Original user ids (default: every user of the training vocabulary).
            k: Number of items per user.
            exclude_seen: Leave out items the user already interacted with.
            history: Interactions known at prediction time (default: the training data); must use
                the training vocabularies (e.g. a ``Dataset.subset`` of the same dataset).

        Returns:
            A DataFrame with columns ``user``, ``rank`` (1-based), ``item``, ``score``.
        """
        self._check_fitted()
        idx = self._user_index(users)
        hist = None if history is None else self._history_of(history)
        return self.rank(idx, k=k, history=hist, exclude_seen=exclude_seen).to_frame()

    def rank(
        self,
        users: np.ndarray,
        *,
        k: int,
        history: History | None = None,
        exclude: Iterable[History] = (),
        exclude_seen: bool = True,
        batch_size: int = 256,
    ) -> RankedLists:
        """The top ``k`` of every user (internal indices) as :class:`RankedLists` (see ``topk``)."""
        users = np.asarray(users, dtype=np.int64)
        items, scores = self.topk(
            users,
            k=k,
            history=history,
            exclude=exclude,
            exclude_seen=exclude_seen,
            batch_size=batch_size,
        )
        return self.lists(users, items, scores)

    def lists(self, users: np.ndarray, items: np.ndarray, scores: np.ndarray) -> RankedLists:
        """Top-k arrays of internal indices (``-1`` padding) with this model's vocabularies."""
        return RankedLists(
            items=items,
            scores=scores,
            users=users,
            user_ids=self.user_ids_,
            item_ids=self.item_ids_,
        )

    def lists_frame(self, users: np.ndarray, items: np.ndarray, scores: np.ndarray) -> pd.DataFrame:
        """Turn top-k arrays of internal indices into the ``user, rank, item, score`` frame."""
        return self.lists(users, items, scores).to_frame()

    def score_items(
        self, users: Iterable[Any], items: Iterable[Any], *, history: Dataset | None = None
    ) -> pd.DataFrame:
        """Scores of given candidate items for given users (original ids), as a long frame.

        Returns:
            Columns ``user``, ``item``, ``score``: every user paired with every item.
        """
        self._check_fitted()
        u = self._user_index(users)
        item_list = list(items)
        i = self._index(self.item_ids_, item_list, "item")
        hist = None if history is None else self._history_of(history)
        scores = self.score_users(u, history=hist)[:, torch.as_tensor(i)].numpy()
        return pd.DataFrame(
            {
                "user": np.repeat(self.user_ids_[u].to_numpy(), len(i)),
                "item": np.tile(self.item_ids_[i].to_numpy(), len(u)),
                "score": scores.reshape(-1).astype(np.float64),
            }
        )

    def _user_index(self, users: Iterable[Any] | None) -> np.ndarray:
        if users is None:
            return np.arange(len(self.user_ids_), dtype=np.int64)
        return self._index(self.user_ids_, list(users), "user")

    @staticmethod
    def _index(vocab: pd.Index, values: list[Any], what: str) -> np.ndarray:
        idx = vocab.get_indexer(pd.Index(values))
        if (idx < 0).any():
            bad = values[int(np.flatnonzero(idx < 0)[0])]
            raise EquirecError(f"unknown {what} id {bad!r}: it is not in the training data")
        return idx.astype(np.int64)

    def _history_of(self, data: Dataset) -> History:
        if not data.item_ids.equals(self.item_ids_) or not data.user_ids.equals(self.user_ids_):
            raise EquirecError(
                "history must use the model's vocabularies: pass a subset of the dataset the "
                "model was trained on (Dataset.subset / with_interactions)"
            )
        return data.history()

    # -- persistence -----------------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write ``settings.json`` and ``weights.safetensors`` into ``path`` atomically."""
        self._check_fitted()
        h = self.history_
        tensors = {
            "history.indptr": torch.from_numpy(h.indptr),
            "history.items": torch.from_numpy(h.items),
            "history.weights": torch.from_numpy(h.weights),
        }
        for key, value in self._state().items():
            tensors[f"state.{key}"] = value.detach().cpu().contiguous()
        settings = {
            "format": "equirec-model/1",
            "class": type(self).__name__,
            "name": self.name,
            "params": jsonable(self.get_params(deep=False)),
            "user_ids": _ids_to_json(self.user_ids_),
            "item_ids": _ids_to_json(self.item_ids_),
            "extra": jsonable(self._extra_settings()),
        }
        with atomic_dir(Path(path)) as tmp:
            save_file(tensors, str(tmp / WEIGHTS_FILE))
            (tmp / SETTINGS_FILE).write_text(json.dumps(settings, indent=2))
        return Path(path)

    def _extra_settings(self) -> dict[str, Any]:
        """Non-tensor learned state to save (JSON-serialisable)."""
        return {}

    def _load_extra_settings(self, extra: dict[str, Any]) -> None:
        """Restore what :meth:`_extra_settings` returned."""

    @classmethod
    def load(cls, path: str | Path) -> Recommender:
        """Load a model saved by :meth:`save` (any subclass: the class is read from the file)."""
        from equirec.models.registry import model_class

        path = Path(path)
        settings_path = path / SETTINGS_FILE
        if not settings_path.is_file() or not (path / WEIGHTS_FILE).is_file():
            raise EquirecError(
                f"{path} is not a saved equirec model: expected {SETTINGS_FILE} and {WEIGHTS_FILE}"
            )
        try:
            settings = json.loads(settings_path.read_text())
        except json.JSONDecodeError as exc:
            raise EquirecError(f"{settings_path} is not valid JSON: {exc}") from None
        model_cls = model_class(settings["name"])
        model = model_cls(**_params_from_json(model_cls, settings["params"]))
        tensors = load_file(str(path / WEIGHTS_FILE))
        model.user_ids_ = _ids_from_json(settings["user_ids"], "user")
        model.item_ids_ = _ids_from_json(settings["item_ids"], "item")
        model.history_ = History(
            indptr=tensors["history.indptr"].numpy(),
            items=tensors["history.items"].numpy(),
            weights=tensors["history.weights"].numpy(),
            n_items=len(model.item_ids_),
        )
        model._load_extra_settings(settings.get("extra", {}))
        model._load_state({k[6:]: v for k, v in tensors.items() if k.startswith("state.")})
        return model


def _rows_cols(history: History, batch: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Row (position in batch) and column (item) indices of every interaction of ``batch``."""
    starts, ends = history.indptr[batch], history.indptr[batch + 1]
    lengths = ends - starts
    rows = np.repeat(np.arange(len(batch)), lengths)
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    cols = history.items[np.repeat(starts, lengths) + offsets]
    return torch.from_numpy(rows), torch.from_numpy(cols)


def _ids_to_json(ids: pd.Index) -> dict[str, Any]:
    kind = "int" if ids.dtype.kind in "iu" else "str"
    values = ids.tolist() if kind == "int" else [str(v) for v in ids]
    return {"kind": kind, "values": values}


def _ids_from_json(data: dict[str, Any], name: str) -> pd.Index:
    dtype = np.int64 if data["kind"] == "int" else object
    return pd.Index(np.asarray(data["values"], dtype=dtype), name=name)


def _params_from_json(cls: type[Recommender], params: dict[str, Any]) -> dict[str, Any]:
    """JSON has no tuples: give back tuples where the parameter's default is one.

    ``verbose``, which models saved before progress went through :mod:`logging` hold, is
    dropped where the class no longer takes it.
    """
    defaults: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):  # subclasses (e.g. with **kwargs) override their bases
        if "__init__" in vars(klass):
            for name, p in inspect.signature(vars(klass)["__init__"]).parameters.items():
                defaults[name] = p.default
    return {
        key: tuple(value)
        if isinstance(value, list) and isinstance(defaults.get(key), tuple)
        else value
        for key, value in params.items()
        if key != "verbose" or key in defaults
    }
