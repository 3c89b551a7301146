"""On synthetic data with planted bias, each re-ranker reduces the gap it targets."""

import numpy as np
import pytest

from equirec.data.known import KnownData
from equirec.data.splits import split_dataset
from equirec.data.synthetic import make_synthetic
from equirec.fairness.audit import audit
from equirec.fairness.inputs import AuditData
from equirec.mitigation.rerank import popular_items
from equirec.mitigation.rerank.build import rerank_recommendations
from equirec.models.popularity import Popularity

QUICK = {"n_boot": 0, "n_permutations": 0, "leakage": False, "metrics": ("ndcg",)}


@pytest.fixture(scope="module")
def planted():
    """A popularity ranking of a log where provider 1 is under-represented (planted)."""
    data = make_synthetic(
        n_users=400,
        n_items=150,
        n_interactions_per_user=15,
        user_bias=0.9,
        provider_exposure_bias=0.9,
        seed=0,
    )
    split = split_dataset(data, method="loo", seed=0)
    model = Popularity().fit(split.train)
    users = np.flatnonzero(split.test.history().lengths() > 0)
    items, scores = model.topk(users, k=100, history=split.train.history(), exclude_seen=True)
    recs = model.lists_frame(users, items, scores)
    known = KnownData.from_dataset(split.train)
    return split, known, recs


def _report(split, recs):
    data = AuditData.from_split(split, recommendations=recs, history="train")
    return audit(data, k=10, attributes=["group"], **QUICK).report


def _rerank(planted, method, params):
    split, known, recs = planted
    out = rerank_recommendations(recs, known=known, method=method, params=params, k=10)
    return _report(split, out)


def _baseline(planted):
    split, _, recs = planted
    return _report(split, recs[recs["rank"] <= 10])


def _provider(report):
    return report["items"]["groups"]["provider"]["by_group"]["1"]["relative_exposure"]


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("fair", {"p": 0.8, "protected": "provider=1"}),
        ("detconstsort", {"groups": "provider", "target": "equal"}),
    ],
)
def test_under_exposed_provider_gets_at_least_half_its_gap_back(planted, method, params):
    gap_before = 1 - _provider(_baseline(planted))
    gap_after = 1 - _provider(_rerank(planted, method, params))
    assert gap_before > 0.5  # planted: provider 1 gets well under its catalogue share
    assert gap_after <= gap_before / 2


def test_calibrated_halves_miscalibration(planted):
    before = _baseline(planted)["lists"]["calibration"]["c_kl"]
    after = _rerank(planted, "calibrated", {"lam": 0.9})["lists"]["calibration"]["c_kl"]
    assert after <= before / 2


def test_cpfair_moves_slots_to_its_long_tail_and_mmr_diversifies(planted):
    split, known, recs = planted
    popular = popular_items(known.popularity, top=0.2)

    def long_tail_share(frame):
        top = frame[frame["rank"] <= 10]
        return float(np.mean(~popular[split.train.item_index(top["item"])]))

    params = {"lambda_user": 0.0, "lambda_item": 1000.0}
    cp = rerank_recommendations(recs, known=known, method="cpfair", params=params, k=10)
    assert long_tail_share(cp) > long_tail_share(recs) + 0.2
    base = _baseline(planted)
    mmr = _rerank(planted, "mmr", {"lam": 0.3})
    assert mmr["lists"]["diversity"]["ild"] > base["lists"]["diversity"]["ild"]
