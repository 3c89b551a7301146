"""Cold users of a saved run: its model's metrics by the number of known items it is given.

``equirec coldstart RUN_DIR`` runs :func:`~equirec.evaluation.cold_users.history_length_curve`
on the run's saved model, its known history (training, then validation) and its test items, and
writes ``cold_users.csv`` (one row per history length) into the run folder.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from equirec.evaluation.cold_users import HISTORY_LENGTHS, history_length_curve
from equirec.io import atomic_write_text
from equirec.workflows.rundir import RunFolder, open_run

log = logging.getLogger(__name__)

__all__ = ["COLD_USERS_CSV", "cold_user_curve"]

COLD_USERS_CSV = "cold_users.csv"


def cold_user_curve(
    run: RunFolder | str | Path,
    *,
    lengths: Sequence[int] = HISTORY_LENGTHS,
    ks: Sequence[int] = (10,),
    write: bool = True,
) -> pd.DataFrame:
    """The saved model's metrics by known history length (see the module docstring).

    Args:
        run: A run folder with a saved model (or an opened one).
        lengths: History lengths.
        ks: Cut-offs.
        write: Write ``cold_users.csv`` into the run folder (replacing an earlier one).

    Raises:
        DataError: No saved model.
        ConfigError: A model that cannot rank from a given history, or bad lengths.
    """
    folder = run if isinstance(run, RunFolder) else open_run(run)
    curve = history_length_curve(
        folder.model,
        known=folder.known.history,
        test=folder.split.test.history(),
        lengths=lengths,
        ks=ks,
    )
    curve.insert(0, "model", folder.model.name)
    if write:
        path = atomic_write_text(folder.path / COLD_USERS_CSV, curve.to_csv(index=False))
        log.info("cold-user curve written to %s", path)
    return curve
