"""The HTML report of an audit: complete, self-contained, escaped, robust to missing parts."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

from equirec.reporting import render_audit_html

EXAMPLE = Path(__file__).with_name("audit_example.json")
SECTIONS = ("summary", "users", "items", "lists", "leakage", "parameters")


@pytest.fixture(scope="module")
def example() -> dict[str, Any]:
    return json.loads(EXAMPLE.read_text())


@pytest.fixture(scope="module")
def page(example: dict[str, Any]) -> str:
    return render_audit_html(example)


def section(page: str, name: str) -> str:
    tag = "footer" if name == "parameters" else "section"
    m = re.search(rf'<{tag} id="{name}">(.*?)</{tag}>', page, flags=re.S)
    assert m, f"no {name} section"
    return m.group(1)


# -- the full example ---------------------------------------------------------------------------
def test_full_example_is_a_complete_page(
    page: str,
    example: dict[str, Any],
    assert_well_formed: Callable[[str], None],
    assert_offline: Callable[[str], None],
) -> None:
    assert page.startswith("<!DOCTYPE html>")
    assert page.rstrip().endswith("</html>")
    assert "<title>Fairness audit — sasrec on ml-100k</title>" in page
    assert "could not be rendered" not in page
    for name in SECTIONS:
        section(page, name)
    assert_well_formed(page)
    assert_offline(page)
    assert "nan" not in re.sub(r"<[^>]+>", " ", page).lower().split()


def test_header_says_what_was_audited(page: str) -> None:
    line = re.search(r'<p class="audited">(.*?)</p>', page, flags=re.S)
    assert line
    text = re.sub(r"<[^>]+>", "", line.group(1))
    for part in ("sasrec", "ml-100k", "top-10", "943 users", "1,000 bootstrap", "95% confidence"):
        assert part in text


def test_every_user_attribute_and_metric_appears(page: str, example: dict[str, Any]) -> None:
    users = section(page, "users")
    for attr, metrics in example["users"].items():
        assert f"<h3>{escape(attr)}</h3>" in users
        for metric in metrics:
            assert f"{metric.upper()} by {escape(attr)}" in users


def test_primary_metric_chart_comes_first(page: str, example: dict[str, Any]) -> None:
    users = section(page, "users")
    for attr in example["users"]:
        a = escape(attr)
        assert users.index(f"NDCG@10 by {a}") < users.index(f"RECALL@10 by {a}")
        first_chart = users.index(f"NDCG@10 by {a}")
        assert users.index("<details", first_chart) > users.index("<svg", first_chart)
    assert "aggregations of the group means" in users
    assert "mean abs. dev." in users and "MAD" in users


def test_svg_count_matches_sections(page: str, example: dict[str, Any]) -> None:
    n_user_charts = sum(len(m) for m in example["users"].values())
    items = example["items"]
    expected = {
        "summary": 0,
        "users": n_user_charts,
        "items": 2 + len(items["groups"]),  # Lorenz, deciles, one per item attribute
        "lists": 1,
        "leakage": len(example["leakage"]),
        "parameters": 0,
    }
    for name, n in expected.items():
        assert section(page, name).count("<svg") == n, name
    assert page.count("<svg") == sum(expected.values())


def test_significant_findings_come_first(page: str, example: dict[str, Any]) -> None:
    summary = section(page, "summary")
    found = example["summary"]
    assert any(f["significant"] for f in found) and not all(f["significant"] for f in found)
    sig = [summary.index(escape(f["text"])) for f in found if f["significant"]]
    ns = [summary.index(escape(f["text"])) for f in found if not f["significant"]]
    assert max(sig) < min(ns)
    assert summary.count('class="marker sig"') == len(sig)


def test_significance_is_restored_when_the_input_is_unsorted(example: dict[str, Any]) -> None:
    audit = copy.deepcopy(example)
    audit["summary"] = list(reversed(audit["summary"]))
    summary = section(render_audit_html(audit), "summary")
    sig = [summary.index(escape(f["text"])) for f in audit["summary"] if f["significant"]]
    ns = [summary.index(escape(f["text"])) for f in audit["summary"] if not f["significant"]]
    assert max(sig) < min(ns)


def test_warnings_and_small_groups_are_visible(page: str, example: dict[str, Any]) -> None:
    summary = section(page, "summary")
    assert 'class="warnings"' in summary
    for w in example["warnings"]:
        assert escape(w) in summary
    users = section(page, "users")
    occupation = users[users.index("NDCG@10 by occupation") :]
    doctor = re.search(r"doctor<tspan[^>]*>[^<]*</tspan>(<tspan[^>]*>[^<]*</tspan>)?", occupation)
    assert doctor and "small-mark" in doctor.group(0)  # 7 users < min_group_size
    student = re.search(r"student<tspan[^>]*>[^<]*</tspan>(<tspan[^>]*>[^<]*</tspan>)?", occupation)
    assert student and "small-mark" not in student.group(0)
    assert 'class="bar small"' in occupation


def test_many_groups_make_a_taller_chart(page: str) -> None:
    users = section(page, "users")

    def height(attr: str) -> float:
        start = users.index(f"NDCG@10 by {attr}")
        box = re.search(r'viewBox="0 0 \d+ (\d+)"', users[start:])
        assert box
        return float(box.group(1))

    assert height("occupation") > height("age") > height("gender")


def test_item_and_leakage_sections(page: str, example: dict[str, Any]) -> None:
    items = section(page, "items")
    for attr in example["items"]["groups"]:
        assert f"Exposure by {escape(attr)}" in items
    assert "Gini = 0.97" in items
    assert "equal share 10%" in items
    assert "1,511 of 1,682" in items
    lists = section(page, "lists")
    assert "0.942 (95% CI 0.916–0.971)" in lists
    leak = section(page, "leakage")
    assert (
        "gender can be predicted from the user representations with AUC 0.58 (0.54–0.61), "
        "chance is 0.50" in leak
    )
    assert "cannot be told apart from chance using the user representations" in leak
    ugf = page[page.index('id="ugf"') :]
    assert "User-oriented group fairness" in ugf and "0.031–0.074" in ugf


def test_parameters_are_flattened(page: str) -> None:
    params = section(page, "parameters")
    assert "head.method" in params and "head.cutoff" in params
    assert "ndcg@10, recall@10, mrr@10, f1@10" in params


def test_rendering_is_deterministic(example: dict[str, Any], page: str) -> None:
    assert render_audit_html(example) == page


def test_title_argument(example: dict[str, Any]) -> None:
    out = render_audit_html(example, title="Run <42>")
    assert "<title>Run &lt;42&gt;</title>" in out
    assert "<h1>Run &lt;42&gt;</h1>" in out


# -- partial and odd reports ----------------------------------------------------------------
def _users(value: Any = 0.1, ci: bool = True) -> dict[str, Any]:
    def group(v: Any, n: int) -> dict[str, Any]:
        g: dict[str, Any] = {"value": v, "n": n}
        if ci:
            g |= {"ci_low": None if v is None else v - 0.01, "ci_high": None}
        return g

    return {
        "gender": {
            "ndcg@10": {
                "overall": value,
                "by_group": {"F": group(value, 30), "M": group(0.12, 50)},
                "difference": 0.02,
                "ratio": None,
                "p_value": None,
            }
        }
    }


def test_minimal_report_with_params_and_users_only(
    assert_well_formed: Callable[[str], None], assert_offline: Callable[[str], None]
) -> None:
    out = render_audit_html({"params": {"k": 10, "primary_metric": "ndcg@10"}, "users": _users()})
    assert_well_formed(out)
    assert_offline(out)
    assert "could not be rendered" not in out
    assert "No significant gaps found at the 5% level" in out
    assert "NDCG@10 by gender" in out
    assert "Item-side results are not available" in out
    assert "Calibration and diversity are not available" in out
    assert "Leakage was not measured" in out
    assert section(out, "users").count("<svg") == 1
    assert section(out, "items").count("<svg") == 0


@pytest.mark.parametrize("audit", [{}, {"params": None, "users": None, "summary": None}])
def test_empty_report(audit: dict[str, Any], assert_well_formed: Callable[[str], None]) -> None:
    out = render_audit_html(audit)
    assert_well_formed(out)
    assert "could not be rendered" not in out
    assert "User-side results are not available" in out
    assert "<svg" not in out


def test_empty_summary_names_the_level() -> None:
    out = render_audit_html({"params": {"confidence": 0.9}, "summary": []})
    assert "No significant gaps found at the 10% level" in out


def test_nan_and_none_values_do_not_crash(
    example: dict[str, Any], assert_well_formed: Callable[[str], None]
) -> None:
    audit = copy.deepcopy(example)
    nan = float("nan")
    g = audit["users"]["gender"]["ndcg@10"]
    g["by_group"]["F"] |= {"value": nan, "ci_low": nan, "ci_high": None}
    del g["by_group"]["M"]["ci_low"]
    g["overall"] = nan
    g["difference"] = None
    g["p_value"] = nan
    g.pop("p_adjusted")
    g.pop("significant")
    audit["users"]["age"]["recall@10"]["by_group"] = {}
    audit["ugf"]["f1@10"] = {"value": None, "ci_low": None, "ci_high": None, "p_value": None}
    audit["items"]["catalogue"] = {"coverage": nan, "gini_exposure": None}
    audit["items"]["lorenz"] = {"x": [0.0, nan, 1.0], "y": [0.0, 0.5]}
    audit["items"]["deciles"][3]["exposure_share"] = None
    audit["items"]["groups"]["popularity"]["by_group"]["tail"] |= {
        "exposure_share": nan,
        "ci_low": None,
        "catalogue_share": None,
    }
    audit["items"]["equity_of_attention"] = nan
    audit["lists"]["calibration"] |= {"c_kl": None, "ci_low": nan}
    audit["lists"]["calibration"]["profile"]["Drama"] = {"history": None, "recommended": nan}
    audit["leakage"]["gender"]["lists"] |= {"auc": nan, "ci_low": None, "ci_high": None}
    audit["leakage"]["gender"]["representations"] |= {"ci_low": None, "balanced_accuracy": None}
    audit["params"]["confidence"] = nan
    out = render_audit_html(audit)
    assert "could not be rendered" not in out
    assert_well_formed(out)
    text = re.sub(r"<[^>]+>", " ", out)
    assert "nan" not in text.lower().split()
    assert "n/a" in text
    assert "AUC not available" in out


def test_lorenz_and_deciles_missing(example: dict[str, Any]) -> None:
    audit = copy.deepcopy(example)
    for key in ("lorenz", "deciles", "groups", "popularity"):
        del audit["items"][key]
    items = section(render_audit_html(audit), "items")
    assert items.count("<svg") == 0
    assert "Lorenz curve: not available" in items
    assert "Popularity numbers are not available" in items


def test_no_leakage_no_item_attributes_no_calibration(example: dict[str, Any]) -> None:
    audit = copy.deepcopy(example)
    del audit["leakage"]
    audit["items"]["groups"] = {}
    audit["lists"] = {"novelty": 7.8}
    out = render_audit_html(audit)
    assert "could not be rendered" not in out
    assert section(out, "leakage").count("<svg") == 0
    assert "Leakage was not measured" in out
    assert section(out, "items").count("<svg") == 2
    assert section(out, "lists").count("<svg") == 0
    assert "Novelty" in section(out, "lists")


def test_user_data_is_escaped(assert_well_formed: Callable[[str], None]) -> None:
    evil = "<script>alert(1)</script>"
    attr = 'job"><img src=x onerror=alert(2)>'
    audit = {
        "params": {"dataset": "<b>ml</b>", "model": evil, "primary_metric": "ndcg@10"},
        "summary": [
            {
                "side": "users",
                "attribute": attr,
                "metric": "ndcg@10",
                "text": evil,
                "significant": True,
                "severity": 0.2,
            },
        ],
        "warnings": [evil],
        "users": {
            attr: {
                "ndcg@10": {
                    "overall": 0.1,
                    "by_group": {evil: {"value": 0.1, "ci_low": 0.09, "ci_high": 0.11, "n": 3}},
                }
            }
        },
        "items": {"groups": {attr: {"by_group": {evil: {"exposure_share": 0.5}}}}},
        "lists": {"calibration": {"attribute": evil, "profile": {evil: {"history": 0.1}}}},
        "leakage": {attr: {evil: {"auc": 0.6, "ci_low": 0.55, "ci_high": 0.65}}},
    }
    out = render_audit_html(audit)
    assert "<script" not in out.lower()
    assert "<img" not in out.lower()
    assert "<b>ml</b>" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "could not be rendered" not in out
    assert_well_formed(out)


def test_long_group_names_are_clipped_with_a_tooltip() -> None:
    name = "a very long group name that goes on and on " * 3
    users = {"g": {"ndcg@10": {"by_group": {name: {"value": 0.1, "n": 40}}}}}
    out = render_audit_html({"users": users})
    assert f"<title>{escape(name)}</title>" in out
    assert "…" in out


def test_a_malformed_section_does_not_cost_the_page(
    assert_well_formed: Callable[[str], None],
) -> None:
    out = render_audit_html({"users": {"gender": {"ndcg@10": {"by_group": {"F": "oops"}}}},
                       "items": {"lorenz": {"x": "abc", "y": 3}, "deciles": "x"},
                       "leakage": {"gender": ["not", "a", "dict"]}})  # fmt: skip
    assert "</html>" in out
    assert_well_formed(out)


def test_not_a_mapping() -> None:
    with pytest.raises(TypeError, match="mapping"):
        render_audit_html([])  # type: ignore[arg-type]


def test_a_failing_section_is_replaced_by_a_note(
    example: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    assert_well_formed: Callable[[str], None],
) -> None:
    import equirec.reporting.audit as audit_page

    def fail(ctx: Any) -> Any:
        raise ValueError("<bad> users")

    monkeypatch.setattr(audit_page, "users_view", fail)
    out = render_audit_html(example)
    users = section(out, "users")
    assert "<h2>Users: does quality differ between groups?</h2>" in users
    assert "This section could not be rendered: ValueError: &lt;bad&gt; users" in users
    assert out.count("could not be rendered") == 1
    for name in SECTIONS:  # the other sections are all there
        section(out, name)
    assert section(out, "items").count("<svg") == 2 + len(example["items"]["groups"])
    assert_well_formed(out)
