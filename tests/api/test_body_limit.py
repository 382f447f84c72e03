"""The API reads at most ``MAX_BODY_BYTES`` of a request body, before authentication
(hunt F11: four unauthenticated 300 MB bodies took the server to 1.1 GB): a larger
``Content-Length`` is refused before any of the body is read, a chunked body as soon as
it passes the limit; both with HTTP 413 and an AWS error envelope. Real HTTP clients
(http.client, httpx, boto3) against a real server."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.api.conftest import FULL_KEY, REGION, Server
from tunelab.api.wire import MAX_BODY_BYTES

pytestmark = pytest.mark.usefixtures("checked")
LIST = "SageMaker.ListHyperParameterTuningJobs"
HEADERS = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": LIST}
TOO_LARGE = f"the API accepts at most {MAX_BODY_BYTES} bytes (5 MiB)"
"""How a 413's message ends."""


def connect(server: Server) -> http.client.HTTPConnection:
    host, port = server.url.removeprefix("http://").split(":")
    return http.client.HTTPConnection(host, int(port), timeout=10)


def error_of(response: http.client.HTTPResponse) -> tuple[int, str, str]:
    """(status, ``__type``, ``message``) of an error answer."""
    assert response.getheader("content-type") == "application/x-amz-json-1.1"
    body = json.loads(response.read())
    return response.status, body["__type"], body["message"]


def test_an_announced_body_over_the_limit_is_refused_before_it_is_read(
    checked: Server,
) -> None:
    """Unauthenticated, announcing 300 MB and sending 10 bytes: the answer comes at
    once (a server that read first would wait for the other 300 MB: a timeout)."""
    connection = connect(checked)
    connection.putrequest("POST", "/")
    for name, value in {**HEADERS, "Content-Length": str(300 * 2**20)}.items():
        connection.putheader(name, value)
    connection.endheaders(b'{"Name":  ')
    status, code, message = error_of(connection.getresponse())
    connection.close()
    assert (status, code) == (413, "SerializationException")
    assert message == f"the request body is {300 * 2**20} bytes; {TOO_LARGE}"


def test_a_chunked_body_is_refused_once_it_passes_the_limit(checked: Server) -> None:
    """Chunks just past the limit and no last chunk: the server stops reading and
    answers (one that read to the end would never answer)."""
    connection = connect(checked)
    connection.putrequest("POST", "/")
    for name, value in {**HEADERS, "Transfer-Encoding": "chunked"}.items():
        connection.putheader(name, value)
    connection.endheaders()
    chunk = b"a" * 2**16
    for _ in range(MAX_BODY_BYTES // len(chunk) + 1):
        connection.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    status, code, message = error_of(connection.getresponse())
    connection.close()
    assert (status, code) == (413, "SerializationException")
    assert message == f"the request body is over {MAX_BODY_BYTES} bytes; {TOO_LARGE}"


def test_boto3_is_told_the_limit_and_does_not_retry(checked: Server) -> None:
    client = checked.client(
        parameter_validation=False, retries={"mode": "standard", "max_attempts": 3}
    )
    with pytest.raises(client.exceptions.ClientError) as raised:
        client.add_tags(
            ResourceArn="arn:aws:sagemaker:us-east-1:123456789012:hyper-parameter-tuning-job/x",
            Tags=[{"Key": "big", "Value": "v" * (6 * 2**20)}],
        )
    response = raised.value.response
    assert response["Error"]["Code"] == "SerializationException"
    assert TOO_LARGE in response["Error"]["Message"]
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert response["ResponseMetadata"]["RetryAttempts"] == 0


def body_of(size: int) -> bytes:
    """A JSON request of exactly ``size`` bytes whose ``NameContains`` is too long."""
    head, tail = b'{"NameContains": "', b'"}'
    return head + b"a" * (size - len(head) - len(tail)) + tail


def signed_post(server: Server, body: bytes, chunked: bool) -> httpx.Response:
    """POST ``body`` signed with the full key; sent in 1 MiB chunks when ``chunked``."""
    request = AWSRequest(method="POST", url=server.url + "/", data=body, headers=HEADERS)
    SigV4Auth(Credentials(*FULL_KEY), "sagemaker", REGION).add_auth(request)
    headers = dict(request.headers.items())

    def pieces() -> Iterator[bytes]:
        for start in range(0, len(body), 2**20):
            yield body[start : start + 2**20]

    content: Any = pieces() if chunked else body
    return httpx.post(server.url + "/", content=content, headers=headers, timeout=30)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_the_limit_is_exact(checked: Server, chunked: bool) -> None:
    at_limit = signed_post(checked, body_of(MAX_BODY_BYTES), chunked)
    assert at_limit.status_code == 400  # read and parsed: NameContains is too long
    assert at_limit.json()["__type"] == "ValidationException"
    assert "NameContains" in at_limit.json()["message"]
    over = signed_post(checked, body_of(MAX_BODY_BYTES + 1), chunked)
    assert (over.status_code, over.json()["__type"]) == (413, "SerializationException")
    small = signed_post(checked, b'{"MaxResults": 1}', chunked)
    assert small.status_code == 200
    assert small.json()["HyperParameterTuningJobSummaries"] == []
