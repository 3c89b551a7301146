"""The HTML page of a trade-off sweep: complete, self-contained, escaped, robust to gaps."""

from __future__ import annotations

import copy
import html
import itertools
import re
from collections.abc import Callable
from typing import Any

import pytest
from markupsafe import escape

from equirec.reporting import render_sweep_html
from equirec.reporting.formatting import fmt_change
from equirec.reporting.pareto import pareto_chart, parse_points

_BASE = (0.104, 0.02)


def _point(label: str, setting: dict[str, Any], acc: float, fair: float, pareto: bool) -> dict:
    return {
        "label": label,
        "setting": setting,
        "accuracy": acc,
        "fairness": fair,
        "pareto": pareto,
        "accuracy_change": (acc - _BASE[0]) / _BASE[0],
        "fairness_change": (fair - _BASE[1]) / _BASE[1],
        "metrics": {
            "ndcg@10": acc,
            "recall@10": 2 * acc,
            "tail_exposure_share": fair,
            "aplt": fair + 0.01,
            "gini_exposure": 0.9 - fair,
            "c_kl": 0.5,
            "ugf_ndcg": 0.03,
        },
    }


def example() -> dict[str, Any]:
    return {
        "params": {
            "run": "runs/ml100k-sasrec",
            "method": "fair",
            "k": 10,
            "accuracy_metric": "ndcg@10",
            "fairness_metric": "tail_exposure_share",
            "fairness_label": "exposure share of long-tail items",
            "fairness_better": "higher",
            "grid": {"p": [0.1, 0.3, 0.5, 0.6, 0.9]},
            "fixed": {"alpha": 0.1},
        },
        "points": [
            _point("baseline", {}, 0.104, 0.02, True),
            _point("p=0.1", {"p": 0.1}, 0.1035, 0.031, True),
            _point("p=0.3", {"p": 0.3}, 0.1012, 0.058, True),
            _point("p=0.5", {"p": 0.5}, 0.0968, 0.094, True),
            _point("p=0.6", {"p": 0.6}, 0.0941, 0.090, False),
            _point("p=0.9", {"p": 0.9}, 0.0842, 0.172, True),
        ],
    }


@pytest.fixture(scope="module")
def page() -> str:
    return render_sweep_html(example())


def dots(page: str) -> dict[int, str]:
    """Point index -> class of its dot in the chart."""
    found = re.findall(r'<g class="pt ([^"]+)" data-point="(\d+)">', page)
    return {int(i): cls for cls, i in found}


def table_rows(page: str) -> list[str]:
    body = re.search(r'<table class="sweep">.*?<tbody>(.*?)</tbody>', page, flags=re.S)
    assert body
    return re.findall(r"<tr>(.*?)</tr>", body.group(1), flags=re.S)


def frontier_vertices(page: str) -> int:
    m = re.search(r'<polyline class="frontier" points="([^"]*)"', page)
    return len(m.group(1).split()) if m else 0


# -- the full example ---------------------------------------------------------------------------
def test_full_example_is_a_complete_offline_page(
    page: str, assert_well_formed: Callable[[str], None], assert_offline: Callable[[str], None]
) -> None:
    assert page.startswith("<!DOCTYPE html>")
    assert page.rstrip().endswith("</html>")
    assert_well_formed(page)
    assert_offline(page)
    assert page.count("<svg") == 1
    for anchor in ("trade-off", "points", "parameters"):
        assert f'id="{anchor}"' in page


def test_header_says_what_was_swept(page: str) -> None:
    assert "<title>Trade-off sweep — fair on runs/ml100k-sasrec</title>" in page
    line = re.search(r'<p class="audited">(.*?)</p>', page, flags=re.S)
    assert line
    text = html.unescape(re.sub(r"<[^>]+>", "", line.group(1)))
    assert "fair re-ranking of runs/ml100k-sasrec" in text
    assert "p ∈ {0.1, 0.3, 0.5, 0.6, 0.9}" in text
    assert "fixed alpha = 0.1" in text
    assert "5 settings + baseline" in text
    assert "higher is fairer" in text


def test_long_grids_are_shortened_in_the_header() -> None:
    sweep = example()
    sweep["params"]["grid"] = {"w": list(range(20))}
    page = render_sweep_html(sweep)
    assert "w ∈ {0, 1, 2, …, 18, 19} (20 values)" in page
    assert "0, 1, 2, 3, 4, 5, 6" in page  # in full among the parameters


def test_chart_axes_direction_and_labels(page: str) -> None:
    svg = re.search(r"<svg.*?</svg>", page, flags=re.S)
    assert svg
    chart = svg.group(0)
    assert "exposure share of long-tail items (tail_exposure_share)" in chart
    assert "NDCG@10 — higher is more accurate →" in chart
    assert "fairer →" in chart
    assert "better on both ↗" in chart
    for p in example()["points"]:  # every point is labelled with its setting
        assert re.search(rf'class="pt-lbl[^"]*">{re.escape(str(escape(p["label"])))}</text>', chart)
    for x in re.findall(r'<text x="([\d.-]+)"[^>]*class="pt-lbl', chart):
        assert 0 <= float(x) <= 900


def test_pareto_markers_match_the_input_flags(page: str) -> None:
    points = example()["points"]
    classes = dots(page)
    assert sorted(classes) == list(range(len(points)))
    for i, p in enumerate(points):
        status = classes[i].split()[0]
        assert status == ("pareto" if p["pareto"] else "dominated"), (i, classes[i])
    rows = table_rows(page)
    assert len(rows) == len(points)
    for row, p in zip(rows, points, strict=True):
        assert ("● Pareto" in row) == p["pareto"]
        assert ("○ dominated" in row) == (not p["pareto"])
    assert frontier_vertices(page) == sum(p["pareto"] for p in points)


def test_pareto_flags_are_taken_from_the_input_not_recomputed() -> None:
    sweep = example()
    for p in sweep["points"]:
        p["pareto"] = not p["pareto"]  # deliberately "wrong": the page shows what it is given
    page = render_sweep_html(sweep)
    classes = dots(page)
    for i, p in enumerate(sweep["points"]):
        assert classes[i].startswith("pareto" if p["pareto"] else "dominated")


def test_baseline_is_highlighted(page: str) -> None:
    classes = dots(page)
    assert "baseline" in classes[0]
    assert all("baseline" not in c for i, c in classes.items() if i)
    assert page.count('class="base-level"') >= 2  # its levels, besides the legend
    assert "<td><strong>baseline</strong></td>" in page
    assert 'class="pt-lbl base"' in page


def test_table_has_all_metrics_and_changes(page: str) -> None:
    head = re.search(r'<table class="sweep"><thead>(.*?)</thead>', page, flags=re.S)
    assert head
    heads = html.unescape(re.sub(r"<[^>]+>", "", head.group(1)))
    for name in ("NDCG@10", "RECALL@10", "tail_exposure_share", "aplt", "gini_exposure", "c_kl"):
        assert name in heads
    assert "accuracy change" in heads and "fairness change" in heads
    assert heads.count("NDCG@10") == 1  # the accuracy metric is not repeated among the others
    assert "gini_<wbr>exposure" in head.group(1)  # long names may wrap after underscores
    rows = table_rows(page)
    # p=0.5: accuracy 0.0968 (−6.9%), fairness 0.094 (+370%)
    assert "0.0968" in rows[3]
    assert '<span class="bad">−6.9%</span>' in rows[3]
    assert '<span class="good">+370%</span>' in rows[3]
    assert "0.0%" in rows[0]


def test_lead_sentence(page: str) -> None:
    lead = re.search(r'<p class="lead">(.*?)</p>', page)
    assert lead
    assert "5 of 6 points are Pareto-optimal" in lead.group(1)
    assert "Fairest setting on the frontier: p=0.9" in lead.group(1)


def test_rendering_is_deterministic(page: str) -> None:
    assert render_sweep_html(example()) == page


def test_title_argument() -> None:
    page = render_sweep_html(example(), title="My <sweep>")
    assert "<title>My &lt;sweep&gt;</title>" in page
    assert "<h1>My &lt;sweep&gt;</h1>" in page


# -- minimal and degenerate inputs --------------------------------------------------------------
def test_minimal_single_point(
    assert_well_formed: Callable[[str], None], assert_offline: Callable[[str], None]
) -> None:
    sweep = {
        "params": {"accuracy_metric": "ndcg@10", "fairness_metric": "aplt"},
        "points": [{"label": "baseline", "setting": {}, "accuracy": 0.1, "fairness": 0.0}],
    }
    page = render_sweep_html(sweep)
    assert_well_formed(page)
    assert_offline(page)
    assert len(dots(page)) == 1
    assert frontier_vertices(page) == 0
    assert "0 settings + baseline" in page
    assert len(table_rows(page)) == 1
    assert "fairer" not in re.search(r"<svg.*?</svg>", page, flags=re.S).group(0)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "sweep",
    [{}, {"params": {}}, {"points": []}, {"params": None, "points": None}, {"points": [1, "x"]}],
)
def test_empty_sweeps(sweep: dict[str, Any], assert_well_formed: Callable[[str], None]) -> None:
    page = render_sweep_html(sweep)
    assert_well_formed(page)
    assert "<svg" not in page
    assert "not available" in page
    assert "could not be rendered" not in page


def test_not_a_mapping() -> None:
    with pytest.raises(TypeError, match="mapping"):
        render_sweep_html([1, 2])  # type: ignore[arg-type]


def test_none_values_are_handled(assert_well_formed: Callable[[str], None]) -> None:
    sweep = example()
    sweep["params"]["fairness_better"] = None
    sweep["params"]["k"] = None
    pts = sweep["points"]
    pts[1]["accuracy"] = None
    pts[1]["accuracy_change"] = None
    pts[2]["fairness"] = float("nan")
    pts[2]["fairness_change"] = None
    pts[3]["pareto"] = None
    pts[3]["metrics"] = None
    pts[4]["metrics"]["aplt"] = None
    pts[4]["label"] = None
    page = render_sweep_html(sweep)
    assert_well_formed(page)
    assert "could not be rendered" not in page
    classes = dots(page)
    assert sorted(classes) == [0, 3, 4, 5]  # points without both values are not drawn
    assert classes[3].startswith("dominated")  # unknown status: drawn hollow
    assert "Not plotted (a value is missing): p=0.1, p=0.3." in page
    rows = table_rows(page)
    assert rows[1].count("n/a") == 2  # accuracy and its change
    assert rows[2].count("n/a") == 2
    assert "p=0.6" in rows[4]  # label rebuilt from the setting
    assert 'class="pareto-no">n/a' in rows[3]
    assert "fairer →" not in page  # direction unknown: no arrow, no colour
    assert 'class="good"' not in rows[2] and "fairness change" in page


def test_all_values_missing() -> None:
    sweep = example()
    for p in sweep["points"]:
        p["accuracy"] = None
    page = render_sweep_html(sweep)
    assert "<svg" not in page
    assert "chart not available" in page
    assert len(table_rows(page)) == len(sweep["points"])


def test_changes_are_computed_when_missing() -> None:
    sweep = example()
    for p in sweep["points"]:
        del p["accuracy_change"], p["fairness_change"]
    page = render_sweep_html(sweep)
    assert '<span class="good">+370%</span>' in table_rows(page)[3]


def test_lower_is_fairer() -> None:
    sweep = example()
    sweep["params"].update(
        fairness_metric="c_kl", fairness_label="miscalibration C_KL", fairness_better="lower"
    )
    page = render_sweep_html(sweep)
    assert "← fairer" in page and "↖ better on both" in page
    # fairness went up, which is now worse
    assert '<span class="bad">+370%</span>' in table_rows(page)[3]
    assert "lower is fairer" in page


def test_multi_parameter_grids_get_short_dot_labels() -> None:
    sweep = example()
    sweep["params"]["grid"] = {"lambda": [0.1, 0.5], "temperature": [1, 10]}
    for p, (lam, t) in zip(
        sweep["points"][1:], [(0.1, 1), (0.1, 10), (0.5, 1), (0.5, 10), (0.9, 1)], strict=True
    ):
        p["setting"] = {"lambda": lam, "temperature": t}
        p["label"] = f"lambda={lam}, temperature={t}"
    page = render_sweep_html(sweep)
    # the short label on the chart, the full one as its tooltip
    assert re.search(
        r'class="pt-lbl[^"]*"><title>lambda=0\.1, temperature=10</title>0\.1, 10</text>', page
    )
    assert "Dots are labelled with lambda, temperature." in page
    assert "lambda=0.1, temperature=10" in page  # full label in the tooltip and the table


# -- escaping -----------------------------------------------------------------------------------
def test_user_data_is_escaped(
    assert_well_formed: Callable[[str], None], assert_offline: Callable[[str], None]
) -> None:
    evil = '<script>alert("x")</script>&'
    sweep = example()
    sweep["params"]["run"] = evil
    sweep["params"]["method"] = "<b>m</b>"
    sweep["params"]["fairness_label"] = evil
    sweep["params"]["fairness_metric"] = "<i>f</i>"
    sweep["params"]["grid"] = {"<p>": ["<v>"]}
    sweep["params"]["fixed"] = {'"q"': "<w>"}
    sweep["points"][1]["label"] = evil
    sweep["points"][2]["metrics"]["<img src=x>"] = 1.0
    page = render_sweep_html(sweep)
    assert_well_formed(page)
    assert_offline(page)
    for raw in ("<script", "<b>m</b>", "<i>f</i>", "<p>", "<v>", "<w>", "<img"):
        assert raw not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&amp;" in page
    assert "&lt;img src=x&gt;" in page


def test_input_is_not_modified() -> None:
    sweep = example()
    before = copy.deepcopy(sweep)
    render_sweep_html(sweep)
    assert sweep == before


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "n/a"),
        (float("nan"), "n/a"),
        (0.0, "0.0%"),
        (0.125, "+12.5%"),
        (-0.03, "−3.0%"),
        (14.0, "+1,400%"),
        (-1.0, "−100%"),
    ],
)
def test_change_format(value: Any, text: str) -> None:
    assert fmt_change(value) == text


def test_a_failing_section_is_replaced_by_a_note(
    monkeypatch: pytest.MonkeyPatch, assert_well_formed: Callable[[str], None]
) -> None:
    import equirec.reporting.sweep as sweep_page

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("no <chart>")

    monkeypatch.setattr(sweep_page, "pareto_chart", fail)
    page = render_sweep_html(example())
    assert_well_formed(page)
    assert "This section could not be rendered: RuntimeError: no &lt;chart&gt;" in page
    assert page.count("could not be rendered") == 1
    assert "<svg" not in page
    assert len(table_rows(page)) == len(example()["points"])  # the table is still there


# -- labels that never overlap, tables that scroll (issue 10) -----------------------------------
def _crowd(n: int, spread: float) -> dict[str, Any]:
    """A two-parameter grid whose ``n`` points nearly coincide: their labels would collide."""
    sweep = example()
    sweep["params"]["grid"] = {"lambda": [0.1, 0.2], "temperature": list(range(n))}
    base = sweep["points"][0]
    points = [base]
    for i in range(n):
        setting = {"lambda": 0.1 * (1 + i % 3), "temperature": i}
        p = _point(
            f"lambda={setting['lambda']:.1f}, temperature={i}",
            setting,
            0.095 - spread * 0.002 * (i % 5) - spread * 0.0003 * i,
            0.08 + spread * 0.004 * (i % 4) + spread * 0.0005 * i,
            i % 3 == 0,
        )
        points.append(p)
    sweep["points"] = points
    return sweep


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1])


@pytest.mark.parametrize(("n", "spread"), [(5, 1.0), (12, 1.0), (25, 0.3), (60, 0.05)])
def test_pareto_labels_never_overlap(n: int, spread: float) -> None:
    """Labels of points that would collide (the old layout let them overlap where it found no
    free place) overlap no other label and no dot; those without room get a number."""
    sweep = _crowd(n, spread)
    points = parse_points(sweep, "ndcg@10", "tail_exposure_share")
    chart = pareto_chart(
        points,
        acc_name="ndcg@10",
        fair_name="tail_exposure_share",
        fair_label="exposure share of long-tail items",
        better="higher",
    )
    boxes = [lab.box for lab in chart.labels]
    for a, b in itertools.combinations(boxes, 2):
        assert not _overlap(a, b), (a, b)
    dots = [
        (float(x) - 7, float(y) - 7, float(x) + 7, float(y) + 7)
        for x, y in re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)" r="6.0"', str(chart.svg))
    ]
    assert len(dots) == n + 1
    for box in boxes:
        assert not any(_overlap(box, d) for d in dots), box
        assert box[0] >= 0 and box[2] <= 720 and box[1] >= 0 and box[3] <= 480
    numbered = [lab for lab in chart.labels if lab.number]
    assert len(chart.labels) + len(chart.unmarked) == n + 1  # every dot labelled, or said
    assert [number for number, _ in chart.key] == [lab.text for lab in numbered]
    assert str(chart.svg).count('class="pt-num') == len(numbered)
    if n == 60:
        assert numbered  # too crowded for 60 labels: numbers and a key
    for lab in chart.labels:  # each text is drawn inside its box
        assert lab.box[0] <= lab.x and lab.box[1] < lab.y <= lab.box[3]


def test_a_crowded_chart_gets_a_key() -> None:
    page = render_sweep_html(_crowd(60, 0.05))
    key = re.search(r'<ol class="key">(.*?)</ol>', page, flags=re.S)
    assert key and "Numbered dots:" in page
    items = re.findall(r'<li value="(\d+)">(.*?)</li>', key.group(1))
    assert items and items[0][0] == "1"
    assert all("temperature=" in label for _, label in items)
    assert "the dot carries a number, explained below the chart" in page


def test_the_table_of_points_scrolls_sideways(page: str) -> None:
    wrap = re.search(r'<div class="table-wrap tall"([^>]*)><table class="sweep">', page)
    assert wrap and 'role="region" tabindex="0" aria-label="Every point of the sweep"' in (
        wrap.group(1)
    )
    style = page[page.index("<style>") : page.index("</style>")]
    assert re.search(r"\.table-wrap,\.chart-scroll\{overflow-x:auto", style)
    assert "table.sweep th:first-child,table.sweep td:first-child{position:sticky;left:0" in style


def test_parameters_have_plain_names(page: str) -> None:
    params = page[page.index('<footer id="parameters">') :]
    assert "Accuracy metric" in params and '<code class="key">accuracy_metric</code>' in params
    assert "Swept: p" in params and "Fairer direction" in params


def test_metric_columns_say_what_they_are(page: str) -> None:
    head = re.search(r'<table class="sweep"><thead>(.*?)</thead>', page, flags=re.S)
    assert head
    notes = re.findall(r'<span class="dir">(.*?)</span>', head.group(1))
    assert "Gini of exposure; lower is fairer" in notes
    assert "miscalibration C_KL; lower is fairer" in notes
    assert "exposure share of long-tail items; higher is fairer" in notes  # the swept one
    assert "accuracy" in notes  # recall@10
