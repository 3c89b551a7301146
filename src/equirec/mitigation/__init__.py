"""Bias mitigation before training (re-weighting, re-sampling), during training (adversary,
regularisers, inverse-propensity weights) and after it (re-rankers, see
:mod:`equirec.mitigation.rerank`), with trade-off sweeps. :mod:`equirec.mitigation.training`
maps a run config's ``[mitigation]`` section to the first two."""

from equirec.mitigation.inprocessing import (
    AdversarialDebiasing,
    ExposurePenalty,
    GroupGapPenalty,
    PopularityPenalty,
    gradient_reversal,
    ipw_weights,
)
from equirec.mitigation.preprocessing import group_weight_shares, resample, reweight
from equirec.mitigation.training import (
    TRAINING_METHODS,
    AppliedMitigation,
    apply_training_mitigation,
)

__all__ = [
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
