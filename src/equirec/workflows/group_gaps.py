"""Gaps of per-user values between the groups of user attributes, with the audit's test.

The studentized max-t permutation test and its simultaneous intervals
(:func:`~equirec.fairness.gaps.gap_test`) on any per-user table of a run: the cold-user curve's
NDCG at every history length, the explanations' validity and size.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from equirec.errors import ConfigError
from equirec.fairness.gaps import gap_test
from equirec.fairness.groups import categorical_groups, quantile_groups
from equirec.workflows.rundir import RunFolder

__all__ = ["CONFIDENCE", "PERMUTATIONS", "user_group_gaps"]

CONFIDENCE = 0.95
PERMUTATIONS = 2000


def user_group_gaps(
    folder: RunFolder,
    per_user: pd.DataFrame,
    attributes: Sequence[str],
    *,
    metrics: Sequence[str],
    by: str | None = None,
    command: str,
) -> pd.DataFrame:
    """One row per attribute, metric (and value of ``by``): the gap between the attribute's
    group means, its simultaneous interval, the permutation p-value and each group's mean.

    Args:
        folder: The run (its user attributes and seed).
        per_user: A ``user`` column (internal indices) and the ``metrics`` columns.
        attributes: Categorical user attributes, or numeric ones (cut into the audit's
            quantile bands).
        metrics: Columns compared.
        by: A column whose values are compared separately (e.g. ``length``).
        command: The command named in errors.

    Raises:
        ConfigError: An unknown or multi-valued attribute.
    """
    data = folder.dataset
    kinds = data.user_attribute_kinds
    parts = [(None, per_user)] if by is None else list(per_user.groupby(by, sort=True))
    rows = []
    for attribute in attributes:
        if data.user_attributes is None or attribute not in kinds:
            raise ConfigError(
                f"{command}: unknown user attribute {attribute!r}; the data has {dict(kinds)}"
            )
        values = data.user_attributes[attribute]
        if kinds[attribute] == "categorical":
            groups = categorical_groups(values, name=attribute)
        elif kinds[attribute] == "numeric":  # quantile bands, as the audit makes them
            groups = quantile_groups(values.to_numpy(dtype=np.float64), name=attribute)
        else:
            raise ConfigError(
                f"{command}: user attribute {attribute!r} is {kinds[attribute]}; compare "
                "categorical or numeric attributes (e.g. gender, age)"
            )
        for value, part in parts:
            codes = groups.codes[part["user"].to_numpy()]
            for metric in metrics:
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
                row = {} if by is None else {by: value}
                row |= {
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
