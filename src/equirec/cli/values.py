"""Values of the command line's flags: ``key=value`` parameters, grids, search spaces, seeds."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from equirec.errors import EquirecError

__all__ = ["grid_values", "key_values", "parse_value", "search_space", "seed_list"]


def parse_value(text: str) -> Any:
    """A parameter value: JSON (numbers, true/false, lists, objects) or else the plain string."""
    import json

    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def key_values(items: Sequence[str], flag: str) -> dict[str, Any]:
    """``key=value`` flags (``--param``, ``--set``) as a dict, each value read by
    :func:`parse_value`."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise EquirecError(f"{flag} {item!r}: write key=value")
        out[key.strip()] = parse_value(value.strip())
    return out


def grid_values(items: Sequence[str]) -> dict[str, list[Any]]:
    """``--grid name=v1,v2,...`` flags as ``{name: [v1, v2, ...]}``."""
    out: dict[str, list[Any]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not key.strip() or not values.strip():
            raise EquirecError(f"--grid {item!r}: write name=v1,v2,... (e.g. p=0.1,0.3,0.5)")
        out[key.strip()] = [parse_value(v.strip()) for v in values.split(",")]
    return out


def search_space(items: Sequence[str]) -> dict[str, dict[str, Any]]:
    """``--space`` values: ``NAME=LOW:HIGH[:log]`` or ``NAME=A,B,C``."""
    out: dict[str, dict[str, Any]] = {}
    for item in items:
        name, sep, spec = item.partition("=")
        if not sep or not name.strip() or not spec.strip():
            raise EquirecError(f"--space {item!r}: write NAME=LOW:HIGH[:log] or NAME=A,B,C")
        if ":" in spec:
            parts = spec.split(":")
            if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "log"):
                raise EquirecError(f"--space {item!r}: write NAME=LOW:HIGH or NAME=LOW:HIGH:log")
            low, high = parse_value(parts[0]), parse_value(parts[1])
            out[name.strip()] = {"low": low, "high": high, "log": len(parts) == 3}
        else:
            out[name.strip()] = {"choices": [parse_value(v.strip()) for v in spec.split(",")]}
    return out


def seed_list(text: str | None) -> list[int] | None:
    """``--seeds 0,1,2`` as a list (``None`` when not given)."""
    if not text:
        return None
    try:
        return [int(s) for s in text.split(",")]
    except ValueError:
        raise EquirecError(
            f"--seeds {text!r}: write integers separated by commas (0,1,2)"
        ) from None
