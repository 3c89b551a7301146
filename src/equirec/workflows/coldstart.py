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

import numpy as np
import pandas as pd

from equirec.errors import ConfigError
from equirec.evaluation.cold_users import (
    HISTORY_LENGTHS,
    history_length_metrics,
    mean_by_length,
)
from equirec.fairness.gaps import gap_test
from equirec.fairness.groups import categorical_groups
from equirec.io import atomic_write_text
from equirec.workflows.rundir import RunFolder, open_run

log = logging.getLogger(__name__)

__all__ = ["COLD_USERS_CSV", "COLD_USERS_GAPS_CSV", "ColdUsers", "cold_user_curve"]

COLD_USERS_CSV = "cold_users.csv"
COLD_USERS_GAPS_CSV = "cold_users_gaps.csv"

CONFIDENCE = 0.95
PERMUTATIONS = 2000


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
    gaps = _gaps(folder, per_user, attributes, metric=f"ndcg@{min(ks)}")
    if write:
        path = atomic_write_text(folder.path / COLD_USERS_CSV, curve.to_csv(index=False))
        if len(gaps):
            atomic_write_text(folder.path / COLD_USERS_GAPS_CSV, gaps.to_csv(index=False))
        log.info("cold-user curve written to %s", path)
    return ColdUsers(curve=curve, gaps=gaps)


def _gaps(
    folder: RunFolder, per_user: pd.DataFrame, attributes: Sequence[str], *, metric: str
) -> pd.DataFrame:
    data = folder.dataset
    kinds = data.user_attribute_kinds
    rows = []
    for attribute in attributes:
        if data.user_attributes is None or attribute not in kinds:
            raise ConfigError(
                f"coldstart: unknown user attribute {attribute!r}; the data has {dict(kinds)}"
            )
        if kinds[attribute] != "categorical":
            raise ConfigError(
                f"coldstart: user attribute {attribute!r} is {kinds[attribute]}; compare "
                "categorical attributes (e.g. gender, an age band)"
            )
        groups = categorical_groups(data.user_attributes[attribute], name=attribute)
        for _, part in per_user.groupby("length", sort=True):
            codes = groups.codes[part["user"].to_numpy()]
            test = gap_test(
                part[metric].to_numpy(dtype=np.float64),
                codes,
                n_groups=len(groups.labels),
                confidence=CONFIDENCE,
                n_permutations=PERMUTATIONS,
                rng=np.random.default_rng(folder.config.seed),
            )
            if test is None:
                continue
            row = {
                "length": int(part["length"].iloc[0]),
                "attribute": attribute,
                "metric": metric,
                "gap": float(test.means.max() - test.means.min()),
                "low": test.gap_low,
                "high": test.gap_high,
                "p_value": test.p_value,
                "confidence": CONFIDENCE,
            }
            for code, mean in zip(test.groups, test.means, strict=True):
                row[f"mean[{groups.labels[int(code)]}]"] = float(mean)
            rows.append(row)
    return pd.DataFrame(rows)
