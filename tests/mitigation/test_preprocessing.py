"""Pre-processing mitigation: re-weighting and re-sampling against independent pandas checks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from equirec.data.dataset import Dataset
from equirec.data.synthetic import make_synthetic
from equirec.errors import ConfigError, DataError
from equirec.mitigation.preprocessing import (
    By,
    SampleMethod,
    group_weight_shares,
    resample,
    reweight,
)
from equirec.models import BPR, Popularity

PUBLIC = ["user", "item", "timestamp"]
CASES = [("user", "group"), ("user", "activity"), ("item", "provider"), ("item", "popularity")]


@pytest.fixture(scope="module")
def data() -> Dataset:
    return make_synthetic(n_users=300, n_items=100, seed=0)


def users(ds: Dataset) -> pd.DataFrame:
    assert ds.user_attributes is not None
    return ds.user_attributes


def items(ds: Dataset) -> pd.DataFrame:
    assert ds.item_attributes is not None
    return ds.item_attributes


def rebuild(
    ds: Dataset,
    *,
    weights: np.ndarray | None = None,
    user_attributes: pd.DataFrame | None = None,
) -> Dataset:
    """The same data with other weights or user attributes."""
    frame = ds.interactions[[*PUBLIC, "weight"]].copy()
    if weights is not None:
        frame["weight"] = weights
    return Dataset(
        interactions=frame,
        user_attributes=ds.user_attributes if user_attributes is None else user_attributes,
        item_attributes=ds.item_attributes,
        user_attribute_kinds=ds.user_attribute_kinds,
        item_attribute_kinds=ds.item_attribute_kinds,
        user_ids=ds.user_ids,
        item_ids=ds.item_ids,
        name=ds.name,
    )


def pandas_shares(ds: Dataset, by: str, attribute: str) -> pd.Series:
    """Weight share per group, computed directly from the attribute table (categorical only)."""
    table = ds.user_attributes if by == "user" else ds.item_attributes
    assert table is not None
    labels = table[attribute].reindex(ds.interactions[by]).to_numpy()
    frame = pd.DataFrame({"g": labels, "w": ds.interactions["weight"].to_numpy()}).dropna()
    totals = frame.groupby(frame["g"].map(lambda v: str(int(v))))["w"].sum()
    return totals / totals.sum()


def provider_share_in_top10(model: BPR | Popularity, ds: Dataset) -> float:
    recs = model.fit(ds).recommend(k=10)
    return float((items(ds)["provider"].loc[recs["item"]].to_numpy() == 1).mean())


# -- group_weight_shares ---------------------------------------------------------------------------
@pytest.mark.parametrize("by,attribute", [("user", "group"), ("item", "provider")])
def test_group_weight_shares_match_a_direct_computation(
    data: Dataset, by: By, attribute: str
) -> None:
    weights = np.random.default_rng(3).uniform(0.1, 3.0, size=len(data))
    ds = rebuild(data, weights=weights)
    shares = group_weight_shares(ds, by=by, attribute=attribute)
    assert shares.name == "weight_share" and shares.index.name == attribute
    pd.testing.assert_series_equal(
        shares, pandas_shares(ds, by, attribute), check_names=False, check_index_type=False
    )


def test_derived_groups_follow_their_definitions(data: Dataset) -> None:
    counts = data.interactions["user"].value_counts()
    n_active = int(np.ceil(0.05 * data.n_users))
    active = set(counts.sort_values(ascending=False, kind="stable").index[:n_active])
    is_active = data.interactions["user"].isin(active)
    shares = group_weight_shares(data, by="user", attribute="activity")
    assert shares["active"] == pytest.approx(is_active.mean())
    pop = group_weight_shares(data, by="item", attribute="popularity")
    assert pop["head"] == pytest.approx(0.8, abs=0.05)  # head items hold ~80% of interactions


# -- reweight --------------------------------------------------------------------------------------
@pytest.mark.parametrize("by,attribute", CASES)
def test_balanced_reweighting_equalises_group_weight(data: Dataset, by: By, attribute: str) -> None:
    before = group_weight_shares(data, by=by, attribute=attribute)
    assert before.max() - before.min() > 0.15  # the planted imbalance is there to begin with
    out = reweight(data, by=by, attribute=attribute)
    after = group_weight_shares(out, by=by, attribute=attribute)
    np.testing.assert_allclose(after.to_numpy(), 1.0 / len(after), rtol=0, atol=1e-9)
    assert out.interactions["weight"].mean() == pytest.approx(1.0, abs=1e-12)


def test_custom_target_is_met(data: Dataset) -> None:
    out = reweight(data, by="item", attribute="provider", target={"0": 0.3, "1": 0.7})
    after = group_weight_shares(out, by="item", attribute="provider")
    np.testing.assert_allclose(after[["0", "1"]].to_numpy(), [0.3, 0.7], rtol=0, atol=1e-9)
    # labels may be given as the attribute's own values
    same = reweight(data, by="item", attribute="provider", target={0: 0.3, 1: 0.7})  # type: ignore[dict-item]
    np.testing.assert_array_equal(same.interactions["weight"], out.interactions["weight"])


def test_factors_multiply_existing_weights(data: Dataset) -> None:
    old = np.random.default_rng(7).uniform(0.2, 2.0, size=len(data))
    ds = rebuild(data, weights=old)
    out = reweight(ds, by="user", attribute="group", target={"0": 0.4, "1": 0.6}, normalise=False)
    new = out.interactions["weight"].to_numpy()
    group = users(ds)["group"].reindex(ds.interactions["user"]).to_numpy()
    total = old.sum()
    for g, share in ((0, 0.4), (1, 0.6)):
        rows = group == g
        expected = share * total / old[rows].sum()  # target share / observed share
        np.testing.assert_allclose(new[rows] / old[rows], expected, rtol=1e-12)
    assert new.sum() == pytest.approx(total, rel=1e-12)  # the total weight is preserved
    after = group_weight_shares(out, by="user", attribute="group")
    np.testing.assert_allclose(after.to_numpy(), [0.4, 0.6], atol=1e-9)


def test_normalise_gives_mean_one_whatever_the_input_weights(data: Dataset) -> None:
    ds = rebuild(data, weights=np.random.default_rng(8).uniform(1.0, 5.0, size=len(data)))
    out = reweight(ds, by="item", attribute="provider")
    assert out.interactions["weight"].mean() == pytest.approx(1.0, abs=1e-12)
    np.testing.assert_allclose(
        group_weight_shares(out, by="item", attribute="provider").to_numpy(), 0.5, atol=1e-9
    )
    raw = reweight(ds, by="item", attribute="provider", normalise=False)
    assert raw.interactions["weight"].mean() == pytest.approx(ds.interactions["weight"].mean())


def test_interactions_without_a_group_keep_weight_one(data: Dataset) -> None:
    attrs = users(data).copy()
    unknown = data.user_ids[::7]
    attrs.loc[unknown, "group"] = np.nan
    ds = rebuild(data, user_attributes=attrs)
    out = reweight(ds, by="user", attribute="group")
    rows = out.interactions["user"].isin(unknown).to_numpy()
    assert rows.any()
    np.testing.assert_allclose(out.interactions["weight"].to_numpy()[rows], 1.0, atol=1e-12)
    assert not np.allclose(out.interactions["weight"].to_numpy()[~rows], 1.0)
    shares = group_weight_shares(out, by="user", attribute="group")
    np.testing.assert_allclose(shares.to_numpy(), 0.5, atol=1e-9)
    assert out.info["mitigation"]["unassigned_interactions"] == int(rows.sum())


def test_only_the_weight_column_changes(data: Dataset) -> None:
    out = reweight(data, by="item", attribute="popularity")
    cols = [*PUBLIC, "user_idx", "item_idx"]
    pd.testing.assert_frame_equal(out.interactions[cols], data.interactions[cols])
    assert out.user_ids.equals(data.user_ids) and out.item_ids.equals(data.item_ids)
    pd.testing.assert_frame_equal(users(out), users(data))
    pd.testing.assert_frame_equal(items(out), items(data))
    # the input is left alone
    assert (data.interactions["weight"] == 1.0).all() and "mitigation" not in data.info


def test_info_records_what_was_done(data: Dataset) -> None:
    once = reweight(data, by="item", attribute="provider")
    record = once.info["mitigation"]
    assert record["method"] == "reweight" and record["by"] == "item"
    assert record["attribute"] == "provider" and record["target"] == "balanced"
    before = group_weight_shares(data, by="item", attribute="provider")
    assert record["shares_before"] == pytest.approx(before.to_dict())
    assert record["factors"] == pytest.approx({g: 0.5 / s for g, s in before.items()})
    assert record["previous"] is None and once.info["source"] == "synthetic"
    twice = reweight(once, by="user", attribute="group")
    assert twice.info["mitigation"]["previous"]["attribute"] == "provider"
    np.testing.assert_allclose(
        group_weight_shares(twice, by="user", attribute="group").to_numpy(), 0.5, atol=1e-9
    )


def test_numeric_attributes_are_cut_into_quantile_bands(data: Dataset) -> None:
    attrs = users(data).copy()
    attrs["age"] = np.random.default_rng(2).integers(18, 70, size=len(attrs)).astype(float)
    ds = Dataset(
        interactions=data.interactions[PUBLIC],
        user_attributes=attrs,
        user_ids=data.user_ids,
        item_ids=data.item_ids,
    )
    out = reweight(ds, by="user", attribute="age")
    shares = group_weight_shares(out, by="user", attribute="age")
    assert len(shares) == 4
    np.testing.assert_allclose(shares.to_numpy(), 0.25, atol=1e-9)


def test_groups_without_interactions_are_left_out() -> None:
    full = make_synthetic(n_users=120, n_items=60, n_user_groups=3, seed=1)
    group = users(full)["group"].reindex(full.interactions["user"]).to_numpy()
    ds = full.subset(group != 2)
    out = reweight(ds, by="user", attribute="group")
    shares = group_weight_shares(out, by="user", attribute="group")
    np.testing.assert_allclose(shares.to_numpy(), [0.5, 0.5, 0.0], atol=1e-9)
    with pytest.raises(DataError, match=r"positive share to group\(s\) \['2'\]"):
        reweight(ds, by="user", attribute="group", target={"0": 0.4, "1": 0.4, "2": 0.2})


# -- resample --------------------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["oversample", "undersample"])
@pytest.mark.parametrize("by,attribute", [("user", "group"), ("item", "provider")])
def test_resample_is_reproducible(
    data: Dataset, by: By, attribute: str, method: SampleMethod
) -> None:
    a = resample(data, by=by, attribute=attribute, seed=5, sampling=method)
    b = resample(data, by=by, attribute=attribute, seed=5, sampling=method)
    c = resample(data, by=by, attribute=attribute, seed=6, sampling=method)
    pd.testing.assert_frame_equal(a.interactions, b.interactions)
    cols = [*PUBLIC, "weight"]
    assert len(a) != len(c) or not a.interactions[cols].equals(c.interactions[cols])


@pytest.mark.parametrize("method", ["oversample", "undersample"])
@pytest.mark.parametrize(
    "by,attribute,target",
    [
        ("user", "group", "balanced"),
        ("user", "activity", {"active": 0.3, "inactive": 0.7}),
        ("item", "provider", {"0": 0.45, "1": 0.55}),
    ],
)
def test_resample_meets_the_target_in_expectation(
    data: Dataset, by: By, attribute: str, target: Any, method: SampleMethod
) -> None:
    wanted = np.array([0.5, 0.5]) if target == "balanced" else np.array(list(target.values()))
    draws = []
    for seed in range(20):
        out = resample(data, by=by, attribute=attribute, target=target, seed=seed, sampling=method)
        realised = out.info["mitigation"]["shares_after"]
        draws.append(list(realised.values()))
    draws_arr = np.array(draws)
    assert np.abs(draws_arr - wanted).max() < 0.08  # every draw is near the target
    np.testing.assert_allclose(draws_arr.mean(axis=0), wanted, atol=0.015)  # and unbiased


def test_oversampling_users_repeats_whole_histories(data: Dataset) -> None:
    out = resample(data, by="user", attribute="group", seed=0)
    cols = [*PUBLIC, "user_idx", "item_idx"]
    pd.testing.assert_frame_equal(out.interactions[cols], data.interactions[cols])
    w = out.interactions["weight"]
    assert (w == np.round(w)).all() and (w >= 1).all()
    assert (w.groupby(out.interactions["user"]).nunique() == 1).all()  # one multiplicity a user
    group = users(data)["group"].reindex(out.interactions["user"]).to_numpy()
    assert (w[group == 0] == 1).all()  # the over-represented group is not repeated
    rate = out.info["mitigation"]["rates"]["1"]
    assert set(np.unique(w[group == 1])) <= {np.floor(rate), np.ceil(rate)}
    realised = group_weight_shares(out, by="user", attribute="group")
    assert realised.to_dict() == pytest.approx(out.info["mitigation"]["shares_after"])


def test_undersampling_users_keeps_them_in_the_vocabulary(data: Dataset) -> None:
    out = resample(data, by="user", attribute="group", seed=0, sampling="undersample")
    assert out.user_ids.equals(data.user_ids) and out.item_ids.equals(data.item_ids)
    assert (out.interactions["weight"] == 1.0).all()
    before = data.interactions["user"].value_counts()
    after = out.interactions["user"].value_counts().reindex(before.index, fill_value=0)
    assert ((after == 0) | (after == before)).all()  # whole histories kept or dropped
    dropped = set(before.index[after == 0])
    assert dropped and {users(data).loc[u, "group"] for u in dropped} == {0}
    assert out.info["mitigation"]["dropped_users"] == len(dropped)
    assert out.history().n_users == data.n_users  # still ranked for and evaluated
    kept = data.interactions[~data.interactions["user"].isin(dropped)].reset_index(drop=True)
    pd.testing.assert_frame_equal(out.interactions[PUBLIC], kept[PUBLIC])


def test_resampling_items_acts_on_interactions(data: Dataset) -> None:
    provider = items(data)["provider"]
    under = resample(data, by="item", attribute="provider", seed=1, sampling="undersample")
    p_under = provider.reindex(under.interactions["item"]).to_numpy()
    p_all = provider.reindex(data.interactions["item"]).to_numpy()
    assert (p_under == 1).sum() == (p_all == 1).sum()  # the under-represented group is intact
    assert (p_under == 0).sum() < (p_all == 0).sum()
    over = resample(data, by="item", attribute="provider", seed=1)
    w = over.interactions["weight"].to_numpy()
    assert len(over) == len(data) and (w[p_all == 0] == 1).all()
    assert (w == np.round(w)).all() and w[p_all == 1].mean() > 1.3


# -- end to end ------------------------------------------------------------------------------------
def test_reweighting_by_provider_exposes_the_minority_provider_more(data: Dataset) -> None:
    fair = reweight(data, by="item", attribute="provider")

    def bpr() -> BPR:
        return BPR(dim=8, epochs=5, lr=0.05, seed=0, device="cpu")

    base = provider_share_in_top10(bpr(), data)
    mitigated = provider_share_in_top10(bpr(), fair)
    assert mitigated > base + 0.05
    # Popularity counts interactions and ignores weights: re-weighting leaves it unchanged
    pop = Popularity(count="interactions")
    assert provider_share_in_top10(pop, fair) == provider_share_in_top10(pop, data)


# -- bad input -------------------------------------------------------------------------------------
def test_unknown_attribute_lists_the_available_ones(data: Dataset) -> None:
    with pytest.raises(DataError, match=r"available: \['activity', 'activity_band', 'group'\]"):
        reweight(data, by="user", attribute="gender")
    with pytest.raises(DataError, match=r"available: \['popularity', 'provider'\]"):
        group_weight_shares(data, by="item", attribute="studio")


def test_multi_valued_attributes_are_rejected(data: Dataset) -> None:
    with pytest.raises(DataError, match=r"'genres' is multi-valued.*'popularity', 'provider'"):
        reweight(data, by="item", attribute="genres")


def test_single_group_attribute_is_rejected() -> None:
    ds = make_synthetic(n_users=40, n_items=30, n_provider_groups=1, seed=0)
    with pytest.raises(DataError, match=r"single group \['0'\].*at least two"):
        reweight(ds, by="item", attribute="provider")
    with pytest.raises(DataError, match="single group"):
        resample(ds, by="item", attribute="provider", seed=0)


@pytest.mark.parametrize(
    "target,message",
    [
        ({"0": 0.5, "1": 0.6}, "must sum to 1, got 1.1"),
        ({"0": 1.0}, r"no share to group\(s\) \['1'\]"),
        ({"0": 0.5, "1": 0.5, "9": 0.0}, r"unknown group\(s\) \['9'\].*groups: \['0', '1'\]"),
        ({"0": 1.5, "1": -0.5}, "must be finite and >= 0"),
        ("equal", "unknown target 'equal'"),
    ],
)
def test_bad_targets_are_rejected(data: Dataset, target: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        reweight(data, by="item", attribute="provider", target=target)


def test_bad_arguments_are_rejected(data: Dataset) -> None:
    with pytest.raises(ConfigError, match="unknown by='provider'"):
        reweight(data, by="provider", attribute="provider")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="unknown resampling method 'smote'"):
        resample(data, by="user", attribute="group", seed=0, sampling="smote")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="seed must be an integer"):
        resample(data, by="user", attribute="group", seed=0.5)  # type: ignore[arg-type]
    bad = rebuild(data, weights=np.where(np.arange(len(data)) == 3, -1.0, 1.0))
    with pytest.raises(DataError, match="weights must be finite and >= 0"):
        reweight(bad, by="user", attribute="group")
