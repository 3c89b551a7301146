"""What every section of the audit page reads from the report: parameters, levels, metrics."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from equirec.reporting.formatting import as_float, as_list, as_map, fmt_level

__all__ = ["AuditContext"]


@dataclass(frozen=True)
class AuditContext:
    """One audit report and the settings read from its ``params``.

    Attributes:
        audit: The ``audit.json`` dict.
        params: Its ``params`` (empty when missing or malformed).
        confidence: Confidence level of the intervals (0.95 unless a valid one is given).
        min_group_size: Groups smaller than this are marked as unreliable (``None``: none is).
    """

    audit: Mapping[str, Any]
    params: Mapping[str, Any]
    confidence: float
    min_group_size: int | None

    @classmethod
    def of(cls, audit: Mapping[str, Any]) -> AuditContext:
        """The context of ``audit``, read leniently."""
        params = as_map(audit.get("params"))
        conf = as_float(params.get("confidence"))
        mgs = as_float(params.get("min_group_size"))
        return cls(
            audit=audit,
            params=params,
            confidence=conf if conf is not None and 0 < conf < 1 else 0.95,
            min_group_size=int(mgs) if mgs is not None else None,
        )

    @property
    def alpha(self) -> float:
        """Significance level: 1 - confidence."""
        return 1.0 - self.confidence

    @property
    def level(self) -> str:
        """The significance level written for people ("5%")."""
        return fmt_level(self.alpha)

    @property
    def confidence_text(self) -> str:
        """The confidence level written for people ("95%")."""
        return fmt_level(self.confidence)

    @property
    def history(self) -> str:
        """What the lists were made from (``params.test_history``: ``train+valid``), or ""."""
        value = self.params.get("test_history")
        return str(value) if isinstance(value, str) and value else ""

    @property
    def known(self) -> str:
        """The name of the audit's popularity: "known interactions (train+valid)"."""
        return f"known interactions ({self.history})" if self.history else "known interactions"

    def section(self, name: str) -> Mapping[str, Any]:
        """A top-level part of the report (``users``, ``items``...), empty when missing."""
        return as_map(self.audit.get(name))

    def primary_metric(self) -> str:
        """The metric charted first: ``primary_metric``, else the first of ``metrics``."""
        p = self.params.get("primary_metric")
        if isinstance(p, str) and p:
            return p
        metrics = as_list(self.params.get("metrics"))
        return str(metrics[0]) if metrics else ""

    def metric_order(self, entries: Mapping[str, Any]) -> list[str]:
        """The metrics of ``entries`` in the order of ``params.metrics``, the primary first."""
        names = [str(m) for m in entries if isinstance(entries[m], Mapping)]
        known = [str(m) for m in as_list(self.params.get("metrics"))]
        ordered = [m for m in known if m in names] + [m for m in names if m not in known]
        primary = self.primary_metric()
        if primary in ordered:
            ordered.remove(primary)
            ordered.insert(0, primary)
        return ordered

    def is_small(self, n: float | None) -> bool:
        """Whether a group of ``n`` users is below the minimum group size."""
        return n is not None and self.min_group_size is not None and n < self.min_group_size
