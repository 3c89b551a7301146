"""What the service answers, apart from HTTP: a run opened once, requests checked and scored.

:class:`RunService` opens the run folder at start-up (config, ``model/settings.json``,
``model/weights.safetensors``: nothing is unpickled or executed) and scores every request through
:func:`~equirec.workflows.recommend.recommend`, the code path of ``equirec recommend``. A request
it cannot answer raises :class:`RequestError` with the HTTP status and a message naming the field
or id; the application (:mod:`equirec.serve.app`) turns it into the response.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from pathlib import Path
from typing import Any

import pandas as pd

from equirec.errors import EquirecError
from equirec.io import jsonable
from equirec.serve.schemas import (
    AuditInfo,
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
    UserHistory,
    UserList,
)
from equirec.workflows.recommend import DEFAULT_DEPTH, recommend
from equirec.workflows.rundir import AUDIT_JSON, RunFolder, open_run

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
    """A saved run, loaded once, answering recommendation and look-up requests.

    Scoring holds a lock: one request at a time per process (a worker scores on its own torch
    threads; run more workers to use more cores).

    Args:
        run_dir: A folder written by ``equirec run`` with a saved model.

    Raises:
        DataError: Not a run folder, or one without a saved model.
    """

    def __init__(self, run_dir: str | Path) -> None:
        self.folder: RunFolder = open_run(run_dir)
        self.model = self.folder.model  # loaded now (DataError without model/), not per request
        self.known = self.folder.known
        dataset = self.folder.dataset
        self.n_items = dataset.n_items
        self._users = pd.Index(dataset.user_ids.astype(str))
        self._items = pd.Index(dataset.item_ids.astype(str))
        self._titles = _titles(dataset.item_attributes, self.n_items)
        self._lock = threading.Lock()
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
        """The top ``k`` of a known user or a given history, through ``recommend``.

        Raises:
            RequestError: 422 for ``k`` or ``depth`` beyond the catalogue, a policy for a
                history, an unknown policy or parameter; 404 for an unknown user or item.
        """
        for name, value in (("k", request.k), ("depth", request.depth)):
            if value is not None and value > self.n_items:
                raise RequestError(
                    422, f"{name}: {value} is larger than the catalogue ({self.n_items} items)"
                )
        policy = request.policy
        if policy is not None and request.history is not None:
            raise RequestError(
                422,
                "policy: a policy re-ranks the lists of users the run knows; send a history "
                "without one",
            )
        depth = request.depth or min(DEFAULT_DEPTH, self.n_items)
        options: dict[str, Any] = {
            "k": request.k,
            "policy": None if policy is None else policy.method,
            "params": None if policy is None else dict(policy.params),
            "depth": depth,
        }
        if request.user is not None:
            user = self._known_user(request.user)
            recs = self._score(users=[user], **options)
        else:
            history = self._known_items(request.history or [])
            recs = self._score(histories={SESSION: history}, **options)
        positions = self._items.get_indexer(recs.frame["item"].astype(str))
        items = [
            RankedItem(
                item=_id(row.item),
                rank=int(row.rank),
                score=_number(row.score),
                title=self._titles[pos] if pos >= 0 else None,
            )
            for row, pos in zip(recs.frame.itertuples(index=False), positions, strict=True)
        ]
        return RecommendResponse(
            user=request.user,
            items=items,
            policy=None if recs.policy is None else Policy.model_validate(jsonable(recs.policy)),
            notes=list(recs.notes),
        )

    def item(self, item_id: str) -> ItemInfo:
        """An item's attributes and known popularity.

        Raises:
            RequestError: 404 for an item the run does not know.
        """
        pos = self._items.get_indexer([item_id])[0]
        if pos < 0:
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
    def _score(self, **kwargs: Any) -> Any:
        try:
            with self._lock:
                return recommend(self.folder, **kwargs)
        except EquirecError as err:  # an unknown policy or parameter, a bad value
            raise RequestError(422, str(err)) from None

    def _known_user(self, user: str | int) -> Any:
        return self.folder.dataset.user_ids[self._user_position(user)]

    def _user_position(self, user: str | int) -> int:
        pos = int(self._users.get_indexer([str(user)])[0])
        if pos < 0:
            raise RequestError(
                404,
                f"user: {user!r} is not known to the run; send its items as history to rank it "
                "as a new user",
            )
        return pos

    def _known_items(self, items: list[str | int]) -> list[Any]:
        codes = self._items.get_indexer([str(i) for i in items])
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


def _titles(attributes: pd.DataFrame | None, n_items: int) -> list[str | None]:
    """Every item's title (its ``title`` attribute when it is text), by position."""
    if attributes is None or "title" not in attributes.columns:
        return [None] * n_items
    return [t if isinstance(t, str) and t else None for t in attributes["title"].tolist()]


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
