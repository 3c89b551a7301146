"""Bias mitigation before training (re-weighting, re-sampling), during training (adversary,
regularisers, inverse-propensity weights) and after it (re-rankers, see
:mod:`equirec.mitigation.rerank`), with the trade-off tools of sweeps. Every method is registered
in :mod:`equirec.mitigation.registry`; :mod:`equirec.mitigation.apply` applies a training-time
one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from equirec._lazy import lazy_exports

__all__ = [
    "RERANKERS",
    "TRAINING_METHODS",
    "AdversarialDebiasing",
    "AppliedMitigation",
    "ExposurePenalty",
    "GroupGapPenalty",
    "PopularityPenalty",
    "apply_training_mitigation",
    "gradient_reversal",
    "group_weight_shares",
    "ipw_weights",
    "resample",
    "reweight",
]

_INP = "equirec.mitigation.inprocessing"
_LAZY = {
    "RERANKERS": "equirec.mitigation.registry",
    "TRAINING_METHODS": "equirec.mitigation.registry",
    "AdversarialDebiasing": _INP,
    "ExposurePenalty": _INP,
    "GroupGapPenalty": _INP,
    "PopularityPenalty": _INP,
    "gradient_reversal": _INP,
    "ipw_weights": _INP,
    "AppliedMitigation": "equirec.mitigation.apply",
    "apply_training_mitigation": "equirec.mitigation.apply",
    "group_weight_shares": "equirec.mitigation.preprocessing",
    "resample": "equirec.mitigation.preprocessing",
    "reweight": "equirec.mitigation.preprocessing",
}

if TYPE_CHECKING:
    from equirec.mitigation.apply import AppliedMitigation, apply_training_mitigation
    from equirec.mitigation.inprocessing import (
        AdversarialDebiasing,
        ExposurePenalty,
        GroupGapPenalty,
        PopularityPenalty,
        gradient_reversal,
        ipw_weights,
    )
    from equirec.mitigation.preprocessing import group_weight_shares, resample, reweight
    from equirec.mitigation.registry import RERANKERS, TRAINING_METHODS

__getattr__ = lazy_exports(__name__, _LAZY)
