"""The ASGI application: SageMaker's JSON 1.1 API on ``POST /``.

Per request: resolve ``X-Amz-Target`` to an operation, authenticate (SigV4) and
authorize, parse the body, check it against botocore's input shape for the
operation, run the handler in a worker thread (the store is synchronous), and
answer with the output shape or an AWS error envelope. Bad input is never a 500.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from tunelab.api import handlers_resources  # noqa: F401  (registers its operations)
from tunelab.api.handlers import HANDLERS, Context
from tunelab.api.wire import CONTENT_TYPE, TARGET_PREFIX, ApiError, encode, parse_body
from tunelab.domain.errors import TunelabError, ValidationError
from tunelab.domain.shape_check import check_input
from tunelab.service.algorithms import AlgorithmService
from tunelab.service.scheduler import Scheduler
from tunelab.service.settings import Settings
from tunelab.service.training import TrainingService
from tunelab.service.tuning import TuningService

log = logging.getLogger("tunelab.api")


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
        if services.scheduler is not None:
            services.scheduler.start()
        try:
            yield
        finally:
            if services.scheduler is not None:
                await run_in_threadpool(services.scheduler.shutdown)

    async def endpoint(request: Request) -> Response:
        request_id = str(uuid.uuid4())
        try:
            body = await request.body()
            operation = _operation(request)
            caller = authenticate(request, body, operation) if authenticate else Caller(None)
            payload = await run_in_threadpool(_handle, services, caller, operation, body)
            return _reply(200, payload, request_id)
        except ApiError as error:
            return _reply(error.status, error.body(), request_id)
        except Exception:
            log.exception("request %s failed", request_id)
            failure = ApiError("InternalFailure", "an internal error occurred; see the log")
            return _reply(500, failure.body(), request_id)

    async def ping(request: Request) -> Response:
        return Response(b"ok", media_type="text/plain")

    routes: list[BaseRoute] = [
        Route("/", endpoint, methods=["POST"]),
        Route("/ping", ping, methods=["GET"]),
        *extra_routes,
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def _operation(request: Request) -> str:
    target = request.headers.get("x-amz-target", "")
    if not target.startswith(TARGET_PREFIX):
        raise ApiError("UnknownOperationException", f"unknown X-Amz-Target {target!r}")
    operation = target[len(TARGET_PREFIX) :]
    if operation not in HANDLERS:
        raise ApiError(
            "UnknownOperationException", f"tunelab does not serve SageMaker.{operation}"
        )
    return operation


def _handle(services: Services, caller: Caller, operation: str, body: bytes) -> bytes:
    request = parse_body(body)
    violations = check_input(operation, request)
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
