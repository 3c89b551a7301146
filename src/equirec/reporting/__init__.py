"""Reports: the audit and sweep pages, rendered from what ``audit.json`` and ``sweep.json`` hold.

Presentation only: this package reads finished results and never computes a metric. Pages are
Jinja2 templates (``templates/*.j2``, autoescaped) filled with views that Python prepares:
:mod:`~equirec.reporting.audit` and :mod:`~equirec.reporting.sweep` write every number and
sentence, :mod:`~equirec.reporting.audit_charts` and :mod:`~equirec.reporting.pareto` draw the
inline-SVG charts (escaped :class:`markupsafe.Markup`). The pages are self-contained: no script,
font, image or other resource is loaded from the network.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from equirec.reporting.audit import render_audit
from equirec.reporting.sweep import render_sweep

__all__ = ["render_audit_html", "render_sweep_html"]


def render_audit_html(report: Mapping[str, Any], *, title: str | None = None) -> str:
    """The self-contained audit page of an ``audit.json`` report.

    Args:
        report: The report of :func:`equirec.fairness.audit.audit` (the ``audit.json`` dict);
            every part is optional.
        title: Page title (default: "Fairness audit — <model> on <dataset>").

    Returns:
        A complete HTML document.

    Raises:
        TypeError: ``report`` is not a mapping.
    """
    return render_audit(report, title=title)


def render_sweep_html(result: Mapping[str, Any], *, title: str | None = None) -> str:
    """The self-contained Pareto page of a ``sweep.json`` result.

    Args:
        result: The result of :func:`equirec.mitigation.sweep.sweep_run` (the ``sweep.json``
            dict); every part is optional.
        title: Page title (default: "Trade-off sweep — <method> on <run>").

    Returns:
        A complete HTML document.

    Raises:
        TypeError: ``result`` is not a mapping.
    """
    return render_sweep(result, title=title)
