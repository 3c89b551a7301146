"""audit.json's schema: fresh audits of every shape and the example validate and round-trip;
unknown keys, wrong types and missing keys are rejected; the sweep's metrics read typed
attributes."""

from __future__ import annotations

import copy
import importlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError

from equirec.data.splits import split_dataset
from equirec.data.synthetic import make_synthetic
from equirec.fairness.audit import audit
from equirec.fairness.inputs import AuditData
from equirec.fairness.schema import SCHEMA_VERSION, Aggregations, AuditReport
from equirec.fairness.stats import AGGREGATIONS
from equirec.io import jsonable
from equirec.mitigation.tradeoff import FAIRNESS_METRICS
from equirec.models.popularity import Popularity

EXAMPLE = Path(__file__).parents[1] / "reporting" / "audit_example.json"
AUDIT_MODULE = importlib.import_module("equirec.fairness.audit")  # the name `audit` is the function


def _data(*, seed: int, genres: bool = True) -> AuditData:
    data = make_synthetic(n_users=200, n_items=100, n_interactions_per_user=12, seed=seed)
    rng = np.random.default_rng(seed)
    data.user_attributes["shoe"] = rng.choice(["s", "m", "l"], size=data.n_users)
    data.user_attribute_kinds["shoe"] = "categorical"
    data.user_attributes["height"] = rng.normal(170.0, 10.0, size=data.n_users)
    data.user_attribute_kinds["height"] = "numeric"
    data.item_attributes["colour"] = rng.choice(["red", "blue"], size=data.n_items)
    data.item_attribute_kinds["colour"] = "categorical"
    data.item_attributes["weight"] = rng.normal(size=data.n_items)
    data.item_attribute_kinds["weight"] = "numeric"
    if not genres:
        data.item_attributes = data.item_attributes.drop(columns=["genres"])
        del data.item_attribute_kinds["genres"]
    split = split_dataset(data, method="loo", seed=seed)
    model = Popularity()
    model.fit(split.train)
    users = np.flatnonzero(split.test.history().lengths() > 0)
    items, scores = model.topk(users, k=10, history=split.train.history(), exclude_seen=True)
    recs = model.lists_frame(users, items, scores)
    return AuditData.from_split(split, recommendations=recs, history="train")


@pytest.fixture(scope="module")
def data() -> AuditData:
    return _data(seed=0)


@pytest.fixture(scope="module")
def reports(data: AuditData) -> dict[str, dict[str, Any]]:
    """Audits of several shapes: every optional part present in some and absent in others."""
    reps = pd.DataFrame(
        np.random.default_rng(1).normal(size=(len(data.user_ids), 4)), index=data.user_ids
    )
    return {
        # intersections, numeric user and item attributes, representations, permutation tests
        "full": audit(
            data,
            k=10,
            intersections=[("group", "shoe")],
            item_attributes=["provider", "colour", "genres", "weight"],
            user_representations=reps,
            leakage_attributes=["group"],
            leakage_permutations=2,
            n_boot=30,
            n_permutations=30,
            context={"dataset": "synthetic", "model": "popularity", "note": {"any": [1, "x"]}},
        ).report,
        # no intervals, no tests (no p_adjusted / significant), no leakage
        "untested": audit(
            data, k=5, metrics=("ndcg", "recall"), n_boot=0, n_permutations=0, leakage=False
        ).report,
        # geometric attention, split membership, top-share head, popularity as the only groups
        "geometric": audit(
            data,
            attention="geometric",
            patience=0.7,
            multi="split",
            head="top",
            head_cutoff=0.2,
            item_attributes=[],
            leakage_attributes=["group"],
            n_boot=20,
            n_permutations=20,
        ).report,
        # no multi-valued item attribute: no calibration, no diversity
        "no_genres": audit(
            _data(seed=3, genres=False), n_boot=20, n_permutations=20, leakage=False
        ).report,
    }


def _json(report: dict[str, Any]) -> str:
    return json.dumps(jsonable(report))


@pytest.mark.parametrize("name", ["full", "untested", "geometric", "no_genres"])
def test_fresh_audits_validate_and_round_trip(reports: dict[str, Any], name: str) -> None:
    report = reports[name]
    assert report["schema_version"] == SCHEMA_VERSION
    AuditReport.model_validate(jsonable(report))
    text = _json(report)
    typed = AuditReport.model_validate_json(text)
    assert typed.model_dump(mode="json", exclude_unset=True) == json.loads(text)


def test_the_shapes_cover_the_optional_parts(reports: dict[str, Any]) -> None:
    full = AuditReport.model_validate_json(_json(reports["full"]))
    untested = AuditReport.model_validate_json(_json(reports["untested"]))
    geometric = AuditReport.model_validate_json(_json(reports["geometric"]))
    no_genres = AuditReport.model_validate_json(_json(reports["no_genres"]))
    assert "group*shoe" in full.users and "weight" in full.items.groups
    probes = full.leakage["group"]
    assert probes.representations is not None and probes.lists is not None
    assert probes.lists.p_value is not None and probes.lists.n_permutations == 2
    assert full.users["group"]["ndcg@10"].significant is not None
    assert full.params.dataset == "synthetic" and full.params.model_extra == {
        "note": {"any": [1, "x"]}
    }
    entry = untested.users["group"]["ndcg@5"]
    assert entry.p_value is None and entry.by_group["0"].ci_low is None
    assert "p_adjusted" not in entry.model_fields_set and entry.significant is None
    assert untested.leakage == {} and untested.items.groups["popularity"].p_adjusted is None
    assert geometric.params.patience == 0.7 and set(geometric.items.groups) == {"popularity"}
    assert geometric.leakage["group"].representations is None
    assert full.lists.calibration is not None and full.lists.diversity is not None
    assert no_genres.lists.calibration is None and no_genres.lists.diversity is None
    # the head is cut by the known interactions, never called "training" popularity
    assert geometric.items.popularity.head.startswith("top 20% of items by known interactions")
    assert full.items.popularity.head.startswith("most popular items holding 80% of known ")


def test_example_validates_and_round_trips() -> None:
    text = EXAMPLE.read_text()
    typed = AuditReport.model_validate_json(text)
    assert typed.schema_version == SCHEMA_VERSION
    assert typed.model_dump(mode="json", exclude_unset=True) == json.loads(text)
    assert typed.items.groups["popularity"].by_group["tail"].exposure_share == pytest.approx(
        0.000674, abs=1e-6
    )
    exposed = typed.items.exposed
    assert [e.title for e in exposed.most[:2]] == ["Fargo", "Jerry Maguire"]
    assert exposed.most[0].item == 100 and exposed.most[0].lists == 283
    assert len(exposed.most) == len(exposed.least) == 10
    assert exposed.never_recommended.n_items == typed.items.catalogue.never_recommended == 1511
    assert exposed.never_recommended.examples[0].title == "Apollo 13"
    assert list(typed.users["age"]["ndcg@10"].by_group) == [
        "q1 7–24",
        "q2 25–30",
        "q3 31–42",
        "q4 43–73",
    ]


def test_the_named_items_agree_with_the_catalogue(reports: dict[str, Any]) -> None:
    typed = AuditReport.model_validate(jsonable(reports["full"]))
    exposed = typed.items.exposed
    shares = [e.exposure_share or 0.0 for e in exposed.most]
    assert shares == sorted(shares, reverse=True) and exposed.most[0].lists > 0
    least = [e.exposure for e in exposed.least]
    assert least == sorted(least) and all(e.lists > 0 for e in exposed.least)
    assert exposed.most[0].exposure >= exposed.least[-1].exposure
    never = exposed.never_recommended
    assert never.n_items == typed.items.catalogue.never_recommended
    pops = [e.known_interactions for e in never.examples]
    assert pops == sorted(pops, reverse=True) and len(never.examples) == min(5, never.n_items)
    assert all(e.title is None for e in exposed.most)  # the synthetic items have no title


def _at(report: dict[str, Any], path: tuple[str | int, ...]) -> Any:
    """The node at ``path``; ``"*"`` stands for the first key of a dict."""
    node: Any = report
    for key in path:
        node = node[next(iter(node))] if key == "*" else node[key]
    return node


@pytest.mark.parametrize(
    "path",
    [
        (),
        ("params", "head"),
        ("summary", 0),
        ("users", "group", "ndcg@10"),
        ("users", "group", "ndcg@10", "by_group", "0"),
        ("users", "group", "ndcg@10", "aggregations"),
        ("ugf", "ndcg@10"),
        ("items",),
        ("items", "catalogue"),
        ("items", "deciles", 0),
        ("items", "groups", "popularity"),
        ("items", "groups", "popularity", "by_group", "tail"),
        ("items", "exposed"),
        ("items", "exposed", "most", 0),
        ("items", "exposed", "least", 0),
        ("items", "exposed", "never_recommended"),
        ("lists",),
        ("lists", "calibration"),
        ("lists", "calibration", "profile", "*"),
        ("lists", "diversity"),
        ("leakage", "group"),
        ("leakage", "group", "lists"),
    ],
)
def test_an_unknown_key_is_rejected(reports: dict[str, Any], path: tuple[str | int, ...]) -> None:
    report = json.loads(_json(reports["full"]))
    _at(report, path)["surprise"] = 1.0
    with pytest.raises(ValidationError, match="surprise") as err:
        AuditReport.model_validate(report)
    assert {e["type"] for e in err.value.errors()} == {"extra_forbidden"}


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("schema_version",), "equirec-audit/0"),
        (("params", "k"), "10"),
        (("params", "k"), 10.0),
        (("params", "attention"), "linear"),
        (("params", "model"), 3),
        (("summary", 0, "side"), "models"),
        (("summary", 0, "significant"), "yes"),
        (("warnings",), "one warning"),
        (("users", "group", "ndcg@10", "overall"), "high"),
        (("users", "group", "ndcg@10", "by_group", "0", "n"), True),
        (("users", "group", "ndcg@10", "by_group"), [1.0, 2.0]),
        (("ugf", "ndcg@10", "value"), "0.1"),
        (("items", "catalogue", "coverage"), [0.1]),
        (("items", "lorenz", "x", 0), None),
        (("items", "groups"), []),
        (("items", "groups", "popularity", "multi"), "both"),
        (("items", "exposed", "most", 0, "lists"), 1.5),
        (("items", "exposed", "most", 0, "item"), 1.5),
        (("items", "exposed", "least", 0, "popularity_group"), "middle"),
        (("items", "exposed", "never_recommended", "n_items"), "3"),
        (("lists", "novelty"), {"mean": 1.0}),
        (("lists", "calibration", "users"), 1.5),
        (("leakage", "group", "lists", "classes", "0"), 1.5),
        (("leakage", "group", "lists", "merged_classes"), "other"),
    ],
)
def test_a_wrong_type_is_rejected(
    reports: dict[str, Any], path: tuple[str | int, ...], value: Any
) -> None:
    report = json.loads(_json(reports["full"]))
    _at(report, path[:-1])[path[-1]] = value
    with pytest.raises(ValidationError):
        AuditReport.model_validate(report)
    with pytest.raises(ValidationError):
        AuditReport.model_validate_json(json.dumps(report))


@pytest.mark.parametrize(
    "path",
    [
        ("schema_version",),
        ("items",),
        ("params", "k"),
        ("users", "group", "ndcg@10", "difference"),
        ("items", "groups", "popularity", "by_group", "tail", "exposure_share"),
        ("items", "exposed"),
        ("items", "exposed", "most", 0, "known_interactions"),
        ("lists", "novelty"),
        ("leakage", "group", "lists", "auc"),
    ],
)
def test_a_missing_key_is_rejected(reports: dict[str, Any], path: tuple[str | int, ...]) -> None:
    report = json.loads(_json(reports["full"]))
    del _at(report, path[:-1])[path[-1]]
    with pytest.raises(ValidationError) as err:
        AuditReport.model_validate(report)
    assert [e["type"] for e in err.value.errors()] == ["missing"]


def test_audit_validates_the_report_it_builds(
    data: AuditData, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ValidationError, match=r"params\.model"):
        audit(data, n_boot=0, n_permutations=0, leakage=False, context={"model": 3})
    item_side = AUDIT_MODULE.item_side

    def drifted(*args: Any, **kwargs: Any) -> Any:
        items, lists, warnings = item_side(*args, **kwargs)
        return {**items, "new_section": {}}, lists, warnings

    monkeypatch.setattr(AUDIT_MODULE, "item_side", drifted)
    with pytest.raises(ValidationError, match="new_section"):
        audit(data, n_boot=0, n_permutations=0, leakage=False)


def test_aggregations_are_those_of_stats() -> None:
    assert tuple(Aggregations.model_fields) == AGGREGATIONS


READ_PATHS: dict[str, tuple[str, ...]] = {
    "tail_exposure_share": ("items", "groups", "popularity", "by_group", "tail", "exposure_share"),
    "aplt": ("items", "popularity", "aplt"),
    "gini_exposure": ("items", "catalogue", "gini_exposure"),
    "coverage": ("items", "catalogue", "coverage"),
    "c_kl": ("lists", "calibration", "c_kl"),
    "ild": ("lists", "diversity", "ild"),
    "ugf_ndcg": ("ugf", "ndcg@10", "value"),
    "ndcg_gap": ("users", "{user}", "ndcg@10", "difference"),
    "exposure_gap": ("items", "groups", "{item}", "difference"),
    "leakage_auc": ("leakage", "{user}", "representations", "auc"),
    "membership_auc": ("privacy", "rank", "auc"),
}

PRIVACY = {
    "members": 80,
    "non_members": 20,
    "targets": 5,
    "confidence": 0.95,
    "rank": {"auc": 0.61, "ci_low": 0.52, "ci_high": 0.7, "leaks": True},
    "shadow": None,
}


@pytest.mark.parametrize("name", list(FAIRNESS_METRICS))
def test_fairness_metrics_read_the_typed_report(reports: dict[str, Any], name: str) -> None:
    metric = FAIRNESS_METRICS[name]
    report = reports["full"] | ({"privacy": PRIVACY} if metric.needs == "membership" else {})
    typed = AuditReport.model_validate(jsonable(report))
    attribute = {"user": "group", "item": "provider", "leakage": "group"}.get(metric.needs or "")
    path = [p.format(user="group", item="provider") for p in READ_PATHS[name]]
    expected = _at(report, tuple(path))
    value = metric.read(typed, 10, attribute)
    assert isinstance(value, float) and value == expected
    if metric.needs == "membership":  # no membership attack
        assert metric.read(AuditReport.model_validate(jsonable(reports["full"])), 10, None) is None
    elif metric.needs is not None:  # no attribute, or one the audit does not have
        assert metric.read(typed, 10, None) is None
        assert metric.read(typed, 10, "nope") is None


def test_fairness_metrics_are_none_where_a_section_is_absent(reports: dict[str, Any]) -> None:
    no_genres = AuditReport.model_validate(jsonable(reports["no_genres"]))
    assert FAIRNESS_METRICS["c_kl"].read(no_genres, 10, None) is None
    assert FAIRNESS_METRICS["ild"].read(no_genres, 10, None) is None
    untested = AuditReport.model_validate(jsonable(reports["untested"]))
    assert FAIRNESS_METRICS["leakage_auc"].read(untested, 5, "group") is None
    assert FAIRNESS_METRICS["ugf_ndcg"].read(untested, 10, None) is None  # ugf is at k=5
    geometric = AuditReport.model_validate(jsonable(reports["geometric"]))
    assert FAIRNESS_METRICS["leakage_auc"].read(geometric, 10, "group") is None  # lists only
    broken = copy.deepcopy(reports["full"])
    broken["items"]["groups"]["popularity"]["by_group"].pop("tail")
    typed = AuditReport.model_validate(jsonable(broken))
    assert FAIRNESS_METRICS["tail_exposure_share"].read(typed, 10, None) is None


def test_the_schema_is_exported_by_equirec_fairness() -> None:
    import equirec.fairness

    assert equirec.fairness.AuditReport is AuditReport
    assert equirec.fairness.SCHEMA_VERSION == SCHEMA_VERSION == "equirec-audit/4"
