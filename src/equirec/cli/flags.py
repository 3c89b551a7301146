"""Flags several subcommands share."""

from __future__ import annotations

import argparse

__all__ = ["log_flags"]


def log_flags(parser: argparse.ArgumentParser) -> None:
    """``-q`` / ``-v``: warnings only, or every epoch's detail."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "-q", "--quiet", action="store_true", help="warnings only: no progress bars or lines"
    )
    group.add_argument(
        "-v", "--verbose", action="store_true", help="also debugging detail (every epoch)"
    )
