"""The service's policy file (``equirec serve --policy FILE.toml``).

A TOML file naming a re-ranker, its parameters and, optionally, how deep it looks::

    method = "fair"        # a re-ranker (`equirec methods`), or a chain "calibrated+fair"
    depth = 100            # candidates it re-ranks (default 100)

    [params]
    p = 0.4

Every ``POST /recommend`` for a known user that names no policy of its own is re-ranked by
it; a request may name another policy, or ``"policy": null`` for the model's list.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pydantic import ValidationError

from equirec.errors import ConfigError
from equirec.serve.schemas import ServicePolicy

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["read_policy"]


def read_policy(path: str | Path) -> ServicePolicy:
    """The policy of a TOML file.

    Raises:
        ConfigError: The file is missing, is not TOML, or has a missing, unknown or
            wrong-typed key (named, with the file).
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"--policy {file}: cannot read it ({err.strerror or err})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"--policy {file}: not valid TOML ({err})") from None
    try:
        return ServicePolicy.model_validate(data)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'file'}: {e['msg']}" for e in err.errors()
        )
        raise ConfigError(
            f"--policy {file}: {problems} (keys: method, depth and a [params] table)"
        ) from None
