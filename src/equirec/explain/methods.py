"""The explanation methods by name, light to import (the command line lists them)."""

from __future__ import annotations

__all__ = ["ATTRIBUTIONS", "METHODS"]

ATTRIBUTIONS = ("loo", "ig", "attention", "model")
"""The attribution methods (see :mod:`equirec.explain.attribution`)."""

METHODS = ("counterfactual", *ATTRIBUTIONS)
"""Every explanation method: the counterfactual search, then the attributions."""
