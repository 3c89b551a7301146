"""Hostile strings in a report come out escaped on both pages: in text, in SVG and in attributes."""

from __future__ import annotations

from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import pytest

from equirec.reporting import render_audit_html, render_sweep_html

SCRIPT = "<script>alert(1)</script>"
LABEL = 'Tom & "Jerry\'s" <b>'
ATTR = 'job"><img src=x onerror=alert(2)>'

# every element the pages are made of: anything else was injected
ALLOWED = {
    "html", "head", "meta", "title", "style", "body", "main", "header", "nav", "a", "h1", "h2",
    "h3", "h4", "p", "strong", "b", "i", "sub", "span", "div", "section", "article", "footer",
    "ul", "ol", "li", "code", "details", "summary", "figure", "figcaption", "table", "thead",
    "tbody", "tr", "th", "td", "wbr", "svg", "g", "text", "tspan", "line", "rect", "circle",
    "polygon", "polyline",
}  # fmt: skip


class _Reader(HTMLParser):
    """What a browser sees: elements, attribute values and text, with entities decoded."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attributes: list[tuple[str, str]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.extend((k, v or "") for k, v in attrs)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _read(page: str) -> _Reader:
    reader = _Reader()
    reader.feed(page)
    reader.close()
    return reader


def _assert_escaped(page: str, *, in_attributes: tuple[str, ...]) -> None:
    low = page.lower()
    assert "<script" not in low and "<img" not in low and "<b>ml" not in low
    assert "could not be rendered" not in page
    reader = _read(page)
    assert reader.tags <= ALLOWED, reader.tags - ALLOWED
    assert not [k for k, _ in reader.attributes if k.startswith("on")]  # no event handler
    text = "".join(reader.text)
    # escaped once, not twice: the reader gets the very strings of the report back
    for raw in (SCRIPT, LABEL, ATTR):
        assert raw in text, raw
    assert "&amp;" not in text and "&lt;" not in text
    values = [v for _, v in reader.attributes]
    for raw in in_attributes:  # the charts' accessible names hold report text too
        assert any(raw in v for v in values), raw
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Tom &amp; &#34;Jerry&#39;s&#34; &lt;b&gt;" in page


def _audit() -> dict[str, Any]:
    group = {"value": 0.1, "ci_low": 0.09, "ci_high": 0.11, "n": 40}
    entry = {"overall": 0.1, "by_group": {LABEL: group, SCRIPT: group | {"value": 0.2}}}
    return {
        "params": {
            "dataset": "<b>ml</b>",
            "model": SCRIPT,
            "primary_metric": "ndcg@10",
            ATTR: LABEL,
        },
        "summary": [
            {
                "side": "users",
                "attribute": ATTR,
                "metric": "ndcg@10",
                "text": SCRIPT,
                "significant": True,
            },
            {
                "side": LABEL,
                "attribute": ATTR,
                "metric": SCRIPT,
                "text": LABEL,
                "significant": False,
            },
        ],
        "warnings": [SCRIPT, LABEL],
        "users": {ATTR: {"ndcg@10": entry, SCRIPT: entry}},
        "ugf": {SCRIPT: {"active": 0.2, "inactive": 0.1, "value": 0.1}},
        "items": {
            "catalogue": {"coverage": 0.5, ATTR: LABEL},
            "popularity": {"head": LABEL, "arp": 3.0},
            "groups": {
                ATTR: {
                    "by_group": {LABEL: {"exposure_share": 0.5, "catalogue_share": 0.4}},
                    "multi": SCRIPT,
                },
            },
            "deciles": [
                {"decile": LABEL, "exposure_share": 0.5},
                {"decile": 2, "exposure_share": 0.5},
            ],
        },
        "lists": {
            "calibration": {"attribute": SCRIPT, "c_kl": 0.4, "profile": {LABEL: {"history": 0.1}}},
            "diversity": {"ild": 0.5, "metric": LABEL, "features": SCRIPT},
        },
        "leakage": {ATTR: {LABEL: {"auc": 0.6, "ci_low": 0.55, "ci_high": 0.65}}},
    }


def _sweep() -> dict[str, Any]:
    def point(label: str, setting: dict[str, Any], acc: float, fair: float) -> dict[str, Any]:
        return {
            "label": label,
            "setting": setting,
            "accuracy": acc,
            "fairness": fair,
            "pareto": True,
            "metrics": {"ndcg@10": acc, SCRIPT: fair, LABEL: 1.0},
        }

    return {
        "params": {
            "run": SCRIPT,
            "method": LABEL,
            "k": 10,
            "accuracy_metric": "ndcg@10",
            "fairness_metric": ATTR,
            "fairness_label": LABEL,
            "fairness_better": "higher",
            "grid": {LABEL: [SCRIPT, 1]},
            "fixed": {ATTR: SCRIPT},
        },
        "points": [
            point("baseline", {}, 0.10, 0.02),
            point(SCRIPT, {LABEL: SCRIPT}, 0.09, 0.05),
            point(LABEL, {LABEL: 1}, 0.08, 0.08),
            point("", {ATTR: LABEL}, 0.07, 0.09),  # label rebuilt from the setting
        ],
    }


def test_the_audit_page_escapes_the_report(
    assert_well_formed: Callable[[str], None], assert_offline: Callable[[str], None]
) -> None:
    page = render_audit_html(_audit())
    assert_well_formed(page)
    assert_offline(page)
    _assert_escaped(page, in_attributes=(f"NDCG@10 by {ATTR}", f"Leakage of {ATTR}"))
    # the group label inside the SVG text of a chart, escaped there too
    assert '<text x="' in page and ">Tom &amp; &#34;Jerry&#39;s&#34; &lt;b&gt;<tspan" in page


def test_the_sweep_page_escapes_the_result(
    assert_well_formed: Callable[[str], None], assert_offline: Callable[[str], None]
) -> None:
    page = render_sweep_html(_sweep())
    assert_well_formed(page)
    assert_offline(page)
    _assert_escaped(page, in_attributes=(f"NDCG@10 against {LABEL} for every setting",))
    # a dot's tooltip and label hold the point's label
    assert "<title>&lt;script&gt;alert(1)&lt;/script&gt;: NDCG@10" in page


@pytest.mark.parametrize("title", [SCRIPT, LABEL])
def test_titles_are_escaped(title: str) -> None:
    for page in (
        render_audit_html(_audit(), title=title),
        render_sweep_html(_sweep(), title=title),
    ):
        head = _read(page.split("</title>", 1)[0] + "</title>")
        assert "".join(head.text).strip() == title
        assert "<script>" not in page
