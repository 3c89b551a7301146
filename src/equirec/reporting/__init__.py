"""Reports: the audit and sweep pages, rendered from what ``audit.json`` and ``sweep.json`` hold.

Presentation only: this package reads finished results and never computes a metric.
"""

from __future__ import annotations

from typing import Any

__all__ = ["render_audit_html", "render_sweep_html"]


def render_audit_html(report: dict[str, Any]) -> str:
    """The self-contained audit page of an ``audit.json`` report."""
    from equirec.fairness.report import render_html

    return render_html(report)


def render_sweep_html(result: dict[str, Any]) -> str:
    """The self-contained Pareto page of a ``sweep.json`` result."""
    from equirec.mitigation.sweep_report import render_sweep_html as render

    return render(result)
