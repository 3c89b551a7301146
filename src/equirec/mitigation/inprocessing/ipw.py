"""Inverse-propensity weighting: popularity-debiasing weights on the training interactions."""

from __future__ import annotations

import math

import numpy as np

from equirec.data.dataset import Dataset
from equirec.errors import ConfigError, DataError

__all__ = ["ipw_weights"]


def ipw_weights(
    dataset: Dataset,
    *,
    eta: float = 0.5,
    clip: float = 10.0,
    popularity: Dataset | None = None,
    normalize: bool = True,
) -> Dataset:
    """Inverse-propensity weights for popularity debiasing, as the interactions' ``weight``.

    The propensity of an item is taken as a power of its training popularity ``n_i`` (number of
    training interactions), ``p(i) ∝ n_i^η`` (Yang et al., RecSys 2018), so its interactions get
    the weight, relative to the most popular item's,

        ``w_i = min(clip, (n_max / n_i)^η)``

    (1 for the most popular item, at most ``clip``; an item without training interactions gets
    ``clip``). Each interaction's weight becomes its current weight times ``w_i``; with
    ``normalize`` all weights are then scaled by one constant so that their mean is unchanged
    (the loss keeps its scale; ratios, hence the clip, are unaffected). Nothing else changes:
    same interactions in the same order, same vocabularies, attributes and columns.

    BPR, SASRec and BERT4Rec multiply each example's loss by its interaction's weight (the
    transformers: the weight of the target interaction), so fitting on the result trains with
    inverse-propensity weights. Weights apply to training only: pass the training part of a
    split, and compute the popularity from the training data only.

    Args:
        dataset: The interactions to re-weight (the training data).
        eta: Exponent ``η >= 0`` of the propensity (0 = no re-weighting; 1 = plain inverse
            popularity).
        clip: Largest weight ratio to the most popular item's, ``>= 1`` (``inf`` = no clipping;
            then every re-weighted item needs a training interaction).
        popularity: The training data whose item counts give ``n_i`` (default: ``dataset``);
            must share ``dataset``'s item vocabulary.
        normalize: Keep the mean weight of the interactions.

    Returns:
        A new :class:`Dataset` (``info["ipw"]`` records the parameters).

    Raises:
        ConfigError: ``eta < 0`` or ``clip < 1``.
        DataError: An empty popularity source, a different item vocabulary, or an item without
            training interactions when ``clip`` is infinite.
    """
    eta_v, clip_v = float(eta), float(clip)
    if not math.isfinite(eta_v) or eta_v < 0:
        raise ConfigError(f"ipw_weights: eta must be a finite number >= 0, got {eta!r}")
    if math.isnan(clip_v) or clip_v < 1:
        raise ConfigError(
            f"ipw_weights: clip must be >= 1 (the largest weight relative to the most popular "
            f"item's), got {clip!r}"
        )
    source = dataset if popularity is None else popularity
    if not source.item_ids.equals(dataset.item_ids):
        raise DataError(
            "ipw_weights: the popularity data must share the dataset's item vocabulary (use "
            "the training part of the same split)"
        )
    counts = np.bincount(
        source.interactions["item_idx"].to_numpy(), minlength=dataset.n_items
    ).astype(np.float64)
    if counts.sum() == 0:
        raise DataError(f"ipw_weights: the popularity data {source.name!r} has no interactions")
    df = dataset.interactions
    items = df["item_idx"].to_numpy()
    n_i = counts[items]
    if (n_i == 0).any() and math.isinf(clip_v):
        raise DataError(
            "ipw_weights: some interactions are of items without training interactions; their "
            "inverse propensity is infinite, so give a finite clip"
        )
    with np.errstate(divide="ignore"):
        ratio = np.where(n_i > 0, counts.max() / np.where(n_i > 0, n_i, 1.0), np.inf)
    w_item = np.minimum(clip_v, ratio**eta_v) if eta_v > 0 else np.ones_like(ratio)
    old = df["weight"].to_numpy(dtype=np.float64)
    new = old * w_item
    if normalize and new.sum() > 0:
        new = new * (old.sum() / new.sum())
    rows = df.drop(columns=["user_idx", "item_idx"]).copy()
    rows["weight"] = new.astype(np.float32)
    out = dataset.with_interactions(rows)
    out.info["ipw"] = f"eta={eta_v:g}, clip={clip_v:g}, normalize={bool(normalize)}"
    return out
