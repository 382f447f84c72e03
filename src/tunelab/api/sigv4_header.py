"""The parts of a SigV4 ``Authorization`` header and their checks, for
:mod:`tunelab.api.sigv4`: each parser returns the part or raises :class:`AuthError`
with AWS's code, status and wording."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from datetime import UTC, datetime

from tunelab.domain.errors import TunelabError

ALGORITHM = "AWS4-HMAC-SHA256"
_AMZ_DATE = re.compile(r"[0-9]{8}T[0-9]{6}Z")
_PARAMETERS = ("Credential", "Signature", "SignedHeaders")


class AuthError(TunelabError):
    """A request refused by authentication or authorisation: ``code`` is the AWS error
    code, ``status`` the HTTP status to answer with, ``message`` the text for the client."""

    def __init__(self, code: str, status: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


def parse_authorization(header: str, has_date: bool) -> dict[str, str]:
    scheme, _, rest = header.strip().partition(" ")
    if scheme != ALGORITHM:
        raise incomplete(
            f"Unsupported Authorization type '{scheme[:40]}': tunelab accepts only "
            f"{ALGORITHM} in the Authorization header."
        )
    params: dict[str, str] = {}
    for piece in rest.split(","):
        piece = piece.strip()
        name, equals, value = piece.partition("=")
        if not equals:
            raise incomplete(
                f"'{piece[:80]}' not a valid key=value pair (missing equal-sign) "
                "in Authorization header."
            )
        if name not in _PARAMETERS or name in params:
            raise incomplete(f"Unexpected or repeated parameter '{name[:40]}' in Authorization.")
        params[name] = value.strip()
    problems = [
        f"Authorization header requires '{p}' parameter." for p in _PARAMETERS if not params.get(p)
    ]
    if not has_date:
        problems.append("Authorization header requires existence of a 'X-Amz-Date' header.")
    if problems:
        raise incomplete(" ".join(problems))
    return params


def parse_credential(credential: str) -> tuple[str, str, str, str]:
    parts = credential.split("/")
    if len(parts) != 5 or not all(parts):
        raise incomplete(
            "Credential must have exactly 5 slash-delimited elements, "
            f"e.g. keyid/date/region/service/term, got '{credential[:200]}'"
        )
    if parts[4] != "aws4_request":
        raise incomplete(
            f"Credential should be scoped with a valid terminator: 'aws4_request', "
            f"not '{parts[4][:40]}'."
        )
    return parts[0], parts[1], parts[2], parts[3]


@functools.lru_cache(maxsize=64)
def parse_amz_date(value: str) -> float:
    try:
        if not _AMZ_DATE.fullmatch(value):
            raise ValueError(value)
        year, month, day = int(value[0:4]), int(value[4:6]), int(value[6:8])
        hour, minute, second = int(value[9:11]), int(value[11:13]), int(value[13:15])
        moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        raise incomplete(
            f"Date must be in ISO-8601 'basic format'. Got '{value[:40]}'. "
            "See http://en.wikipedia.org/wiki/ISO_8601"
        ) from None
    return moment.timestamp()


def parse_signed_headers(value: str, values: Mapping[str, list[str]]) -> tuple[str, ...]:
    names = tuple(value.split(";"))
    if not all(names) or list(names) != sorted({n.lower() for n in names}):
        raise incomplete(
            "SignedHeaders must list lower-case header names, sorted and separated by ';', "
            f"got '{value[:200]}'."
        )
    for required, shown in (("host", "Host"), ("x-amz-date", "X-Amz-Date")):
        if required not in names:
            raise incomplete(f"'{shown}' must be a 'SignedHeader' in the AWS Authorization.")
    for name in names:
        if name not in values:
            raise incomplete(
                f"'{name}' is named as a SignedHeader, but it does not exist in the HTTP request."
            )
    return names


def check_skew(amz_date: str, request_time: float, now: float, max_skew: float) -> None:
    window = f"{max_skew / 60:g} min."
    if request_time < now - max_skew:
        raise invalid(
            f"Signature expired: {amz_date} is now earlier than {_format(now - max_skew)} "
            f"({_format(now)} - {window})"
        )
    if request_time > now + max_skew:
        raise invalid(
            f"Signature not yet current: {amz_date} is still later than "
            f"{_format(now + max_skew)} ({_format(now)} + {window})"
        )


def _format(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y%m%dT%H%M%SZ")


def incomplete(message: str) -> AuthError:
    """A malformed request (400): no key would make it valid."""
    return AuthError("IncompleteSignatureException", 400, message)


def invalid(message: str) -> AuthError:
    """A well-formed request whose signature cannot be accepted (403)."""
    return AuthError("InvalidSignatureException", 403, message)
