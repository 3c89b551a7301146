"""Both pages in a real browser (headless Chromium), 1400 and 700 pixels wide.

What a reader sees and the HTML alone cannot tell: nothing overflows the page sideways, a table
wider than its column scrolls, chart text stays readable, and the Pareto chart's labels, as the
browser draws them with its fonts, overlap no other label and no dot. The page has no script; the
test adds one to measure, and reads the measurements back from ``--dump-dom``. Skipped where
Chromium is not installed.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from equirec.reporting import render_audit_html, render_sweep_html

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
EXAMPLE = Path(__file__).with_name("audit_example.json")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed"),
]

MEASURE = """<script>
window.addEventListener('load', () => {
  const box = (e) => { const b = e.getBoundingClientRect();
    return [b.left + scrollX, b.top + scrollY, b.right + scrollX, b.bottom + scrollY]; };
  const fonts = [];
  for (const svg of document.querySelectorAll('svg.chart')) {
    const scale = svg.getBoundingClientRect().width / svg.viewBox.baseVal.width;
    for (const t of svg.querySelectorAll('text')) {
      fonts.push(parseFloat(getComputedStyle(t).fontSize) * scale);
    }
  }
  const out = {
    overflow: document.documentElement.scrollWidth - window.innerWidth,
    width: window.innerWidth,
    wraps: [...document.querySelectorAll('.table-wrap, .chart-scroll')].map(
      (w) => [w.scrollWidth, w.clientWidth, getComputedStyle(w).overflowX]),
    minFont: Math.min(...fonts),
    labels: [...document.querySelectorAll('.pt-lbl, .pt-num')].map(box),
    dots: [...document.querySelectorAll('g.pt circle[r="6.0"]')].map(box),
  };
  document.body.setAttribute('data-measured', JSON.stringify(out));
});
</script>"""


def _measure(page: str, width: int, folder: Path) -> dict[str, Any]:
    path = folder / f"page-{width}.html"
    path.write_text(page.replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    assert CHROMIUM is not None
    done = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--window-size={width},1200",
            "--dump-dom",
            path.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    found = re.search(r'data-measured="([^"]*)"', done.stdout)
    assert found, done.stderr[-2000:]
    return json.loads(found.group(1).replace("&quot;", '"'))


def _crowded_sweep() -> dict[str, Any]:
    points = [
        {"label": "baseline", "setting": {}, "accuracy": 0.0497, "fairness": 0.0007, "pareto": True}
    ]
    for i in range(30):
        lam, temp = 0.1 * (1 + i % 3), i
        points.append(
            {
                "label": f"lambda={lam:.1f}, temperature={temp}",
                "setting": {"lambda": lam, "temperature": temp},
                "accuracy": 0.0475 - 0.0004 * (i % 5) - 0.00005 * i,
                "fairness": 0.07 + 0.002 * (i % 4) + 0.0003 * i,
                "pareto": i % 3 == 0,
                "metrics": {f"metric_number_{j}": 0.1 * j for j in range(12)},
            }
        )
    return {
        "params": {
            "method": "fair",
            "run": "runs/x",
            "accuracy_metric": "ndcg@10",
            "fairness_metric": "tail_exposure_share",
            "fairness_better": "higher",
            "grid": {"lambda": [0.1, 0.2, 0.3], "temperature": list(range(30))},
        },
        "points": points,
    }


def _overlap(a: list[float], b: list[float], tol: float = 0.5) -> bool:
    return min(a[2], b[2]) - max(a[0], b[0]) > tol and min(a[3], b[3]) - max(a[1], b[1]) > tol


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield tmp_path_factory.mktemp("browser")


@pytest.mark.parametrize("width", [1400, 700])
def test_the_audit_page_fits_and_stays_readable(width: int, folder: Path) -> None:
    page = render_audit_html(json.loads(EXAMPLE.read_text()))
    m = _measure(page, width, folder)
    assert m["width"] == width
    assert m["overflow"] <= 0, "the page scrolls sideways"
    for scroll, client, overflow in m["wraps"]:
        if scroll > client:  # wider than its column: it scrolls, it is not cut
            assert overflow == "auto"
    assert m["minFont"] >= 9.0, f"chart text drawn at {m['minFont']:.1f} px"


@pytest.mark.parametrize("width", [1400, 700])
def test_the_sweep_page_labels_overlap_nothing(width: int, folder: Path) -> None:
    m = _measure(render_sweep_html(_crowded_sweep()), width, folder)
    assert m["overflow"] <= 0
    labels, dots = m["labels"], m["dots"]
    assert len(dots) == 31 and labels
    for i, a in enumerate(labels):
        for b in labels[i + 1 :]:
            assert not _overlap(a, b), (a, b)
        for d in dots:
            assert not _overlap(a, d), (a, d)
    wide = [w for w in m["wraps"] if w[0] > w[1]]
    assert wide and all(overflow == "auto" for _, _, overflow in wide)  # the wide table scrolls
    assert m["minFont"] >= 9.0
