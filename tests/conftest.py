"""Suite-wide settings and shared fixtures.

Tiny models run fastest (and steadiest on shared cores) single-threaded.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any, ClassVar

import pytest
import torch

from equirec.cli import main

torch.set_num_threads(1)
# Detailed assertion messages from the conformance mixins (imported by tests in several folders).
pytest.register_assert_rewrite("equirec.testing")


@pytest.fixture(scope="session")
def run_dir(tmp_path_factory):
    """One small trained run folder (BPR on the synthetic log) that audits and re-rankers read."""
    out = tmp_path_factory.mktemp("runs") / "bpr"
    argv = ["run", "--dataset", "synthetic", "--model", "bpr", "--epochs", "3", "--out", str(out)]
    assert main([*argv, "--quiet"]) == 0
    return out


# -- checks of the self-contained HTML pages (audit report, sweep page) ------------------------
class _Balance(HTMLParser):
    """Checks that every non-void element is closed in order."""

    VOID: ClassVar[set[str]] = {"meta", "br", "hr", "img", "input", "link", "col", "wbr", "source"}

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: Any) -> None:
        pass

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()


def _assert_well_formed(page: str) -> None:
    checker = _Balance()
    checker.feed(page)
    checker.close()
    assert not checker.errors, checker.errors[:5]
    assert not checker.stack, checker.stack


def _assert_offline(page: str) -> None:
    low = page.lower()
    assert "http://" not in low and "https://" not in low
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:[a-z]+:)?//""", page, flags=re.I)
    for tag in ("<script", "<link", "<img", "<iframe", "@import", "url(", "javascript:"):
        assert tag not in low


@pytest.fixture
def assert_well_formed() -> Callable[[str], None]:
    """``assert_well_formed(page)``: every non-void element of the HTML is closed, in order."""
    return _assert_well_formed


@pytest.fixture
def assert_offline() -> Callable[[str], None]:
    """``assert_offline(page)``: the page loads nothing (no URL, script, link, image, frame)."""
    return _assert_offline
