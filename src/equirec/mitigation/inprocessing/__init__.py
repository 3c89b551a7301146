"""In-processing mitigation: loss terms and example weights applied while a model trains.

Every method plugs into the shared :class:`~equirec.training.trainer.Trainer` of BPR, SASRec and
BERT4Rec without changing the models: the loss terms are added with ``model.add_loss_term(term)``
before ``fit`` and see the ``batch`` and ``outputs`` keys each model documents; the re-weighting
is a transformation of the training data's ``weight`` column.

- :class:`AdversarialDebiasing` (Beigi et al., WSDM 2020; FairGo, Wu et al., WWW 2021): one
  discriminator per sensitive user attribute predicts the attribute from ``outputs["user_repr"]``
  through a gradient-reversal layer; the discriminators minimise their cross-entropy while the
  recommender maximises it, i.e. ``min_model max_D  L_rec − λ·Σ_a L_D,a``. FairGo's filter
  network is *not* used: a filter would have to sit between the encoder and the scoring in every
  model, so the adversary acts on the encoder's representation directly (the representation the
  model scores with, which :meth:`~equirec.models.bpr.BPR.user_representations` returns).
- :class:`GroupGapPenalty`: ``λ`` times the gap between user groups of the mean per-example
  training loss in the batch (a batch-level surrogate of the group accuracy gap).
- :class:`ExposurePenalty` / :class:`PopularityPenalty`: ``λ`` times the disparity between item
  groups (head vs long tail for the latter) of the softmax probability mass per item that the
  model gives the batch's users.
- :func:`ipw_weights`: inverse-propensity weights ``1 / p(i)^η`` (clipped) on the training
  interactions, for popularity debiasing (Schnabel et al., ICML 2016; Yang et al., RecSys 2018).

Loss terms that are :class:`torch.nn.Module` are moved to the training device by the trainer, and
the trainer optimises their parameters (the discriminators) with the model's. A term keeps its
state across fits: build a fresh one (or call :meth:`AdversarialDebiasing.reset_parameters`)
before fitting another model.

The loss a model logs includes the terms' values (for the adversary: ``+Σ_a L_D,a``, the
discriminators' cross-entropy; the reversal acts only on the gradient).

One module per method, all re-exported here: :mod:`~equirec.mitigation.inprocessing.adversarial`
(the adversary, its discriminators and :func:`gradient_reversal`),
:mod:`~equirec.mitigation.inprocessing.group_gap`, :mod:`~equirec.mitigation.inprocessing.exposure`,
:mod:`~equirec.mitigation.inprocessing.popularity` and :mod:`~equirec.mitigation.inprocessing.ipw`;
the private ``_shared`` holds the parameter and group-code checks and the batch helpers they share.
"""

from equirec.mitigation.inprocessing.adversarial import (
    POSITIONS,
    AdversarialDebiasing,
    gradient_reversal,
)
from equirec.mitigation.inprocessing.exposure import ExposurePenalty
from equirec.mitigation.inprocessing.group_gap import Aggregate, GroupGapPenalty
from equirec.mitigation.inprocessing.ipw import ipw_weights
from equirec.mitigation.inprocessing.popularity import PopularityPenalty

__all__ = [
    "POSITIONS",
    "AdversarialDebiasing",
    "Aggregate",
    "ExposurePenalty",
    "GroupGapPenalty",
    "PopularityPenalty",
    "gradient_reversal",
    "ipw_weights",
]
