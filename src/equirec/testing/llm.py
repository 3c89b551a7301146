"""Fakes for tests of LLM recommenders: answers with a planted bias, and a local server.

:func:`planted_answers` makes a deterministic answerer: every request gets a list drawn from its
anchor alone, then noise (a few titles replaced, seeded by the whole prompt, so it does not
depend on the value named), then, for the values given a bias, more titles replaced.
:func:`openai_server` serves ``POST /v1/chat/completions`` on ``127.0.0.1`` at a free port, in
a background thread, answering every request with ``answer(prompt)`` (the last user message);
it yields the base URL (``http://127.0.0.1:PORT/v1``) and stops the server on exit. Real HTTP
through the real OpenAI client, with answers the test controls (a planted bias, or none).
Needs the ``serve`` extra (FastAPI, uvicorn). (No ``from __future__ import annotations``
here: FastAPI reads the endpoint's annotations as objects.)
"""

import hashlib
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

__all__ = ["openai_server", "planted_answers"]


def _seed(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")


def planted_answers(
    titles: Sequence[str],
    *,
    phrases: Sequence[str],
    k: int = 20,
    noise: int = 3,
    bias: Mapping[str, int] | None = None,
    seed: int = 0,
) -> Callable[[str], str]:
    """An answerer with a planted bias, for prompts of the form ``"I am {phrase} ..."``.

    Args:
        titles: The catalogue's titles the lists are drawn from.
        phrases: Every value's phrase (``"a female"``) and the neutral one (``"a"``).
        k: Titles per answer.
        noise: Titles every answer replaces at random (seeded by the whole prompt).
        bias: Phrase -> further titles replaced in that value's answers (the planted bias);
            none: an unbiased answerer.
        seed: Changes every list and all the noise.

    Returns:
        ``answer(prompt) -> str``: a numbered list of ``k`` titles.
    """
    catalogue = list(titles)
    ordered = sorted(set(phrases), key=len, reverse=True)

    def answer(prompt: str) -> str:
        phrase = next((p for p in ordered if f"I am {p} " in prompt), None)
        base = prompt if phrase is None else prompt.replace(f"I am {phrase} ", "I am a ", 1)
        rng = np.random.default_rng([seed, _seed(base)])
        order = rng.permutation(len(catalogue))
        chosen, spare = list(order[:k]), list(order[k:])
        noisy = np.random.default_rng([seed, _seed(prompt)])
        replace = noise + (bias or {}).get(phrase or "", 0)
        slots = noisy.choice(k, size=min(k, replace), replace=False)
        picks = noisy.choice(len(spare), size=len(slots), replace=False)
        for slot, pick in zip(slots, picks, strict=True):
            chosen[slot] = spare[pick]
        return "\n".join(f"{i}. {catalogue[j]}" for i, j in enumerate(chosen, start=1))

    return answer


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def openai_server(answer: Callable[[str], str], *, model: str = "fake") -> Iterator[str]:
    """Serve ``answer`` as an OpenAI-compatible chat model; yield its base URL.

    Args:
        answer: The reply to a prompt (the last ``user`` message of a request).
        model: The model name the server reports.
    """
    import uvicorn
    from fastapi import FastAPI, Request

    app = FastAPI()
    served = {"requests": 0}

    @app.post("/v1/chat/completions")
    async def completions(request: Request) -> dict[str, Any]:
        body = await request.json()
        prompt = next(
            (m["content"] for m in reversed(body.get("messages", [])) if m.get("role") == "user"),
            "",
        )
        served["requests"] += 1
        return {
            "id": f"fake-{served['requests']}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", model),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": answer(prompt)},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        }

    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the fake OpenAI-compatible server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
