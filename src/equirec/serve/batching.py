"""Requests that arrive together are scored together: a queue in front of a batch function.

Under load, requests reach the event loop faster than one-by-one scoring answers them; ranking
several users in one call costs little more than ranking one (one product with the item table,
one re-ranking pass). :class:`Batcher` hands every request waiting when the loop gets to it to
the batch function at once, up to ``max_batch``. Nothing waits on purpose: a lone request is
scored at once, and batches grow only while the scorer is busy, so batching adds no latency
and is a throughput gain exactly when load makes one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["Batcher"]

Request = TypeVar("Request")
Answer = TypeVar("Answer")


class Batcher(Generic[Request, Answer]):
    """Collect requests in the running event loop and score them in batches.

    Args:
        score: Answers of a batch of requests, one per request and in order; it runs in the
            event loop's thread (it should be fast: the loop waits for it).
        max_batch: The most requests scored in one call.
    """

    def __init__(
        self, score: Callable[[Sequence[Request]], Sequence[Answer]], *, max_batch: int = 64
    ) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        self._score = score
        self.max_batch = max_batch
        self._pending: list[tuple[Request, asyncio.Future[Answer]]] = []
        self._scheduled = False
        self.batches = 0
        """Calls of ``score`` so far (with :attr:`requests`, the mean batch size)."""
        self.requests = 0
        """Requests scored so far."""

    async def submit(self, request: Request) -> Answer:
        """The answer to ``request``, scored with whatever else is waiting."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Answer] = loop.create_future()
        self._pending.append((request, future))
        if not self._scheduled:
            # After the callbacks already due: requests parsed in this turn of the loop join.
            self._scheduled = True
            loop.call_soon(self._drain)
        return await future

    def _drain(self) -> None:
        batch = self._pending[: self.max_batch]
        del self._pending[: self.max_batch]
        live = [(request, future) for request, future in batch if not future.done()]
        if live:
            self.batches += 1
            self.requests += len(live)
            try:
                answers = self._score([request for request, _ in live])
                if len(answers) != len(live):
                    raise RuntimeError(
                        f"the batch function answered {len(answers)} of {len(live)} requests"
                    )
            except Exception as err:  # every waiting request gets the error, none hangs
                for _, future in live:
                    if not future.done():
                        future.set_exception(err)
            else:
                for (_, future), answer in zip(live, answers, strict=True):
                    if not future.done():
                        future.set_result(answer)
        if self._pending:
            asyncio.get_running_loop().call_soon(self._drain)
        else:
            self._scheduled = False
