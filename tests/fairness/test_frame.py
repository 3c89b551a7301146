import numpy as np
import pandas as pd
import pytest

from equirec.errors import EquirecError
from equirec.fairness.frame import AuditFrame
from equirec.fairness.groups import categorical_groups


def _values(n=300, seed=0):
    rng = np.random.default_rng(seed)
    labels = rng.choice(["F", "M", "X"], size=n, p=[0.3, 0.6, 0.1])
    values = pd.DataFrame(
        {
            "ndcg@10": rng.random(n) * (labels == "M") * 0.5 + rng.random(n) * 0.5,
            "recall@10": (rng.random(n) < 0.2).astype(float),
        }
    )
    return values, labels


def test_agrees_with_fairlearn_metricframe():
    fairlearn = pytest.importorskip("fairlearn.metrics")
    values, labels = _values()
    frame = AuditFrame(
        values=values,
        groups=categorical_groups(labels, name="gender"),
        n_boot=0,
        n_permutations=0,
    )

    def mean_of(y_true, y_pred):
        return float(np.mean(y_true))

    mf = fairlearn.MetricFrame(
        metrics={"ndcg@10": mean_of},
        y_true=values["ndcg@10"].to_numpy(),
        y_pred=values["ndcg@10"].to_numpy(),
        sensitive_features=pd.Series(labels, name="gender"),
    )
    col = "ndcg@10"
    assert frame.overall[col] == pytest.approx(mf.overall[col])
    pd.testing.assert_series_equal(
        frame.by_group[col], mf.by_group[col], check_names=False, check_index_type=False
    )
    assert frame.difference()[col] == pytest.approx(mf.difference(method="between_groups")[col])
    assert frame.ratio()[col] == pytest.approx(mf.ratio(method="between_groups")[col])
    assert frame.group_min()[col] == pytest.approx(mf.group_min()[col])
    assert frame.group_max()[col] == pytest.approx(mf.group_max()[col])


def test_intervals_tests_sizes_and_json():
    values, labels = _values(n=600, seed=1)
    frame = AuditFrame(
        values=values,
        groups=categorical_groups(labels, name="gender"),
        n_boot=400,
        n_permutations=400,
        min_group_size=80,
        seed=3,
    )
    assert frame.sizes.sum() == 600
    for g in frame.by_group.index:
        for m in frame.metrics:
            assert frame.ci_low.loc[g, m] <= frame.by_group.loc[g, m] <= frame.ci_high.loc[g, m]
    # ndcg is planted higher for M: significant; recall is pure noise
    assert frame.p_values["ndcg@10"] < 0.01
    assert frame.p_values["recall@10"] > 0.01
    lo, hi = frame.difference_ci.loc["ndcg@10"]
    assert lo > 0 and lo <= frame.difference()["ndcg@10"] <= hi
    assert any("'X'" in w for w in frame.warnings)  # ~60 users < 80
    out = frame.to_dict()
    assert set(out) == {"ndcg@10", "recall@10"}
    entry = out["ndcg@10"]
    assert set(entry["by_group"]) == {"F", "M", "X"}
    assert entry["by_group"]["M"]["n"] == int((labels == "M").sum())
    assert entry["aggregations"]["max_min_diff"] == pytest.approx(entry["difference"])
    assert entry["ratio"] == pytest.approx(entry["aggregations"]["min_max_ratio"])


def test_missing_labels_left_out_and_single_user_group_works():
    values = pd.DataFrame({"m": [1.0, 0.0, 0.5, 0.25, 0.75]})
    labels = ["a", "a", None, "b", "a"]
    frame = AuditFrame(
        values=values,
        groups=categorical_groups(labels, name="x"),
        n_boot=50,
        n_permutations=50,
    )
    assert frame.overall["m"] == pytest.approx((1 + 0 + 0.25 + 0.75) / 4)
    assert frame.sizes.to_dict() == {"a": 3, "b": 1}
    assert frame.ci_low.loc["b", "m"] == frame.ci_high.loc["b", "m"] == 0.25
    assert any("'b' has 1 user" in w for w in frame.warnings)


def test_bad_input():
    with pytest.raises(EquirecError, match="2 group labels for 3 rows"):
        AuditFrame(
            values=pd.DataFrame({"m": [1.0, 2.0, 3.0]}),
            groups=categorical_groups(["a", "b"], name="g"),
        )
