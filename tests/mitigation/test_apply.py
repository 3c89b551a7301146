"""Training-time mitigation from a run config: the training split changed or a term attached."""

import json

import numpy as np
import pytest

import equirec
from equirec.errors import ConfigError
from equirec.mitigation import AdversarialDebiasing, group_weight_shares
from equirec.mitigation.apply import apply_training_mitigation, resolve_params
from equirec.mitigation.registry import TRAINING_METHODS, target_attributes
from equirec.models import EASE
from equirec.workflows.audit import audit_run
from equirec.workflows.rundir import open_run

BPR = {"name": "bpr", "epochs": 2, "dim": 8}


def _run(mitigation=None, model=BPR, **options):
    config = {"data": {"dataset": "synthetic"}, "model": dict(model), **options}
    if mitigation is not None:
        config["mitigation"] = mitigation
    return equirec.run(config, write="out" in options)


def _losses(result):
    return [row["loss"] for row in result.metrics["training"]["history"]]


@pytest.fixture(scope="module")
def plain():
    return _run()


def test_reweight_balances_the_training_split_only(plain):
    result = _run({"method": "reweight", "params": {"attribute": "group"}})
    train, split = result.train, result.split
    # the model was fitted on re-weighted training data: groups now carry equal weight
    shares = group_weight_shares(train, by="user", attribute="group")
    assert shares.to_dict() == pytest.approx({"0": 0.5, "1": 0.5})
    before = group_weight_shares(split.train, by="user", attribute="group")
    assert before["1"] < 0.3  # the planted minority carried far less before
    # same rows in the same order; the minority's interactions weigh more, the majority's less
    assert train.interactions[["user", "item"]].equals(split.train.interactions[["user", "item"]])
    minority = train.user_attributes.loc[train.interactions["user"], "group"].to_numpy() == 1
    weights = train.interactions["weight"].to_numpy()
    assert (weights[minority] > 1).all() and (weights[~minority] < 1).all()
    # validation, test and the split's own training part keep their weights (1.0)
    for part in (split.train, split.valid, split.test):
        assert (part.interactions["weight"] == 1.0).all()
    assert _losses(result) != _losses(plain)
    record = result.metrics["mitigation"]
    assert record["method"] == "reweight" and record["stage"] == "pre"
    assert record["params"] == {
        "by": "user",
        "attribute": "group",
        "target": "balanced",
        "normalise": True,
    }
    assert record["details"]["shares_after"] == pytest.approx({"0": 0.5, "1": 0.5})


def test_undersampling_drops_training_interactions_for_any_model():
    config = {"method": "resample", "params": {"attribute": "group", "sampling": "undersample"}}
    result = _run(config, model={"name": "ease", "l2": 10.0})
    dropped = result.metrics["mitigation"]["details"]["dropped_interactions"]
    assert dropped > 0 and len(result.train) == len(result.split.train) - dropped
    # the evaluation still reads the whole training history: no known item is recommended
    known = result.split.train.interactions[["user", "item"]]
    assert result.recommendations.merge(known, on=["user", "item"]).empty


@pytest.mark.parametrize(
    "method, params",
    [
        ("adversary", {"attributes": "group", "hidden": 0}),
        ("group_gap", {"attribute": "group", "smoothing": 0.0}),
        ("exposure", {"attribute": "provider", "lam": 50.0}),
        ("popularity", {"lam": 50.0}),
    ],
)
def test_loss_terms_are_attached_and_trained(plain, method, params):
    result = _run({"method": method, "params": params})
    term = result.mitigation.term
    assert term is not None and term in result.model.loss_terms()
    assert result.train is result.split.train  # the data is not touched
    assert _losses(result) != _losses(plain)
    record = result.metrics["mitigation"]
    assert record["stage"] == "in" and record["details"]["term"].startswith(type(term).__name__)
    assert set(params) <= set(record["params"])
    if method == "adversary":
        assert isinstance(term, AdversarialDebiasing) and term.dim == 8
        assert set(term.last_losses) == {"group"}
        assert record["final_losses"]["group"] == pytest.approx(float(term.last_losses["group"]))


def test_ipw_weights_the_training_split(plain):
    result = _run({"method": "ipw", "params": {"eta": 1.0}})
    weights = result.train.interactions["weight"].to_numpy()
    assert weights.std() > 0 and np.isclose(weights.mean(), 1.0, atol=1e-4)
    assert (result.split.train.interactions["weight"] == 1.0).all()
    # rarer items weigh more
    counts = result.split.train.interactions["item"].map(
        result.split.train.interactions["item"].value_counts()
    )
    assert (
        weights[counts.to_numpy() == counts.min()].min()
        > weights[counts.to_numpy() == counts.max()].max()
    )
    assert _losses(result) != _losses(plain)


def test_sasrec_adversary_on_every_position():
    model = {"name": "sasrec", "epochs": 1, "dim": 8, "max_len": 20}
    mitigation = {"method": "adversary", "params": {"attributes": ["group"], "positions": "all"}}
    result = _run(mitigation, model=model)
    assert result.mitigation.term.positions == "all" and result.mitigation.term.last_losses


def test_run_folder_records_the_mitigation_and_audits(tmp_path):
    out = tmp_path / "run"
    _run({"method": "group_gap", "params": {"attribute": "group"}}, out=str(out))
    saved = json.loads((out / "config.json").read_text())["config"]["mitigation"]
    assert saved == {
        "method": "group_gap",
        "params": {
            "attribute": "group",
            "lam": 1.0,
            "aggregate": "mad",
            "smoothing": 0.9,
            "raise_better": False,
        },
    }
    assert json.loads((out / "metrics.json").read_text())["mitigation"]["method"] == "group_gap"
    loaded = open_run(out)
    assert loaded.config.mitigation.method == "group_gap"
    report = audit_run(out, write=False, n_boot=0, n_permutations=0).report
    assert "representations" in report["leakage"]["group"]


def test_parameters_are_checked_and_resolved():
    assert resolve_params("popularity", {"lam": 2}) == {
        "lam": 2.0,
        "head": "share",
        "cutoff": 0.8,
        "temperature": 1.0,
        "max_users": 256,
    }
    with pytest.raises(ConfigError, match=r"unknown mitigation method 'nope'; choose one of: rew"):
        resolve_params("nope", {})
    with pytest.raises(
        ConfigError,
        match=r"'adversary': unknown parameter\(s\) \['lamda'\]; valid parameters are: attri",
    ):
        resolve_params("adversary", {"attributes": "group", "lamda": 1})
    with pytest.raises(
        ConfigError, match=r"'exposure': missing required parameter\(s\) 'attribute'"
    ):
        resolve_params("exposure", {})
    with pytest.raises(ConfigError, match=r"'exposure': lam='x' is not valid: expected a number"):
        resolve_params("exposure", {"attribute": "provider", "lam": "x"})
    with pytest.raises(
        ConfigError,
        match=r"'resample': sampling='both' is not valid: expected one of 'oversample', 'und",
    ):
        resolve_params("resample", {"attribute": "group", "sampling": "both"})
    assert target_attributes("adversary", {"attributes": ["group", "age"]}) == ("group", None)
    assert target_attributes("reweight", {"by": "item", "attribute": "provider"}) == (
        None,
        "provider",
    )
    assert {spec.stage for spec in TRAINING_METHODS.values()} == {"pre", "in"}


def test_models_without_loss_terms_are_rejected(plain):
    with pytest.raises(ConfigError, match=r"model 'ease' does not support .*use one of: bert4rec"):
        apply_training_mitigation(
            EASE(), plain.split.train, method="adversary", params={"attributes": "group"}, seed=0
        )
    with pytest.raises(ConfigError, match=r"weights, which model 'ease'.*undersample"):
        apply_training_mitigation(
            EASE(), plain.split.train, method="reweight", params={"attribute": "group"}, seed=0
        )
    with pytest.raises(ConfigError, match=r"unknown user attribute 'gender'.* \['group'\]"):
        _run({"method": "group_gap", "params": {"attribute": "gender"}})
