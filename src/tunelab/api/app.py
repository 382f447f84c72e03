"""The ASGI application: SageMaker's JSON 1.1 API on ``POST /``, and beside it the
CloudWatch Logs operations that read training jobs' logs (``tunelab.api.logs_wire``).

Per request: read the body, at most ``MAX_BODY_BYTES`` (5 MiB; a larger one gets HTTP
413 before it is read, or as soon as a chunked one passes it), resolve
``X-Amz-Target`` to an operation, authenticate (SigV4) and
authorize, answer a read whose data has not changed from the answer cache
(``tunelab.api.cache``), else parse the body, check it against botocore's input shape
for the operation, run the handler (reads on a SQLite store on the event loop, the rest
in a worker thread: see ``READS_ON_THE_LOOP``), and answer with the output shape or an
AWS error envelope. Bad input is never a 500.
"""

from __future__ import annotations

import gc
import json
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from random import Random
from typing import Any

import anyio
import anyio.to_thread
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from tunelab.api import handlers_resources, logs_search, logs_wire  # noqa: F401 (registering)
from tunelab.api.cache import ResponseCache, dependencies
from tunelab.api.handlers import HANDLERS, Context
from tunelab.api.wire import (
    CONTENT_TYPE,
    TARGET_PREFIX,
    ApiError,
    encode,
    parse_body,
    read_body,
)
from tunelab.domain.errors import TunelabError, ValidationError
from tunelab.domain.sagemaker_model import input_shape
from tunelab.domain.shape_check import check_input
from tunelab.service.algorithms import AlgorithmService
from tunelab.service.scheduler import Scheduler
from tunelab.service.settings import Settings
from tunelab.service.training import TrainingService
from tunelab.service.tuning import TuningService

log = logging.getLogger("tunelab.api")
CONTENT_TYPE_BYTES = CONTENT_TYPE.encode()
_random = Random()
"""Request ids: ``uuid4`` reads ``os.urandom``, a system call that lets another thread
take the GIL on every request."""
WORKER_THREADS = 8
"""Requests handled at once in worker threads (the store is synchronous). More threads
than this only contend for the GIL and the store's connections; the others wait."""
READS_ON_THE_LOOP = True
"""Reads that may be cached (Describe*, List*) on a SQLite store run on the event loop
itself: they take a millisecond or two, never wait for a writer (WAL), and a hop to a
worker thread costs more than that under load: each of the read's SQLite calls releases
the GIL, and getting it back from the busy event loop takes up to the interpreter's
switch interval (5 ms). Writes, and every request on PostgreSQL, go to worker threads."""


@dataclass(frozen=True)
class Caller:
    """Who sent a request: an access key id (None without authentication) and the
    region of its credential scope."""

    principal: str | None
    region: str | None = None


Authenticate = Callable[[Request, bytes, str], Caller]
"""(request, body, operation) -> caller; raises ``ApiError`` to refuse."""


@dataclass(frozen=True)
class Services:
    settings: Settings
    tuning: TuningService
    training: TrainingService
    algorithms: AlgorithmService
    scheduler: Scheduler | None


def create_app(
    services: Services,
    authenticate: Authenticate | None,
    extra_routes: Sequence[BaseRoute] = (),
) -> Starlette:
    """The API on ``POST /`` (and ``GET /ping`` for health checks), plus
    ``extra_routes`` (the console). ``authenticate`` None: no authentication.
    The app's lifespan starts and stops the scheduler, if there is one."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        _settle()
        if services.scheduler is not None:
            services.scheduler.start()
        try:
            yield
        finally:
            if services.scheduler is not None:
                await run_in_threadpool(services.scheduler.shutdown)

    limiter: list[anyio.CapacityLimiter] = []
    store = services.tuning.store
    changes = getattr(store, "changes", None)
    cache = ResponseCache(None if changes is None else changes.generations)
    inline_reads = READS_ON_THE_LOOP and str(getattr(store, "url", "")).startswith("sqlite")

    async def answer(scope: Scope, receive: Receive) -> tuple[int, bytes, str]:
        """(HTTP status, body, request id) of an API request; its body is read first, at
        most ``MAX_BODY_BYTES`` of it (``read_body``)."""
        request_id = str(uuid.UUID(int=_random.getrandbits(128), version=4))
        try:
            body = await read_body(scope["headers"], receive)
            request = Request(scope)
            operation = _operation(request)
            caller = authenticate(request, body, operation) if authenticate else Caller(None)
            key, seen = _cache_key(operation, caller, body), None
            if key is not None:
                cached, seen = cache.lookup(key, key[-1])
                if cached is not None:
                    return 200, cached, request_id
            if key is not None and inline_reads:
                payload = _handle(services, caller, operation, body)  # see READS_ON_THE_LOOP
            else:
                if not limiter:
                    limiter.append(anyio.CapacityLimiter(WORKER_THREADS))
                payload = await anyio.to_thread.run_sync(
                    _handle, services, caller, operation, body, limiter=limiter[0]
                )
            if key is not None:
                cache.put(key, seen, payload)
            return 200, payload, request_id
        except ApiError as error:
            return error.status, error.body(), request_id
        except Exception:
            log.exception("request %s failed", request_id)
            failure = ApiError("InternalFailure", "an internal error occurred; see the log")
            return 500, failure.body(), request_id

    async def endpoint(request: Request) -> Response:
        status, payload, request_id = await answer(request.scope, request.receive)
        return _reply(status, payload, request_id)

    async def fast_path(scope: Scope, receive: Receive, send: Send) -> None:
        status, payload, request_id = await answer(scope, receive)
        headers = [
            (b"content-type", CONTENT_TYPE_BYTES),
            (b"content-length", str(len(payload)).encode()),
            (b"x-amzn-requestid", request_id.encode()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})

    async def ping(request: Request) -> Response:
        return Response(b"ok", media_type="text/plain")

    routes: list[BaseRoute] = [
        Route("/", endpoint, methods=["POST"]),
        Route("/ping", ping, methods=["GET"]),
        *extra_routes,
    ]
    app = ApiApp(routes=routes, lifespan=lifespan)
    app.api = fast_path
    return app


class ApiApp(Starlette):
    """Starlette, but ``POST /`` goes straight to the API (``api``): Starlette's error
    and exception middleware, its router and its request/response objects cost as much
    CPU as a cached answer itself. The API catches its own errors (a 500 envelope)."""

    api: Callable[[Scope, Receive, Send], Awaitable[None]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.api is not None
            and scope["type"] == "http"
            and scope["path"] == "/"
            and scope["method"] == "POST"
        ):
            await self.api(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


_settled: list[bool] = []


def _settle() -> None:
    """Load botocore's SageMaker model (the request checks need it) and move every
    object alive at start-up out of the garbage collector's sight (``gc.freeze``, once
    per process): the model alone is some 100,000 objects, and each full collection
    walked all of them, stopping the server for about 150 ms, a few times a minute
    under load."""
    for operation in HANDLERS:
        input_shape(operation)
    for name in logs_wire.LOGS_HANDLERS:
        logs_wire.input_shape(name)
    if not _settled:
        _settled.append(True)
        gc.collect()
        gc.freeze()


def _operation(request: Request) -> str:
    """A SageMaker operation's name, or a Logs operation's action (``logs:<Op>``)."""
    target = request.headers.get("x-amz-target", "")
    action = logs_wire.action_of(target)
    if action is not None:
        return action
    if not target.startswith(TARGET_PREFIX):
        raise ApiError("UnknownOperationException", f"unknown X-Amz-Target {target!r}")
    operation = target[len(TARGET_PREFIX) :]
    if operation not in HANDLERS:
        raise ApiError(
            "UnknownOperationException", f"tunelab does not serve SageMaker.{operation}"
        )
    return operation


_SCOPES: dict[tuple[str, bytes], tuple[Any, ...] | None] = {}
"""Scopes of recent read requests, by (operation, body): most reads repeat."""


def _cache_key(operation: str, caller: Caller, body: bytes) -> tuple[Any, ...] | None:
    """(operation, region, body, scopes) for a read whose answer may be cached."""
    if not operation.startswith(("Describe", "List")):
        return None
    known = (operation, body) in _SCOPES
    if not known and len(_SCOPES) > 4096:
        _SCOPES.clear()
    scopes = _SCOPES[(operation, body)] if known else _scopes(operation, body)
    _SCOPES[(operation, body)] = scopes
    return None if scopes is None else (operation, caller.region, body, scopes)


def _scopes(operation: str, body: bytes) -> tuple[Any, ...] | None:
    try:
        request = json.loads(body) if body.strip() else {}
    except (ValueError, RecursionError):  # _handle answers with the error
        return None
    if not isinstance(request, dict):
        return None
    scopes = dependencies(operation, request)
    return None if scopes is None else tuple(scopes)


def _handle(services: Services, caller: Caller, operation: str, body: bytes) -> bytes:
    request = parse_body(body)
    logs = logs_wire.is_logs_action(operation)
    violations = [] if logs else check_input(operation, request)
    try:
        if violations:
            raise ValidationError(violations)
        settings = services.settings
        context = Context(
            tuning=services.tuning,
            training=services.training,
            algorithms=services.algorithms,
            scheduler=services.scheduler,
            principal=caller.principal,
            region=caller.region or settings.region,
            account=settings.account,
        )
        if logs:
            return encode(logs_wire.handle(context, operation, request))
        return encode(HANDLERS[operation](context, request))
    except TunelabError as error:
        raise ApiError.of(error) from None


def _reply(status: int, payload: bytes, request_id: str) -> Response:
    return Response(
        payload,
        status_code=status,
        media_type=CONTENT_TYPE,
        headers={"x-amzn-RequestId": request_id},
    )
