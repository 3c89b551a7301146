"""The dataset registry: names, descriptions, data_dir resolution and its error messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from equirec.data import available_datasets, load_dataset
from equirec.data.sources import DATA_DIR_ENV, default_data_dir, movielens_dir
from equirec.errors import ConfigError, DataError


def test_available_datasets_are_described() -> None:
    names = available_datasets()
    assert {"movielens-small", "ml-100k", "ml-1m", "ml-20m", "ml-latest-small"} <= set(names)
    assert all(isinstance(d, str) and d and "\n" not in d for d in names.values())


def test_unknown_name_lists_the_available_ones() -> None:
    with pytest.raises(ConfigError) as err:
        load_dataset("movielens")
    msg = str(err.value)
    assert "'movielens'" in msg and "did you mean 'movielens-small'" in msg
    assert all(name in msg for name in available_datasets())


def test_missing_files_say_how_to_get_them(tmp_path: Path) -> None:
    with pytest.raises(DataError) as err:
        load_dataset("ml-1m", data_dir=tmp_path)
    msg = str(err.value)
    assert "ratings.dat not found" in msg and str(tmp_path) in msg
    assert "download_movielens('ml-1m'" in msg and "ml-1m.zip" in msg


def test_missing_second_file_is_named(ml_csv_tiny: Path) -> None:
    (ml_csv_tiny / "movies.csv").unlink()
    with pytest.raises(DataError, match=r"ml-latest-small: file movies.csv not found"):
        load_dataset("ml-latest-small", data_dir=ml_csv_tiny.parent)


def test_data_dir_may_be_the_dataset_folder_or_its_parent(ml1m_tiny: Path) -> None:
    assert movielens_dir("ml-1m", ml1m_tiny) == ml1m_tiny
    assert movielens_dir("ml-1m", ml1m_tiny.parent) == ml1m_tiny
    assert load_dataset("ml-1m", data_dir=ml1m_tiny.parent).name == "ml-1m"


def test_each_grouplens_name_reads_its_format(
    ml100k_tiny: Path, ml_csv_tiny: Path, tmp_path: Path
) -> None:
    assert load_dataset("ml-100k", data_dir=ml100k_tiny).n_users == 3
    assert load_dataset("ml-latest-small", data_dir=ml_csv_tiny).n_users == 2
    twenty = ml_csv_tiny.rename(tmp_path / "ml-20m")
    assert load_dataset("ml-20m", data_dir=tmp_path).name == "ml-20m"
    assert load_dataset("ml-20m", data_dir=twenty).n_items == 2


def test_default_data_dir_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, ml100k_tiny: Path
) -> None:
    monkeypatch.setenv(DATA_DIR_ENV, str(ml100k_tiny.parent))
    assert default_data_dir() == ml100k_tiny.parent
    assert load_dataset("ml-100k").n_items == 2
    monkeypatch.delenv(DATA_DIR_ENV)
    assert default_data_dir().parts[-2:] == ("equirec", "datasets")


def test_synthetic_by_name() -> None:
    ds = load_dataset("synthetic")
    assert ds.name == "synthetic" and len(ds) > 0
