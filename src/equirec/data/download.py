"""Download and unpack the GroupLens MovieLens archives, checksum-verified and atomically."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from equirec.data.movielens import GROUPLENS_URL, REQUIRED_FILES
from equirec.errors import ConfigError, DataError
from equirec.io import atomic_dir


@dataclass(frozen=True)
class Archive:
    """One GroupLens archive.

    Attributes:
        url: Where to get it.
        sha256: Pinned SHA-256 of the zip file.
        md5: The MD5 GroupLens publishes beside the zip (``<url>.md5``), or ``None``.
    """

    url: str
    sha256: str
    md5: str | None = None


ARCHIVES: dict[str, Archive] = {
    "ml-100k": Archive(
        url=f"{GROUPLENS_URL}/ml-100k.zip",
        sha256="50d2a982c66986937beb9ffb3aa76efe955bf3d5c6b761f4e3a7cd717c6a3229",
        md5="0e33842e24a9c977be4e0107933c0723",
    ),
    "ml-1m": Archive(
        url=f"{GROUPLENS_URL}/ml-1m.zip",
        sha256="a6898adb50b9ca05aa231689da44c217cb524e7ebd39d264c56e2832f2c54e20",
        md5="c4d9eecfca2ab87c1945afe126590906",
    ),
    "ml-20m": Archive(
        url=f"{GROUPLENS_URL}/ml-20m.zip",
        sha256="96f243c338a8665f6bcc89c53edf6ee39162a846940de6b7c8c48aeada765ff3",
        md5="cd245b17a1ae2cc31bb14903e1204af3",
    ),
    # "latest" is a rolling release; this pins the September 2018 snapshot (100,836 ratings).
    "ml-latest-small": Archive(
        url=f"{GROUPLENS_URL}/ml-latest-small.zip",
        sha256="696d65a3dfceac7c45750ad32df2c259311949efec81f0f144fdfb91ebc9e436",
    ),
}
"""Official GroupLens archives with pinned checksums."""

_CHUNK = 1 << 20


def download_movielens(name: str, dest: str | Path, *, force: bool = False) -> Path:
    """Download a MovieLens archive from GroupLens and unpack it into ``dest / name``.

    The zip is hashed while it downloads and checked against the pinned SHA-256 (and MD5); only a
    verified archive is unpacked, into a temporary folder renamed into place at the end, so an
    interrupted download never leaves a folder that looks complete.

    Args:
        name: One of ``ml-100k``, ``ml-1m``, ``ml-20m``, ``ml-latest-small``.
        dest: Parent folder; the files end up in ``dest / name`` (pass ``dest`` as ``data_dir``
            to :func:`~equirec.data.load_dataset`).
        force: Download again even if ``dest / name`` already holds the files.

    Returns:
        The folder holding the files.

    Raises:
        ConfigError: Unknown ``name``.
        DataError: The download failed, the checksum does not match, or the zip is damaged.
    """
    if name not in ARCHIVES:
        raise ConfigError(f"no MovieLens archive named {name!r}; choose one of {sorted(ARCHIVES)}")
    archive = ARCHIVES[name]
    target = Path(dest).expanduser() / name
    if not force and all((target / f).is_file() for f in REQUIRED_FILES[name]):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".zip.part", dir=target.parent)
    tmp = Path(tmp_name)
    try:
        with open(fd, "wb") as out:
            sha256, md5 = _fetch(archive.url, out, target=target)
        _verify(archive, sha256=sha256, md5=md5)
        with atomic_dir(target) as staging:
            _extract(tmp, staging, url=archive.url)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _fetch(url: str, out: BinaryIO, *, target: Path) -> tuple[str, str]:
    sha256, md5 = hashlib.sha256(), hashlib.md5()
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            while chunk := response.read(_CHUNK):
                sha256.update(chunk)
                md5.update(chunk)
                out.write(chunk)
    except (urllib.error.URLError, OSError) as e:
        raise DataError(
            f"could not download {url}: {e}; check the connection, or download the zip by hand "
            f"and unzip it into {target}"
        ) from None
    return sha256.hexdigest(), md5.hexdigest()


def _verify(archive: Archive, *, sha256: str, md5: str) -> None:
    problems = []
    if sha256 != archive.sha256:
        problems.append(f"SHA-256 {sha256} (expected {archive.sha256})")
    if archive.md5 is not None and md5 != archive.md5:
        problems.append(f"MD5 {md5} (expected {archive.md5})")
    if problems:
        raise DataError(
            f"checksum mismatch for {archive.url}: got {' and '.join(problems)}; the download is "
            f"corrupt or GroupLens changed the archive; retry, and if it persists check the "
            f"archive by hand before updating the pinned checksum"
        )


def _extract(zip_path: Path, folder: Path, *, url: str) -> None:
    """Unpack ``zip_path`` into ``folder``, dropping the archive's single top-level folder."""
    try:
        with zipfile.ZipFile(zip_path) as zf:
            members = [m for m in zf.infolist() if not m.is_dir()]
            for member in members:
                parts = PurePosixPath(member.filename).parts
                if member.filename.startswith("/") or ".." in parts:
                    raise DataError(f"{url}: unsafe path {member.filename!r} in the archive")
                relative = parts[1:] if len(parts) > 1 else parts
                dest = folder.joinpath(*relative)
                dest.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(member) as src, dest.open("wb") as dst:
                    shutil.copyfileobj(src, dst, _CHUNK)
    except zipfile.BadZipFile as e:
        raise DataError(f"{url}: the downloaded archive is not a valid zip file ({e})") from None
