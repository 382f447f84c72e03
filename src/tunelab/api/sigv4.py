"""Server-side verification of AWS Signature Version 4 (``AWS4-HMAC-SHA256``, header form).

Written from the SigV4 specification with hashlib/hmac; it reproduces the canonical
request botocore builds for non-S3 services (path normalised and URI-encoded once
more, query pairs decoded, re-encoded with ``%20`` and sorted by key then value,
header values trimmed with inner whitespace collapsed, repeated headers joined by
``,``). Presigned URLs, chunked payloads and SigV4a are not accepted.

Checks run cheapest first, and the credential store (``secret_for``) is consulted
only for a well-formed, fresh request. Messages follow AWS's wording and never
contain a secret. HTTP statuses (AWS JSON convention, sagemaker-api.md §2):

| code | status | when |
| --- | --- | --- |
| ``MissingAuthenticationToken`` | 403 | no ``Authorization`` header |
| ``IncompleteSignatureException`` | 400 | header, scope, date or signed-header list malformed |
| ``InvalidSignatureException`` | 403 | other service in scope, stale date, hash/signature differ |
| ``UnrecognizedClientException`` | 403 | unknown access key id |

Incomplete is 400 like AWS's ``IncompleteSignature`` (a malformed request: no key would
make it valid); the others are 403 as AWS answers them. A wrong service in the scope is
``InvalidSignatureException`` as at AWS: the header is well-formed, but the service is part
of the signing key, so such a signature can never match ours.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import quote, unquote

from tunelab.api.sigv4_header import (
    ALGORITHM,
    AuthError,
    check_skew,
    incomplete,
    invalid,
    parse_amz_date,
    parse_authorization,
    parse_credential,
    parse_signed_headers,
)

SIGNATURE_MISMATCH = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method. "
    "Consult the service documentation for details."
)
INVALID_TOKEN = "The security token included in the request is invalid."
MISSING_TOKEN = (
    "Request is missing Authentication Token: sign it with AWS Signature Version 4 "
    "using an access key registered with tunelab."
)

Headers = Mapping[str, str] | Iterable[tuple[str, str]]


@dataclass(frozen=True)
class VerifiedRequest:
    """Who signed a request that passed :func:`verify`, and for which scope."""

    access_key_id: str
    region: str
    service: str
    session_token: str | None
    signed_headers: tuple[str, ...]
    request_time: float  # X-Amz-Date as epoch seconds


def verify(
    method: str,
    path: str,
    query: str,
    headers: Headers,
    body: bytes,
    secret_for: Callable[[str], str | None],
    now: float,
    max_skew: float = 300.0,
    service: str = "sagemaker",
) -> VerifiedRequest:
    """Verify a SigV4-signed request or raise :class:`AuthError`.

    ``path`` and ``query`` are as received on the wire (still percent-encoded, e.g. ASGI
    ``raw_path`` and ``query_string`` decoded as ASCII). ``headers`` is a mapping or a list
    of (name, value) pairs; names are matched case-insensitively and repeated names are
    kept. ``secret_for`` returns the secret access key for an id, or None if unknown.
    ``now`` is the server's epoch time; X-Amz-Date may differ from it by ``max_skew``
    seconds either way. The session token (X-Amz-Security-Token) is returned, not checked.
    """
    values = _collect(headers)
    authorization = values.get("authorization")
    if not authorization:
        raise AuthError("MissingAuthenticationToken", 403, MISSING_TOKEN)
    if len(authorization) > 1:
        raise incomplete("Only one Authorization header may be sent.")
    params = parse_authorization(authorization[0], "x-amz-date" in values)
    key_id, scope_date, region, scope_service = parse_credential(params["Credential"])
    amz_date = ",".join(values["x-amz-date"])
    request_time = parse_amz_date(amz_date)
    if scope_date != amz_date[:8]:
        raise incomplete(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            f"from HTTP: '{scope_date}' != '{amz_date[:8]}', from '{amz_date}'."
        )
    signed = parse_signed_headers(params["SignedHeaders"], values)
    if scope_service != service:
        raise invalid(f"Credential should be scoped to correct service: '{service}'. ")
    check_skew(amz_date, request_time, now, max_skew)
    payload_hash = hashlib.sha256(body).hexdigest()
    declared = values.get("x-amz-content-sha256")
    if declared is not None:
        declared_hash = ",".join(declared)
        if declared_hash.lower() != payload_hash:
            raise invalid(
                "The provided 'x-amz-content-sha256' header does not match what was computed."
            )
        payload_hash = declared_hash  # botocore signs the header's value as given
    secret = secret_for(key_id)
    if secret is None:
        raise AuthError("UnrecognizedClientException", 403, INVALID_TOKEN)
    scope = f"{scope_date}/{region}/{scope_service}/aws4_request"
    canonical = canonical_request(method, path, query, values, signed, payload_hash)
    digest = hashlib.sha256(_utf8(canonical)).hexdigest()
    string_to_sign = "\n".join((ALGORITHM, amz_date, scope, digest))
    key = _signing_key(secret, scope_date, region, scope_service)
    expected = hmac.new(key, _utf8(string_to_sign), hashlib.sha256).hexdigest()
    provided = _utf8(params["Signature"])
    if not hmac.compare_digest(expected.encode(), provided):
        raise invalid(SIGNATURE_MISMATCH)
    token = values.get("x-amz-security-token")
    return VerifiedRequest(
        access_key_id=key_id,
        region=region,
        service=scope_service,
        session_token=",".join(token) if token else None,
        signed_headers=signed,
        request_time=request_time,
    )


def canonical_request(
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, list[str]],
    signed: Iterable[str],
    payload_hash: str,
) -> str:
    """The SigV4 canonical request; ``headers`` maps lower-case names to their values."""
    signed = tuple(signed)
    lines = [method.upper(), canonical_uri(path), canonical_query(query)]
    lines.extend(f"{n}:{','.join(' '.join(v.split()) for v in headers[n])}" for n in signed)
    lines.extend(("", ";".join(signed), payload_hash))
    return "\n".join(lines)


def canonical_uri(path: str) -> str:
    """Dot segments and repeated slashes removed, then URI-encoded (``/`` and ``~`` kept)."""
    return quote(_remove_dot_segments(path) or "/", safe="/~", errors="surrogatepass")


def canonical_query(query: str) -> str:
    """Each name and value decoded, re-encoded (unreserved kept, space as ``%20``), sorted."""
    pairs = []
    for piece in query.split("&"):
        if piece:
            name, _, value = piece.partition("=")
            pairs.append((_encode(unquote(name)), _encode(unquote(value))))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def _utf8(text: str) -> bytes:
    """UTF-8 that cannot fail: lone surrogates (from surrogateescape decoding) pass through."""
    return text.encode("utf-8", "surrogatepass")


def _encode(text: str) -> str:
    return quote(text, safe="-_.~", errors="surrogatepass")


@functools.lru_cache(maxsize=256)
def _signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    """kSigning = HMAC chain over date, region, service and ``aws4_request`` (the same
    for every request of a key on a day: kept, as AWS SDKs keep it)."""
    key = _utf8(f"AWS4{secret}")
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, _utf8(part), hashlib.sha256).digest()
    return key


def _collect(headers: Headers) -> dict[str, list[str]]:
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    values: dict[str, list[str]] = {}
    for name, value in pairs:
        values.setdefault(name.lower(), []).append(value)
    return values


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4 plus collapsing of repeated slashes, as botocore does."""
    output: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if output:
                output.pop()
        elif segment and segment != ".":
            output.append(segment)
    if not path:
        return ""
    first = "/" if path.startswith("/") else ""
    last = "/" if path.endswith("/") and output else ""
    return first + "/".join(output) + last
