"""The checks of a sequence model's parameters (SASRec, BERT4Rec), made when it is fitted."""

from __future__ import annotations

import logging
import numbers
from typing import TYPE_CHECKING

import torch

from equirec.errors import ConfigError
from equirec.models.sequence_defaults import AUTO
from equirec.models.transformer import FUSIONS
from equirec.training.device import resolve_device
from equirec.training.losses import PRECISIONS
from equirec.training.trainer import SCHEDULES

if TYPE_CHECKING:
    from equirec.models.sequential import SequentialRecommender

__all__ = ["check_params"]

log = logging.getLogger(__name__)


def check_params(model: SequentialRecommender) -> None:
    """Reject bad parameters of a sequence model, naming the key, the value and what is valid."""
    if model.loss not in ("ce", "sampled", "gbce"):
        raise ConfigError(
            f"{model.name}: loss must be 'ce', 'sampled' or 'gbce', not {model.loss!r}"
        )
    if model.negatives not in ("uniform", "popularity"):
        raise ConfigError(
            f"{model.name}: negatives must be 'uniform' or 'popularity', not {model.negatives!r}"
        )
    if model.negatives == "popularity" and model.loss != "sampled":
        raise ConfigError(
            f"{model.name}: negatives='popularity' applies to loss='sampled' (gBCE samples "
            f"uniformly), not to loss={model.loss!r}"
        )
    if model.loss != "ce" and int(model.n_negatives) < 1:
        raise ConfigError(f"{model.name}: n_negatives must be >= 1, not {model.n_negatives!r}")
    if not model.tied_embeddings and model.content_attributes:
        raise ConfigError(
            f"{model.name}: tied_embeddings=false gives items output embeddings of their own, "
            "which content features would not reach; keep it true with content_attributes"
        )
    if model.precision not in PRECISIONS:
        raise ConfigError(
            f"{model.name}: precision must be one of {', '.join(PRECISIONS)}, "
            f"not {model.precision!r}"
        )
    cpu = resolve_device(model.device).type == "cpu"
    if model.precision == "bf16" and cpu and not torch.ops.mkldnn._is_mkldnn_bf16_supported():
        text = (
            f"{model.name}: precision='bf16' on a CPU without bfloat16 instructions "
            "(AVX-512 BF16 or AMX) emulates them and is slower than fp32"
        )
        log.warning(text)
        model.warnings_.append(text)
    if not 0.0 <= float(model.gbce_t) <= 1.0:
        raise ConfigError(f"{model.name}: gbce_t must be in [0, 1], not {model.gbce_t!r}")
    for key in ("max_len", "dim", "layers", "heads", "epochs", "batch_size"):
        least = 0 if key == "epochs" and model.init_from is not None else 1
        if int(getattr(model, key)) < least:
            raise ConfigError(
                f"{model.name}: {key} must be >= {least}, not {getattr(model, key)!r}"
                + (
                    " (0 only with init_from: a transferred model used as it is)"
                    if key == "epochs"
                    else ""
                )
            )
    for key in ("dropout", "id_dropout"):
        value = getattr(model, key)
        if key == "dropout" and value == AUTO:
            continue
        if not isinstance(value, numbers.Real) or not 0.0 <= float(value) < 1.0:
            also = ' or "auto"' if key == "dropout" else ""
            raise ConfigError(f"{model.name}: {key} must be in [0, 1){also}, not {value!r}")
    for key in ("min_epochs", "patience"):
        value = getattr(model, key)
        if value != AUTO and (
            not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 0
        ):
            raise ConfigError(
                f'{model.name}: {key} must be "auto" or a whole number >= 0, not {value!r}'
            )
    if model.fusion not in FUSIONS:
        raise ConfigError(
            f"{model.name}: fusion must be one of {', '.join(FUSIONS)}, not {model.fusion!r}"
        )
    if (
        not model.content_attributes
        and model.init_from is None
        and (model.fusion != "add" or model.id_dropout)
    ):
        raise ConfigError(
            f"{model.name}: fusion={model.fusion!r} and id_dropout act on content features; "
            "name the item attributes in content_attributes (e.g. genres, title)"
        )
    if model.lr_schedule not in SCHEDULES:
        raise ConfigError(
            f"{model.name}: lr_schedule must be one of {', '.join(SCHEDULES)}, "
            f"not {model.lr_schedule!r}"
        )
    if not 0.0 <= float(model.warmup_epochs) <= int(model.epochs):
        raise ConfigError(
            f"{model.name}: warmup_epochs must be between 0 and epochs ({model.epochs}), "
            f"not {model.warmup_epochs!r}"
        )
