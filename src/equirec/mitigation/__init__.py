"""Bias mitigation before training (re-weighting, re-sampling), during training (adversary,
regularisers, inverse-propensity weights) and after it (re-rankers, see
:mod:`equirec.mitigation.rerank`), with trade-off sweeps."""

from equirec.mitigation.inprocessing import (
    AdversarialDebiasing,
    ExposurePenalty,
    GroupGapPenalty,
    PopularityPenalty,
    gradient_reversal,
    ipw_weights,
)
from equirec.mitigation.preprocessing import group_weight_shares, resample, reweight

__all__ = [
    "AdversarialDebiasing",
    "ExposurePenalty",
    "GroupGapPenalty",
    "PopularityPenalty",
    "gradient_reversal",
    "group_weight_shares",
    "ipw_weights",
    "resample",
    "reweight",
]
