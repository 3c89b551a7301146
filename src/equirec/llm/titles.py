"""The titles of an LLM's answer, parsed and matched to catalogue items.

:func:`parse_titles` reads a numbered, bulleted or one-per-line list ("1. Toy Story (1995)",
"- \\"Heat\\" - a crime drama") into titles. :class:`TitleMatcher` matches each to a catalogue
item: first exactly after normalising (case, punctuation, a trailing year, a leading or
trailing article: "Matrix, The" is "the matrix"), then by fuzzy similarity (rapidfuzz's
``fuzz.ratio`` at or above ``cutoff``). A title that matches nothing is *unmatched* (invented,
or outside the catalogue); its rate is part of every LLM audit.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from equirec.errors import ConfigError

__all__ = ["TitleMatcher", "normalise_title", "parse_titles"]

_NUMBERED = re.compile(r"^\s*#?(\d{1,3})\s*[.):\]-]\s*(.+?)\s*$")
_BULLET = re.compile(r"^\s*[-*•·]\s*(.+?)\s*$")
_YEAR = re.compile(r"\s*[(\[]\s*\d{4}\s*[)\]]\s*$")
_ARTICLES = "the|a|an"
_LEADING = re.compile(rf"^(?:{_ARTICLES})\s+")
_TRAILING = re.compile(rf",\s*(?:{_ARTICLES})$")
_ASIDE = re.compile(r"\s*\(.*?\)\s*$")
_PUNCTUATION = re.compile(r"[^\w\s]")
_SPACES = re.compile(r"\s+")


def parse_titles(answer: str, *, k: int | None = None) -> list[str]:
    """The titles listed in ``answer``, in order (the first ``k``).

    Lines numbered 1, 2, 3... are the list when there are any, else bulleted lines, else every
    non-empty line. A quoted title is taken from its quotes, and what follows a spaced dash
    after an unquoted one ("Heat - a crime drama") is dropped (a colon is kept: "Star Wars:
    Episode IV").
    """
    lines = [line for line in answer.splitlines() if line.strip()]
    listed = _numbered(lines) or [m.group(1) for line in lines if (m := _BULLET.match(line))]
    if not listed:
        listed = [line.strip() for line in lines]
    out = []
    for raw in listed:
        quoted = re.match(r'\s*(?:"([^"]+)"|“([^”]+)”)', raw)  # a title given in quotes
        title = next(g for g in quoted.groups() if g) if quoted else raw
        if not quoted:
            title = re.split(r"\s+[-–—]\s+", title, maxsplit=1)[0]
        title = title.strip(" *_\"'")
        if title:
            out.append(title)
    return out[:k] if k is not None else out


def _numbered(lines: list[str]) -> list[str]:
    """The items of a list numbered 1, 2, 3... (a line such as "2001: A Space Odyssey" is a
    title, not item 2001: only the run of numbers counting up from 1 is the list)."""
    out, expected = [], 1
    for line in lines:
        m = _NUMBERED.match(line)
        if m and int(m.group(1)) == expected:
            out.append(m.group(2))
            expected += 1
    return out if len(out) >= 2 or (out and len(lines) == 1) else []


def normalise_title(title: str) -> str:
    """Lower case, accents and punctuation removed, a trailing year and an English article
    dropped ("Matrix, The (1999)" and "The Matrix" both give "matrix"; "Die Hard" stays)."""
    text = unicodedata.normalize("NFKD", title)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower().strip()
    text = _ASIDE.sub("", _YEAR.sub("", text))  # a trailing year, then an aside "(a.k.a. ...)"
    text = _LEADING.sub("", _TRAILING.sub("", text))
    return _SPACES.sub(" ", _PUNCTUATION.sub(" ", text)).strip()


@dataclass
class TitleMatcher:
    """Catalogue items by title, for matching an LLM's titles.

    Args:
        titles: Item id -> title (e.g. a dataset's ``title`` item attribute).
        cutoff: Least fuzzy similarity (0-100) of a match; ``None``: exact matches only.
    """

    titles: Mapping[Hashable, Any]
    cutoff: float | None = 90.0
    _exact: dict[str, Hashable] = field(init=False, repr=False)
    _keys: list[str] = field(init=False, repr=False)
    _ids: list[Hashable] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.cutoff is not None and not 0 < self.cutoff <= 100:
            raise ConfigError(f"title matching cutoff must be in (0, 100], not {self.cutoff!r}")
        self._exact = {}
        for item, title in self.titles.items():
            if isinstance(title, str) and title.strip():
                self._exact.setdefault(normalise_title(title), item)
        self._keys = list(self._exact)
        self._ids = [self._exact[k] for k in self._keys]

    def match(self, title: str) -> Hashable | None:
        """The catalogue item of ``title``, or ``None``."""
        key = normalise_title(title)
        if key in self._exact:
            return self._exact[key]
        if self.cutoff is None or not key or not self._keys:
            return None
        from rapidfuzz import fuzz, process

        best = process.extractOne(key, self._keys, scorer=fuzz.ratio, score_cutoff=self.cutoff)
        return None if best is None else self._ids[best[2]]

    def match_all(self, titles: Sequence[str]) -> list[Hashable | None]:
        """Each title's item (``None`` where unmatched), in order."""
        return [self.match(t) for t in titles]
