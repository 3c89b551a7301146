"""Numbers and values written for people, shared by the HTML pages (audit and sweep).

Lenient readers of report dicts (:func:`as_float`, :func:`as_map`, :func:`as_list`: a missing or
malformed value becomes ``None`` or empty, never an error) and formatters that write "n/a" for
``None``/NaN, a real minus sign and magnitude-aware decimals. Everything here is plain text:
the templates escape it (autoescaping) and the SVG builders of :mod:`equirec.reporting.charts`
escape it through :class:`markupsafe.Markup`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "as_float",
    "as_list",
    "as_map",
    "clip",
    "flatten",
    "fmt_change",
    "fmt_ci",
    "fmt_int",
    "fmt_level",
    "fmt_num",
    "fmt_p",
    "fmt_pct",
    "fmt_ratio",
    "fmt_scalar",
    "metric_label",
    "real_minus",
    "values_text",
]


def as_float(value: Any) -> float | None:
    """A finite float, or ``None`` (None, NaN, inf, bools, non-numbers)."""
    if value is None or isinstance(value, bool):
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def as_map(value: Any) -> Mapping[str, Any]:
    """``value`` if it is a mapping, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def as_list(value: Any) -> list[Any]:
    """``value`` as a list if it is a list or tuple, else an empty list."""
    return list(value) if isinstance(value, (list, tuple)) else []


def real_minus(text: str) -> str:
    """A leading hyphen replaced by a real minus sign (U+2212)."""
    return text.replace("-", "\u2212") if text.startswith("-") else text


def _decimals(a: float, digits: int = 3) -> int:
    """Decimals that show ``|value| = a`` with about ``digits`` significant figures."""
    if a >= 100:
        return 1
    if a >= 1:
        return 2
    if a >= 0.01 or a == 0:
        return digits
    return min(-math.floor(math.log10(a)) + 1, 8)


def fmt_num(value: Any, digits: int = 3, *, like: Any = None) -> str:
    """A number written for people: magnitude-aware decimals, a real minus sign, "n/a".

    ``like``: take the decimals of that number instead (interval bounds written like their
    estimate, a column like its largest value), unless they would write a value that is not 0
    as 0 (``0.0007`` like ``0.97`` at 2 digits is ``0.00070``, not ``0.00``).
    """
    v = as_float(value)
    if v is None:
        return "n/a"
    ref = as_float(like)
    a = abs(v if ref is None else ref)
    if a >= 1000:
        text = f"{v:,.0f}"
    elif v == 0 and ref is None:
        text = "0"
    else:
        decimals = _decimals(a, digits)
        if v != 0 and round(abs(v), decimals) == 0:  # the reference's decimals would hide it
            decimals = _decimals(abs(v), digits)
        text = f"{v:.{decimals}f}"
    return real_minus(text)


def fmt_ratio(value: Any) -> str:
    """A ratio such as exposure ÷ catalogue share: ``3.15``, ``0.54``; below 0.1 two significant
    digits (``0.0010``, never ``0.00``); ``0`` for none; "n/a"."""
    v = as_float(value)
    if v is None:
        return "n/a"
    if v == 0:
        return "0"
    if abs(v) >= 0.1:
        return real_minus(f"{v:.2f}")
    return real_minus(f"{v:.{-math.floor(math.log10(abs(v))) + 1}f}")


def fmt_int(value: Any) -> str:
    """``1,320``; "n/a" for ``None``/NaN."""
    v = as_float(value)
    return "n/a" if v is None else f"{v:,.0f}"


def fmt_pct(value: Any, digits: int = 1) -> str:
    """A share as a percentage: ``0.125`` -> ``12.5%``; a share below 0.1%, or one that
    ``digits`` would write as 0, gets two significant digits (``0.0000067`` -> ``0.00067%``,
    never ``0.00%``; ``0.003`` at 0 digits -> ``0.30%``)."""
    v = as_float(value)
    if v is None:
        return "n/a"
    p = 100 * v
    if p != 0 and (abs(p) < 0.1 or round(abs(p), digits) == 0):
        return real_minus(f"{p:.{-math.floor(math.log10(abs(p))) + 1}f}%")
    return real_minus(f"{p:.{digits}f}%")


def fmt_p(value: Any) -> str:
    """``< 0.001`` style p-values."""
    p = as_float(value)
    if p is None:
        return "n/a"
    if p < 0.001:
        return "< 0.001"
    return f"{p:.3f}" if p < 0.1 else f"{p:.2f}"


def fmt_level(value: float) -> str:
    """0.95 -> "95%", 0.975 -> "97.5%"."""
    text = f"{100 * value:.1f}".rstrip("0").rstrip(".")
    return f"{text}%"


def clip(text: str, n: int) -> str:
    """``text`` cut to at most ``n`` characters, ending in "…" when cut."""
    return text if len(text) <= n else text[: n - 1] + "…"


def fmt_ci(lo: Any, hi: Any, fmt: Callable[[Any], str] | None = None, *, like: Any = None) -> str:
    """``"0.070–0.093"``, "" when a bound is missing; bounds get the decimals of ``like``."""
    if as_float(lo) is None or as_float(hi) is None:
        return ""
    if fmt is None:
        ref = (
            like
            if as_float(like) is not None
            else max(abs(as_float(lo) or 0), abs(as_float(hi) or 0))
        )
        return f"{fmt_num(lo, like=ref)}–{fmt_num(hi, like=ref)}"
    return f"{fmt(lo)}–{fmt(hi)}"


def metric_label(name: str) -> str:
    """``ndcg@10`` -> ``NDCG@10``."""
    return str(name).upper() if re.fullmatch(r"[a-z0-9_]+@\d+", str(name)) else str(name)


def flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    """``{"head": {"method": "share"}}`` -> ``[("head.method", "share")]``."""
    out: list[tuple[str, str]] = []
    if isinstance(value, Mapping):
        for k, v in value.items():
            key = f"{prefix}.{k}" if prefix else str(k)
            if isinstance(v, Mapping) and v:
                out.extend(flatten(v, key))
            else:
                out.append((key, fmt_scalar(v)))
    return out


def fmt_scalar(v: Any) -> str:
    """A parameter value as text: "—" for None, yes/no, ``.6g`` floats, lists joined."""
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return f"{v:.6g}" if math.isfinite(v) else "n/a"
    if isinstance(v, (list, tuple)):
        return ", ".join(fmt_scalar(x) for x in v)
    if isinstance(v, Mapping):
        return "—"
    return str(v)


def fmt_change(value: Any) -> str:
    """A relative change with its sign: ``+12.5%``, ``−3.0%``, ``+1,400%``, "n/a"."""
    v = as_float(value)
    if v is None:
        return "n/a"
    p = 100 * v
    text = real_minus(f"{p:,.0f}%") if abs(p) >= 100 else fmt_pct(v)
    return f"+{text}" if p > 0 else text


def values_text(values: Any) -> str:
    """``{0.1, 0.3, 0.5}``; a long list shortened to its ends and its length."""
    items = as_list(values)
    if not items:
        return str(values)
    if len(items) > 8:
        ends = [*map(str, items[:3]), "…", *map(str, items[-2:])]
        return "{" + ", ".join(ends) + "}" + f" ({len(items)} values)"
    return "{" + ", ".join(str(v) for v in items) + "}"
