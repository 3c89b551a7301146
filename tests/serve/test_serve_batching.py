"""Requests scored together: the Batcher gathers what waits, and a batch answers exactly what
one-by-one scoring answers, errors included."""

from __future__ import annotations

import asyncio

import pytest

from equirec.serve.batching import Batcher
from equirec.serve.schemas import RecommendRequest
from equirec.serve.service import RequestError, RunService


def test_requests_waiting_together_are_scored_in_one_call_in_order():
    calls: list[list[int]] = []

    def score(batch):
        calls.append(list(batch))
        return [n * 10 for n in batch]

    async def main():
        batcher = Batcher(score, max_batch=4)
        alone = await batcher.submit(1)  # a lone request is answered at once, alone
        together = await asyncio.gather(*(batcher.submit(n) for n in range(2, 12)))
        return batcher, alone, together

    batcher, alone, together = asyncio.run(main())
    assert alone == 10 and together == [n * 10 for n in range(2, 12)]
    assert calls == [[1], [2, 3, 4, 5], [6, 7, 8, 9], [10, 11]]  # max_batch respected
    assert (batcher.batches, batcher.requests) == (4, 11)


def test_an_error_reaches_every_waiting_request_and_the_batcher_goes_on():
    def score(batch):
        if 0 in batch:
            raise ValueError("boom")
        return list(batch)

    async def main():
        batcher = Batcher(score)
        waiting = (batcher.submit(n) for n in range(3))
        failed = await asyncio.gather(*waiting, return_exceptions=True)
        return failed, await batcher.submit(7)

    failed, after = asyncio.run(main())
    assert all(isinstance(e, ValueError) for e in failed) and after == 7


def test_a_batch_function_answering_too_few_is_an_error_not_a_hang():
    async def main():
        batcher = Batcher(lambda batch: [1])
        return await asyncio.gather(batcher.submit(1), batcher.submit(2), return_exceptions=True)

    assert all(isinstance(e, RuntimeError) for e in asyncio.run(main()))
    with pytest.raises(ValueError, match="max_batch"):
        Batcher(lambda batch: batch, max_batch=0)


@pytest.fixture(scope="module")
def service(sasrec_run):
    return RunService(sasrec_run)


def _request(**fields):
    return RecommendRequest.model_validate(fields)


POLICIES = [None, {"method": "fair", "params": {"p": 0.6}}, {"method": "mmr"}]


@pytest.mark.parametrize("policy", POLICIES)
def test_a_batch_answers_what_one_by_one_answers(service, policy):
    users = [str(u) for u in service.folder.dataset.user_ids[:12]]
    extra = {} if policy is None else {"policy": policy}
    requests = [_request(user=u, k=5 + n % 3, **extra) for n, u in enumerate(users + users[:3])]
    alone = [service.recommend(r) for r in requests]
    together = service.recommend_many(requests)
    assert together == alone
    assert all(len(a.items) == r.k for a, r in zip(alone, requests, strict=True))


def test_errors_in_a_batch_stay_with_their_requests(service):
    user = str(service.folder.dataset.user_ids[0])
    items = [str(i) for i in service.folder.dataset.item_ids[:3]]
    requests = [
        _request(user=user),
        _request(user="nobody"),
        _request(user=user, policy={"method": "fair", "params": {"pp": 1}}),
        _request(user=user, policy={"method": "ugf"}),
        _request(history=items, k=4),
        _request(user=user, k=10_000),
    ]
    answers = service.recommend_many(requests)
    assert answers[0] == service.recommend(requests[0])
    assert [a.status for a in answers[1:4]] == [404, 422, 422]
    assert "'nobody'" in answers[1].message and "['pp']" in answers[2].message
    assert "ugf re-ranks all users' lists together" in answers[3].message
    assert len(answers[4].items) == 4 and not {e.item for e in answers[4].items} & set(items)
    assert isinstance(answers[5], RequestError)
    assert "larger than the catalogue" in answers[5].message


def test_the_service_encodes_known_users_once(service, sasrec_run):
    from equirec.workflows.recommend import recommend

    model = service.model
    assert model._prepared is not None and model._prepared[0] is service.known.history
    user = service.folder.dataset.user_ids[7]
    expected = recommend(sasrec_run, users=[user], k=10).frame  # a fresh, unprepared model
    got = service.recommend(_request(user=str(user), k=10))
    assert [e.item for e in got.items] == expected["item"].tolist()
    assert [e.score for e in got.items] == pytest.approx(expected["score"].tolist(), abs=1e-6)
