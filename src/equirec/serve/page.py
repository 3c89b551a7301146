"""The page at ``GET /``: pick a user or type item ids, see the lists plain and under a policy.

The HTML is an autoescaped Jinja2 template (``serve/templates/page.html.j2``, package data, as the
report pages are); its stylesheet and script are package data too (``serve/static/``, served at
``/static``), so the page needs no network beyond the service itself. The script is plain
JavaScript that reads the service's own endpoints (``/run``, ``/users``,
``/users/{id}/history``, ``/items/{id}``, ``POST /recommend``).

The policy selector offers the re-rankers that make sense for one request, with the parameters
worth turning by hand; their defaults come from the registry (:mod:`equirec.mitigation.registry`)
except where the registry has none (FA*IR's ``p``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from jinja2 import Environment
from pydantic_core import PydanticUndefined

from equirec.mitigation.registry import RERANKERS
from equirec.reporting.environment import template_environment

__all__ = ["PAGE_POLICIES", "PageParam", "PagePolicy", "page_policies", "render_page"]

PAGE_POLICIES: dict[str, dict[str, Any]] = {
    "fair": {"p": 0.5, "protected": None},
    "detconstsort": {"groups": None},
    "calibrated": {"lam": None},
    "mmr": {"lam": None},
}
"""The page's policies, each with the parameters it shows: ``None`` takes the registry's default,
a value stands in for a parameter the registry requires."""


@dataclass(frozen=True)
class PageParam:
    """One parameter field of the policy form."""

    name: str
    default: Any
    kind: str  # "number" or "text"
    help: str


@dataclass(frozen=True)
class PagePolicy:
    """One entry of the policy selector."""

    method: str
    summary: str
    params: tuple[PageParam, ...]


@cache
def page_policies() -> tuple[PagePolicy, ...]:
    """The policies of :data:`PAGE_POLICIES` that are registered, with their defaults."""
    policies = []
    for name, shown in PAGE_POLICIES.items():
        entry = RERANKERS.get(name)
        if entry is None:  # pragma: no cover - every one is registered
            continue
        fields = entry.params_model().model_fields
        params = []
        for param, fallback in shown.items():
            field = fields[param]
            default = field.default if field.default is not PydanticUndefined else None
            default = default if fallback is None else fallback
            numeric = isinstance(default, int | float) and not isinstance(default, bool)
            params.append(
                PageParam(
                    name=param,
                    default=default,
                    kind="number" if numeric else "text",
                    help=(field.description or "").replace("``", ""),
                )
            )
        policies.append(PagePolicy(method=name, summary=entry.summary, params=tuple(params)))
    return tuple(policies)


@cache
def _environment() -> Environment:
    return template_environment("serve/templates")


def render_page(*, run: str, model: str, users: int, items: int, max_k: int) -> str:
    """The page's HTML for the run called ``run`` (its folder's name)."""
    template = _environment().get_template("page.html.j2")
    return template.render(
        run=run,
        model=model,
        users=users,
        items=items,
        max_k=max_k,
        policies=page_policies(),
    )
