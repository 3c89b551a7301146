"""Leakage probe: how well a sensitive user attribute can be predicted from what a recommender made.

Attribute inference (Beigi et al., WSDM 2020; Ganhör et al., SIGIR 2022): a fresh classifier is
trained to predict a user's sensitive attribute (gender, age band...) from the user's
representation in a model, or from the user's recommendation list taken as a bag of items
(:func:`bag_of_items`). If it beats chance on users it never saw, the representation or the lists
leak the attribute.

Protocol of :func:`leakage_probe`:

- Users whose label is missing (``None``/NaN) are dropped and counted.
- Classes with fewer than ``min_class_size`` users (at least ``folds``: a class cannot be spread
  over more folds than it has users) are *merged* into one ``"other"`` class when together they
  reach ``min_class_size``; otherwise their users are dropped. Both are reported.
- Stratified K-fold cross-validation (shuffled, seeded): every fold fits a fresh classifier on the
  other folds only and predicts class probabilities for its held-out users, so every user gets one
  out-of-fold prediction from a classifier that never saw them. The cross-validation is repeated
  ``repeats`` times with different fold assignments and every figure is the mean over the
  repeats: the choice of folds alone moves a single run's AUC by more than its interval (ML-100K
  SASRec gender: 0.673–0.709 across fold seeds). The spread over the repeats is reported.
- Metrics on the out-of-fold predictions: ROC-AUC (binary: the usual AUC; more classes: the
  unweighted mean of the one-vs-rest AUCs, as scikit-learn's ``multi_class="ovr"``,
  ``average="macro"``), whose chance level is 0.5, and balanced accuracy (mean per-class recall
  of the most probable class), whose chance level is ``1 / n_classes`` — the balanced accuracy of
  always predicting the majority class. The majority class's share of users (the plain accuracy of
  that predictor) is reported next to the probe's plain accuracy.
- Percentile confidence intervals for both from a bootstrap over users of the out-of-fold
  predictions, stratified by class (each resample draws ``n_c`` users with replacement from each
  class ``c``, the same users in every repeat), widened by the fold-choice uncertainty of the mean
  over the repeats (``z · sd_repeats / sqrt(repeats)``, added in quadrature). The classifiers are
  not refitted, so the interval describes the sampling of the evaluated users; it is not a test.
- The test of "no leakage" (``n_permutations`` > 0) shuffles the labels over the users and reruns
  a whole cross-validation for each shuffle. A p-value counted from ``B`` shuffles cannot go below
  ``1 / (B + 1)``, and each shuffle costs ``folds`` fits, so the p-value uses the shuffles'
  moments instead: if the permutation AUCs are normal, ``(auc − mean) / (sd · sqrt(1 + 1/B))``
  follows Student's t with ``B − 1`` degrees of freedom under the null (a prediction interval for
  one more draw). The observed AUC is a mean over repeats, whose null spread is smaller than one
  cross-validation's, which only makes the test conservative. In null simulations this test holds
  its level (``BENCHMARKS.md``), and a clear leak gets a p-value far below ``1 / (B + 1)``, small
  enough for the audit's Holm adjustment over all its probes.

The default classifier (``classifier="logistic"``) is an L2-regularised logistic regression with
``C=1.0`` and ``class_weight="balanced"`` (so that a minority class is not ignored and balanced
accuracy is meaningful), fitted with L-BFGS for up to 5,000 iterations. Dense features (model
representations) are standardised first inside the pipeline (so fold statistics come from the
training folds only); a sparse bag of items is used as is (plain 0/1 features, no TF-IDF). A
linear probe gives a *lower bound* on what a stronger attacker (an MLP, as in Ganhör et al.) could
infer; pass any scikit-learn classifier with ``predict_proba`` to use another one.

The weighted metrics and the class-stratified bootstrap are in
:mod:`equirec.fairness.leakage_metrics`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy import stats
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold

from equirec.errors import ConfigError, DataError
from equirec.fairness.leakage_inputs import (
    _check_options,
    _classes,
    _classifier,
    _features,
    _label,
    _labels,
)
from equirec.fairness.leakage_metrics import _auc, _balanced_accuracy, _bootstrap
from equirec.fairness.stats import percentile_interval


@dataclass(frozen=True)
class LeakageResult:
    """What a leakage probe found.

    Attributes:
        auc: Out-of-fold ROC-AUC (macro one-vs-rest for more than two classes); 0.5 = no leakage.
        ci_low: Lower end of the bootstrap percentile interval of :attr:`auc`.
        ci_high: Upper end of that interval.
        baseline: Chance level of the AUC, 0.5.
        balanced_accuracy: Out-of-fold balanced accuracy (mean per-class recall).
        balanced_accuracy_ci_low: Lower end of its bootstrap percentile interval.
        balanced_accuracy_ci_high: Upper end of that interval.
        balanced_accuracy_baseline: ``1 / n_classes``, the majority-class predictor's balanced
            accuracy.
        accuracy: Out-of-fold plain accuracy of the probe.
        majority_accuracy: Share of users in the largest class (the majority-class predictor's
            plain accuracy).
        n: Users probed (after dropping missing labels and too-rare classes).
        n_classes: Classes probed (after merging rare classes).
        classes: Users per class, ``{label: count}``, in class order; labels are strings (a float
            label that is a whole number is written as an integer, ``2.0`` → ``"2"``).
        dropped_missing: Users dropped because their label was missing.
        merged_classes: Labels of the classes that had fewer than ``min_class_size`` users; they
            were merged into the ``"other"`` class, or dropped if :attr:`dropped_rare` > 0.
        dropped_rare: Users dropped because their class was too rare even after merging.
        folds: Cross-validation folds.
        classifier: ``"logistic"`` or the class name of the classifier given.
        p_value: P-value of "no leakage" from the permutation null's moments (None when
            ``n_permutations`` is 0).
        n_permutations: Label shuffles of the permutation test (0 = not run).
        repeats: Repeats of the cross-validation averaged into every figure.
        auc_min: Smallest AUC of a single repeat.
        auc_max: Largest AUC of a single repeat.
        null_mean: Mean AUC of the shuffled labels (None without permutations).
        null_sd: Standard deviation of the AUC of the shuffled labels.
        null_exceed: Shuffles whose AUC reached the observed one.
    """

    auc: float
    ci_low: float
    ci_high: float
    baseline: float
    balanced_accuracy: float
    balanced_accuracy_ci_low: float
    balanced_accuracy_ci_high: float
    balanced_accuracy_baseline: float
    accuracy: float
    majority_accuracy: float
    n: int
    n_classes: int
    classes: dict[str, int]
    dropped_missing: int
    merged_classes: list[str] = field(default_factory=list)
    dropped_rare: int = 0
    folds: int = 5
    classifier: str = "logistic"
    p_value: float | None = None
    n_permutations: int = 0
    repeats: int = 1
    auc_min: float = float("nan")
    auc_max: float = float("nan")
    null_mean: float | None = None
    null_sd: float | None = None
    null_exceed: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The result as plain Python types (floats, ints, strings, lists, dicts), JSON-ready.

        Keys: ``auc``, ``ci_low``, ``ci_high``, ``baseline``, ``balanced_accuracy``,
        ``balanced_accuracy_ci_low``, ``balanced_accuracy_ci_high``,
        ``balanced_accuracy_baseline``, ``accuracy``, ``majority_accuracy``, ``n``,
        ``n_classes``, ``classes``, ``dropped_missing``, ``merged_classes``, ``dropped_rare``,
        ``folds``, ``classifier``, ``p_value``, ``n_permutations``, ``repeats``, ``auc_min``,
        ``auc_max``, ``null_mean``, ``null_sd``, ``null_exceed``. A NaN float (an interval that
        could not be computed) is written as ``None``.
        """
        return {
            "auc": _float(self.auc),
            "ci_low": _float(self.ci_low),
            "ci_high": _float(self.ci_high),
            "baseline": _float(self.baseline),
            "balanced_accuracy": _float(self.balanced_accuracy),
            "balanced_accuracy_ci_low": _float(self.balanced_accuracy_ci_low),
            "balanced_accuracy_ci_high": _float(self.balanced_accuracy_ci_high),
            "balanced_accuracy_baseline": _float(self.balanced_accuracy_baseline),
            "accuracy": _float(self.accuracy),
            "majority_accuracy": _float(self.majority_accuracy),
            "n": int(self.n),
            "n_classes": int(self.n_classes),
            "classes": {str(k): int(v) for k, v in self.classes.items()},
            "dropped_missing": int(self.dropped_missing),
            "merged_classes": [str(c) for c in self.merged_classes],
            "dropped_rare": int(self.dropped_rare),
            "folds": int(self.folds),
            "classifier": str(self.classifier),
            "p_value": None if self.p_value is None else float(self.p_value),
            "n_permutations": int(self.n_permutations),
            "repeats": int(self.repeats),
            "auc_min": _float(self.auc_min),
            "auc_max": _float(self.auc_max),
            "null_mean": None if self.null_mean is None else _float(self.null_mean),
            "null_sd": None if self.null_sd is None else _float(self.null_sd),
            "null_exceed": self.null_exceed,
        }


def _float(value: float) -> float | None:
    v = float(value)
    return None if math.isnan(v) else v


def bag_of_items(lists: np.ndarray, *, n_items: int) -> sp.csr_matrix:
    """Recommendation lists as a users × items 0/1 matrix.

    Args:
        lists: ``(n_users, K)`` item indices (``-1`` = padding, ignored).
        n_items: Catalogue size (number of columns).

    Returns:
        ``(n_users, n_items)`` CSR matrix with 1.0 where the item is in the user's list (an item
        listed twice still counts 1).

    Raises:
        DataError: ``lists`` is not 2-D or holds an index outside ``[-1, n_items)``.
    """
    arr = np.asarray(lists)
    if arr.ndim != 2:
        raise DataError(f"bag_of_items: lists must be 2-D (users × K), got shape {arr.shape}")
    if n_items < 0:
        raise DataError(f"bag_of_items: n_items must be >= 0, got {n_items}")
    arr = arr.astype(np.int64, copy=False)
    bad = (arr < -1) | (arr >= n_items)
    if bad.any():
        value = int(arr[bad][0])
        raise DataError(
            f"bag_of_items: item index {value} is outside the catalogue [0, {n_items}) "
            "(use -1 for padding)"
        )
    rows, cols = np.nonzero(arr >= 0)
    items = arr[rows, cols]
    matrix = sp.csr_matrix(
        (np.ones(len(items), dtype=np.float64), (rows, items)), shape=(arr.shape[0], n_items)
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def leakage_probe(
    features: np.ndarray | sp.spmatrix | sp.sparray,
    labels: Any,
    *,
    folds: int = 5,
    classifier: str | Any = "logistic",
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    min_class_size: int | None = None,
    n_permutations: int = 0,
    repeats: int = 5,
) -> LeakageResult:
    """Cross-validated attribute inference: predict a sensitive attribute from user features.

    See the module docstring for the protocol and the default classifier.

    Args:
        features: ``(n_users, d)`` dense float features (e.g. a model's user vectors) or a
            scipy.sparse matrix (e.g. :func:`bag_of_items` of the recommendation lists).
        labels: The attribute's value for each user (strings or numbers, categorical; two or
            more classes). ``None``/NaN marks a missing value; those users are dropped.
        folds: Stratified cross-validation folds (at least 2).
        classifier: ``"logistic"`` or a scikit-learn classifier with ``predict_proba`` (cloned
            for every fold).
        n_boot: Bootstrap resamples for the confidence intervals (0 = no intervals: NaN).
        confidence: Level of the percentile intervals, in (0, 1).
        seed: Seed of the fold splits, the bootstrap and the shuffles.
        min_class_size: Classes with fewer users are merged into ``"other"`` (or dropped if they
            are too few even together). Default and minimum: ``folds``.
        n_permutations: If > 0 (at least 2), also a test of "the attribute does not leak": the
            labels are shuffled over the users and a whole cross-validation is rerun this many
            times; the p-value comes from the shuffles' mean and spread (see the module
            docstring). It costs ``n_permutations × folds`` more fits but, unlike the bootstrap
            interval, accounts for the training noise of the probe. 0 = no test (``p_value``
            None).
        repeats: Cross-validations with different fold assignments, averaged (at least 1).

    Returns:
        The :class:`LeakageResult`.

    Raises:
        DataError: Features and labels differ in length, the features are empty or not finite,
            or fewer than two classes are large enough to probe.
        ConfigError: Bad ``folds``, ``classifier``, ``n_boot``, ``confidence``,
            ``min_class_size`` or ``n_permutations``.
    """
    x = _features(features)
    raw = _labels(labels)
    if x.shape[0] != len(raw):
        raise DataError(
            f"leakage probe: features have {x.shape[0]} rows (users) but labels have {len(raw)} "
            "values; give one label per feature row"
        )
    _check_options(folds=folds, n_boot=n_boot, confidence=confidence)
    if n_permutations < 0 or n_permutations == 1:
        raise ConfigError(
            f"leakage probe: n_permutations must be 0 (no test) or >= 2, got {n_permutations}"
        )
    if isinstance(repeats, bool) or not isinstance(repeats, int | np.integer) or repeats < 1:
        raise ConfigError(f"leakage probe: repeats must be an integer >= 1, got {repeats!r}")
    min_size = folds if min_class_size is None else int(min_class_size)
    if min_size < folds:
        raise ConfigError(
            f"leakage probe: min_class_size={min_class_size} is below folds={folds}; a class "
            f"needs at least one user per fold, so use min_class_size >= {folds}"
        )
    model, name = _classifier(classifier, sparse=sp.issparse(x))

    missing = np.asarray(pd.isna(raw), dtype=bool)
    text = np.array([_label(v) for v in raw[~missing]], dtype=object)
    keep = np.flatnonzero(~missing)
    codes, class_names, merged, dropped_rare, keep = _classes(text, keep, min_size, folds)
    y = codes
    xs = x[keep]
    n, n_classes = len(y), len(class_names)
    counts = np.bincount(y, minlength=n_classes)

    fold_seeds = [seed, *np.random.default_rng([seed, 2]).integers(2**31, size=repeats - 1)]
    probas = [
        _out_of_fold(xs, y, n_classes, model=model, folds=folds, seed=int(s)) for s in fold_seeds
    ]
    preds = [np.argmax(p, axis=1) for p in probas]
    ones = np.ones((1, n))
    aucs = np.array([_auc(p, y, n_classes, ones)[0] for p in probas])
    auc = float(aucs.mean())
    bal = float(np.mean([_balanced_accuracy(q == y, y, counts, ones)[0] for q in preds]))

    rng = np.random.default_rng(seed)
    auc_lo, auc_hi, bal_lo, bal_hi = (float("nan"),) * 4
    if n_boot > 0:
        auc_boot, bal_boot = _bootstrap(probas, y, preds, counts, n_boot=n_boot, rng=rng)
        spread = aucs.std(ddof=1) / np.sqrt(repeats) if repeats > 1 else 0.0
        extra = float(stats.norm.ppf(0.5 + confidence / 2.0)) * spread
        lo, hi = percentile_interval(auc_boot, confidence)
        auc_lo = auc - float(np.hypot(auc - lo, extra))
        auc_hi = auc + float(np.hypot(hi - auc, extra))
        bal_lo, bal_hi = percentile_interval(bal_boot, confidence)

    p_value: float | None = None
    null_mean: float | None = None
    null_sd: float | None = None
    exceed: int | None = None
    if n_permutations > 0:
        shuffle = np.random.default_rng([seed, 1])  # own stream: the bootstrap does not change
        null = np.empty(n_permutations)
        for b in range(n_permutations):
            yp = shuffle.permutation(y)
            pp = _out_of_fold(
                xs, yp, n_classes, model=model, folds=folds, seed=int(shuffle.integers(2**31))
            )
            null[b] = _auc(pp, yp, n_classes, ones)[0]
        null_mean, null_sd = float(null.mean()), float(null.std(ddof=1))
        exceed = int((null >= auc - 1e-12).sum())
        p_value = _moment_p_value(auc, null)

    return LeakageResult(
        auc=auc,
        ci_low=auc_lo,
        ci_high=auc_hi,
        baseline=0.5,
        balanced_accuracy=bal,
        balanced_accuracy_ci_low=bal_lo,
        balanced_accuracy_ci_high=bal_hi,
        balanced_accuracy_baseline=1.0 / n_classes,
        accuracy=float(np.mean([np.mean(q == y) for q in preds])),
        majority_accuracy=float(counts.max() / n),
        n=n,
        n_classes=n_classes,
        classes={c: int(k) for c, k in zip(class_names, counts, strict=True)},
        dropped_missing=int(missing.sum()),
        merged_classes=merged,
        dropped_rare=dropped_rare,
        folds=folds,
        classifier=name,
        p_value=p_value,
        n_permutations=n_permutations,
        repeats=repeats,
        auc_min=float(aucs.min()),
        auc_max=float(aucs.max()),
        null_mean=null_mean,
        null_sd=null_sd,
        null_exceed=exceed,
    )


def _moment_p_value(observed: float, null: np.ndarray) -> float:
    """One-sided p-value of ``observed`` against normal-looking null draws (Student's t
    prediction interval); the counted ``(1 + exceed) / (1 + B)`` when the draws do not vary."""
    b = len(null)
    sd = float(null.std(ddof=1))
    if not sd > 0:
        return (1.0 + float((null >= observed - 1e-12).sum())) / (1.0 + b)
    t = (observed - float(null.mean())) / (sd * np.sqrt(1.0 + 1.0 / b))
    return float(stats.t.sf(t, df=b - 1))


# -- cross-validation -----------------------------------------------------------------------------


def _out_of_fold(
    x: Any, y: np.ndarray, n_classes: int, *, model: Any, folds: int, seed: int
) -> np.ndarray:
    """``(n, n_classes)`` class probabilities, each row from a classifier that never saw it."""
    proba = np.full((len(y), n_classes), np.nan)
    split = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for train, test in split.split(np.zeros(len(y)), y):
        fitted = clone(model).fit(x[train], y[train])
        p = np.asarray(fitted.predict_proba(x[test]), dtype=np.float64)
        learned = np.asarray(getattr(fitted, "classes_", np.arange(p.shape[1])), dtype=np.int64)
        fold = np.zeros((len(test), n_classes))
        fold[:, learned] = p
        proba[test] = fold
    if not np.isfinite(proba).all():
        raise DataError("leakage probe: the classifier returned non-finite probabilities")
    return proba
