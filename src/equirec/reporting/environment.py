"""The Jinja2 environment of the report pages and the assembly of a page from its sections.

Templates are package data (``equirec/reporting/templates/*.j2``) loaded with
:class:`jinja2.PackageLoader`, with autoescaping on: every value a template prints is escaped
unless it is :class:`markupsafe.Markup` (the SVG charts, built and escaped in Python). Undefined
names are errors (:class:`jinja2.StrictUndefined`), so a misspelt field fails a test instead of
printing nothing.

:func:`render_page` renders a page template around sections rendered one by one: a section whose
view or template fails is replaced by a one-line note instead of costing the whole page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape

__all__ = [
    "Section",
    "environment",
    "render_page",
    "render_sections",
    "template_environment",
    "wbr_underscores",
]


def wbr_underscores(text: Any) -> Markup:
    """``text`` escaped, with a line-break opportunity (``<wbr>``) after every underscore.

    A Jinja2 filter: long metric names such as ``tail_exposure_share`` can wrap in a table head.
    """
    return Markup("_<wbr>").join(escape(str(text)).split("_"))


def template_environment(folder: str) -> Environment:
    """A Jinja2 environment of the package's templates in ``folder`` (e.g.
    ``"reporting/templates"``), as every equirec page renders them: autoescaped, undefined
    names errors, block tags trimmed."""
    return Environment(
        loader=PackageLoader("equirec", folder),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


@cache
def environment() -> Environment:
    """The (shared) Jinja2 environment of the report templates."""
    env = template_environment("reporting/templates")
    env.filters["wbr_underscores"] = wbr_underscores
    return env


@dataclass(frozen=True)
class Section:
    """One section of a page: its anchor, heading (for the failure note), template and view.

    ``view`` builds what the template shows (called only when the page is rendered); the
    template sees it as ``view``.
    """

    name: str
    heading: str
    template: str
    view: Callable[[], Any]


def render_sections(sections: Sequence[Section], **shared: Any) -> list[Markup]:
    """Every section rendered on its own; a failing one becomes a "could not be rendered" note.

    Args:
        sections: The sections, in page order.
        **shared: Values every section template sees besides ``view``.

    Returns:
        The HTML of each section (autoescaped template output).
    """
    env = environment()
    out = []
    for section in sections:
        try:
            html = env.get_template(section.template).render(view=section.view(), **shared)
        except Exception as err:  # a malformed section must not cost the whole page
            html = env.get_template("failed_section.html.j2").render(
                name=section.name, heading=section.heading, error=f"{type(err).__name__}: {err}"
            )
        out.append(Markup(html))  # the output of an autoescaping template
    return out


def render_page(template: str, sections: Sequence[Section], **context: Any) -> str:
    """A complete page: ``template`` rendered with ``context`` and the rendered ``sections``.

    Args:
        template: The page template (it extends ``base.html.j2``).
        sections: The sections, rendered by :func:`render_sections` with ``context`` shared.
        **context: What the page template shows (``title``, ``header``, ...).

    Returns:
        The HTML document.
    """
    rendered = render_sections(sections, **context)
    return environment().get_template(template).render(sections=rendered, **context)
