"""Shared fixtures of the data tests: tiny files in the GroupLens formats, the real data paths."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

ML100K_DIR = Path("/work/shared/datasets/ml-100k")
"""The real ML-100K (never copied into the repository); tests using it skip when it is absent."""


Writer = Callable[..., Path]


def _write(folder: Path, name: str, text: str, *, encoding: str = "utf-8") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def write(tmp_path: Path) -> Writer:
    """``write(name, text, encoding="utf-8")``: a file in ``tmp_path``; returns its path."""
    return lambda name, text, encoding="utf-8": _write(tmp_path, name, text, encoding=encoding)


@pytest.fixture
def ml100k_dir() -> Path:
    """The real ML-100K folder; skips the test when it is absent."""
    if not (ML100K_DIR / "u.data").is_file():
        pytest.skip(f"the real ML-100K is not at {ML100K_DIR}")
    return ML100K_DIR


@pytest.fixture
def ml100k_tiny(tmp_path: Path) -> Path:
    """A 3-user ml-100k folder (u.data, u.item, u.user; no u.genre)."""
    folder = tmp_path / "ml-100k"
    _write(folder, "u.data", "1\t10\t5\t881250949\n2\t20\t3\t881250950\n3\t10\t4\t881250948\n")
    flags_toy = "|".join(["0", "0", "0", "1", "1", "1"] + ["0"] * 13)
    flags_unknown = "|".join(["1"] + ["0"] * 18)
    _write(
        folder,
        "u.item",
        f"10|Misérables, Les (1995)|01-Jan-1995||http://x|{flags_toy}\n"
        f"20|unknown||||{flags_unknown}\n",
        encoding="latin-1",
    )
    _write(
        folder,
        "u.user",
        "1|24|M|technician|85711\n2|17|F|student|94043\n3|56|M|retired|32067\n",
    )
    return folder


@pytest.fixture
def ml1m_tiny(tmp_path: Path) -> Path:
    """A 2-user ml-1m folder; movie 30 has no rating."""
    folder = tmp_path / "ml-1m"
    _write(
        folder,
        "ratings.dat",
        "1::10::5::978300760\n1::20::3::978302109\n2::10::4::978301968\n",
    )
    _write(folder, "users.dat", "1::F::1::10::48067\n2::M::56::16::70072\n")
    _write(
        folder,
        "movies.dat",
        "10::Misérables, Les (1995)::Drama|Musical\n"
        '20::"Great" Escape, The (1963)::Adventure|War\n'
        "30::Unrated Movie (2000)::Drama\n",
        encoding="latin-1",
    )
    return folder


@pytest.fixture
def ml_csv_tiny(tmp_path: Path) -> Path:
    """An ml-20m / ml-latest-small style folder (ratings.csv, movies.csv)."""
    folder = tmp_path / "ml-latest-small"
    _write(
        folder,
        "ratings.csv",
        "userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,3,4.5,964981247\n2,1,2.5,964982224\n",
    )
    _write(
        folder,
        "movies.csv",
        "movieId,title,genres\n"
        "1,Toy Story (1995),Adventure|Animation|Children\n"
        '3,"American President, The (1995)",(no genres listed)\n'
        "4,Babylon 5,Sci-Fi\n",
    )
    return folder
