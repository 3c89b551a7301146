"""Every training-time method rejects bad parameters with a message naming them and what is valid.

(Re-rankers get the same checks from ``equirec.testing.RerankerChecks``.)
"""

from __future__ import annotations

import pytest

from equirec.data import make_synthetic, split_dataset
from equirec.errors import ConfigError
from equirec.mitigation.apply import apply_training_mitigation
from equirec.mitigation.registry import RERANKERS, TRAINING_METHODS, default_fairness, method
from equirec.models import BPR
from equirec.params import param_rows

# method -> (valid parameters, a wrongly typed (key, value), an out-of-range (key, value, message))
CASES = {
    "reweight": (
        {"attribute": "group"},
        ("normalise", "yes"),
        ("target", {"0": -1.0, "1": 2.0}, "share of '0' must be"),
    ),
    "resample": (
        {"attribute": "group"},
        ("sampling", 1),
        ("target", {"0": -1.0, "1": 2.0}, "share of '0' must be"),
    ),
    "adversary": ({"attributes": "group"}, ("hidden", 1.5), ("lam", -1.0, "lam")),
    "group_gap": ({"attribute": "group"}, ("lam", "strong"), ("smoothing", 1.5, "smoothing")),
    "exposure": (
        {"attribute": "provider"},
        ("max_users", "all"),
        ("temperature", 0.0, "temperature"),
    ),
    "popularity": ({}, ("head", ["share"]), ("cutoff", 1.5, "cutoff")),
    "ipw": ({}, ("eta", "0.5"), ("clip", 0.5, "clip")),
}


@pytest.fixture(scope="module")
def train():
    return split_dataset(make_synthetic(n_users=60, n_items=40, seed=0), method="loo", seed=0).train


def _apply(train, name, params):
    return apply_training_mitigation(
        BPR(dim=8, epochs=1), train, method=name, params=params, seed=0
    )


def test_every_training_method_has_a_case():
    assert set(CASES) == set(TRAINING_METHODS)


@pytest.mark.parametrize("name", sorted(CASES))
def test_valid_parameters_apply(train, name):
    applied = _apply(train, name, CASES[name][0])
    assert applied.method == name and set(applied.params) == set(
        TRAINING_METHODS[name].params_model().model_fields
    )


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_missing_required_parameter_is_named(train, name):
    model = TRAINING_METHODS[name].params_model()
    required = [k for k, f in model.model_fields.items() if f.is_required()]
    assert sorted(required) == sorted(CASES[name][0])  # the valid cases give exactly those
    for key in required:
        params = {k: v for k, v in CASES[name][0].items() if k != key}
        with pytest.raises(
            ConfigError, match=rf"'{name}': missing required parameter\(s\) '{key}'"
        ):
            _apply(train, name, params)


@pytest.mark.parametrize("name", sorted(CASES))
def test_an_unknown_parameter_is_named_with_the_valid_ones(train, name):
    valid = ", ".join(TRAINING_METHODS[name].params_model().model_fields)
    with pytest.raises(ConfigError) as err:
        _apply(train, name, {**CASES[name][0], "lamda": 1})
    assert f"unknown parameter(s) ['lamda']; valid parameters are: {valid}" in str(err.value)


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_wrong_type_is_named_with_the_expected_type(train, name):
    key, value = CASES[name][1]
    with pytest.raises(ConfigError) as err:
        _apply(train, name, {**CASES[name][0], key: value})
    assert f"'{name}': {key}={value!r} is not valid: expected " in str(err.value)


@pytest.mark.parametrize("name", sorted(CASES))
def test_an_out_of_range_value_is_rejected_before_training(train, name):
    key, value, fragment = CASES[name][2]
    with pytest.raises(ConfigError, match=fragment):
        _apply(train, name, {**CASES[name][0], key: value})


def test_choices_are_listed_in_the_message(train):
    with pytest.raises(ConfigError, match=r"sampling='both' is not valid: expected one of 'over"):
        _apply(train, "resample", {"attribute": "group", "sampling": "both"})


def test_parameter_models_come_from_the_signatures():
    """Defaults, types and meanings are read from the implementation, not written twice."""
    rows = {r["name"]: r for r in param_rows(method("adversary").params_model())}
    assert rows["lam"]["default"] == "1.0" and rows["lam"]["type"] == "a number"
    assert rows["attributes"]["default"] == "(required)"
    assert "dim" not in rows and "seed" not in rows  # the run supplies them
    fair = {r["name"]: r for r in param_rows(method("fair").params_model())}
    assert list(fair) == ["protected", "p", "alpha"]  # side option first, then the class's
    assert fair["protected"]["default"] == "'popularity=tail'" and fair["p"]["meaning"]
    assert {r["name"] for r in param_rows(method("ugf").params_model())} >= {"metric", "epsilon"}
    assert method("ugf").params_model().model_fields["metric"].default == "f1"


def test_registry_lookups():
    assert set(RERANKERS).isdisjoint(TRAINING_METHODS)
    with pytest.raises(ConfigError, match="unknown method 'nope'; re-rankers: fair"):
        method("nope")
    assert default_fairness("calibrated+fair") == "tail_exposure_share"
    assert default_fairness("calibrated") == "c_kl"
