"""Progress and diagnostics through :mod:`logging`: the ``equirec`` logger decides what shows.

Every module reports through ``logging.getLogger(__name__)``, a child of the ``equirec`` logger,
which gets a :class:`logging.NullHandler` only (the library convention: the program configures
logging, e.g. ``logging.basicConfig(level=logging.INFO)``; the ``equirec`` command line does).
Progress bars show when their module's logger is enabled for INFO and are hidden otherwise.
"""

from __future__ import annotations

import logging

__all__ = ["LOGGER", "show_progress"]

LOGGER = logging.getLogger("equirec")
"""The package's logger; ``import equirec`` gives it its :class:`logging.NullHandler`."""


def show_progress(logger: logging.Logger | None = None) -> bool:
    """Whether progress bars show: ``logger`` (default: ``equirec``) is enabled for INFO."""
    return (logger or LOGGER).isEnabledFor(logging.INFO)
