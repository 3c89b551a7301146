"""Atomic output: a crashed run never leaves a half-written file or folder that looks complete."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from equirec.errors import ConfigError, OutputExistsError


def check_new(path: Path, *, overwrite: bool) -> None:
    """Refuse to replace an existing, non-empty ``path`` unless ``overwrite`` (nothing is lost).

    Raises:
        OutputExistsError: ``path`` holds something and ``overwrite`` is False.
    """
    path = Path(path)
    if overwrite or not path.exists():
        return
    if path.is_dir() and not any(path.iterdir()):
        return
    raise OutputExistsError(
        f"{path} already exists and holds files; choose another output folder, or allow "
        "replacing it (--overwrite on the command line, overwrite=True in Python)"
    )


@contextmanager
def atomic_dir(path: Path, *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success it replaces ``path`` in one rename.

    Args:
        path: The folder to write.
        overwrite: Replace an existing ``path``; when False an existing non-empty folder raises
            :class:`~equirec.errors.OutputExistsError` before anything is written.
    """
    path = Path(path)
    check_new(path, overwrite=overwrite)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        _usual_mode(tmp, 0o777)
        yield tmp
        if path.exists():
            old = path.with_name(f".{path.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        _usual_mode(Path(tmp), 0o666)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _usual_mode(path: Path, mode: int) -> None:
    """Give a temporary file or folder the permissions a plain ``open``/``mkdir`` would (umask)."""
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, mode & ~umask)


def read_toml(path: str | Path, *, what: str = "config file") -> dict[str, Any]:
    """A TOML file as a dict.

    Raises:
        ConfigError: The file is missing or not valid TOML (naming ``what`` and the path).
    """
    import tomllib

    path = Path(path)
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{what} {path} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{what} {path} is not valid TOML: {exc}") from None


def relative_to(base: Path, value: str) -> str:
    """``value`` as a path, relative ones taken from ``base`` (a config file's folder)."""
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else base / path)


def jsonable(value: Any) -> Any:
    """A JSON-safe copy: numpy scalars to Python, tuples to lists, NaN to ``None``."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value
