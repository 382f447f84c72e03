"""CloudWatch Logs' JSON 1.1 protocol, beside SageMaker's on ``POST /``:
``X-Amz-Target: Logs_20140328.<Operation>``, signed for the service ``logs``, requests
checked against botocore's ``logs`` service model, errors in the same ``__type`` /
``message`` envelope with Logs' codes (``InvalidParameterException``,
``ResourceNotFoundException``).

Inside the server a Logs operation is known by its IAM action, ``logs:<Operation>``
(what the access-key policies and the authenticator see), a SageMaker operation by its
bare name.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from botocore.loaders import create_loader
from botocore.model import ServiceModel, StructureShape

from tunelab.api.wire import ApiError
from tunelab.domain.shape_check import check_shape

TARGET_PREFIX = "Logs_20140328."
ACTION_PREFIX = "logs:"
SIGNING_SERVICE = "logs"
SERVICE_NAME = "logs"

Request = dict[str, Any]
Response = dict[str, Any]
LogsHandler = Callable[[Any, Request], Response]
LOGS_HANDLERS: dict[str, LogsHandler] = {}
"""Handlers by operation name (``GetLogEvents``), filled by ``tunelab.api.logs_handlers``."""


def logs_operation(name: str) -> Callable[[LogsHandler], LogsHandler]:
    def register(handler: LogsHandler) -> LogsHandler:
        LOGS_HANDLERS[name] = handler
        return handler

    return register


def is_logs_action(operation: str) -> bool:
    """Whether ``operation`` (as the server names it) is a CloudWatch Logs action."""
    return operation.startswith(ACTION_PREFIX)


def action_of(target: str) -> str | None:
    """``logs:<Operation>`` for a Logs ``X-Amz-Target``; None for another target.
    ``UnknownOperationException`` for a Logs operation tunelab does not serve."""
    if not target.startswith(TARGET_PREFIX):
        return None
    name = target[len(TARGET_PREFIX) :]
    if name not in LOGS_HANDLERS:
        served = ", ".join(sorted(LOGS_HANDLERS))
        raise ApiError(
            "UnknownOperationException",
            f"tunelab does not serve {TARGET_PREFIX}{name[:64]}; of CloudWatch Logs it serves "
            f"the training jobs' logs: {served}",
        )
    return ACTION_PREFIX + name


@lru_cache(maxsize=1)
def service_model() -> ServiceModel:
    """botocore's CloudWatch Logs ``ServiceModel``."""
    data = create_loader().load_service_model(SERVICE_NAME, "service-2")
    return ServiceModel(data, service_name=SERVICE_NAME)


def input_shape(name: str) -> StructureShape:
    shape = service_model().operation_model(name).input_shape
    assert isinstance(shape, StructureShape)
    return shape


def check_request(name: str, request: Request) -> None:
    """``InvalidParameterException`` naming each member of ``request`` that breaks
    operation ``name``'s input shape, and the rule."""
    violations = check_shape(request, input_shape(name), "")
    if not violations:
        return
    lines = [str(v) for v in violations]
    count = f"{len(lines)} validation errors: " if len(lines) > 1 else ""
    message = count + "; ".join(lines)
    raise ApiError("InvalidParameterException", message)


def handle(context: Any, action: str, request: Request) -> Response:
    """Check ``request`` and run the handler of ``action`` (``logs:<Operation>``)."""
    name = action[len(ACTION_PREFIX) :]
    check_request(name, request)
    return LOGS_HANDLERS[name](context, request)
