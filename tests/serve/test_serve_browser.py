"""The page of `equirec serve` in a real headless browser (Playwright driving the system
Chromium): the real server on a free loopback port, a user picked, the plain list and the list
under FA*IR side by side, a typed history, a bounded number of requests, then the server stopped.

Skipped when Playwright (the `dev` extra) or Chromium (`.ci/run` installs it) is missing. The
browser is never downloaded: Playwright launches the system Chromium.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (.ci/run installs it)"),
]

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed (pip install -e '.[dev]')"
)

K = 10
MAX_REQUESTS = 40


@pytest.fixture(scope="module")
def server(
    titled_run: Path, tmp_path_factory: pytest.TempPathFactory, live_server: Any
) -> Iterator[str]:
    """`equirec serve` of the titled run on 127.0.0.1; its base URL, stopped afterwards."""
    log_path = tmp_path_factory.mktemp("page-server") / "server.log"
    with live_server(titled_run, log_path) as running:
        yield running.base
    assert running.process.returncode in (0, -15), log_path.read_text()


def _rows(page, section: str) -> list[tuple[str, str]]:
    items = page.locator(f"{section} ol.items li")
    return [
        (
            items.nth(n).get_attribute("data-item") or "",
            items.nth(n).locator(".item-title").inner_text(),
        )
        for n in range(items.count())
    ]


def test_the_page_shows_a_users_lists_plain_and_under_a_policy(server: str) -> None:
    expect = sync_api.expect
    requests: list[str] = []
    problems: list[str] = []
    with sync_api.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(30_000)
            page.on("request", lambda r: requests.append(r.url))
            page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda err: problems.append(str(err)))
            page.goto(server + "/")

            # The run's audit headline and user suggestions arrive from /run and /users.
            expect(page.locator("#run-audit ul.findings li").first).to_be_visible()
            expect(page.locator("#user-options option")).to_have_count(30)
            page.fill("#user", "u1")
            page.click("#go")
            expect(page.locator("#plain ol.items li")).to_have_count(K)
            plain = _rows(page, "#plain")
            assert all(title == f"Film {item[1:]}" for item, title in plain), plain
            history = _rows(page, "#history-list")
            assert history and all(title.startswith("Film ") for _, title in history)
            expect(page.locator("#policy-list ol.items li")).to_have_count(0)

            # Choosing a policy re-runs with its defaults; then a high p on the small provider.
            page.select_option("#policy", "fair")
            expect(page.locator("#policy-name")).to_have_text(
                "fair (p=0.5, protected=popularity=tail)"
            )
            page.fill("#param-fair-p", "0.9")
            page.fill("#param-fair-protected", "provider=small")
            page.click("#go")
            expect(page.locator("#policy-name")).to_have_text(
                "fair (p=0.9, protected=provider=small)"
            )
            expect(page.locator("#policy-list ol.items li")).to_have_count(K)
            fair = _rows(page, "#policy-list")
            assert all(title == f"Film {item[1:]}" for item, title in fair), fair
            assert [i for i, _ in fair] != [i for i, _ in plain]
            small = {item for item, _ in fair if int(item[1:]) >= 30}
            assert len(small) >= 5 and not small & {item for item, _ in plain}
            assert page.locator("#policy-list li.new").count() == len(small)
            assert page.locator("#plain li.gone").count() == len(small)

            # A parameter the re-ranker rejects is shown in the policy's column, named.
            page.fill("#param-fair-p", "2")
            page.click("#go")
            expect(page.locator("#policy-list .note.error")).to_contain_text("p")
            expect(page.locator("#plain ol.items li")).to_have_count(K)

            # A new user's items: the list is ranked from them, and no policy applies.
            page.check('input[name="mode"][value="history"]')
            expect(page.locator("#policy")).to_be_disabled()
            page.fill("#history", "i1, i2 i3")
            page.click("#go")
            expect(page.locator("#history-list ol.items li")).to_have_count(3)
            expect(page.locator("#plain ol.items li")).to_have_count(K)
            session = [item for item, _ in _rows(page, "#plain")]
            assert not {"i1", "i2", "i3"} & set(session)
            assert [t for _, t in _rows(page, "#history-list")] == ["Film 3", "Film 2", "Film 1"]

            # An unknown id is named on the page.
            page.fill("#history", "i1 nope")
            page.click("#go")
            expect(page.locator("#status")).to_contain_text("'nope'")

            for width in (700, 1400):  # nothing overflows sideways at either width
                page.set_viewport_size({"width": width, "height": 1000})
                assert page.evaluate("document.documentElement.scrollWidth") <= width
        finally:
            browser.close()
    assert not problems or all("status of 4" in p for p in problems), problems
    assert all(url.startswith(server) for url in requests), requests
    assert len(requests) <= MAX_REQUESTS, requests
