"""The audit's findings in plain language: one sentence per gap, exposure or leak, significant
first, every number with its significant digits and every verdict with its p-values."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["summarise"]


def summarise(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Plain-language findings, significant first, then by relative size of the gap.

    Groups smaller than ``min_group_size`` (users, or items) are left out of a finding's extremes
    when at least two larger groups remain: a group of 7 users or 2 items is always at an extreme.
    Every finding gives its p-value and the Holm-adjusted one, which decides ``significant``;
    numbers keep their significant digits however small (an exposure ratio of 0.00098 is written
    ``0.00098x``, not ``0.00x``).
    """
    found: list[dict[str, Any]] = []
    min_items = int(report["params"].get("min_group_size", 0))
    metric = report["params"]["primary_metric"]
    for attr, entries in report["users"].items():
        for name, e in entries.items():
            groups = {g: v for g, v in e["by_group"].items() if v["value"] is not None}
            large = {g: v for g, v in groups.items() if v["n"] >= min_items}
            groups = large if len(large) >= 2 else groups
            if len(groups) < 2:
                continue
            lo = min(groups, key=lambda g: groups[g]["value"])
            hi = max(groups, key=lambda g: groups[g]["value"])
            vlo, vhi = groups[lo]["value"], groups[hi]["value"]
            rel = (vhi - vlo) / vhi if vhi else 0.0
            found.append(
                {
                    "side": "users",
                    "attribute": attr,
                    "metric": name,
                    "text": f"Users with {attr} = {lo} get {_pct(rel)} lower {name.upper()} than "
                    f"{attr} = {hi} ({_value(vlo)} vs {_value(vhi)}; {_p(e)}).",
                    "significant": bool(e.get("significant", False)),
                    "severity": rel,
                    "primary": name == metric,
                }
            )
    for attr, e in report["items"].get("groups", {}).items():
        groups = {
            g: v
            for g, v in e["by_group"].items()
            if v.get("relative_exposure") is not None and v.get("n_items", 0) >= min_items
        }
        if len(groups) < 2:
            continue
        lo = min(groups, key=lambda g: groups[g]["relative_exposure"])
        r = groups[lo]["relative_exposure"]
        shares = (
            f"{_pct(groups[lo]['exposure_share'])} of exposure for "
            f"{_pct(groups[lo]['catalogue_share'])} of items"
        )
        if r == 0:
            what = f"Items with {attr} = {lo} get no exposure at all ({shares}; {_p(e)})."
        else:
            what = (
                f"Items with {attr} = {lo} get {_ratio(r)} their share of the catalogue in "
                f"exposure ({shares}; {_p(e)})."
            )
        found.append(
            {
                "side": "items",
                "attribute": attr,
                "metric": "exposure",
                "text": what,
                "significant": bool(e.get("significant", False)),
                "severity": 1.0 - min(r, 1.0),
                "primary": True,
            }
        )
    sources = {"lists": "recommendation lists", "representations": "user representations"}
    for attr, probes in report.get("leakage", {}).items():
        for source, e in probes.items():
            if not isinstance(e, dict) or e.get("auc") is None:
                continue
            baseline = e.get("baseline", 0.5)
            where = sources.get(source, source)
            interval = (
                f"interval {e['ci_low']:.2f}–{e['ci_high']:.2f}; "
                if e.get("ci_low") is not None
                else ""
            )
            evidence = f"{interval}{_p(e)}"
            leaks = bool(e.get("significant", False))
            if leaks:
                text = (
                    f"{attr} can be predicted from the {where} with ROC-AUC {e['auc']:.2f} "
                    f"({evidence}); chance is {baseline:.2f}."
                )
            else:
                text = (
                    f"{attr} is not predicted significantly better than chance ({baseline:.2f}) "
                    f"from the {where}: ROC-AUC {e['auc']:.2f} ({evidence})."
                )
            found.append(
                {
                    "side": "leakage",
                    "attribute": attr,
                    "metric": f"auc ({source})",
                    "text": text,
                    "significant": leaks,
                    "severity": float(e["auc"] - baseline),
                    "primary": True,
                }
            )
    found.sort(key=lambda f: (not f["significant"], not f["primary"], -f["severity"]))
    return found


def _p(entry: dict[str, Any]) -> str:
    """``p = 0.009, adjusted p = 0.074``: the p-value and the Holm-adjusted one that decides."""
    p, adjusted = entry.get("p_value"), entry.get("p_adjusted")
    if p is None and adjusted is None:
        return "not tested"

    def eq(value: float) -> str:
        return "< 0.001" if value < 0.001 else f"= {value:.3f}"

    parts = [] if p is None else [f"p {eq(p)}"]
    if adjusted is not None:
        parts.append(f"adjusted p {eq(adjusted)}")
    return ", ".join(parts)


def _decimals(value: float, digits: int = 2) -> int:
    """Decimals that show ``value`` (0 < |value| < 1) with ``digits`` significant digits."""
    return max(-math.floor(math.log10(abs(value))) + digits - 1, 0)


def _value(value: float) -> str:
    """A metric value: four decimals, or two significant digits when smaller than 0.001."""
    if value == 0 or abs(value) >= 0.001:
        return "0" if value == 0 else f"{value:.4f}"
    return f"{value:.{_decimals(value)}f}"


def _pct(share: float) -> str:
    """A share as a percentage, with two significant digits below 0.1% (0.00067 -> 0.067%)."""
    p = 100 * share
    if p == 0:
        return "0%"
    if abs(p) >= 0.1:
        return f"{p:.0f}%" if abs(p) >= 10 and float(p).is_integer() else f"{p:.1f}%"
    return f"{p:.{_decimals(p)}f}%"


def _ratio(ratio: float) -> str:
    """An exposure ratio: ``3.15x``, ``0.54x``; below 0.1, two significant digits and the
    fraction it is (``0.0010x (about 1/1,000)``)."""
    if ratio >= 0.1:
        return f"{ratio:.2f}x"
    one_in = 1 / ratio
    step = 10 ** max(math.floor(math.log10(one_in)) - 1, 0)
    return f"{ratio:.{_decimals(ratio)}f}x (about 1/{round(one_in / step) * step:,})"
