"""Assertion helpers of the conformance mixins, so that they need no test framework."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

__all__ = ["Raised", "raises"]


@dataclass
class Raised:
    """What :func:`raises` caught: the exception, once the ``with`` block has raised it."""

    value: BaseException | None = None

    @property
    def message(self) -> str:
        """The caught exception's message (``""`` before one was caught)."""
        return "" if self.value is None else str(self.value)


@contextmanager
def raises(
    expected: type[BaseException] | tuple[type[BaseException], ...], *, match: str | None = None
) -> Iterator[Raised]:
    """Assert that the ``with`` block raises ``expected`` (like ``pytest.raises``).

    Args:
        expected: The exception class (or classes) the block must raise; others propagate.
        match: A regular expression the message must contain (:func:`re.search`).

    Yields:
        A :class:`Raised` that holds the exception after the block.

    Raises:
        AssertionError: Nothing was raised, or the message does not match.
    """
    caught = Raised()
    try:
        yield caught
    except expected as err:
        if match is not None and not re.search(match, str(err)):
            raise AssertionError(
                f"{type(err).__name__} raised, but its message {str(err)!r} does not match "
                f"{match!r}"
            ) from err
        caught.value = err
        return
    names = expected if isinstance(expected, tuple) else (expected,)
    raise AssertionError(f"{' or '.join(e.__name__ for e in names)} not raised")
