"""What the service answers, apart from HTTP: a run opened once, requests checked and scored.

:class:`RunService` opens the run folder at start-up (config, ``model/settings.json``,
``model/weights.safetensors``: nothing is unpickled or executed) and scores every request through
:func:`~equirec.workflows.recommend.rank_known` and
:func:`~equirec.workflows.recommend.rank_histories`, the code path of ``equirec recommend``
(without its frame). The known users are encoded once at start-up
(:meth:`~equirec.models.base.Recommender.prepare`). Explanations go through
:class:`~equirec.workflows.explain.Explainer`, the code path of ``equirec explain``, built on the
first one from the same open run. A request it cannot answer raises :class:`RequestError` with
the HTTP status and a message naming the field or id; the application (:mod:`equirec.serve.app`)
turns it into the response.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from equirec.data.lists import RankedLists
from equirec.errors import ConfigError, EquirecError
from equirec.io import jsonable
from equirec.mitigation.rerank.build import joint_steps
from equirec.serve.schemas import (
    AuditInfo,
    ExplainRequest,
    ExplainResponse,
    Finding,
    Health,
    ItemInfo,
    ItemRef,
    ModelInfo,
    Policy,
    RankedItem,
    RecommendRequest,
    RecommendResponse,
    RunInfo,
    ServicePolicy,
    UserHistory,
    UserList,
)
from equirec.workflows.recommend import DEFAULT_DEPTH, rank_histories, rank_known
from equirec.workflows.rundir import AUDIT_JSON, RunFolder, open_run

if TYPE_CHECKING:
    from equirec.workflows.explain import Explainer

log = logging.getLogger(__name__)

__all__ = ["RequestError", "RunService"]

SESSION = "session"
"""The key a history request is ranked under (the response says ``user: null``)."""


class RequestError(Exception):
    """A request the service cannot answer: the HTTP status and a message for the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class RunService:
    """A saved run, loaded once, answering recommendation, explanation and look-up requests.

    Scoring holds a lock: one request at a time per process (a worker scores on its own torch
    threads; run more workers to use more cores). Explanations hold a lock of their own, one at
    a time, so that a long one does not hold up the lists: they only read the model.

    Args:
        run_dir: A folder written by ``equirec run`` with a saved model.
        policy: The service's policy: it re-ranks the lists of known users whose request
            names no policy (:mod:`equirec.serve.policy`).

    Raises:
        DataError: Not a run folder, or one without a saved model.
        ConfigError: A policy that cannot re-rank this run's lists one by one (an unknown
            re-ranker or parameter, a joint re-ranker, a depth beyond the catalogue).
    """

    def __init__(self, run_dir: str | Path, *, policy: ServicePolicy | None = None) -> None:
        self.folder: RunFolder = open_run(run_dir)
        self.model = self.folder.model  # loaded now (DataError without model/), not per request
        self.known = self.folder.known
        self.model.prepare(self.known.history)  # the users it knows, encoded once
        dataset = self.folder.dataset
        self.n_items = dataset.n_items
        self._users = pd.Index(dataset.user_ids.astype(str))
        self._items = pd.Index(dataset.item_ids.astype(str))
        self._titles = dataset.item_titles()
        # Look-ups by the ids' text, and the ids as answered, by position: no pandas per request.
        self._user_of = {u: n for n, u in enumerate(self._users)}
        self._item_of = {i: n for n, i in enumerate(self._items)}
        self._item_ids = [_id(i) for i in dataset.item_ids]
        self._lock = threading.Lock()
        self._explain_lock = threading.Lock()
        self._explainer: Explainer | None = None
        self.policy = policy
        if policy is not None:
            self._check_policy(policy)
        self.info = self._run_info()
        log.info(
            "serving %s (%s): %d users, %d items",
            self.folder.path,
            self.model.name,
            dataset.n_users,
            self.n_items,
        )

    # -- requests ---------------------------------------------------------------------------
    def recommend(self, request: RecommendRequest) -> RecommendResponse:
        """The top ``k`` of a known user or a given history, as ``equirec recommend`` ranks it.

        Raises:
            RequestError: 422 for ``k`` or ``depth`` beyond the catalogue, a policy for a
                history, an unknown policy or parameter, a policy that re-ranks all lists
                together; 404 for an unknown user or item.
        """
        (answer,) = self.recommend_many([request])
        if isinstance(answer, RequestError):
            raise answer
        return answer

    def recommend_many(
        self, requests: Sequence[RecommendRequest]
    ) -> list[RecommendResponse | RequestError]:
        """The answers of several requests, in order: each a response or its error.

        Known users asking the same ``k``, policy and depth are ranked in one call, a list per
        user; a policy re-ranks each list on its own (the service refuses those that choose
        all lists together), so an answer never depends on the requests it was scored with.
        Histories are ranked one by one.
        """
        answers: list[RecommendResponse | RequestError | None] = [None] * len(requests)
        groups: dict[tuple[Any, ...], list[int]] = {}
        for n, request in enumerate(requests):
            try:
                if request.history is not None:
                    answers[n] = self._from_history(request)
                else:
                    groups.setdefault(self._group(request), []).append(n)
            except RequestError as err:
                answers[n] = err
        for (k, method, _, depth), members in groups.items():
            policy, _ = self._policy_of(requests[members[0]])
            users = np.array(
                [self._user_of[str(requests[n].user)] for n in members], dtype=np.int64
            )
            try:
                with self._lock:
                    lists, guarantee = rank_known(
                        self.folder,
                        users,
                        k=k,
                        policy=method,
                        params=None if policy is None else dict(policy.params),
                        depth=depth,
                    )
            except EquirecError as err:  # an unknown parameter, a bad value
                for n in members:
                    answers[n] = RequestError(422, str(err))
                continue
            for row, n in enumerate(members):
                notes = []
                if guarantee is not None and not guarantee.columns["guarantee_met"][row]:
                    notes.append(
                        f"{method}: this list does not keep its guarantee "
                        f"({guarantee.guarantee}): {guarantee.columns['reason'][row]}"
                    )
                answers[n] = self._response(requests[n], lists, row, notes, policy)
        return [a for a in answers if a is not None]

    def _group(self, request: RecommendRequest) -> tuple[Any, ...]:
        """What a known user's request is ranked with: ``(k, method, params, depth)``, checked."""
        self._check_sizes(request)
        assert request.user is not None  # RecommendRequest holds a user or a history
        self._user_position(request.user)
        policy, depth = self._policy_of(request)
        if policy is None:
            return (request.k, None, None, None)
        try:
            joint = joint_steps(policy.method)
        except EquirecError as err:
            raise RequestError(422, f"policy.method: {err}") from None
        if joint:
            raise RequestError(
                422,
                f"policy.method: {', '.join(joint)} re-ranks all users' lists together (group "
                "means, exposure over all lists), so it cannot re-rank one request's list; "
                "use `equirec rerank` on the run",
            )
        params = json.dumps(policy.params, sort_keys=True, default=str)
        return (request.k, policy.method, params, depth or min(DEFAULT_DEPTH, self.n_items))

    def _policy_of(self, request: RecommendRequest) -> tuple[Policy | None, int | None]:
        """The policy a request is ranked under (its own, or the service's) and its depth."""
        if "policy" in request.model_fields_set or self.policy is None:
            return request.policy, request.depth
        return self.policy, request.depth or self.policy.depth

    def _check_policy(self, policy: ServicePolicy) -> None:
        """Rank one known user under ``policy`` now, so that a bad one fails at start-up."""
        if policy.depth is not None and policy.depth > self.n_items:
            raise ConfigError(
                f"policy depth: {policy.depth} is larger than the catalogue ({self.n_items} items)"
            )
        request = RecommendRequest(user=_id(self.folder.dataset.user_ids[0]), policy=policy)
        answer = self.recommend_many([request])[0]
        if isinstance(answer, RequestError):
            raise ConfigError(f"policy: {answer.message}")

    def _from_history(self, request: RecommendRequest) -> RecommendResponse:
        self._check_sizes(request)
        if request.policy is not None:
            raise RequestError(
                422,
                "policy: a policy re-ranks the lists of users the run knows; send a history "
                "without one",
            )
        history = self._known_items(request.history or [])
        try:
            with self._lock:
                lists, notes = rank_histories(self.folder, {SESSION: history}, k=request.k)
        except EquirecError as err:
            raise RequestError(422, str(err)) from None
        if self.policy is not None and "policy" not in request.model_fields_set:
            notes = [
                *notes,
                f"the service's policy ({self.policy.method}) re-ranks the lists of users the "
                "run knows; this history's list is the model's",
            ]
        return self._response(request, lists, 0, notes, None)

    def _check_sizes(self, request: RecommendRequest) -> None:
        for name, value in (("k", request.k), ("depth", request.depth)):
            self._check_size(name, value)

    def _check_size(self, name: str, value: int | None) -> None:
        if value is not None and value > self.n_items:
            raise RequestError(
                422, f"{name}: {value} is larger than the catalogue ({self.n_items} items)"
            )

    def _response(
        self,
        request: RecommendRequest,
        lists: RankedLists,
        row: int,
        notes: list[str],
        policy: Policy | None,
    ) -> RecommendResponse:
        items = [
            RankedItem(
                item=self._item_ids[pos], rank=rank, score=_number(score), title=self._titles[pos]
            )
            for rank, (pos, score) in enumerate(
                zip(lists.items[row].tolist(), lists.scores[row].tolist(), strict=True), start=1
            )
            if pos >= 0
        ]
        applied = None if policy is None else Policy(method=policy.method, params=policy.params)
        return RecommendResponse(user=request.user, items=items, policy=applied, notes=notes)

    def explain(self, request: ExplainRequest) -> ExplainResponse:
        """Why an item is in a known user's top ``k``, as ``equirec explain`` says it.

        CPU work (a counterfactual search re-scores the history many times): the application
        runs it in a worker thread, one explanation at a time.

        Raises:
            RequestError: 404 for an unknown user or item; 422 for ``k`` beyond the catalogue,
                an item not in the user's top ``k``, a method the model does not support (the
                workflow's messages).
        """
        self._check_size("k", request.k)
        with self._explain_lock:
            explainer = self._explainer
            if explainer is None:
                from equirec.workflows.explain import Explainer

                explainer = self._explainer = Explainer(self.folder)
            try:
                found = explainer.explain(
                    user=request.user,
                    item=request.item,
                    k=request.k,
                    method=request.method,
                    top=request.top,
                    max_size=request.max_size,
                )
            except EquirecError as err:  # the workflow names the user, item or method
                raise RequestError(self._explain_status(request), str(err)) from None
        return ExplainResponse.model_validate(found.to_dict())

    def _explain_status(self, request: ExplainRequest) -> int:
        """404 when the request names a user or item the run does not know, else 422.

        The workflow checks the user, then the item, before anything else it refuses (``k`` is
        checked here first, the method by the request's schema), so an unknown id is what it
        refused.
        """
        unknown_user = str(request.user) not in self._user_of
        unknown_item = request.item is not None and str(request.item) not in self._item_of
        return 404 if unknown_user or unknown_item else 422

    def item(self, item_id: str) -> ItemInfo:
        """An item's attributes and known popularity.

        Raises:
            RequestError: 404 for an item the run does not know.
        """
        pos = self._item_of.get(item_id)
        if pos is None:
            raise RequestError(404, f"item {item_id!r} is not in the run's catalogue")
        dataset = self.folder.dataset
        original = dataset.item_ids[pos]
        attributes: dict[str, Any] = {}
        if dataset.item_attributes is not None:
            row = dataset.item_attributes.iloc[pos]
            attributes = {str(k): jsonable(_plain(v)) for k, v in row.items()}
        title = attributes.get("title")
        return ItemInfo(
            item=_id(original),
            title=title if isinstance(title, str) else None,
            attributes=attributes,
            popularity=int(self.known.popularity[pos]),
        )

    def users(self, *, query: str | None = None, limit: int = 50) -> UserList:
        """The first ``limit`` users the run knows (in its vocabulary's order) whose id holds
        ``query`` (ignoring case), and how many match."""
        ids = self._users
        if query:
            ids = ids[ids.str.contains(query, case=False, regex=False)]
        original = self.folder.dataset.user_ids[self._users.get_indexer(ids[:limit])]
        return UserList(total=len(ids), users=[_id(u) for u in original])

    def history(self, user: str, *, limit: int = 20) -> UserHistory:
        """A known user's most recent ``limit`` known items, newest first, with their titles.

        Raises:
            RequestError: 404 for a user the run does not know.
        """
        pos = self._user_position(user)
        sequence = self.known.history.sequence(pos)
        recent = sequence[::-1][:limit]
        item_ids = self.folder.dataset.item_ids
        return UserHistory(
            user=_id(self.folder.dataset.user_ids[pos]),
            total=len(sequence),
            items=[ItemRef(item=_id(item_ids[i]), title=self._titles[i]) for i in recent],
        )

    def health(self) -> Health:
        """The service's state."""
        return Health(
            status="ok",
            model=self.model.name,
            users=self.folder.dataset.n_users,
            items=self.n_items,
        )

    # -- internals ----------------------------------------------------------------------------
    def _user_position(self, user: str | int) -> int:
        pos = self._user_of.get(str(user))
        if pos is None:
            raise RequestError(
                404,
                f"user: {user!r} is not known to the run; send its items as history to rank it "
                "as a new user",
            )
        return pos

    def _known_items(self, items: list[str | int]) -> list[Any]:
        codes = [self._item_of.get(str(i), -1) for i in items]
        unknown = [items[n] for n in range(len(items)) if codes[n] < 0]
        if unknown:
            shown = ", ".join(repr(i) for i in list(dict.fromkeys(unknown))[:5])
            raise RequestError(
                404, f"history: {len(unknown)} item id(s) not in the run's catalogue: {shown}"
            )
        return list(self.folder.dataset.item_ids[codes])

    def _run_info(self) -> RunInfo:
        path = self.folder.path
        metrics = _read_json(path / "metrics.json") or {}
        overall = metrics.get("overall") if isinstance(metrics.get("overall"), dict) else {}
        model = self.model
        saved_model = self.folder.saved.get("model", {})
        params = metrics.get("model_params") or {
            k: v for k, v in saved_model.items() if k != "name"
        }
        dataset = metrics.get("dataset") or self.folder.dataset.stats()
        split = {"method": self.folder.config.split.method, "seed": self.folder.config.seed}
        if isinstance(metrics.get("split_sizes"), dict):
            split["sizes"] = metrics["split_sizes"]
        return RunInfo(
            dataset=jsonable(dataset),
            model=ModelInfo(name=model.name, params=jsonable(params)),
            split=jsonable(split),
            metrics={str(k): _number(v) for k, v in (overall or {}).items()},
            audit=self._audit_info(path / AUDIT_JSON),
            policy=self.policy,
        )

    @staticmethod
    def _audit_info(path: Path) -> AuditInfo | None:
        report = _read_json(path)
        if not isinstance(report, dict):
            return None
        summary = [f for f in report.get("summary") or [] if isinstance(f, dict)]
        findings = []
        for f in summary:
            if not f.get("primary", True):
                continue
            try:
                findings.append(Finding.model_validate({k: f.get(k) for k in Finding.model_fields}))
            except ValueError as err:
                log.warning("%s: a summary finding is not readable (%s); skipped", path, err)
        return AuditInfo(
            schema_version=report.get("schema_version"),
            significant=sum(bool(f.get("significant")) for f in summary),
            findings=findings,
        )


def _read_json(path: Path) -> Any:
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        log.warning("%s: unreadable (%s); left out of GET /run", path, err)
        return None


def _id(value: Any) -> str | int:
    value = value.item() if hasattr(value, "item") else value
    return value if isinstance(value, int) and not isinstance(value, bool) else str(value)


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
