"""The ``serve`` extra: FastAPI and uvicorn, checked before anything imports them."""

from __future__ import annotations

from importlib.util import find_spec

from equirec.errors import ConfigError

INSTALL = "pip install 'equirec[serve]'"


def require(*modules: str) -> None:
    """Raise a :class:`ConfigError` naming the extra if one of ``modules`` is not installed.

    Raises:
        ConfigError: A module is missing.
    """
    missing = [m for m in modules if find_spec(m) is None]
    if missing:
        raise ConfigError(f"equirec serve needs {', '.join(missing)} (not installed): {INSTALL}")
