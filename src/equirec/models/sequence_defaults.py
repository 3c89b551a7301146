"""Defaults of the sequence models that follow the size of the training data.

A sequence model's ``dropout``, ``min_epochs`` and ``patience`` may be ``"auto"`` (SASRec's
defaults): they are then set, when the model is fitted, from the training history alone, by
the rules below, and the values used are recorded in the training log (``settings``).

* **Dropout** follows the training interactions per catalogue item, the data each item
  embedding (most of the model's parameters) is learnt from: ``DROPOUT_HIGH`` up to
  ``DENSITY_LOW`` interactions per item, ``DROPOUT_LOW`` from ``DENSITY_HIGH`` on, and
  log-linear between. Measured (BENCHMARKS.md "Defaults that follow the data"): on ML-100K
  (58 per item; max_len 50, short schedule, 3 seeds against 1) 0.5 beats 0.2 by 14%; on the
  million-interaction synthetic log (288 per item, seed 0) dropout 0.1 leads 0.5 from the
  second epoch on. The SASRec authors used 0.2 on ML-1M (293 per item) and 0.5 on their
  sparser sets, and SASRec+ 0.1 on ML-1M. The ends between are not tuned.
* **min_epochs** and **patience** are a number of sequences seen, not of epochs: the ML-100K
  curves (943 users) that set them at 50 and 20 epochs dip early and rise again, an effect of
  the optimisation steps taken, so a log with six times as many users reaches the same point in
  a sixth of the epochs. ``min_epochs = 50 * 943 / users`` and ``patience = 20 * 943 / users``,
  rounded, at least ``LEAST_EPOCHS``: 50 and 20 on ML-100K as before, 8 and 5 at 6,040 users.
  They bound when training may stop, not how long it takes: on the million-interaction log a
  constant rate still improves by small steps after 25 epochs (BENCHMARKS.md "A million
  interactions within 15 minutes", which measures capping ``epochs`` with and without a decay).
"""

from __future__ import annotations

import math
from typing import Any, Final

from equirec.data.history import History

__all__ = ["AUTO", "AUTO_KEYS", "auto_dropout", "auto_epochs", "auto_settings"]

AUTO: Final = "auto"
AUTO_KEYS: Final = ("dropout", "min_epochs", "patience")
"""The parameters that may be ``"auto"``."""

DROPOUT_HIGH: Final = 0.5
DROPOUT_LOW: Final = 0.1
DENSITY_LOW: Final = 64.0
DENSITY_HIGH: Final = 256.0
REFERENCE_USERS: Final = 943
"""ML-100K's users, whose curves set ``min_epochs`` 50 and ``patience`` 20."""
REFERENCE_EPOCHS: Final = {"min_epochs": 50, "patience": 20}
LEAST_EPOCHS: Final = 5


def auto_dropout(history: History) -> float:
    """The dropout for a training history: from its interactions per catalogue item."""
    density = len(history) / max(1, history.n_items)
    if density <= DENSITY_LOW:
        return DROPOUT_HIGH
    if density >= DENSITY_HIGH:
        return DROPOUT_LOW
    t = math.log(density / DENSITY_LOW) / math.log(DENSITY_HIGH / DENSITY_LOW)
    return round(DROPOUT_HIGH + t * (DROPOUT_LOW - DROPOUT_HIGH), 3)


def auto_epochs(key: str, history: History) -> int:
    """``min_epochs`` or ``patience`` for a training history: ML-100K's scaled by its users."""
    users = max(1, int((history.lengths() > 0).sum()))
    return max(LEAST_EPOCHS, round(REFERENCE_EPOCHS[key] * REFERENCE_USERS / users))


def auto_settings(params: dict[str, Any], history: History) -> dict[str, Any]:
    """The values the ``"auto"`` parameters among ``params`` take for ``history``.

    Args:
        params: A model's parameters (``get_params()``).
        history: Its training history.

    Returns:
        ``{key: value}`` for each parameter of :data:`AUTO_KEYS` set to ``"auto"``.
    """
    out: dict[str, Any] = {}
    for key in AUTO_KEYS:
        if params.get(key) != AUTO:
            continue
        out[key] = auto_dropout(history) if key == "dropout" else auto_epochs(key, history)
    return out
