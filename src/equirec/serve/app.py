"""The FastAPI application: :func:`create_app` over a :class:`~equirec.serve.service.RunService`.

Endpoints: ``POST /recommend``, ``POST /explain`` (why an item is in a known user's list,
worked out in a thread of its own), ``GET /items/{item_id}``, ``GET /users`` (some known user ids),
``GET /users/{user_id}/history``, ``GET /health``, ``GET /run``, FastAPI's documentation
(``/docs``, ``/openapi.json``) and a page at ``GET /`` (:mod:`equirec.serve.page`, its assets
under ``/static``). Bad requests are answered with a 4xx whose ``detail`` names the field or id:
422 for a missing, unknown or wrong-typed field (and ``k`` beyond the catalogue, an unknown
policy, parameter or explanation method, an item to explain that is not in the list), 404 for
an unknown user or item, 413 for a body over the limit. Nothing a client sends should give a
500.
"""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from equirec.errors import ConfigError, DataError, EquirecError
from equirec.serve._extra import INSTALL

try:
    from fastapi import FastAPI, Query, Request
    from fastapi.encoders import jsonable_encoder
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import HTMLResponse, JSONResponse, Response
    from fastapi.staticfiles import StaticFiles
    from starlette.exceptions import HTTPException as StarletteHTTPException
    from starlette.types import ASGIApp, Message, Receive, Scope, Send
except ImportError as err:  # pragma: no cover - the extra is installed for the tests
    raise ConfigError(f"equirec serve needs FastAPI ({err}): {INSTALL}") from None

from equirec.serve.batching import Batcher
from equirec.serve.page import render_page
from equirec.serve.policy import read_policy
from equirec.serve.schemas import (
    ExplainRequest,
    ExplainResponse,
    Health,
    ItemInfo,
    RecommendRequest,
    RecommendResponse,
    RunInfo,
    ServicePolicy,
    UserHistory,
    UserList,
)
from equirec.serve.service import RequestError, RunService

log = logging.getLogger(__name__)

__all__ = ["MAX_BATCH", "MAX_BODY", "MAX_HISTORY_SHOWN", "MAX_USERS", "app_from_env", "create_app"]

MAX_BODY = 64 * 1024
"""The largest request body accepted, in bytes (a larger one is answered 413)."""

MAX_BATCH = 64
"""The most ``POST /recommend`` requests scored together by default."""

MAX_USERS = 1000
"""The most user ids one ``GET /users`` lists."""

MAX_HISTORY_SHOWN = 500
"""The most items one ``GET /users/{id}/history`` lists."""

PAGE_POLICY = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
"""The page's Content-Security-Policy: its own stylesheet, script and endpoints, nothing else."""

RUN_DIR_ENV = "EQUIREC_SERVE_RUN_DIR"
THREADS_ENV = "EQUIREC_SERVE_THREADS"
POLICY_ENV = "EQUIREC_SERVE_POLICY"
"""How :func:`app_from_env` (one per uvicorn worker) learns the run folder, torch threads and
policy file."""

_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "an unknown user or item (named)"},
    413: {"description": "the body is larger than the limit"},
    422: {
        "description": "a missing, unknown or wrong-typed field, k beyond the catalogue, an "
        "unknown policy or parameter (named); for /explain also an unknown method, one the "
        "model does not support, an item not in the user's list"
    },
}


def create_app(
    run_dir: str | Path,
    *,
    threads: int | None = 1,
    max_body: int = MAX_BODY,
    max_batch: int = MAX_BATCH,
    policy: str | Path | ServicePolicy | None = None,
) -> FastAPI:
    """The service of a run folder, loaded now (safetensors and JSON only).

    Args:
        run_dir: A folder written by ``equirec run`` with a saved model.
        threads: Torch threads of this process (``torch.set_num_threads``); ``None`` leaves
            torch's default. One per worker suits a server with one worker per core.
        max_body: The largest request body in bytes.
        max_batch: The most ``POST /recommend`` requests scored in one call (those waiting
            while the scorer is busy; :mod:`equirec.serve.batching`); 1 scores one at a time.
        policy: The service's policy, or a TOML file holding it (:mod:`equirec.serve.policy`):
            it re-ranks every known user's list whose request names no policy.

    Raises:
        DataError: Not a run folder, or one without a saved model.
        ConfigError: ``threads``, ``max_body`` or ``max_batch`` not positive; FastAPI not
            installed.
    """
    if threads is not None:
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ConfigError(f"serve: threads must be a positive integer, got {threads!r}")
        import torch

        torch.set_num_threads(threads)
    if max_body < 1:
        raise ConfigError(f"serve: max_body must be a positive number of bytes, got {max_body}")
    if max_batch < 1:
        raise ConfigError(f"serve: max_batch must be a positive integer, got {max_batch}")
    source = None
    if policy is not None and not isinstance(policy, ServicePolicy):
        source = Path(policy)
        policy = read_policy(source)
    try:
        service = RunService(run_dir, policy=policy)
    except ConfigError as err:  # the policy cannot re-rank this run's lists
        if source is None:
            raise
        raise ConfigError(f"--policy {source}: {err}") from None
    app = FastAPI(
        title="equirec",
        summary=f"Recommendations of the run {Path(run_dir).name} ({service.model.name})",
        description="Top-k recommendations of a saved equirec run, for the users it knows or "
        "from a given history, optionally re-ranked by a fairness policy.",
        version=_version(),
    )
    app.state.service = service
    app.add_middleware(BodyLimit, limit=max_body)
    _handlers(app)

    batcher: Batcher[RecommendRequest, RecommendResponse | RequestError] = Batcher(
        service.recommend_many, max_batch=max_batch
    )
    app.state.batcher = batcher
    # Explanations take seconds of CPU: worked out in a thread of their own, one at a time,
    # while the event loop goes on answering (and the default thread pool, which runs the
    # look-ups, is never filled by explanations waiting their turn).
    explaining = ThreadPoolExecutor(max_workers=1, thread_name_prefix="equirec-explain")
    app.state.explaining = explaining

    @app.post("/recommend", response_model=RecommendResponse, responses=_ERRORS)
    async def post_recommend(request: RecommendRequest) -> Response:
        """Top ``k`` of a known user (``user``) or of a new user or session (``history``)."""
        answer = await batcher.submit(request)
        if isinstance(answer, RequestError):
            raise answer
        # Built and checked by the service already: serialised once, not validated again.
        return Response(answer.model_dump_json(), media_type="application/json")

    @app.post("/explain", response_model=ExplainResponse, responses=_ERRORS)
    async def post_explain(request: ExplainRequest) -> ExplainResponse:
        """Why an item is in a known user's top ``k`` (default: the first), in words and the
        past items behind it, as ``equirec explain`` says it."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(explaining, service.explain, request)

    @app.get("/items/{item_id:path}", responses={404: _ERRORS[404]})
    def get_item(item_id: str) -> ItemInfo:
        """An item's attributes (title when the dataset has one) and known popularity."""
        return service.item(item_id)

    @app.get("/users")
    def get_users(
        q: str | None = Query(
            default=None, max_length=256, description="keep the ids holding this (any case)"
        ),
        limit: int = Query(default=50, ge=1, le=MAX_USERS, description="ids listed at most"),
    ) -> UserList:
        """Some of the users the run knows (in its order), and how many match."""
        return service.users(query=q, limit=limit)

    @app.get("/users/{user_id:path}/history", responses={404: _ERRORS[404]})
    def get_history(
        user_id: str,
        limit: int = Query(default=20, ge=1, le=MAX_HISTORY_SHOWN, description="items at most"),
    ) -> UserHistory:
        """A known user's known items with their titles, most recent first."""
        return service.history(user_id, limit=limit)

    @app.get("/health")
    def get_health() -> Health:
        """The service is up and its run loaded."""
        return service.health()

    @app.get("/run")
    def get_run() -> RunInfo:
        """The run served: dataset, model, overall metrics, the audit's headline findings."""
        return service.info

    page = render_page(
        run=Path(run_dir).resolve().name,
        model=service.model.name,
        users=service.folder.dataset.n_users,
        items=service.n_items,
        max_k=min(100, service.n_items),
    )

    @app.get("/", include_in_schema=False)
    def get_page() -> HTMLResponse:
        """The page: pick a user or type items, see the lists plain and under a policy."""
        return HTMLResponse(page, headers={"Content-Security-Policy": PAGE_POLICY})

    app.mount("/static", StaticFiles(packages=[("equirec.serve", "static")]), name="static")
    return app


def app_from_env() -> FastAPI:
    """:func:`create_app` from ``EQUIREC_SERVE_RUN_DIR`` and ``EQUIREC_SERVE_THREADS``: the
    factory each uvicorn worker calls."""
    run_dir = os.environ.get(RUN_DIR_ENV)
    if not run_dir:
        raise ConfigError(f"{RUN_DIR_ENV} is not set; start the service with `equirec serve`")
    threads = os.environ.get(THREADS_ENV, "1")
    policy = os.environ.get(POLICY_ENV) or None
    return create_app(run_dir, threads=int(threads) if threads != "0" else None, policy=policy)


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestError)
    async def request_error(request: Request, exc: RequestError) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = jsonable_encoder(exc.errors(), custom_encoder={Exception: str})
        for error in errors:  # the input can be large; the field and the message name it
            error.pop("input", None)
            error.pop("url", None)
        message = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}" for e in errors
        )
        return JSONResponse({"detail": errors, "message": message}, status_code=422)

    @app.exception_handler(DataError)
    async def data_error(request: Request, exc: DataError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    @app.exception_handler(EquirecError)
    async def config_error(request: Request, exc: EquirecError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
        )


class BodyLimit:
    """ASGI middleware: a request body over ``limit`` bytes is answered 413 before the app reads
    it (by its ``Content-Length``, or counted as it streams in)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                await _reply(scope, receive, send, 400, "Content-Length is not a number")
                return
            if declared > self.limit:
                await self._too_large(scope, receive, send)
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._too_large(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        await _reply(
            scope, receive, send, 413, f"the request body is larger than {self.limit} bytes"
        )


async def _reply(scope: Scope, receive: Receive, send: Send, status: int, text: str) -> None:
    await JSONResponse({"detail": text}, status_code=status)(scope, receive, send)


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("equirec")
    except metadata.PackageNotFoundError:  # pragma: no cover
        return "unknown"
