"""download_movielens without the network: file:// URLs of local zips, checksums monkeypatched."""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from equirec.data import download_movielens, load_dataset
from equirec.data.download import ARCHIVES
from equirec.errors import ConfigError, DataError


def _zip(tmp_path: Path, members: dict[str, str]) -> Path:
    path = tmp_path / "archive.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in members.items():
            zf.writestr(name, text)
    return path


def _serve(monkeypatch: pytest.MonkeyPatch, archive: Path, *, sha256: str | None = None) -> None:
    digest = sha256 or hashlib.sha256(archive.read_bytes()).hexdigest()
    fake = replace(ARCHIVES["ml-latest-small"], url=archive.as_uri(), sha256=digest, md5=None)
    monkeypatch.setitem(ARCHIVES, "ml-latest-small", fake)


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    return _zip(
        tmp_path,
        {
            "ml-latest-small/ratings.csv": "userId,movieId,rating,timestamp\n1,1,4.0,5\n",
            "ml-latest-small/movies.csv": "movieId,title,genres\n1,Toy Story (1995),Comedy\n",
        },
    )


def test_pinned_archives_use_official_urls() -> None:
    for name, archive in ARCHIVES.items():
        assert archive.url == f"https://files.grouplens.org/datasets/movielens/{name}.zip"
        assert len(archive.sha256) == 64


def test_verified_archive_is_unpacked(
    tmp_path: Path, archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _serve(monkeypatch, archive)
    dest = tmp_path / "data"
    folder = download_movielens("ml-latest-small", dest)
    assert folder == dest / "ml-latest-small"
    assert sorted(p.name for p in folder.iterdir()) == ["movies.csv", "ratings.csv"]
    assert load_dataset("ml-latest-small", data_dir=dest).n_items == 1
    archive.unlink()  # present files are not downloaded again
    assert download_movielens("ml-latest-small", dest) == folder


def test_checksum_mismatch_leaves_nothing(
    tmp_path: Path, archive: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _serve(monkeypatch, archive, sha256="0" * 64)
    dest = tmp_path / "data"
    with pytest.raises(DataError, match=r"checksum mismatch for file://.*expected 0000"):
        download_movielens("ml-latest-small", dest)
    assert list(dest.iterdir()) == []


def test_unreachable_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _serve(monkeypatch, tmp_path / "missing.zip", sha256="0" * 64)
    with pytest.raises(DataError, match=r"could not download file://.*unzip it into"):
        download_movielens("ml-latest-small", tmp_path / "data")


def test_unsafe_member_path_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _serve(monkeypatch, _zip(tmp_path, {"ml-latest-small/../../evil.txt": "x"}))
    with pytest.raises(DataError, match="unsafe path"):
        download_movielens("ml-latest-small", tmp_path / "data")
    assert not (tmp_path / "evil.txt").exists()


def test_unknown_archive() -> None:
    with pytest.raises(ConfigError, match=r"no MovieLens archive named 'ml-3m'"):
        download_movielens("ml-3m", "/nonexistent")
