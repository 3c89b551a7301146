"""Where an LLM recommender's answers come from: one ``complete(prompt) -> str`` interface.

- :class:`OpenAICompatible`: any server speaking the OpenAI chat-completions API (OpenAI, vLLM,
  llama.cpp, Ollama...), by base URL and model name, the key read from an environment variable;
- :class:`LocalTransformers`: a Hugging Face causal language model folder on disk, greedy;
- :class:`CallableProvider`: any Python function of the prompt.

Every provider has a ``name`` that identifies what answers (endpoint and model, folder, or
function), so that cached answers of one are never taken for another's.
"""

from __future__ import annotations

import hashlib
import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from equirec.errors import ConfigError, EquirecError

__all__ = [
    "CallableProvider",
    "LocalTransformers",
    "OpenAICompatible",
    "Provider",
    "ProviderError",
    "callable_from_path",
]


def _digest(*settings: Any) -> str:
    return hashlib.sha256(repr(settings).encode("utf-8")).hexdigest()[:12]


class ProviderError(EquirecError):
    """A provider could not answer (the server refused, the model folder is unreadable...)."""


class Provider(Protocol):
    """Answers a text prompt with text."""

    @property
    def name(self) -> str:
        """What answers: stable across runs, different for different models."""
        ...

    def complete(self, prompt: str) -> str:
        """The answer to ``prompt``."""
        ...


@dataclass(frozen=True)
class OpenAICompatible:
    """A chat model behind an OpenAI-compatible HTTP endpoint.

    Args:
        base_url: The API root, e.g. ``https://api.openai.com/v1`` or ``http://127.0.0.1:8000/v1``.
        model: The model name the server knows.
        api_key_env: Environment variable holding the key (a local server may need none).
        system: The system message (FaiRLLM's "You are a movie recommendation system.").
        temperature: Sampling temperature (0: as deterministic as the server allows).
        max_tokens: Longest answer.
        seed: Sent to servers that honour it.
        timeout: Seconds per request.
        retries: Retries of a failed request (with the client's backoff).
    """

    base_url: str
    model: str
    api_key_env: str = "OPENAI_API_KEY"
    system: str = "You are a movie recommendation system."
    temperature: float = 0.0
    max_tokens: int = 512
    seed: int | None = 0
    timeout: float = 60.0
    retries: int = 2
    _client: list[Any] = field(default_factory=list, repr=False, compare=False)

    @property
    def name(self) -> str:
        """The endpoint, model and every setting that changes an answer (the cache's key)."""
        settings = _digest(self.system, self.temperature, self.max_tokens, self.seed)
        return f"openai:{self.base_url.rstrip('/')}:{self.model}:{settings}"

    def _openai(self) -> Any:
        if not self._client:
            try:
                import openai
            except ImportError as exc:
                raise ConfigError(
                    "an OpenAI-compatible provider needs the openai client: "
                    "pip install 'equirec[llm]'"
                ) from exc
            self._client.append(
                openai.OpenAI(
                    base_url=self.base_url,
                    api_key=os.environ.get(self.api_key_env) or "EMPTY",
                    timeout=self.timeout,
                    max_retries=self.retries,
                )
            )
        return self._client[0]

    def complete(self, prompt: str) -> str:
        client = self._openai()  # imports openai, or says which extra to install
        import openai

        try:
            response = client.chat.completions.create(
                model=self.model,
                messages=[
                    {"role": "system", "content": self.system},
                    {"role": "user", "content": prompt},
                ],
                temperature=self.temperature,
                max_tokens=self.max_tokens,
                seed=self.seed,
            )
        except openai.OpenAIError as exc:
            raise ProviderError(f"{self.base_url} ({self.model}): {exc}") from exc
        content = response.choices[0].message.content if response.choices else None
        if content is None:
            raise ProviderError(f"{self.base_url} ({self.model}) answered without text")
        return str(content)


@dataclass(frozen=True)
class LocalTransformers:
    """A Hugging Face causal language model read from a local folder (no download), greedy.

    Args:
        path: The folder (``config.json``, weights, tokenizer files).
        max_new_tokens: Longest answer.
        system: The system message, where the tokenizer has a chat template.
    """

    path: str
    max_new_tokens: int = 256
    system: str = "You are a movie recommendation system."
    _loaded: list[Any] = field(default_factory=list, repr=False, compare=False)

    @property
    def name(self) -> str:
        """The folder and the settings that change an answer (the cache's key)."""
        settings = _digest(self.system, self.max_new_tokens)
        return f"transformers:{Path(self.path).resolve()}:{settings}"

    def _load(self) -> tuple[Any, Any]:
        if not self._loaded:
            try:
                from transformers import AutoModelForCausalLM, AutoTokenizer
            except ImportError as exc:
                raise ConfigError(
                    "a local model needs transformers: pip install 'equirec[text]'"
                ) from exc
            if not (Path(self.path) / "config.json").is_file():
                raise ConfigError(f"{self.path}: not a model folder (no config.json)")
            try:
                tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
                model = AutoModelForCausalLM.from_pretrained(self.path, local_files_only=True)
            except (OSError, ValueError) as exc:
                raise ProviderError(f"{self.path}: not a readable causal LM ({exc})") from exc
            model.eval()
            self._loaded.extend([tokenizer, model])
        return self._loaded[0], self._loaded[1]

    def complete(self, prompt: str) -> str:
        import torch

        tokenizer, model = self._load()
        if getattr(tokenizer, "chat_template", None):
            messages = [
                {"role": "system", "content": self.system},
                {"role": "user", "content": prompt},
            ]
            text = tokenizer.apply_chat_template(
                messages, tokenize=False, add_generation_prompt=True
            )
        else:
            text = prompt
        inputs = tokenizer(text, return_tensors="pt")
        with torch.no_grad():
            out = model.generate(
                **inputs,
                max_new_tokens=self.max_new_tokens,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id or 0,
            )
        return str(
            tokenizer.decode(out[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
        )


@dataclass(frozen=True)
class CallableProvider:
    """Any Python function of the prompt; ``name`` identifies it in the cache."""

    function: Callable[[str], str]
    name: str

    def complete(self, prompt: str) -> str:
        return str(self.function(prompt))


def callable_from_path(spec: str) -> CallableProvider:
    """A :class:`CallableProvider` from ``"package.module:function"``.

    Raises:
        ConfigError: A malformed spec, or a module or function that cannot be found.
    """
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(f"callable {spec!r}: write it as package.module:function")
    try:
        function = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"callable {spec!r}: {exc}") from exc
    if not callable(function):
        raise ConfigError(f"callable {spec!r} is not a function")
    return CallableProvider(function, f"python:{spec}")
