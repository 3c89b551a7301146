"""End-to-end audit on synthetic data with planted (and without) biases."""

import logging

import numpy as np
import pandas as pd
import pytest

from equirec.data.splits import split_dataset
from equirec.data.synthetic import make_synthetic
from equirec.errors import ConfigError, DataError
from equirec.fairness.audit import audit
from equirec.fairness.inputs import AuditData
from equirec.models.popularity import Popularity

FAST = {"n_boot": 200, "n_permutations": 2000}


def _audit_data(*, user_bias, provider_bias, seed, n_users=800, model=None, k=20):
    data = make_synthetic(
        n_users=n_users,
        n_items=150,
        n_interactions_per_user=15,
        user_bias=user_bias,
        provider_exposure_bias=provider_bias,
        seed=seed,
    )
    rng = np.random.default_rng(seed + 1000)
    # attributes with no planted effect: the audit must not flag them
    data.user_attributes["shoe"] = rng.choice(["s", "m", "l"], size=data.n_users)
    data.user_attribute_kinds["shoe"] = "categorical"
    data.item_attributes["colour"] = rng.choice(["red", "blue"], size=data.n_items)
    data.item_attribute_kinds["colour"] = "categorical"
    split = split_dataset(data, method="loo", seed=seed)
    model = model or _ease()
    model.fit(split.train)
    history = split.train.history()
    users = np.flatnonzero(split.test.history().lengths() > 0)
    items, scores = model.topk(users, k=k, history=history, exclude_seen=True)
    recs = model.lists_frame(users, items, scores)
    return AuditData.from_split(split, recommendations=recs, history="train")


def _ease():
    from equirec.models.ease import EASE

    return EASE(l2=50.0)


@pytest.fixture(scope="module")
def planted():
    # popularity ranking: the minority group's tastes and provider 1's items are both rare in the
    # log, so the lists serve that group worse and under-expose those items (planted, known)
    data = _audit_data(user_bias=0.9, provider_bias=0.9, seed=0, model=Popularity())
    return audit(data, k=10, attributes=["group", "shoe"], leakage=False, **FAST).report


def test_planted_user_gap_flagged_and_random_attribute_not(planted):
    users = planted["users"]
    group = users["group"]["ndcg@10"]
    assert group["significant"], group
    assert group["by_group"]["1"]["value"] < group["by_group"]["0"]["value"]
    assert group["difference_ci_low"] > 0
    for metric, entry in users["shoe"].items():
        assert not entry["significant"], (metric, entry["p_value"])


def test_planted_provider_gap_flagged_and_random_item_attribute_not(planted):
    groups = planted["items"]["groups"]
    provider = groups["provider"]
    assert provider["significant"]
    assert (
        provider["by_group"]["1"]["relative_exposure"]
        < provider["by_group"]["0"]["relative_exposure"]
    )
    assert not groups["colour"]["significant"], groups["colour"]["p_value"]
    # every group has an interval around its share
    for entry in provider["by_group"].values():
        assert entry["ci_low"] <= entry["exposure_share"] <= entry["ci_high"]


def test_summary_puts_planted_findings_first(planted):
    summary = planted["summary"]
    significant = [(f["side"], f["attribute"]) for f in summary if f["significant"]]
    assert ("users", "group") in significant and ("items", "provider") in significant
    assert ("users", "shoe") not in significant and ("items", "colour") not in significant
    flags = [f["significant"] for f in summary]
    assert flags == sorted(flags, reverse=True)


def test_report_layout(planted):
    assert set(planted) >= {"params", "summary", "warnings", "users", "ugf", "items", "lists"}
    entry = planted["users"]["group"]["ndcg@10"]
    for g in entry["by_group"].values():
        assert set(g) == {"value", "ci_low", "ci_high", "n"}
    assert {"difference", "ratio", "p_value"} <= set(entry)
    assert set(planted["ugf"]) == {"ndcg@10", "f1@10"}
    assert "popularity" in planted["items"]["groups"]
    assert planted["lists"]["calibration"]["attribute"] == "genres"


def test_no_bias_gap_intervals_contain_zero_about_95_percent():
    """Calibration: with no planted bias, the 95% gap interval contains 0 in ~95% of seeds."""
    contained = []
    for seed in range(40):
        data = _audit_data(
            user_bias=0.0, provider_bias=0.0, seed=seed, n_users=300, model=Popularity(), k=10
        )
        report = audit(
            data,
            k=10,
            metrics=("ndcg",),
            attributes=["group"],
            leakage=False,
            item_attributes=[],
            n_boot=0,
            n_permutations=200,
        ).report
        e = report["users"]["group"]["ndcg@10"]
        contained.append(e["difference_ci_low"] <= 0 <= e["difference_ci_high"])
    # 40 seeds at 95%: expect 38; fewer than 34 has probability < 1% under correct coverage
    assert sum(contained) >= 34, sum(contained)


def test_bad_input_messages():
    data = _audit_data(user_bias=0.5, provider_bias=0.5, seed=1, n_users=200, k=10)
    with pytest.raises(DataError, match="user attribute 'height' is not in the data"):
        audit(data, attributes=["height"], leakage=False, **FAST)
    with pytest.raises(ConfigError, match="k=50 is larger than the longest recommendation list"):
        audit(data, k=50, leakage=False, **FAST)
    with pytest.raises(DataError, match="item attribute 'studio' is not in the data"):
        audit(data, item_attributes=["studio"], leakage=False, **FAST)


def test_leakage_with_permutation_p_values():
    data = _audit_data(user_bias=0.9, provider_bias=0.0, seed=2, n_users=300, k=10)
    report = audit(
        data, k=10, attributes=["group"], leakage_permutations=9, n_boot=50, n_permutations=50
    ).report
    lists = report["leakage"]["group"]["lists"]
    assert lists["n_permutations"] == 9 and lists["p_value"] is not None
    # a clear leak: its p-value is far below what 9 counted shuffles could give (1/10), and it
    # stays significant after the Holm adjustment over the probes
    assert lists["p_value"] < 1e-3 and lists["null_exceed"] == 0
    assert lists["significant"] and lists["p_adjusted"] >= lists["p_value"]
    finding = next(f for f in report["summary"] if f["side"] == "leakage")
    assert finding["significant"] and "adjusted p" in finding["text"]


def test_sections_that_cannot_be_computed_are_said_and_progress_is_logged(caplog):
    rng = np.random.default_rng(3)
    train = pd.DataFrame({"user": rng.integers(0, 40, 400), "item": rng.integers(0, 30, 400)})
    test = pd.DataFrame({"user": np.arange(40), "item": rng.integers(0, 30, 40)})
    recs = pd.DataFrame(
        {
            "user": np.repeat(np.arange(40), 10),
            "rank": np.tile(np.arange(1, 11), 40),
            "item": np.concatenate([rng.permutation(30)[:10] for _ in range(40)]),
        }
    )
    data = AuditData.from_frames(recommendations=recs, test=test, train=train)
    with caplog.at_level(logging.INFO, logger="equirec"):
        report = audit(data, k=10, n_boot=0, n_permutations=20).report
    text = " ".join(report["warnings"])
    assert "no user attributes in the data" in text and "--user-attributes" in text
    assert "no categorical item attribute in the data" in text and "--item-attributes" in text
    assert "leakage not measured: the data has no categorical user attribute" in text
    logged = caplog.text
    assert "audit: users by activity (2 groups)" in logged and "audit: items and lists" in logged
