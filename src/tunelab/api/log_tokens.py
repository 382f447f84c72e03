"""Page tokens of the CloudWatch Logs operations: opaque, stateless (they survive a
restart) and sealed, so that an edited or made-up token is refused.

A token is ``<base64url JSON>.<check>``: the JSON names the operation that issued it,
what it is bound to (a log stream, or a digest of the request's filters) and a position;
``check`` is a SHA-256 digest of the JSON. Tokens are the same string for the same
position, which GetLogEvents relies on (the same token back: no new events).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from tunelab.api.wire import ApiError

_SEAL = b"tunelab logs token v1\n"


def _check(payload: bytes) -> str:
    return hashlib.sha256(_SEAL + payload).hexdigest()[:20]


def filters_digest(filters: Mapping[str, Any]) -> str:
    """A short digest of request members a token is bound to."""
    canonical = json.dumps(filters, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def seal(operation: str, bound: str, position: list[Any]) -> str:
    """A token of ``operation`` for ``position``, valid only with ``bound``."""
    payload = json.dumps({"o": operation, "b": bound, "p": position}, separators=(",", ":"))
    encoded = base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")
    return f"{encoded}.{_check(payload.encode())}"


def unseal(token: str, operation: str, bound: str, what: str) -> list[Any]:
    """The position in ``token``. ``InvalidParameterException`` naming ``nextToken``
    for a token this server did not issue or that was edited, one issued by another
    operation, or one bound to something else than ``bound``. ``what`` names what
    ``bound`` is: a label such as "log stream" (the message names both), or, starting
    with "the", what a digest covers ("the same filters")."""
    shown = token if len(token) <= 40 else token[:40] + "..."
    invalid = ApiError(
        "InvalidParameterException",
        f"nextToken: {shown!r} is not a token this server issued (or it was edited); "
        "pass back a token from a previous response unchanged",
    )
    encoded, dot, check = token.rpartition(".")
    try:
        payload = base64.urlsafe_b64decode((encoded + "=" * (-len(encoded) % 4)).encode())
        data = json.loads(payload) if dot and _check(payload) == check else None
    except (ValueError, RecursionError):
        raise invalid from None
    if not isinstance(data, dict) or not isinstance(data.get("p"), list):
        raise invalid
    if data.get("o") != operation:
        raise ApiError(
            "InvalidParameterException",
            f"nextToken: the token was issued by {data.get('o')}, not by {operation}",
        )
    issued = data.get("b")
    if issued != bound:
        message = (
            f"the token is valid only for a request with {what}"
            if what.startswith("the ")
            else f"the token was issued for {what} {issued!r}, not for {bound!r}"
        )
        raise ApiError("InvalidParameterException", f"nextToken: {message}")
    return data["p"]
