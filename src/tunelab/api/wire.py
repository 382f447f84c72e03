"""SageMaker's JSON 1.1 protocol: what a request carries and what an error looks
like. ``POST /`` with ``X-Amz-Target: SageMaker.<Operation>``; bodies are JSON
objects; errors are ``{"__type": <code>, "message": <text>}`` with a 4xx status
for anything the client got wrong (botocore retries 5xx)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from tunelab.domain.errors import TunelabError

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


def parse_body(raw: bytes) -> dict[str, Any]:
    """The request's JSON object (an empty body is ``{}``)."""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise ApiError("SerializationException", f"the body is not valid JSON: {error}") from None
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
    return json.dumps(payload, separators=(",", ":")).encode()


# -- pagination ------------------------------------------------------------------------


def _digest(filters: Mapping[str, Any]) -> str:
    canonical = json.dumps(filters, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def next_token(cursor: tuple[Any, str] | None, filters: Mapping[str, Any]) -> str | None:
    """An opaque token for the page after ``cursor``, bound to the query's filters
    (stateless: it survives a server restart)."""
    if cursor is None:
        return None
    data = json.dumps({"c": list(cursor), "q": _digest(filters)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")


def read_token(token: str | None, filters: Mapping[str, Any]) -> tuple[Any, str] | None:
    """The cursor in ``token``; ``ValidationException`` for a token that is not one
    of ours or was made for another query."""
    if not token:
        return None
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        value, name = data["c"]
        digest = data["q"]
    except (ValueError, KeyError, TypeError):
        raise ApiError("ValidationException", "NextToken: invalid pagination token") from None
    if digest != _digest(filters) or not isinstance(name, str):
        raise ApiError(
            "ValidationException",
            "NextToken: the token was issued for a request with other parameters",
        )
    return value, name
