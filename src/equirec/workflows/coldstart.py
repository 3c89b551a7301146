"""Cold users of a saved run: its model's metrics by the number of known items it is given.

``equirec coldstart RUN_DIR`` runs
:func:`~equirec.evaluation.cold_users.history_length_metrics` on the run's saved model, its
known history (training, then validation) and its test items, and writes ``cold_users.csv``
(the mean per history length) into the run folder. With user ``attributes`` it also tests, at
every length, the gap between the attribute's groups with the audit's studentized max-t
permutation test and simultaneous intervals (:func:`~equirec.fairness.gaps.gap_test`), into
``cold_users_gaps.csv``: who cold start leaves out.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from equirec.evaluation.cold_users import (
    HISTORY_LENGTHS,
    history_length_metrics,
    mean_by_length,
)
from equirec.io import atomic_write_text
from equirec.workflows.group_gaps import user_group_gaps
from equirec.workflows.rundir import RunFolder, open_run

log = logging.getLogger(__name__)

__all__ = ["COLD_USERS_CSV", "COLD_USERS_GAPS_CSV", "ColdUsers", "cold_user_curve"]

COLD_USERS_CSV = "cold_users.csv"
COLD_USERS_GAPS_CSV = "cold_users_gaps.csv"


@dataclass(frozen=True)
class ColdUsers:
    """The cold-user curve of a run.

    Attributes:
        curve: One row per length: ``model``, ``length``, ``users``, mean metrics.
        gaps: One row per length and attribute: the gap of the first metric between the
            attribute's groups (``gap``, ``low``, ``high``, ``p_value``, and each group's mean
            as ``mean[label]``); empty without attributes.
    """

    curve: pd.DataFrame
    gaps: pd.DataFrame


def cold_user_curve(
    run: RunFolder | str | Path,
    *,
    lengths: Sequence[int] = HISTORY_LENGTHS,
    ks: Sequence[int] = (10,),
    attributes: Sequence[str] = (),
    write: bool = True,
) -> ColdUsers:
    """The saved model's metrics by known history length (see the module docstring).

    Args:
        run: A run folder with a saved model (or an opened one).
        lengths: History lengths.
        ks: Cut-offs.
        attributes: Categorical user attributes whose groups are compared at every length
            (NDCG at the first cut-off).
        write: Write ``cold_users.csv`` (and ``cold_users_gaps.csv``) into the run folder,
            replacing earlier ones.

    Raises:
        DataError: No saved model.
        ConfigError: A model that cannot rank from a given history, bad lengths, an unknown
            or non-categorical attribute.
    """
    folder = run if isinstance(run, RunFolder) else open_run(run)
    per_user = history_length_metrics(
        folder.model,
        known=folder.known.history,
        test=folder.split.test.history(),
        lengths=lengths,
        ks=ks,
    )
    curve = mean_by_length(per_user)
    curve.insert(0, "model", folder.model.name)
    gaps = user_group_gaps(
        folder,
        per_user,
        attributes,
        metrics=[f"ndcg@{min(ks)}"],
        by="length",
        command="coldstart",
    )
    if write:
        path = atomic_write_text(folder.path / COLD_USERS_CSV, curve.to_csv(index=False))
        if len(gaps):
            atomic_write_text(folder.path / COLD_USERS_GAPS_CSV, gaps.to_csv(index=False))
        log.info("cold-user curve written to %s", path)
    return ColdUsers(curve=curve, gaps=gaps)
