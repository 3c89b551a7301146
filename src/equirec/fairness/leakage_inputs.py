"""Inputs of the leakage probe: features and labels checked, the classifier chosen, rare classes
merged (see :func:`equirec.fairness.leakage.leakage_probe` for the protocol)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from equirec.errors import ConfigError, DataError

OTHER = "other"
"""Name of the class that rare classes are merged into (``other*``... if a class is so named)."""

_LOGISTIC_C = 1.0
_LOGISTIC_MAX_ITER = 5000


def _features(features: Any) -> Any:
    if sp.issparse(features):
        x = sp.csr_matrix(features, dtype=np.float64)
        values = x.data
    else:
        try:
            x = np.asarray(features, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise DataError(f"leakage probe: features must be numeric ({err})") from err
        if x.ndim != 2:
            raise DataError(
                f"leakage probe: features must be 2-D (users × dimensions), got shape {x.shape}"
            )
        values = x
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise DataError(
            f"leakage probe: features are empty (shape {x.shape}); need at least one user and "
            "one dimension"
        )
    finite = np.isfinite(values)
    if not finite.all():
        bad = int((~finite).sum())
        raise DataError(
            f"leakage probe: features hold {bad} non-finite value(s) (NaN or inf); drop or "
            "impute those users first"
        )
    return x


def _labels(labels: Any) -> np.ndarray:
    if isinstance(labels, pd.Series | pd.Index):
        values = labels.to_numpy(dtype=object)
    else:
        values = np.asarray(labels, dtype=object)
    if values.ndim != 1:
        raise DataError(f"leakage probe: labels must be 1-D (one per user), got {values.shape}")
    return values


def _label(value: Any) -> str:
    """The class name of a label (as the user-side groups write it: ``2.0`` → ``"2"``)."""
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _check_options(*, folds: int, n_boot: int, confidence: float) -> None:
    if isinstance(folds, bool) or not isinstance(folds, int | np.integer) or folds < 2:
        raise ConfigError(f"leakage probe: folds must be an integer >= 2, got {folds!r}")
    if n_boot < 0:
        raise ConfigError(f"leakage probe: n_boot must be >= 0, got {n_boot}")
    if not 0.0 < confidence < 1.0:
        raise ConfigError(f"leakage probe: confidence must be in (0, 1), got {confidence}")


def _classifier(classifier: Any, *, sparse: bool) -> tuple[Any, str]:
    if isinstance(classifier, str):
        if classifier != "logistic":
            raise ConfigError(
                f"leakage probe: unknown classifier {classifier!r}; use 'logistic' or a "
                "scikit-learn classifier instance with predict_proba"
            )
        logistic = LogisticRegression(
            C=_LOGISTIC_C, class_weight="balanced", max_iter=_LOGISTIC_MAX_ITER
        )
        model: Any = logistic if sparse else make_pipeline(StandardScaler(), logistic)
        return model, "logistic"
    if not (hasattr(classifier, "fit") and hasattr(classifier, "predict_proba")):
        raise ConfigError(
            f"leakage probe: classifier {classifier!r} has no fit/predict_proba; use 'logistic' "
            "or a scikit-learn classifier instance with predict_proba"
        )
    inner = classifier.steps[-1][1] if isinstance(classifier, Pipeline) else classifier
    return classifier, type(inner).__name__


def _classes(
    text: np.ndarray, keep: np.ndarray, min_size: int, folds: int
) -> tuple[np.ndarray, list[str], list[str], int, np.ndarray]:
    """Class codes after merging rare classes; returns (codes, names, merged, dropped, keep)."""
    names, inverse, counts = np.unique(text.astype(str), return_inverse=True, return_counts=True)
    found = {str(c): int(k) for c, k in zip(names, counts, strict=True)}
    rare = counts < min_size
    merged = [str(c) for c in names[rare]]
    big = [str(c) for c in names[~rare]]
    dropped = 0
    labels = names.astype(object)
    if rare.any():
        other = OTHER
        while other in found:
            other += "*"
        if counts[rare].sum() >= min_size:
            labels[rare] = other
        else:
            labels[rare] = None
            dropped = int(counts[rare].sum())
    per_user = labels[inverse]
    ok = np.array([v is not None for v in per_user], dtype=bool)
    remaining = sorted({str(v) for v in per_user[ok]})
    if len(remaining) < 2:
        shown = ", ".join(f"{c!r}: {k}" for c, k in found.items()) or "none"
        raise DataError(
            f"leakage probe: the attribute needs at least 2 classes with >= {min_size} users "
            f"each (folds={folds}) but has {len(found)} class(es) with a value ({{{shown}}}); "
            f"classes with < {min_size} users ({merged or 'none'}) are merged into one "
            f"'{OTHER}' class when together they reach {min_size} users, else dropped; "
            f"{len(big)} class(es) are large enough"
        )
    lookup = {c: i for i, c in enumerate(remaining)}
    codes = np.array([lookup[str(v)] for v in per_user[ok]], dtype=np.int64)
    return codes, remaining, merged, dropped, keep[ok]
