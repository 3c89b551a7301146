"""User-facing errors.

Every problem a user can fix (bad file, unknown column, unknown config key...) is raised as
:class:`EquirecError` with a message that names the offending file, column, row or value and says
how to fix it. The command line prints the message and exits with status 2 instead of a traceback.
"""

from __future__ import annotations


class EquirecError(ValueError):
    """An error caused by user input, with a message meant to be read by a person."""


class DataError(EquirecError):
    """Bad input data: missing columns, unparsable values, empty results..."""


class ConfigError(EquirecError):
    """Bad configuration: unknown keys, wrong types, unknown dataset or model names."""


class OutputExistsError(EquirecError):
    """An output folder already holds something, and replacing it was not asked for."""
