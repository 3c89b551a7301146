"""Transfer between datasets through content: a saved content model starts another.

:func:`source_model` reads and checks the model named by ``init_from``; :func:`start_from`
copies its weights but the catalogue's into a new module. The new items' content is encoded
like the source's (:attr:`~equirec.features.content.Block.spec`), so the copied content
projection reads it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import torch

from equirec.errors import ConfigError
from equirec.models.base import Recommender
from equirec.models.transformer import SequenceTransformer

if TYPE_CHECKING:
    from equirec.models.sequential import SequentialRecommender

__all__ = ["source_model", "start_from"]


def source_model(model: SequentialRecommender) -> SequentialRecommender | None:
    """The saved model of ``model.init_from``, checked to be a like transformer with content
    (``None`` without one).

    Raises:
        ConfigError: No saved model there, one without content features, or another
            architecture (each difference named).
    """
    from equirec.models.sequential import SequentialRecommender

    if model.init_from is None:
        return None
    path = Path(model.init_from)
    folder = path / "model" if (path / "model" / "settings.json").is_file() else path
    if not (folder / "settings.json").is_file():
        raise ConfigError(
            f"{model.name}: init_from {path}: no saved model there (a run folder with "
            "model/, or a model folder with settings.json)"
        )
    source = Recommender.load(folder)
    if not isinstance(source, SequentialRecommender) or not source.content_blocks_:
        raise ConfigError(
            f"{model.name}: init_from {path} holds {source.name} without content features; "
            "transfer needs a SASRec or BERT4Rec trained with content_attributes"
        )
    keys = ("dim", "layers", "heads", "ffn_dim", "max_len", "fusion")
    differ = [k for k in keys if getattr(source, k) != getattr(model, k)]
    other = type(source) is not type(model)
    if other or differ:
        shown = [f"model {source.name} there, {model.name} here"] if other else []
        shown += [f"{k} {getattr(source, k)!r} there, {getattr(model, k)!r} here" for k in differ]
        raise ConfigError(
            f"{model.name}: init_from {path} has another architecture: {'; '.join(shown)}"
        )
    return source


def start_from(module: SequenceTransformer, source: SequenceTransformer) -> None:
    """Copy ``source``'s weights into ``module`` but the catalogue's: the ID embeddings start at
    zero (every item from its content), the extra tokens (BERT4Rec's mask) are copied."""
    state = {
        k: v
        for k, v in source.state_dict().items()
        if not k.startswith(("item_emb.", "item_features", "user_"))
    }
    module.load_state_dict(state, strict=False)
    with torch.no_grad():
        table = module.item_emb.weight
        table[: module.n_items + 1].zero_()
        table[module.n_items + 1 :] = source.item_emb.weight[source.n_items + 1 :]
