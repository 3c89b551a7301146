"""The summary's sentences: numbers keep their significant digits, verdicts their p-values."""

from __future__ import annotations

from typing import Any

import pytest

from equirec.fairness.summary import summarise


def _report(
    *, tail_share: float = 0.000674, users: dict[str, Any] | None = None, leakage: Any = None
) -> dict[str, Any]:
    catalogue_tail = 0.683
    return {
        "params": {"primary_metric": "ndcg@10", "min_group_size": 20},
        "users": users or {},
        "items": {
            "groups": {
                "popularity": {
                    "by_group": {
                        "head": {
                            "relative_exposure": (1 - tail_share) / (1 - catalogue_tail),
                            "exposure_share": 1 - tail_share,
                            "catalogue_share": 1 - catalogue_tail,
                            "n_items": 534,
                        },
                        "tail": {
                            "relative_exposure": tail_share / catalogue_tail,
                            "exposure_share": tail_share,
                            "catalogue_share": catalogue_tail,
                            "n_items": 1148,
                        },
                    },
                    "p_value": 0.00005,
                    "p_adjusted": 0.0004,
                    "significant": True,
                }
            }
        },
        "leakage": leakage or {},
    }


def _items_text(report: dict[str, Any]) -> str:
    return next(f["text"] for f in summarise(report) if f["side"] == "items")


def test_a_small_exposure_ratio_keeps_its_digits() -> None:
    """ML-100K SASRec: the tail gets 0.067% of exposure for 68.3% of the items, a ratio of
    0.00099; it was written "0.00x" and "0.1% of exposure"."""
    text = _items_text(_report())
    assert "0.00x" not in text and "0.1% of exposure" not in text
    assert "get 0.00099x (about 1/1,000) their share of the catalogue" in text
    assert "0.067% of exposure for 68.3% of items" in text
    assert "p < 0.001, adjusted p < 0.001" in text


@pytest.mark.parametrize(
    ("share", "ratio"),
    [(0.3415, "0.50x"), (0.0683, "0.10x"), (0.0341, "0.050x (about 1/20)"), (6.83e-6, "0.000010x")],
)
def test_ratios_of_every_size(share: float, ratio: str) -> None:
    assert f"get {ratio}" in _items_text(_report(tail_share=share))


def test_no_exposure_at_all_is_said_in_words() -> None:
    text = _items_text(_report(tail_share=0.0))
    assert "get no exposure at all (0% of exposure for 68.3% of items" in text


def _users(lo: float, hi: float, p: float, adjusted: float, significant: bool) -> dict[str, Any]:
    return {
        "gender": {
            "ndcg@10": {
                "by_group": {"F": {"value": lo, "n": 273}, "M": {"value": hi, "n": 670}},
                "p_value": p,
                "p_adjusted": adjusted,
                "significant": significant,
            }
        }
    }


def test_user_findings_give_both_p_values_and_small_gaps() -> None:
    found = summarise(_report(users=_users(0.0499, 0.0501, 0.009, 0.074, False)))
    text = next(f["text"] for f in found if f["side"] == "users")
    assert "get 0.4% lower NDCG@10" in text  # was "0% lower"
    assert "(0.0499 vs 0.0501; p = 0.009, adjusted p = 0.074)" in text
    tiny = summarise(_report(users=_users(0.0, 0.00003, 0.5, 1.0, False)))
    assert "(0 vs 0.000030;" in next(f["text"] for f in tiny if f["side"] == "users")


def _probe(significant: bool) -> dict[str, Any]:
    return {
        "auc": 0.529,
        "ci_low": 0.507,
        "ci_high": 0.553,
        "baseline": 0.5,
        "p_value": 0.058,
        "p_adjusted": 0.116,
        "significant": significant,
    }


def test_leakage_findings_follow_the_probe_verdict() -> None:
    """An interval above chance (0.507) with adjusted p = 0.116 is not a leak, and the sentence
    does not say that the attribute "can be predicted"."""
    found = summarise(_report(leakage={"age_band": {"representations": _probe(False)}}))
    leak = next(f for f in found if f["side"] == "leakage")
    assert leak["significant"] is False
    assert "can be predicted" not in leak["text"]
    assert "not predicted significantly better than chance (0.50)" in leak["text"]
    assert "p = 0.058, adjusted p = 0.116" in leak["text"]
    found = summarise(_report(leakage={"age_band": {"lists": _probe(True)}}))
    leak = next(f for f in found if f["side"] == "leakage")
    assert (
        leak["significant"] is True
        and "can be predicted from the recommendation lists" in (leak["text"])
    )
