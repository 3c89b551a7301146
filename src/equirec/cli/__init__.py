"""The ``equirec`` command line.

Every user-fixable problem ends with a one-line ``error: ...`` message and exit status 2, never a
traceback. Start-up imports only the parser and the registries (no torch): each command imports
its workflow when it runs.
"""

from equirec.cli.main import main

__all__ = ["main"]
