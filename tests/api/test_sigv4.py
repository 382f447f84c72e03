"""SigV4 verification against requests signed by botocore itself: ``SigV4Auth`` directly,
and a real boto3 ``sagemaker`` client talking to a throwaway HTTP server."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import boto3
import botocore.auth
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from hypothesis import given, settings
from hypothesis import strategies as st

from tunelab.api.sigv4 import (
    INVALID_TOKEN,
    SIGNATURE_MISMATCH,
    AuthError,
    VerifiedRequest,
    canonical_query,
    canonical_uri,
    verify,
)

KEY_ID = "TLAKEXAMPLE000000001"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
KEYS = {KEY_ID: SECRET}
HOST = "127.0.0.1:8080"
BODY = b'{"HyperParameterTuningJobName": "job-1"}'
TARGET = "SageMaker.DescribeHyperParameterTuningJob"
SIGNED_AT = datetime(2026, 11, 28, 22, 31, 38)
AMZ_DATE = "20261128T223138Z"
NOW = SIGNED_AT.replace(tzinfo=UTC).timestamp()

Pairs = list[tuple[str, str]]


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore stamps X-Amz-Date from this function; pin it to SIGNED_AT."""
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: SIGNED_AT)


def sign(
    body: bytes = BODY,
    *,
    url: str = f"http://{HOST}/",
    method: str = "POST",
    headers: Pairs | None = None,
    secret: str = SECRET,
    key_id: str = KEY_ID,
    token: str | None = None,
    region: str = "us-east-1",
    service: str = "sagemaker",
) -> tuple[str, str, str, Pairs, bytes]:
    """Sign with botocore; returns (method, path, query, headers as sent, body)."""
    request = AWSRequest(method=method, url=url, data=body)
    default = [("Content-Type", "application/x-amz-json-1.1"), ("X-Amz-Target", TARGET)]
    for name, value in default if headers is None else headers:
        request.headers[name] = value  # HTTPHeaders appends: a repeated name keeps both
    SigV4Auth(Credentials(key_id, secret, token), service, region).add_auth(request)
    sent = [("Host", url.split("/")[2]), *request.headers.items()]
    path, _, query = url.split("/", 3)[3].partition("?")
    return method, "/" + path, query, sent, body


def check(
    request: tuple[str, str, str, Pairs, bytes],
    now: float = NOW,
    secret_for: Callable[[str], str | None] = KEYS.get,
    **kwargs: Any,
) -> VerifiedRequest:
    method, path, query, headers, body = request
    return verify(method, path, query, headers, body, secret_for, now, **kwargs)


def refused(request: tuple[str, str, str, Pairs, bytes], **kwargs: Any) -> AuthError:
    with pytest.raises(AuthError) as caught:
        check(request, **kwargs)
    assert SECRET not in str(caught.value)
    return caught.value


def replace(headers: Pairs, name: str, value: str | None) -> Pairs:
    """``headers`` with ``name`` set to ``value`` (dropped when None)."""
    kept = [(n, v) for n, v in headers if n.lower() != name.lower()]
    return kept if value is None else [*kept, (name, value)]


def with_headers(request: tuple[str, str, str, Pairs, bytes], headers: Pairs):
    return (*request[:3], headers, request[4])


def authorization(request: tuple[str, str, str, Pairs, bytes]) -> str:
    return next(v for n, v in request[3] if n == "Authorization")


# --- valid requests -------------------------------------------------------------------


def test_a_request_signed_by_sigv4auth_is_verified() -> None:
    verified = check(sign())
    assert verified == VerifiedRequest(
        access_key_id=KEY_ID,
        region="us-east-1",
        service="sagemaker",
        session_token=None,
        signed_headers=("content-type", "host", "x-amz-date", "x-amz-target"),
        request_time=NOW,
    )


def test_session_token_is_returned_and_region_comes_from_the_scope() -> None:
    verified = check(sign(token="FQoGZXIvYXdzEXAMPLETOKEN", region="eu-west-1"))
    assert verified.session_token == "FQoGZXIvYXdzEXAMPLETOKEN"
    assert verified.region == "eu-west-1"
    assert "x-amz-security-token" in verified.signed_headers


def test_header_names_are_case_insensitive_and_a_mapping_is_accepted() -> None:
    method, path, query, headers, body = sign()
    as_mapping = {name.upper(): value for name, value in headers}
    assert check((method, path, query, as_mapping, body)).access_key_id == KEY_ID  # type: ignore[arg-type]


def test_unsigned_headers_may_change() -> None:
    request = sign()
    headers = replace(request[3], "User-Agent", "something else/1.0")
    headers += [("Content-Length", "40"), ("amz-sdk-request", "attempt=2; max=3")]
    assert check(with_headers(request, headers)).access_key_id == KEY_ID


def test_path_query_and_header_values_are_canonicalised_like_botocore() -> None:
    headers = [
        ("X-Amz-Target", TARGET),
        ("X-Custom", "  a   lot\tof   space  "),
        ("X-Multi", "one"),
        ("X-Multi", "two"),
    ]
    url = f"http://{HOST}/a%20b/./c//d/../e?b=2&a=x%20y&a=1&c&d=%2F%2B~"
    assert check(sign(b"", method="GET", url=url, headers=headers)).access_key_id == KEY_ID


def test_canonical_pieces() -> None:
    assert canonical_uri("") == "/"
    assert canonical_uri("/a%20b/./c//d/../e/") == "/a%2520b/c/e/"
    assert canonical_query("b=2&a=x+y&a=1&c&e=%7e") == "a=1&a=x%2By&b=2&c=&e=~"


def test_x_amz_content_sha256_equal_to_the_body_hash_is_accepted() -> None:
    digest = hashlib.sha256(BODY).hexdigest()
    headers = [("X-Amz-Target", TARGET), ("X-Amz-Content-SHA256", digest)]
    assert check(sign(headers=headers)).access_key_id == KEY_ID


def test_the_skew_window_is_inclusive() -> None:
    assert check(sign(), now=NOW + 300).access_key_id == KEY_ID
    assert check(sign(), now=NOW - 300).access_key_id == KEY_ID


@settings(max_examples=50, deadline=None)
@given(
    body=st.binary(max_size=200),
    operation=st.sampled_from(["ListTrainingJobs", "CreateTrainingJob", "AddTags"]),
    region=st.sampled_from(["us-east-1", "eu-central-1", "ap-southeast-2"]),
    flip=st.integers(min_value=0),
)
def test_any_signed_body_verifies_and_any_changed_byte_is_caught(
    body: bytes, operation: str, region: str, flip: int
) -> None:
    headers = [("X-Amz-Target", f"SageMaker.{operation}")]
    request = sign(body, headers=headers, region=region)  # the autouse fixture pins the clock
    assert check(request).region == region
    altered = bytearray(body + b"x")
    altered[flip % len(altered)] ^= 0x01
    assert refused((*request[:4], bytes(altered))).code == "InvalidSignatureException"


# --- a real boto3 client --------------------------------------------------------------


class _Capture(BaseHTTPRequestHandler):
    captured: list[tuple[str, str, str, Pairs, bytes]]

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        path, _, query = self.path.partition("?")
        self.captured.append((self.command, path, query, list(self.headers.items()), body))
        payload = json.dumps({"TrainingJobSummaries": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.1")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, list]]:
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    captured: list = []
    handler = type("Handler", (_Capture,), {"captured": captured})
    httpd = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", captured
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def boto3_request(server: tuple[str, list], **credentials: Any):
    url, captured = server
    client = boto3.client(
        "sagemaker",
        endpoint_url=url,
        region_name=credentials.pop("region", "us-east-1"),
        aws_access_key_id=credentials.pop("key_id", KEY_ID),
        aws_secret_access_key=credentials.pop("secret", SECRET),
        aws_session_token=credentials.pop("token", None),
        config=Config(retries={"max_attempts": 1}),
    )
    client.list_training_jobs(NameContains="job")
    return captured[-1]


@pytest.mark.parametrize(
    ("region", "token"), [("us-east-1", None), ("eu-west-1", None), ("us-west-2", "TOKEN/1+=")]
)
def test_what_boto3_sends_is_verified(server, region: str, token: str | None) -> None:
    request = boto3_request(server, region=region, token=token)
    verified = check(request, now=NOW + 1)
    assert (verified.access_key_id, verified.region, verified.session_token) == (
        KEY_ID,
        region,
        token,
    )
    assert request[4] == b'{"NameContains": "job"}'


def test_boto3_with_a_wrong_secret_is_refused(server) -> None:
    error = refused(boto3_request(server, secret="not-the-secret"))
    assert (error.code, error.status, error.message) == (
        "InvalidSignatureException",
        403,
        SIGNATURE_MISMATCH,
    )


def test_boto3_with_an_unknown_key_is_refused(server) -> None:
    error = refused(boto3_request(server, key_id="TLAKUNKNOWN000000000"))
    assert (error.code, error.status, error.message) == (
        "UnrecognizedClientException",
        403,
        INVALID_TOKEN,
    )


def test_boto3_request_with_altered_body_or_target_is_refused(server) -> None:
    method, path, query, headers, body = boto3_request(server)
    altered = (method, path, query, headers, b'{"NameContains": "jab"}')
    assert refused(altered).message == SIGNATURE_MISMATCH
    target = replace(headers, "X-Amz-Target", "SageMaker.DeleteHyperParameterTuningJob")
    assert refused((method, path, query, target, body)).message == SIGNATURE_MISMATCH


# --- refusals ---------------------------------------------------------------------------


def test_no_authorization_header() -> None:
    request = sign()
    error = refused(with_headers(request, replace(request[3], "Authorization", None)))
    assert (error.code, error.status) == ("MissingAuthenticationToken", 403)
    assert error.message.startswith("Request is missing Authentication Token")


def test_wrong_secret_and_unknown_key() -> None:
    error = refused(sign(secret="another-secret"))
    assert (error.code, error.status, error.message) == (
        "InvalidSignatureException",
        403,
        SIGNATURE_MISMATCH,
    )
    error = refused(sign(key_id="TLAKNOBODY0000000000"))
    assert (error.code, error.status, error.message) == (
        "UnrecognizedClientException",
        403,
        INVALID_TOKEN,
    )


def test_a_stale_request_is_refused_with_awss_wording() -> None:
    error = refused(sign(), now=NOW + 301)
    assert (error.code, error.status) == ("InvalidSignatureException", 403)
    assert error.message == (
        "Signature expired: 20261128T223138Z is now earlier than 20261128T223139Z "
        "(20261128T223639Z - 5 min.)"
    )


def test_a_request_from_the_future_is_refused_with_awss_wording() -> None:
    error = refused(sign(), now=NOW - 3600, max_skew=900)
    assert (error.code, error.status) == ("InvalidSignatureException", 403)
    assert error.message == (
        "Signature not yet current: 20261128T223138Z is still later than 20261128T214638Z "
        "(20261128T213138Z + 15 min.)"
    )


def test_stale_or_malformed_requests_never_reach_the_credential_store() -> None:
    looked_up: list[str] = []

    def secret_for(key_id: str) -> str | None:
        looked_up.append(key_id)
        return KEYS.get(key_id)

    refused(sign(), now=NOW + 3600, secret_for=secret_for)
    refused(sign(service="sts"), secret_for=secret_for)
    request = sign()
    broken = authorization(request).replace("Signature=", "Sig=")
    refused(with_headers(request, replace(request[3], "Authorization", broken)))
    assert looked_up == []
    check(request, secret_for=secret_for)
    assert looked_up == [KEY_ID]


def test_scope_for_another_service_is_an_invalid_signature() -> None:
    error = refused(sign(service="sts"))
    assert (error.code, error.status, error.message) == (
        "InvalidSignatureException",
        403,
        "Credential should be scoped to correct service: 'sagemaker'. ",
    )
    assert check(sign(service="sts"), service="sts").service == "sts"


def test_x_amz_content_sha256_must_match_the_body() -> None:
    other = hashlib.sha256(b"{}").hexdigest()
    for declared in (other, "UNSIGNED-PAYLOAD"):
        request = sign(headers=[("X-Amz-Target", TARGET), ("X-Amz-Content-SHA256", declared)])
        error = refused(request)
        assert (error.code, error.status, error.message) == (
            "InvalidSignatureException",
            403,
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        )


def test_a_signature_with_non_ascii_characters_is_a_mismatch_not_a_crash() -> None:
    request = sign()
    header = authorization(request)
    broken = header[: header.index("Signature=")] + "Signature=é\udc80" + "0" * 62
    error = refused(with_headers(request, replace(request[3], "Authorization", broken)))
    assert error.message == SIGNATURE_MISMATCH


CREDENTIAL = f"Credential={KEY_ID}/20261128/us-east-1/sagemaker/aws4_request"
SIGNED = "SignedHeaders=content-type;host;x-amz-date;x-amz-target"
SIGNATURE = "Signature=" + "0" * 64


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (
            "Bearer abc.def",
            "Unsupported Authorization type 'Bearer': tunelab accepts only AWS4-HMAC-SHA256 "
            "in the Authorization header.",
        ),
        (
            f"AWS4-HMAC-SHA256 {CREDENTIAL}, {SIGNED}",
            "Authorization header requires 'Signature' parameter.",
        ),
        (
            f"AWS4-HMAC-SHA256 {SIGNATURE}",
            "Authorization header requires 'Credential' parameter. "
            "Authorization header requires 'SignedHeaders' parameter.",
        ),
        (
            f"AWS4-HMAC-SHA256 {CREDENTIAL}, {SIGNED}, Signature=",
            "Authorization header requires 'Signature' parameter.",
        ),
        (
            f"AWS4-HMAC-SHA256 Credential {KEY_ID}, {SIGNED}, {SIGNATURE}",
            f"'Credential {KEY_ID}' not a valid key=value pair (missing equal-sign) "
            "in Authorization header.",
        ),
        (
            f"AWS4-HMAC-SHA256 {CREDENTIAL}, {CREDENTIAL}, {SIGNED}, {SIGNATURE}",
            "Unexpected or repeated parameter 'Credential' in Authorization.",
        ),
        (
            f"AWS4-HMAC-SHA256 Credential={KEY_ID}/20261128/us-east-1/sagemaker, "
            f"{SIGNED}, {SIGNATURE}",
            "Credential must have exactly 5 slash-delimited elements, e.g. "
            f"keyid/date/region/service/term, got '{KEY_ID}/20261128/us-east-1/sagemaker'",
        ),
        (
            f"AWS4-HMAC-SHA256 Credential={KEY_ID}/20261128//sagemaker/aws4_request, "
            f"{SIGNED}, {SIGNATURE}",
            "Credential must have exactly 5 slash-delimited elements, e.g. "
            f"keyid/date/region/service/term, got '{KEY_ID}/20261128//sagemaker/aws4_request'",
        ),
        (
            f"AWS4-HMAC-SHA256 Credential={KEY_ID}/20261128/us-east-1/sagemaker/aws3, "
            f"{SIGNED}, {SIGNATURE}",
            "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws3'.",
        ),
        (
            f"AWS4-HMAC-SHA256 Credential={KEY_ID}/20261127/us-east-1/sagemaker/aws4_request, "
            f"{SIGNED}, {SIGNATURE}",
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
            "from HTTP: '20261127' != '20261128', from '20261128T223138Z'.",
        ),
        (
            f"AWS4-HMAC-SHA256 {CREDENTIAL}, SignedHeaders=content-type;x-amz-date, {SIGNATURE}",
            "'Host' must be a 'SignedHeader' in the AWS Authorization.",
        ),
        (
            f"AWS4-HMAC-SHA256 {CREDENTIAL}, SignedHeaders=content-type;host, {SIGNATURE}",
            "'X-Amz-Date' must be a 'SignedHeader' in the AWS Authorization.",
        ),
        (
            f"AWS4-HMAC-SHA256 {CREDENTIAL}, SignedHeaders=host;x-amz-date;x-custom, {SIGNATURE}",
            "'x-custom' is named as a SignedHeader, but it does not exist in the HTTP request.",
        ),
        (
            f"AWS4-HMAC-SHA256 {CREDENTIAL}, SignedHeaders=x-amz-date;host, {SIGNATURE}",
            "SignedHeaders must list lower-case header names, sorted and separated by ';', "
            "got 'x-amz-date;host'.",
        ),
        (
            f"AWS4-HMAC-SHA256 {CREDENTIAL}, SignedHeaders=Host;x-amz-date, {SIGNATURE}",
            "SignedHeaders must list lower-case header names, sorted and separated by ';', "
            "got 'Host;x-amz-date'.",
        ),
    ],
)
def test_malformed_authorization_is_an_incomplete_signature(header: str, message: str) -> None:
    request = sign()
    error = refused(with_headers(request, replace(request[3], "Authorization", header)))
    assert (error.code, error.status, error.message) == (
        "IncompleteSignatureException",
        400,
        message,
    )


@pytest.mark.parametrize(
    ("date", "message"),
    [
        (None, "Authorization header requires existence of a 'X-Amz-Date' header."),
        (
            "2026-11-28T22:31:38Z",
            "Date must be in ISO-8601 'basic format'. Got '2026-11-28T22:31:38Z'. "
            "See http://en.wikipedia.org/wiki/ISO_8601",
        ),
        (
            "20261399T223138Z",
            "Date must be in ISO-8601 'basic format'. Got '20261399T223138Z'. "
            "See http://en.wikipedia.org/wiki/ISO_8601",
        ),
    ],
)
def test_missing_or_malformed_x_amz_date(date: str | None, message: str) -> None:
    request = sign()
    error = refused(with_headers(request, replace(request[3], "X-Amz-Date", date)))
    assert (error.code, error.status, error.message) == (
        "IncompleteSignatureException",
        400,
        message,
    )


def test_two_authorization_headers_are_refused() -> None:
    request = sign()
    headers = [*request[3], ("authorization", authorization(request))]
    error = refused(with_headers(request, headers))
    assert (error.code, error.message) == (
        "IncompleteSignatureException",
        "Only one Authorization header may be sent.",
    )


GARBAGE = st.lists(st.one_of(st.characters(), st.sampled_from(["\ud800", "\udcff"]))).map("".join)


@settings(max_examples=300, deadline=None)
@given(
    part=st.sampled_from(["Authorization", "X-Amz-Date", "X-Amz-Content-SHA256", "path", "query"]),
    value=GARBAGE,
    where=st.integers(min_value=0),
)
def test_garbage_anywhere_is_an_auth_error_never_a_crash(
    part: str, value: str, where: int
) -> None:
    digest = hashlib.sha256(BODY).hexdigest()
    request = sign(headers=[("X-Amz-Target", TARGET), ("X-Amz-Content-SHA256", digest)])
    method, path, query, headers, body = request
    if part in ("path", "query"):
        original = path if part == "path" else query
    else:
        original = next(v for n, v in headers if n.lower() == part.lower())
    cut = where % (len(original) + 1)
    for changed in (value, original[:cut] + value + original[cut:]):
        if part == "path":
            attempt = (method, changed, query, headers, body)
        elif part == "query":
            attempt = (method, path, changed, headers, body)
        else:
            attempt = with_headers(request, replace(headers, part, changed))
        try:
            check(attempt)
        except AuthError as error:
            assert error.status in (400, 403)
            assert SECRET not in str(error)
