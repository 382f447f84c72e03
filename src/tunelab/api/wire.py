"""SageMaker's JSON 1.1 protocol: what a request carries and what an error looks
like. ``POST /`` with ``X-Amz-Target: SageMaker.<Operation>``; bodies are JSON
objects; errors are ``{"__type": <code>, "message": <text>}`` with a 4xx status
for anything the client got wrong (botocore retries 5xx)."""

from __future__ import annotations

import base64
import hashlib
import json
import math
from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import datetime
from typing import Any, Literal

from tunelab.domain.errors import TunelabError
from tunelab.service.strict_json import JsonRefused, load_strict

CONTENT_TYPE = "application/x-amz-json-1.1"
TARGET_PREFIX = "SageMaker."

STATUS = {
    "ValidationException": 400,
    "ResourceNotFound": 400,
    "ResourceInUse": 400,
    "ResourceLimitExceeded": 400,
    "ConflictException": 409,
    "UnknownOperationException": 400,
    "SerializationException": 400,
    "AccessDeniedException": 400,
    "MissingAuthenticationToken": 403,
    "IncompleteSignatureException": 403,
    "UnrecognizedClientException": 403,
    "InvalidSignatureException": 403,
    "InternalFailure": 500,
}


class ApiError(Exception):
    """An error with an AWS code; ``status`` comes from the table unless given."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.code, self.message = code, message
        self.status = status if status is not None else STATUS.get(code, 400)

    @classmethod
    def of(cls, error: TunelabError) -> ApiError:
        return cls(error.code, error.message)

    def body(self) -> bytes:
        return json.dumps({"__type": self.code, "message": self.message[:1024]}).encode()


MAX_BODY_BYTES = 5 * 1024 * 1024
"""The largest request body the API reads: 5 MiB. SageMaker's request documents are far
smaller (a CreateHyperParameterTuningJob of 10 definitions, each with 100
hyperparameters of 2500 ASCII characters, is under 3 MB). A larger body is refused with
HTTP 413: before any of it is read when ``Content-Length`` announces it, and as soon as
a chunked body passes the limit."""


def body_too_large(announced: int | None = None) -> ApiError:
    """The error for a body over ``MAX_BODY_BYTES`` (``announced``: its Content-Length)."""
    size = f"over {MAX_BODY_BYTES}" if announced is None else f"{announced}"
    return ApiError(
        "SerializationException",
        f"the request body is {size} bytes; the API accepts at most {MAX_BODY_BYTES} "
        "bytes (5 MiB)",
        status=413,
    )


async def read_body(
    headers: Iterable[tuple[bytes, bytes]],
    receive: Callable[[], Awaitable[Mapping[str, Any]]],
    limit: int = MAX_BODY_BYTES,
) -> bytes:
    """The body of an ASGI request, read with ``receive``, if it is at most ``limit``
    bytes; else ``body_too_large`` is raised, without calling ``receive`` when the
    ``Content-Length`` header says so, or right after the chunk that passes the limit."""
    for name, value in headers:  # the HTTP server refuses a malformed Content-Length
        if name.lower() == b"content-length" and value.isdigit() and int(value) > limit:
            raise body_too_large(int(value))
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise body_too_large()
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def parse_body(raw: bytes) -> dict[str, Any]:
    """The request's JSON object (an empty body is ``{}``). ``SerializationException``
    for anything else: text that is not RFC 8259 JSON (``NaN`` and ``Infinity`` tokens
    included), an integer too long to read, a body nested more than 64
    levels (see :mod:`tunelab.service.strict_json`)."""
    if not raw.strip():
        return {}
    try:
        value = load_strict(raw)
    except JsonRefused as error:
        raise ApiError("SerializationException", error.message("the body")) from None
    if not isinstance(value, dict):
        raise ApiError("SerializationException", "the body must be a JSON object")
    return value


def timestamp(value: Any, member: str) -> float | None:
    """Epoch seconds from a request timestamp (number, or ISO 8601 string)."""
    if value is None:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            pass
    raise ApiError("ValidationException", f"{member}: must be a timestamp; got {value!r}")


def encode(payload: Mapping[str, Any]) -> bytes:
    """The response body: strict JSON, a non-finite number written as botocore writes
    one ("Infinity", "-Infinity", "NaN": a metric's value may be infinite)."""
    try:
        return json.dumps(payload, separators=(",", ":"), allow_nan=False).encode()
    except ValueError:
        return json.dumps(_finite(payload), separators=(",", ":"), allow_nan=False).encode()


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, Mapping):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


# -- pagination ------------------------------------------------------------------------

CursorValue = Literal["text", "number", "offset"]
"""What the first element of a page cursor is: a name or status (``text``), a time or
objective value (``number``, finite), or a position in a list (``offset``, >= 0)."""


def _digest(operation: str, filters: Mapping[str, Any]) -> str:
    canonical = json.dumps(
        [operation, filters], sort_keys=True, separators=(",", ":"), default=str
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def next_token(
    cursor: tuple[Any, str] | None, filters: Mapping[str, Any], operation: str
) -> str | None:
    """An opaque token for the page after ``cursor``, bound to the operation and the
    query's filters (stateless: it survives a server restart)."""
    if cursor is None:
        return None
    data = {"o": operation, "c": list(cursor), "q": _digest(operation, filters)}
    encoded = json.dumps(data, separators=(",", ":"))
    return base64.urlsafe_b64encode(encoded.encode()).decode().rstrip("=")


def read_token(
    token: str | None, filters: Mapping[str, Any], operation: str, value: CursorValue
) -> tuple[Any, str] | None:
    """The cursor in ``token`` (its value of kind ``value``); ``ValidationException``
    naming ``NextToken`` for a token that is not one of ours or was edited, was issued
    by another operation, or for a request with other parameters."""
    if not token:
        return None
    invalid = ApiError("ValidationException", f"NextToken: {_shown(token)} is not a valid token")
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        issuer, cursor, digest = data["o"], data["c"], data["q"]
    except (ValueError, KeyError, TypeError, RecursionError):
        raise invalid from None
    if not (isinstance(issuer, str) and isinstance(digest, str) and isinstance(cursor, list)):
        raise invalid
    if len(cursor) != 2:
        raise invalid
    first, name = cursor
    if issuer != operation:
        raise ApiError(
            "ValidationException",
            f"NextToken: the token was issued by {_shown(issuer)}, not by {operation}",
        )
    if digest != _digest(operation, filters):
        raise ApiError(
            "ValidationException",
            "NextToken: the token was issued for a request with other parameters",
        )
    checked = _cursor_value(first, value)
    if checked is None or not _storable_text(name):
        raise invalid
    return checked, name


def _cursor_value(found: Any, kind: CursorValue) -> Any:
    """``found`` as a cursor value of ``kind``; None when it is not one."""
    if isinstance(found, bool):
        return None
    if kind == "text":
        return found if _storable_text(found) else None
    if kind == "offset":
        return found if isinstance(found, int) and found >= 0 else None
    if not isinstance(found, int | float):
        return None
    try:
        number = float(found)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def _storable_text(value: Any) -> bool:
    """A string a database can compare: UTF-8 without NUL characters."""
    if not isinstance(value, str) or "\x00" in value:
        return False
    try:
        value.encode()
    except UnicodeEncodeError:
        return False
    return True


def _shown(text: str) -> str:
    """``text`` quoted for a message, cut to 40 characters."""
    return repr(text if len(text) <= 40 else text[:40] + "...")
