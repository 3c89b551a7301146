"""Reading CSV / Parquet tables with errors a person can act on (never a pandas traceback)."""

from __future__ import annotations

import codecs
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from equirec.errors import DataError

PARQUET_SUFFIXES = (".parquet", ".pq")
SEPARATORS = (",", "\t", ";", "|")
"""Separators tried, in this order of preference, when a text file's separator is not given."""

_SAMPLE_BYTES = 64 * 1024


@dataclass(frozen=True)
class TableRef:
    """Where a table came from, to point at one of its cells in an error message.

    Attributes:
        path: The file.
        header_lines: Lines before the first data row in a text file (``None`` for Parquet).
    """

    path: Path
    header_lines: int | None = 1

    def at(self, column: str, pos: int) -> str:
        """``"file, column 'c', row 5 (line 6)"`` for the data row at 0-based position ``pos``."""
        where = f"{self.path}, column {column!r}, row {pos + 1}"
        if self.header_lines is not None:
            where += f" (line {pos + 1 + self.header_lines})"
        return where


def plain(value: Any) -> Any:
    """A numpy scalar as the Python value, so that messages show ``7``, not ``np.int64(7)``."""
    return value.item() if isinstance(value, np.generic) else value


def is_parquet(path: Path) -> bool:
    """Whether ``path`` is read as Parquet (by its suffix)."""
    return path.suffix.lower() in PARQUET_SUFFIXES


def check_file(path: str | Path, *, what: str) -> Path:
    """``path`` as a :class:`Path` if it is an existing file, else a :class:`DataError`."""
    path = Path(path).expanduser()
    if not path.exists():
        raise DataError(f"{what} {path} does not exist; check the path")
    if not path.is_file():
        raise DataError(f"{what} {path} is not a file")
    return path


def read_table(
    path: str | Path,
    *,
    sep: str | None = None,
    encoding: str = "utf-8",
    dtype: Mapping[str, Any] | None = None,
    what: str = "file",
) -> tuple[pd.DataFrame, TableRef]:
    """Read a CSV (header line required) or Parquet file.

    Args:
        path: The file; ``.parquet`` / ``.pq`` files are read as Parquet (needs pyarrow).
        sep: Field separator of a text file; ``None`` picks the one of :data:`SEPARATORS` that
            occurs most often in the header line (``,`` if none does).
        encoding: Text encoding of a text file.
        dtype: Column types passed to :func:`pandas.read_csv` (columns absent from the file are
            ignored).
        what: What the file is, for error messages (``"interaction file"``...).

    Returns:
        The table (column names stripped of surrounding spaces) and a :class:`TableRef`.

    Raises:
        DataError: The file is missing, empty, binary, not valid text in ``encoding``, or
            malformed.
    """
    path = check_file(path, what=what)
    if is_parquet(path):
        return _read_parquet(path, what=what), TableRef(path, header_lines=None)
    sample = _text_sample(path, encoding=encoding, what=what)
    if sep is None:
        sep = sniff_separator(sample)
    try:
        df = pd.read_csv(path, sep=sep, encoding=encoding, dtype=dtype, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise DataError(f"{what} {path} is empty: expected a header line and data rows") from None
    except UnicodeDecodeError as e:
        raise DataError(
            f"{what} {path} is not valid {encoding} text (byte {e.start}); pass the file's "
            f"encoding (e.g. encoding='latin-1')"
        ) from None
    except (pd.errors.ParserError, ValueError) as e:
        raise DataError(
            f"{what} {path} could not be parsed with separator {sep!r}: {_first_line(e)}; check "
            f"the separator and that every row has as many fields as the header"
        ) from None
    df.columns = [str(c).strip() for c in df.columns]
    if df.empty:
        raise DataError(f"{what} {path} has a header ({list(df.columns)}) but no data rows")
    return df, TableRef(path, header_lines=1)


def sniff_separator(sample: str) -> str:
    """The separator of :data:`SEPARATORS` found most often in the first line (``,`` if none)."""
    header = sample.splitlines()[0] if sample else ""
    counts = [header.count(s) for s in SEPARATORS]
    best = max(range(len(SEPARATORS)), key=lambda i: (counts[i], -i))
    return SEPARATORS[best] if counts[best] else ","


def require_columns(
    df: pd.DataFrame, wanted: Mapping[str, str], *, ref: TableRef, what: str, option: str
) -> None:
    """Raise a :class:`DataError` if a column of ``wanted`` (role -> column) is absent.

    The message names the missing column, the role it was wanted for, the columns the file has,
    how to map another column (``option``, e.g. ``"columns"``) and, when the file has a single
    column whose name contains another separator, that the separator is probably wrong.
    """
    missing = {role: col for role, col in wanted.items() if col not in df.columns}
    if not missing:
        return
    listing = ", ".join(f"{col!r} (for the {role})" for role, col in missing.items())
    msg = f"{what} {ref.path} has no column {listing}; its columns are {list(df.columns)}"
    hint = separator_hint(df)
    if hint:
        msg += f"; {hint}"
    else:
        example = next(iter(missing))
        msg += f"; name the right column with {option}={{{example!r}: '<column>'}}"
    raise DataError(msg)


def separator_hint(df: pd.DataFrame) -> str | None:
    """A hint when a table read as one column looks like it used another separator."""
    if len(df.columns) != 1:
        return None
    name = str(df.columns[0])
    for s in SEPARATORS:
        if s in name:
            return (
                f"the file was read as a single column, so its separator is probably {s!r}: "
                f"pass sep={s!r}"
            )
    return None


def _text_sample(path: Path, *, encoding: str, what: str) -> str:
    with path.open("rb") as fh:
        raw = fh.read(_SAMPLE_BYTES)
    if not raw.strip():
        raise DataError(f"{what} {path} is empty: expected a header line and data rows")
    if raw.startswith(b"PAR1"):
        raise DataError(
            f"{what} {path} looks like a Parquet file; give it a .parquet suffix to read it as one"
        )
    if b"\x00" in raw:
        raise DataError(
            f"{what} {path} is binary, not a text CSV file; give a CSV/TSV text file or a "
            f".parquet file"
        )
    try:
        decoder = codecs.getincrementaldecoder(encoding)()
        return str(decoder.decode(raw, final=len(raw) < _SAMPLE_BYTES))
    except LookupError:
        raise DataError(f"unknown text encoding {encoding!r} for {what} {path}") from None
    except UnicodeDecodeError as e:
        raise DataError(
            f"{what} {path} is not valid {encoding} text (byte {e.start}); pass the file's "
            f"encoding (e.g. encoding='latin-1')"
        ) from None


def _read_parquet(path: Path, *, what: str) -> pd.DataFrame:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise DataError(
            f"reading the Parquet {what} {path} needs pyarrow: pip install equirec[parquet]"
        ) from None
    try:
        df = pd.read_parquet(path, engine="pyarrow")
    except (OSError, ValueError) as e:
        raise DataError(
            f"{what} {path} could not be read as Parquet: {_first_line(e)}; check that it is a "
            f"complete Parquet file"
        ) from None
    df.columns = [str(c).strip() for c in df.columns]
    if df.empty:
        raise DataError(f"{what} {path} has no rows")
    return df.reset_index(drop=True)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
