"""The HTML report of an audit: complete, self-contained, escaped, robust to missing parts."""

from __future__ import annotations

import copy
import html
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from markupsafe import escape

from equirec.reporting import render_audit_html
from equirec.reporting.formatting import fmt_p, fmt_ratio

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
    leak = _text(section(page, "leakage"))
    assert (
        "gender can be predicted from the user representations: ROC-AUC 0.58, the mean over 5 "
        "fold assignments (0.571–0.589 across them; 95% interval 0.54–0.61), chance is 0.50" in leak
    )
    # its interval is above chance, but its adjusted p-value is not significant
    assert (
        "age_band is not predicted significantly better than chance from the user "
        "representations: ROC-AUC 0.53" in leak
    )
    assert "p = 0.058 (adjusted 0.12). ○ not significant" in leak
    ugf = page[page.index('id="ugf"') :]
    assert "User-oriented group fairness" in ugf and "0.015–0.090" in ugf


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
    assert "No significant gaps and no significant leakage at the 5% level" in out
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
    assert "No significant gaps and no significant leakage at the 10% level" in out


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


# -- the page agrees with itself (issue 10) -----------------------------------------------------
def _text(html_part: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html_part)))


def _tiles(page: str) -> dict[str, tuple[str, str]]:
    found = re.findall(
        r'<div class="tile-v">(.*?)</div><div class="tile-k">(.*?)</div>'
        r'<div class="tile-n">(.*?)</div>',
        page,
    )
    return {key: (value, note) for value, key, note in found}


def test_gaps_and_leaks_are_counted_apart(page: str, example: dict[str, Any]) -> None:
    """The "significant gaps" tile used to count leakage findings as gaps (4 = 1 + 3)."""
    found = example["summary"]
    gaps = [f for f in found if f["side"] != "leakage"]
    leaks = [f for f in found if f["side"] == "leakage"]
    n_gaps = sum(f["significant"] for f in gaps)
    n_leaks = sum(f["significant"] for f in leaks)
    assert n_gaps and n_leaks  # the example has both
    tiles = _tiles(page)
    gap_key = "significant gap" if n_gaps == 1 else "significant gaps"
    leak_key = "significant leak" if n_leaks == 1 else "significant leaks"
    assert tiles[gap_key][0] == str(n_gaps) and f"of {len(gaps)} tested" in tiles[gap_key][1]
    assert tiles[leak_key][0] == str(n_leaks) and f"of {len(leaks)} probes" in tiles[leak_key][1]
    lead = _text(section(page, "summary"))
    assert f"{n_gaps} gap{'' if n_gaps == 1 else 's'} between user or item groups and " in lead
    assert f"{n_leaks} leak{'' if n_leaks == 1 else 's'} of user attributes" in lead


def test_every_verdict_shows_the_adjusted_p_value(page: str, example: dict[str, Any]) -> None:
    ugf = page[page.index('id="ugf"') : page.index("</article>", page.index('id="ugf"'))]
    assert '<th scope="col">adjusted p</th>' in ugf
    for entry in example["ugf"].values():  # p = 0.009 beside "not significant": adjusted 0.065
        row = f"<td>{fmt_p(entry['p_value'])}</td><td>{fmt_p(entry['p_adjusted'])}</td>"
        assert row in ugf
    items = section(page, "items")
    for name, entry in example["items"]["groups"].items():
        part = items[items.index(f"<h3>Exposure by {escape(name)}</h3>") :]
        stats = re.search(r'<p class="stats">(.*?)</p>', part, flags=re.S)
        assert stats and f"(adjusted {fmt_p(entry['p_adjusted'])})" in html.unescape(stats.group(1))
    users = section(page, "users")
    assert users.count("(adjusted ") >= sum(len(m) for m in example["users"].values())
    leak = _text(section(page, "leakage"))
    for sources in example["leakage"].values():
        for entry in sources.values():
            assert f"(adjusted {fmt_p(entry['p_adjusted'])})" in leak
    for finding in example["summary"]:
        assert "adjusted p" in finding["text"]


def _probe(auc: float, lo: float, hi: float, significant: bool) -> dict[str, Any]:
    return {
        "auc": auc,
        "ci_low": lo,
        "ci_high": hi,
        "baseline": 0.5,
        "balanced_accuracy": 0.52,
        "balanced_accuracy_baseline": 0.5,
        "n": 943,
        "n_classes": 7,
        "repeats": 5,
        "auc_min": auc - 0.01,
        "auc_max": auc + 0.008,
        "p_value": 0.019,
        "p_adjusted": 0.055 if not significant else 0.012,
        "significant": significant,
    }


def test_the_leakage_verdict_follows_the_probe_not_its_interval() -> None:
    """age_band from the representations: its interval (0.503–0.550) is above chance, but its
    adjusted p-value (0.055) is not significant; it used to be marked "● leaks"."""
    audit = {
        "params": {"confidence": 0.95, "leakage_repeats": 5},
        "leakage": {
            "age_band": {
                "representations": _probe(0.526, 0.503, 0.550, False),
                "lists": _probe(0.56, 0.49, 0.63, True),
            }
        },
    }
    leak = section(render_audit_html(audit), "leakage")
    sentences = re.findall(r"<li>(.*?)</li>", leak, flags=re.S)
    assert len(sentences) == 2
    reps, lists = sentences
    assert "not significant" in reps and "● leaks" not in reps
    assert "is not predicted significantly better than chance" in reps
    assert "ROC-AUC 0.53, the mean over 5 fold assignments (0.516–0.534 across them" in reps
    assert "p = 0.019 (adjusted 0.055)" in reps
    assert "● leaks" in lists and "can be predicted from the recommendation lists" in lists
    chart = re.search(r"<svg.*?</svg>", leak, flags=re.S)
    assert chart
    rows = re.findall(r'<circle cx="[\d.]+" cy="([\d.]+)" r="5.5" fill="([^"]+)"', chart.group(0))
    fills = [fill for _, fill in sorted(rows, key=lambda r: float(r[0]))]
    assert fills == ["#fff", "#fff", "#D55E00", "#D55E00"]  # by the verdict, both rows


def test_small_exposure_ratios_keep_their_digits(page: str, example: dict[str, Any]) -> None:
    tail = example["items"]["groups"]["popularity"]["by_group"]["tail"]
    assert tail["relative_exposure"] < 0.001
    items = section(page, "items")
    assert f"×{fmt_ratio(tail['relative_exposure'])}" in items and "×0.00<" not in items
    assert fmt_ratio(tail["relative_exposure"]) == "0.00099"
    summary = section(page, "summary")
    assert "0.00x" not in summary and "get 0.00099x (about 1/1,000) their share" in summary


def test_raw_keys_get_plain_names(page: str, example: dict[str, Any]) -> None:
    from equirec.reporting.audit import PARAMETER_NAMES
    from equirec.reporting.formatting import flatten

    items = _text(section(page, "items"))
    assert "gini_counts" not in items and "Gini of recommendation counts" in items
    assert "(count)" not in items  # "multi=count" in words
    assert "An item in several groups counts fully in each" in items
    for key, _ in flatten(example["params"]):
        assert key in PARAMETER_NAMES, key
    params = section(page, "parameters")
    assert "Items in several groups" in params and '<code class="key">multi</code>' in params
    users = section(page, "users")
    for raw in ("max_min_ratio", "<td>l2", ">l2<", "median absolute deviation"):
        assert raw not in users
    assert "max / min" in users and "L2 of dev." in users
    assert "mean absolute difference between the means of two groups" in users


def test_numeric_bands_do_not_overlap(page: str, example: dict[str, Any]) -> None:
    ages = list(example["users"]["age"]["ndcg@10"]["by_group"])
    assert ages == ["q1 7–24", "q2 25–30", "q3 31–42", "q4 43–73"]
    users = section(page, "users")
    assert "[7, 25]" not in users and "q1 7–24" in users and "F*q1 7–24" in users
    assert "q1, q2, …: quantile bands" in users


def test_the_interval_and_the_test_are_explained(page: str) -> None:
    intro = _text(section(page, "users")[: section(page, "users").index("</p>")])
    assert "simultaneous over all pairs of groups" in intro
    assert "excludes 0 exactly when the test's p-value before adjustment is below 0.05" in intro
    method = _text(section(page, "summary"))
    assert "studentized max-t permutation test over every pair of groups" in method


def _three_groups(pairs: list[list[str]]) -> dict[str, Any]:
    group = {"ci_low": 0.01, "ci_high": 0.1, "n": 100}
    return {
        "params": {"primary_metric": "ndcg@10"},
        "users": {
            "age_band": {
                "ndcg@10": {
                    "overall": 0.05,
                    "by_group": {
                        "25-34": group | {"value": 0.07},
                        "35-44": group | {"value": 0.03},
                        "56+": group | {"value": 0.05},
                    },
                    "difference": 0.04,
                    "difference_ci_low": 0.01,
                    "difference_ci_high": 0.07,
                    "ratio": 0.43,
                    "p_value": 0.01,
                    "n_permutations": 2000,
                    "significant_pairs": pairs,
                    "p_adjusted": 0.03,
                    "significant": True,
                }
            }
        },
    }


def test_the_pairs_of_groups_that_differ_are_named() -> None:
    users = section(render_audit_html(_three_groups([["25-34", "35-44"]])), "users")
    assert (
        '<p class="pairs">1 pair of groups differ (95% simultaneous intervals, before the Holm '
        "adjustment): 25-34 &gt; 35-44.</p>"
    ) in users
    users = section(render_audit_html(_three_groups([])), "users")
    assert "No pair of groups differs (95% simultaneous intervals" in users


def test_items_are_named(page: str, example: dict[str, Any]) -> None:
    exposed = example["items"]["exposed"]
    items = section(page, "items")
    assert "Which items get the exposure" in items
    for entry in exposed["most"] + exposed["least"]:
        assert f"<td>{escape(entry['title'])}</td>" in items
    first = exposed["most"][0]
    assert f"<td>1</td><td>{first['item']}</td><td>{escape(first['title'])}</td>" in items
    never = exposed["never_recommended"]
    text = _text(items)
    assert f"{never['n_items']:,} of 1,682 items are in no list" in text
    e = never["examples"][0]
    assert f"{e['title']} (item {e['item']}, {e['known_interactions']:,.0f})" in text
    assert "item_exposure.csv" in text


def test_one_name_for_popularity(page: str) -> None:
    """Popularity is the interactions known when the lists were made (train+valid), never
    "training interactions"."""
    text = _text(page).lower()
    assert "training popularity" not in text and "training interactions" not in text
    items = _text(section(page, "items"))
    assert "known interactions (train+valid)" in items
    assert "the mean known interactions (train+valid) of recommended items" in items
    decile = re.search(r"<title>decile 10: [^<]*</title>", section(page, "items"))
    assert decile and "known interactions (train+valid)" in decile.group(0)


def test_wide_tables_scroll_sideways(page: str) -> None:
    style = page[page.index("<style>") : page.index("</style>")]
    assert re.search(r"\.table-wrap,\.chart-scroll\{overflow-x:auto", style)
    assert ".table-wrap::-webkit-scrollbar" in style  # a scrollbar that shows
    body = page[page.index("</style>") :]
    for m in re.finditer(r"<table", body):
        assert body.rfind('<div class="table-wrap', 0, m.start()) > body.rfind(
            "</div>", 0, m.start()
        )
    metrics = re.findall(r'<div class="table-wrap"([^>]*)><table class="metrics">', body)
    assert metrics and all('role="region" tabindex="0"' in attrs for attrs in metrics)
    assert body.count('<div class="chart-scroll"><svg') == body.count("<svg")


PRIVACY = {
    "members": 754,
    "non_members": 189,
    "targets": 5,
    "confidence": 0.95,
    "rank": {"auc": 0.6123, "ci_low": 0.571, "ci_high": 0.655, "leaks": True},
    "shadow": {
        "auc": 0.5234,
        "ci_low": 0.47,
        "ci_high": 0.57,
        "leaks": False,
        "shadow_auc": 0.68,
        "shadows": 2,
        "shadow_epochs": 40,
        "population": 943,
    },
}


@pytest.mark.parametrize("with_attributes", [True, False])
def test_membership_is_shown_beside_leakage(
    example: dict[str, Any], with_attributes: bool, assert_well_formed: Callable[[str], None]
) -> None:
    audit = copy.deepcopy(example) | {"privacy": PRIVACY}
    if not with_attributes:
        audit["leakage"] = {}
    out = render_audit_html(audit)
    assert_well_formed(out)
    part = section(out, "leakage")
    assert "Membership: were these users trained on?" in part
    assert "754 training users (members) against 189 users held out" in part
    rank, shadow = re.findall(r"<li>(The (?:rank|shadow) attack.*?)</li>", part, flags=re.S)
    assert "can be told from held-out users: ROC-AUC 0.61 (95% interval 0.57–0.66)" in rank
    assert "● leaks" in rank
    assert "not better than chance" in shadow and "on its 2 shadow model(s) 0.68" in shadow
    assert "○ not above chance" in shadow
    assert "leaks (its 95% interval lies above 0.5)" in part  # the legend says what it tested
    assert ("A classifier tries to predict each attribute" in part) == with_attributes
    assert "Leakage was not measured" not in part


def test_no_membership_section_without_an_attack(page: str) -> None:
    assert "Membership" not in section(page, "leakage")
