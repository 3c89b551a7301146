"""Leakage probe: chance when features are independent of the attribute, high AUC when they leak."""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import balanced_accuracy_score, roc_auc_score
from sklearn.naive_bayes import GaussianNB
from sklearn.neighbors import KNeighborsClassifier
from threadpoolctl import threadpool_limits

from equirec.errors import ConfigError, DataError, EquirecError
from equirec.fairness.leakage import LeakageResult, bag_of_items, leakage_probe
from equirec.fairness.leakage_metrics import _auc, _balanced_accuracy

FAST: dict[str, Any] = {"n_boot": 300}


@pytest.fixture(autouse=True)
def _one_blas_thread() -> Iterator[None]:
    """Tiny L-BFGS fits run several times faster single-threaded on shared, busy cores."""
    with threadpool_limits(limits=1):
        yield


def _binary(n: int, share: float, rng: np.random.Generator) -> np.ndarray:
    return np.where(rng.random(n) < share, "f", "m")


# -- chance and leakage ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1])
def test_independent_features_are_at_chance(seed: int) -> None:
    rng = np.random.default_rng(seed)
    labels = _binary(400, 0.25, rng)  # imbalanced: majority share ~0.75
    result = leakage_probe(rng.normal(size=(400, 8)), labels, seed=seed, **FAST)
    assert result.ci_low < 0.5 < result.ci_high
    assert abs(result.auc - 0.5) < 0.1
    assert result.balanced_accuracy_baseline == 0.5
    assert abs(result.balanced_accuracy - 0.5) < 0.08
    assert result.balanced_accuracy_ci_low < 0.5 < result.balanced_accuracy_ci_high
    assert result.majority_accuracy == pytest.approx(
        max(np.mean(labels == "f"), np.mean(labels == "m"))
    )
    assert result.majority_accuracy > 0.65  # plain accuracy would flatter a majority guesser


def test_features_that_encode_the_label_leak() -> None:
    rng = np.random.default_rng(3)
    labels = _binary(400, 0.4, rng)
    x = rng.normal(size=(400, 16))
    x[:, 5] += 2.0 * (labels == "f")  # one shifted dimension among noise
    result = leakage_probe(x, labels, **FAST)
    assert result.auc > 0.8 and result.ci_low > 0.5
    assert result.ci_low <= result.auc <= result.ci_high
    assert result.balanced_accuracy_ci_low > result.balanced_accuracy_baseline
    assert result.n == 400 and result.n_classes == 2
    assert result.classes == {"f": int(np.sum(labels == "f")), "m": int(np.sum(labels == "m"))}
    assert result.classifier == "logistic" and result.folds == 5


def test_multiclass_macro_auc() -> None:
    rng = np.random.default_rng(4)
    labels = rng.integers(0, 4, size=480)  # integer classes
    x = rng.normal(size=(480, 6))
    x[np.arange(480), labels] += 2.0  # class c shifts dimension c
    leak = leakage_probe(x, labels, **FAST)
    assert leak.n_classes == 4 and list(leak.classes) == ["0", "1", "2", "3"]
    assert leak.balanced_accuracy_baseline == 0.25
    assert leak.auc > 0.8 and leak.ci_low > 0.5
    assert leak.balanced_accuracy_ci_low > 0.25
    noise = leakage_probe(rng.normal(size=(480, 6)), labels, **FAST)
    assert noise.ci_low < 0.5 < noise.ci_high


def test_weighted_metrics_match_scikit_learn() -> None:
    rng = np.random.default_rng(5)
    y3 = rng.integers(0, 3, size=300)
    p3 = rng.dirichlet([1, 1, 1], size=300)
    p3[:40] = p3[0]  # ties
    ones = np.ones((1, 300))
    assert _auc(p3, y3, 3, ones)[0] == pytest.approx(roc_auc_score(y3, p3, multi_class="ovr"))
    y2 = rng.integers(0, 2, size=300)
    s = np.round(rng.random(300), 1)  # many ties
    p2 = np.c_[1 - s, s]
    assert _auc(p2, y2, 2, ones)[0] == pytest.approx(roc_auc_score(y2, s))
    pred = p3.argmax(axis=1)
    counts = np.bincount(y3)
    bal = _balanced_accuracy(pred == y3, y3, counts, ones)[0]
    assert bal == pytest.approx(balanced_accuracy_score(y3, pred))
    # integer weights = a resample with repeated users
    w = rng.integers(0, 3, size=300)
    rep = np.repeat(np.arange(300), w)
    assert _auc(p2, y2, 2, w[None, :].astype(float))[0] == pytest.approx(
        roc_auc_score(y2[rep], s[rep])
    )


# -- bag of items ---------------------------------------------------------------------------------


def test_bag_of_items_ignores_padding_and_duplicates() -> None:
    lists = np.array([[3, 1, -1, -1], [0, 0, 2, -1], [-1, -1, -1, -1]], dtype=np.int64)
    bag = bag_of_items(lists, n_items=5)
    assert isinstance(bag, sp.csr_matrix) and bag.shape == (3, 5)
    assert bag.toarray().tolist() == [[0, 1, 0, 1, 0], [1, 0, 1, 0, 0], [0, 0, 0, 0, 0]]
    with pytest.raises(DataError, match="outside the catalogue"):
        bag_of_items(np.array([[0, 5]]), n_items=5)
    with pytest.raises(DataError, match="2-D"):
        bag_of_items(np.array([0, 1]), n_items=5)


def test_lists_with_group_specific_items_leak() -> None:
    rng = np.random.default_rng(6)
    n, k = 300, 10
    labels = _binary(n, 0.5, rng)
    shared = rng.integers(0, 40, size=(n, k))  # items 0..39 for everyone
    own = rng.integers(40, 60, size=(n, k))  # items 40..59 only for group f
    lists = np.where((labels == "f")[:, None] & (rng.random((n, k)) < 0.3), own, shared)
    lists[:, -3:] = -1  # short lists: padding
    result = leakage_probe(bag_of_items(lists, n_items=80), labels, **FAST)
    assert result.auc > 0.8 and result.ci_low > 0.5
    fair = leakage_probe(bag_of_items(shared, n_items=80), labels, **FAST)
    assert fair.ci_low < 0.5 < fair.ci_high


# -- honest cross-validation ----------------------------------------------------------------------


class _Recorder(BaseEstimator, ClassifierMixin):  # type: ignore[misc]
    """Logs the user ids (column 0) it fits and predicts (class-level log: survives clone)."""

    log: ClassVar[list[tuple[str, np.ndarray]]] = []

    def fit(self, x: np.ndarray, y: np.ndarray) -> _Recorder:
        self.classes_ = np.unique(y)
        _Recorder.log.append(("fit", x[:, 0].astype(int)))
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        _Recorder.log.append(("predict", x[:, 0].astype(int)))
        return np.full((len(x), len(self.classes_)), 1.0 / len(self.classes_))


def test_held_out_users_are_never_fitted() -> None:
    rng = np.random.default_rng(7)
    x = np.c_[np.arange(200), rng.normal(size=(200, 2))]
    _Recorder.log.clear()
    result = leakage_probe(
        x, _binary(200, 0.5, rng), classifier=_Recorder(), folds=4, n_boot=0, repeats=1
    )
    assert result.classifier == "_Recorder" and result.auc == 0.5
    fits = [ids for kind, ids in _Recorder.log if kind == "fit"]
    predicts = [ids for kind, ids in _Recorder.log if kind == "predict"]
    assert len(fits) == len(predicts) == 4
    for fitted, predicted in zip(fits, predicts, strict=True):
        assert not set(fitted) & set(predicted)
        assert set(fitted) | set(predicted) == set(range(200))
    assert sorted(np.concatenate(predicts).tolist()) == list(range(200))  # each user once


def test_memorising_classifier_is_at_chance_on_random_labels() -> None:
    rng = np.random.default_rng(8)
    x = rng.normal(size=(300, 5))
    labels = _binary(300, 0.5, rng)
    x = np.r_[x, x]  # every user twice: a memoriser is perfect on users it was fitted on
    labels = np.r_[labels, labels]
    one_nn = KNeighborsClassifier(n_neighbors=1)
    in_sample = one_nn.fit(x, labels).predict_proba(x)[:, 1]
    assert roc_auc_score(labels == "m", in_sample) == 1.0
    unique = leakage_probe(x[:300], labels[:300], classifier=one_nn, seed=1, **FAST)
    assert unique.ci_low < 0.5 < unique.ci_high
    assert unique.classifier == "KNeighborsClassifier"
    # Duplicated users land in different folds: the probe then (rightly) sees them, so duplicates
    # must be removed by the caller; this documents that folds are over rows, not identities.
    duplicated = leakage_probe(x, labels, classifier=one_nn, **FAST)
    assert duplicated.auc > 0.7


def test_other_classifier_instance() -> None:
    rng = np.random.default_rng(9)
    labels = _binary(300, 0.5, rng)
    x = rng.normal(size=(300, 3))
    x[:, 0] += 2.5 * (labels == "f")
    result = leakage_probe(x, labels, classifier=GaussianNB(), **FAST)
    assert result.classifier == "GaussianNB" and result.auc > 0.8


def test_default_logistic_converges_without_warnings() -> None:
    rng = np.random.default_rng(10)
    labels = _binary(300, 0.5, rng)
    x = rng.normal(size=(300, 20))
    x[:, 0] += 6.0 * (labels == "f")  # nearly separable
    bag = bag_of_items(np.where((labels == "f")[:, None], 1, 0) + 2 * np.arange(5), n_items=12)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        assert leakage_probe(x, labels, n_boot=0).auc > 0.95
        assert leakage_probe(bag, labels, n_boot=0).auc == 1.0


class _Centroid(BaseEstimator, ClassifierMixin):  # type: ignore[misc]
    """Nearest class mean, softmax over minus distances: a real learner, cheap to refit often."""

    def fit(self, x: np.ndarray, y: np.ndarray) -> _Centroid:
        self.classes_ = np.unique(y)
        self.means_ = np.stack([x[y == c].mean(axis=0) for c in self.classes_])
        return self

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        d = -(((x[:, None, :] - self.means_[None]) ** 2).sum(axis=2))
        e = np.exp(d - d.max(axis=1, keepdims=True))
        return np.asarray(e / e.sum(axis=1, keepdims=True))


def test_permutation_test() -> None:
    rng = np.random.default_rng(19)
    labels = _binary(200, 0.5, rng)
    x = rng.normal(size=(200, 3))
    nb = _Centroid()
    null = leakage_probe(x, labels, classifier=nb, n_boot=0, n_permutations=19)
    assert null.n_permutations == 19 and null.p_value is not None and null.p_value > 0.05
    x[:, 0] += 1.5 * (labels == "f")
    leak = leakage_probe(x, labels, classifier=nb, n_boot=0, n_permutations=19)
    # no shuffle reaches the observed AUC, and the moments put the p-value far below 1/20, the
    # smallest p-value 19 counted shuffles could give
    assert leak.null_exceed == 0 and leak.p_value is not None and leak.p_value < 1e-4
    assert leak.null_mean == pytest.approx(0.5, abs=0.05)
    with_ci = leakage_probe(x, labels, classifier=nb, **FAST)
    # the shuffles have their own random stream: asking for them leaves the interval alone
    assert (
        leakage_probe(x, labels, classifier=nb, n_permutations=3, **FAST).ci_low == with_ci.ci_low
    )


# -- reproducibility and output -------------------------------------------------------------------


def test_same_seed_same_result() -> None:
    rng = np.random.default_rng(11)
    labels = _binary(300, 0.5, rng)
    x = rng.normal(size=(300, 4))
    x[:, 1] += 0.5 * (labels == "f")
    a = leakage_probe(x, labels, seed=3, **FAST)
    b = leakage_probe(x, labels, seed=3, **FAST)
    c = leakage_probe(x, labels, seed=4, **FAST)
    assert a == b
    assert a.to_dict() == b.to_dict()
    assert (a.auc, a.ci_low) != (c.auc, c.ci_low)


def test_to_dict_is_json_ready() -> None:
    rng = np.random.default_rng(12)
    labels = rng.integers(1, 3, size=200).astype(np.float64)  # 1.0 / 2.0 become "1" / "2"
    result = leakage_probe(rng.normal(size=(200, 3)), labels, n_boot=0)
    d = result.to_dict()
    assert set(d) == {
        "auc", "ci_low", "ci_high", "baseline", "balanced_accuracy", "balanced_accuracy_ci_low",
        "balanced_accuracy_ci_high", "balanced_accuracy_baseline", "accuracy",
        "majority_accuracy", "n", "n_classes", "classes", "dropped_missing", "merged_classes",
        "dropped_rare", "folds", "classifier", "p_value", "n_permutations", "repeats", "auc_min",
        "auc_max", "null_mean", "null_sd", "null_exceed",
    }  # fmt: skip
    assert d["ci_low"] is None and d["balanced_accuracy_ci_high"] is None  # n_boot=0: no interval
    assert d["p_value"] is None and d["n_permutations"] == 0
    assert list(d["classes"]) == ["1", "2"] and isinstance(d["auc"], float)
    assert json.loads(json.dumps(d)) == d
    assert isinstance(result, LeakageResult)


# -- labels: missing values, rare classes -------------------------------------------------------


def test_missing_labels_are_dropped_and_counted() -> None:
    rng = np.random.default_rng(13)
    labels: list[Any] = list(_binary(300, 0.5, rng))
    labels[0], labels[1], labels[2] = None, float("nan"), pd.NA
    result = leakage_probe(rng.normal(size=(300, 3)), pd.Series(labels), n_boot=0)
    assert result.dropped_missing == 3 and result.n == 297
    assert sum(result.classes.values()) == 297


def test_rare_classes_are_merged_into_other() -> None:
    rng = np.random.default_rng(14)
    labels = np.array(["a"] * 150 + ["b"] * 150 + ["c"] * 3 + ["d"] * 4, dtype=object)
    result = leakage_probe(rng.normal(size=(307, 3)), labels, n_boot=0)
    assert result.merged_classes == ["c", "d"] and result.dropped_rare == 0
    assert result.classes == {"a": 150, "b": 150, "other": 7} and result.n_classes == 3


def test_rare_class_too_small_to_merge_is_dropped() -> None:
    rng = np.random.default_rng(15)
    labels = np.array(["other"] * 150 + ["b"] * 150 + ["c"] * 3, dtype=object)
    result = leakage_probe(rng.normal(size=(303, 3)), labels, n_boot=0)
    assert result.merged_classes == ["c"] and result.dropped_rare == 3
    assert result.classes == {"b": 150, "other": 150} and result.n == 300
    # a class already named "other" is not mixed with the merged ones
    labels = np.array(["other"] * 150 + ["b"] * 150 + ["c"] * 3 + ["d"] * 3, dtype=object)
    result = leakage_probe(rng.normal(size=(306, 3)), labels, n_boot=0)
    assert result.classes == {"b": 150, "other": 150, "other*": 6}


def test_larger_min_class_size() -> None:
    rng = np.random.default_rng(16)
    labels = np.array(["a"] * 100 + ["b"] * 100 + ["c"] * 20 + ["d"] * 15, dtype=object)
    result = leakage_probe(rng.normal(size=(235, 3)), labels, min_class_size=30, n_boot=0)
    assert result.merged_classes == ["c", "d"] and result.classes["other"] == 35


def test_fewer_than_two_classes_is_a_clear_error() -> None:
    rng = np.random.default_rng(17)
    labels = np.array(["a"] * 100 + ["b"] * 3, dtype=object)
    with pytest.raises(EquirecError, match=r"at least 2 classes.*'a': 100, 'b': 3"):
        leakage_probe(rng.normal(size=(103, 3)), labels)
    with pytest.raises(DataError, match="at least 2 classes"):
        leakage_probe(rng.normal(size=(3, 3)), [None, None, None])


# -- bad input ------------------------------------------------------------------------------------


def test_bad_input_errors() -> None:
    rng = np.random.default_rng(18)
    x = rng.normal(size=(100, 3))
    labels = _binary(100, 0.5, rng)
    with pytest.raises(DataError, match=r"100 rows.*99 values"):
        leakage_probe(x, labels[:99])
    with pytest.raises(DataError, match="empty"):
        leakage_probe(np.zeros((0, 3)), [])
    with pytest.raises(DataError, match="empty"):
        leakage_probe(np.zeros((100, 0)), labels)
    with pytest.raises(DataError, match="2-D"):
        leakage_probe(x[:, 0], labels)
    bad = x.copy()
    bad[4, 1] = np.nan
    bad[7, 2] = np.inf
    with pytest.raises(DataError, match="2 non-finite"):
        leakage_probe(bad, labels)
    sparse_bad = sp.csr_matrix(bad)
    with pytest.raises(DataError, match="non-finite"):
        leakage_probe(sparse_bad, labels)
    with pytest.raises(ConfigError, match="unknown classifier 'svm'"):
        leakage_probe(x, labels, classifier="svm")
    with pytest.raises(ConfigError, match="predict_proba"):
        leakage_probe(x, labels, classifier=object())
    with pytest.raises(ConfigError, match="min_class_size=2 is below folds=5"):
        leakage_probe(x, labels, min_class_size=2)
    with pytest.raises(ConfigError, match="folds"):
        leakage_probe(x, labels, folds=1)
    with pytest.raises(ConfigError, match="confidence"):
        leakage_probe(x, labels, confidence=95)
    with pytest.raises(ConfigError, match="n_permutations"):
        leakage_probe(x, labels, n_permutations=-1)


# -- repeated folds and the test's calibration ----------------------------------------------------


def test_repeats_average_over_fold_assignments() -> None:
    rng = np.random.default_rng(21)
    labels = _binary(240, 0.4, rng)
    x = rng.normal(size=(240, 4))
    x[:, 0] += 0.6 * (labels == "f")
    one = [leakage_probe(x, labels, seed=s, n_boot=0, repeats=1).auc for s in range(4)]
    assert max(one) - min(one) > 0  # the folds alone move the AUC
    five = leakage_probe(x, labels, seed=0, repeats=5, **FAST)
    assert five.repeats == 5 and five.auc_min <= five.auc <= five.auc_max
    assert five.auc_min < five.auc_max
    # the first repeat uses the seed's own folds, so repeats=1 is the single cross-validation
    assert five.auc_min <= one[0] <= five.auc_max
    # the interval includes the spread over the folds: never narrower than the bootstrap alone
    single = leakage_probe(x, labels, seed=0, repeats=1, **FAST)
    assert five.ci_low < five.auc < five.ci_high and single.ci_low < single.auc
    with pytest.raises(ConfigError, match="repeats must be an integer >= 1"):
        leakage_probe(x, labels, repeats=0)
    with pytest.raises(ConfigError, match=r"n_permutations must be 0 .* or >= 2"):
        leakage_probe(x, labels, n_permutations=1)


def test_moment_test_holds_its_level_without_leakage() -> None:
    """Labels independent of the features: the p-value is about uniform (few below 0.05)."""
    rng = np.random.default_rng(23)
    p_values = []
    for r in range(30):
        labels = _binary(120, 0.5, rng)
        x = rng.normal(size=(120, 3))
        p = leakage_probe(
            x, labels, classifier=_Centroid(), n_boot=0, n_permutations=9, repeats=1, seed=r
        ).p_value
        assert p is not None
        p_values.append(p)
    # 30 null probes at 5%: expect 1.5; 5 or more has probability < 2% under a valid test
    assert sum(p < 0.05 for p in p_values) <= 4, sorted(p_values)[:6]
    assert 0.3 < float(np.mean(p_values)) < 0.7
