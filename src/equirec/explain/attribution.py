"""How much each past item is responsible for one recommended item's score.

Every method gives one number per position of the user's history (0 = oldest), higher = more
responsible, 0 for an item the model does not read (beyond a sequence model's window):

- ``loo``: the drop of the item's score when that past item alone is removed (exact, by
  re-scoring; every model that scores from the history).
- ``ig``: integrated gradients (Sundararajan et al. 2017) of the item's score with respect to the
  input item embeddings of a sequence model, from an all-zero baseline, summed over dimensions
  (Captum; ``pip install 'equirec[explain]'``). Its values add up to the score difference between
  the history and the baseline (the completeness axiom), up to the integral's error.
- ``attention``: the last transformer block's attention weights of the scoring position, mean
  over heads; a comparison, not a faithful attribution (Jain & Wallace 2019).
- ``model``: the baselines' own decomposition of their score: EASE's weights ``B[j, i]``,
  item-kNN's similarities, content-kNN's content cosines (each an exact additive share of the
  score), BPR's embedding cosine of each past item to the recommended one (which items are
  *near* it: BPR's score reads the user's vector, not the history). Popularity reads no history.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from equirec.errors import ConfigError
from equirec.explain.counterfactual import leave_one_out
from equirec.explain.methods import ATTRIBUTIONS

if TYPE_CHECKING:
    from equirec.models.base import Recommender
    from equirec.models.sequential import SequentialRecommender

__all__ = ["attribute", "own_weights", "reads_last"]


SEQUENCE_ONLY = ("ig", "attention")

IG_TOLERANCE = 0.02
"""Integrated gradients double their steps until the attributions add up to the score difference
from the baseline within this share of it (or :data:`IG_MAX_STEPS` is reached)."""
IG_MAX_STEPS = 1024


def attribute(
    model: Recommender,
    history: np.ndarray,
    item: int,
    *,
    method: str,
    user: int | None = None,
    steps: int = 32,
) -> np.ndarray:
    """Per-position responsibility of ``history`` for ``item``'s score (see the module).

    Args:
        model: A fitted recommender.
        history: The user's history (internal item indices, chronological).
        item: The recommended item (internal index).
        method: ``"loo"``, ``"ig"``, ``"attention"`` or ``"model"``.
        user: The known user (internal index) the history belongs to, if any.
        steps: Integral steps ``ig`` starts from.

    Raises:
        ConfigError: An unknown method, or one the model does not support (named, with what
            it supports).
    """
    from equirec.models.sequential import SequentialRecommender

    history = np.asarray(history, dtype=np.int64)
    if method not in ATTRIBUTIONS:
        raise ConfigError(f"unknown attribution method {method!r}; choose one of {ATTRIBUTIONS}")
    sequence = isinstance(model, SequentialRecommender)
    if method in SEQUENCE_ONLY and not sequence:
        supported = "'loo' and 'model'" if model.scores_from_history else "'model'"
        raise ConfigError(
            f"method {method!r} needs a sequence model (sasrec, bert4rec); {model.name} "
            f"supports {supported}"
        )
    if method == "loo":
        if not model.scores_from_history:
            raise ConfigError(
                f"{model.name} scores a user by their learned vector, so removing a past item "
                "changes nothing: use method 'model' (the past items nearest the recommendation)"
            )
        effects, _ = leave_one_out(
            lambda hs: model.score_histories(hs, user=user).numpy(),
            history,
            item,
            window=reads_last(model),
        )
        return effects
    if method == "model":
        if sequence:
            raise ConfigError(
                f"{model.name} has no additive decomposition of its score; use 'loo', 'ig', "
                "'attention' or a counterfactual"
            )
        return own_weights(model, history, item)
    assert isinstance(model, SequentialRecommender)
    if method == "ig":
        return _integrated_gradients(model, history, item, user=user, steps=steps)
    return _attention(model, history)


def reads_last(model: Recommender) -> int | None:
    """How many of the latest history items the model reads (``None``: all of them)."""
    from equirec.models.contentknn import ContentKNN
    from equirec.models.sequential import SequentialRecommender

    if isinstance(model, SequentialRecommender):
        return int(model.max_len) - int(model.extra_tokens)
    if isinstance(model, ContentKNN) and model.window is not None:
        return int(model.window)
    return None


def _window(model: SequentialRecommender, history: np.ndarray) -> tuple[torch.Tensor, np.ndarray]:
    """The module's input tokens for ``history`` and, per token, its history position (-1: not
    a history item: padding, BERT4Rec's mask)."""
    tokens = model.input_tokens(history)
    real = ((tokens >= 1) & (tokens <= model.n_items))[0].numpy()
    positions = np.full(real.shape, -1, dtype=np.int64)
    positions[real] = np.arange(len(history) - int(real.sum()), len(history))
    return tokens, positions


def _per_position(values: torch.Tensor, positions: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros(n, dtype=np.float64)
    real = positions >= 0
    out[positions[real]] = values.detach().double().cpu().numpy()[real]
    return out


def _integrated_gradients(
    model: SequentialRecommender, history: np.ndarray, item: int, *, user: int | None, steps: int
) -> np.ndarray:
    try:
        from captum.attr import IntegratedGradients
    except ImportError as exc:
        raise ConfigError(
            "integrated gradients need Captum: pip install 'equirec[explain]'"
        ) from exc
    module = model.module_
    module.eval()
    device = model.device_
    tokens, positions = _window(model, history)
    tokens = tokens.to(device)
    with torch.no_grad():
        table = module.item_table()
        vectors = table[tokens]  # (1, L, D)
        target = module.output_embeddings()[item]
        owner = len(model.user_ids_) if user is None else int(user)
        extra = module.user_vectors(torch.tensor([owner], device=device))
    real = torch.from_numpy(positions >= 0).to(device)[None, :, None]
    baseline = torch.where(real, torch.zeros_like(vectors), vectors)  # the mask token stays

    def score(inputs: torch.Tensor) -> torch.Tensor:
        hidden = module(tokens.expand(len(inputs), -1), last_only=True, item_vectors=inputs)
        if extra is not None:
            hidden = hidden + extra
        return hidden @ target

    ig: Any = IntegratedGradients(score)
    with torch.no_grad():
        gap = float(score(vectors) - score(baseline))
    # The score can jump along the path (attention switching between keys): the integral is
    # refined until the attributions add up to the score difference (completeness).
    while True:
        values, delta = ig.attribute(
            vectors,
            baselines=baseline,
            n_steps=steps,
            method="gausslegendre",
            return_convergence_delta=True,
        )
        if abs(float(delta)) <= IG_TOLERANCE * max(abs(gap), 1e-6) or steps >= IG_MAX_STEPS:
            break
        steps *= 2
    return _per_position(values.sum(dim=-1)[0], positions, len(history))


def _attention(model: SequentialRecommender, history: np.ndarray) -> np.ndarray:
    tokens, positions = _window(model, history)
    module = model.module_
    module.eval()
    with torch.no_grad():
        weights = module(tokens.to(model.device_), attention=True)[0]
    return _per_position(weights, positions, len(history))


def own_weights(model: Recommender, history: np.ndarray, item: int) -> np.ndarray:
    """The baselines' own share of ``item``'s score per past item (see the module's ``model``).

    Raises:
        ConfigError: A model without one (popularity reads no history; sequence models).
    """
    from equirec.models.bpr import BPR
    from equirec.models.contentknn import ContentKNN
    from equirec.models.ease import EASE
    from equirec.models.itemknn import ItemKNN

    history = np.asarray(history, dtype=np.int64)
    if isinstance(model, EASE):
        return model.coef_[torch.from_numpy(history), item].double().numpy()
    if isinstance(model, ItemKNN):
        return np.asarray(model.similarity_[history, item].toarray(), dtype=np.float64).ravel()
    if isinstance(model, ContentKNN):
        content = model.content_
        out = (content[history] @ content[item]).astype(np.float64)
        if model.window is not None:
            out[: max(len(history) - int(model.window), 0)] = 0.0  # beyond what it reads
        return out
    if isinstance(model, BPR):
        vectors = model.module_.item_embeddings.weight.detach().double()
        unit = vectors / vectors.norm(dim=1, keepdim=True).clamp_min(1e-12)
        return (unit[torch.from_numpy(history)] @ unit[item]).numpy()
    raise ConfigError(
        f"{model.name} has no per-item share of its score"
        + (": it ranks by popularity, whatever the history" if model.name == "pop" else "")
    )
