"""CloudWatch Logs reads of training jobs' logs: a real boto3 ``logs`` client (signed for
the service ``logs``) against a tunelab server, every response checked against botocore's
``logs`` output shapes."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from tests.api import jobs
from tests.api.conftest import (
    FULL_KEY,
    READ_ONLY_KEY,
    REGION,
    Exchange,
    Server,
    error_code,
    start_server,
    unique,
    wait_for,
    wait_training_job,
)
from tunelab.api.logs_wire import TARGET_PREFIX, service_model
from tunelab.domain.shape_check import check_shape
from tunelab.execution.clock import SystemClock
from tunelab.service.access_keys import AccessKeyService
from tunelab.service.secrets import SecretBox

GROUP = "/aws/sagemaker/TrainingJobs"
Client = Any


def logs_problems(exchanges: list[Exchange]) -> list[str]:
    """What is wrong with the Logs responses among ``exchanges``: a 5xx, a 200 that
    breaks botocore's output shape, an error that is not a 4xx ``__type`` envelope."""
    found = []
    for exchange in exchanges:
        if not exchange.operation.startswith(TARGET_PREFIX):
            continue
        name = exchange.operation[len(TARGET_PREFIX) :]
        body = json.loads(exchange.body)
        where = f"{name} -> {exchange.status}"
        if exchange.status == 200:
            shape = service_model().operation_model(name).output_shape
            found += [f"{where}: {v}" for v in check_shape(body, shape, "")]
        elif not (400 <= exchange.status < 500) or set(body) != {"__type", "message"}:
            found.append(f"{where}: not an AWS error envelope: {body}")
    return found


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with start_server(tmp_path_factory.mktemp("logs") / "home") as server:
        yield server
    assert logs_problems(server.exchanges) == []


def logs_client(server: Server, key: tuple[str, str] = FULL_KEY, **config: Any) -> Client:
    return boto3.client(
        "logs",
        endpoint_url=server.url,
        region_name=REGION,
        aws_access_key_id=key[0],
        aws_secret_access_key=key[1],
        config=Config(**{"retries": {"max_attempts": 1}, **config}),
    )


def run_job(server: Server, name: str, instances: int = 1, **hyperparameters: str) -> dict:
    document = jobs.training_job(name, hyperparameters)
    document["ResourceConfig"]["InstanceCount"] = instances
    server.client().create_training_job(**document)
    return wait_training_job(server.client(), name)


def log_lines(server: Server, job: str, file: str = "attempt-1.log") -> list[str]:
    path = server.home / "jobs" / "_standalone" / job / "logs" / file
    return [line for line in path.read_text().splitlines() if line]


@pytest.fixture(scope="module")
def done(served: Server) -> dict[str, Any]:
    """A standalone training job of 5 epochs, run to the end, and its only stream."""
    described = run_job(served, "logs-done", epochs="5")
    assert described["TrainingJobStatus"] == "Completed"
    streams = logs_client(served).describe_log_streams(
        logGroupName=GROUP, logStreamNamePrefix="logs-done/"
    )["logStreams"]
    return {"described": described, "stream": streams[0]["logStreamName"], "streams": streams}


def test_the_log_group(served: Server, done: dict[str, Any]) -> None:
    logs = logs_client(served)
    groups = logs.describe_log_groups(logGroupNamePrefix="/aws/sagemaker/")["logGroups"]
    assert [g["logGroupName"] for g in groups] == [GROUP]
    assert groups[0]["arn"] == f"arn:aws:logs:{REGION}:123456789012:log-group:{GROUP}:*"
    assert logs.describe_log_groups(logGroupNamePrefix="/aws/lambda/")["logGroups"] == []


def test_one_stream_per_host_named_as_sagemaker_names_it(
    served: Server, done: dict[str, Any]
) -> None:
    started = int(done["described"]["TrainingStartTime"].timestamp())
    [stream] = done["streams"]
    assert stream["logStreamName"] == f"logs-done/algo-1-{started}"
    launched = int(done["described"]["TrainingStartTime"].timestamp() * 1000)
    assert stream["firstEventTimestamp"] == stream["lastEventTimestamp"] == launched
    assert stream["lastIngestionTime"] >= launched
    # a prefix without the slash finds it too; another job's prefix does not
    logs = logs_client(served)
    found = logs.describe_log_streams(logGroupName=GROUP, logStreamNamePrefix="logs-do")
    assert stream["logStreamName"] in [s["logStreamName"] for s in found["logStreams"]]
    other = logs.describe_log_streams(logGroupName=GROUP, logStreamNamePrefix="logs-done-x")
    assert other["logStreams"] == []


def test_events_from_the_head_then_the_same_token_at_the_end(
    served: Server, done: dict[str, Any]
) -> None:
    logs = logs_client(served)
    first = logs.get_log_events(
        logGroupName=GROUP, logStreamName=done["stream"], startFromHead=True
    )
    lines = log_lines(served, "logs-done")
    assert [e["message"] for e in first["events"]] == lines
    assert len(lines) == 5 and lines[0].startswith("epoch=1 loss=")
    launched = int(done["described"]["TrainingStartTime"].timestamp() * 1000)
    assert {e["timestamp"] for e in first["events"]} == {launched}
    again = logs.get_log_events(
        logGroupName=GROUP, logStreamName=done["stream"], nextToken=first["nextForwardToken"]
    )
    assert again["events"] == []
    assert again["nextForwardToken"] == first["nextForwardToken"]


def test_pages_forward_and_backward(served: Server, done: dict[str, Any]) -> None:
    logs, lines = logs_client(served), log_lines(served, "logs-done")
    forward, token = [], None
    while True:
        page = logs.get_log_events(
            logGroupName=GROUP,
            logStreamName=done["stream"],
            startFromHead=True,
            limit=2,
            **({"nextToken": token} if token else {}),
        )
        forward += [e["message"] for e in page["events"]]
        if page["nextForwardToken"] == token:
            break
        token = page["nextForwardToken"]
    assert forward == lines
    # without startFromHead: the latest events, then older ones with the backward token
    page = logs.get_log_events(logGroupName=GROUP, logStreamName=done["stream"], limit=2)
    assert [e["message"] for e in page["events"]] == lines[-2:]
    backward = [e["message"] for e in page["events"]]
    while True:
        token = page["nextBackwardToken"]
        page = logs.get_log_events(
            logGroupName=GROUP, logStreamName=done["stream"], limit=2, nextToken=token
        )
        backward = [e["message"] for e in page["events"]] + backward
        if page["nextBackwardToken"] == token:
            break
    assert backward == lines


def test_the_time_window(served: Server, done: dict[str, Any]) -> None:
    logs = logs_client(served)
    launched = int(done["described"]["TrainingStartTime"].timestamp() * 1000)
    ask = {"logGroupName": GROUP, "logStreamName": done["stream"], "startFromHead": True}
    assert len(logs.get_log_events(**ask, startTime=launched, endTime=launched + 1)["events"]) == 5
    assert logs.get_log_events(**ask, startTime=launched + 1)["events"] == []
    assert logs.get_log_events(**ask, endTime=launched)["events"] == []
    code, message, _ = error_code(
        lambda: logs.filter_log_events(logGroupName=GROUP, startTime=launched, endTime=1)
    )
    assert code == "InvalidParameterException"
    assert message == f"startTime: must not be after endTime; got {launched} > 1"


def test_tailing_a_running_job(served: Server) -> None:
    """Forward tokens while the job prints: each line arrives once, in order, and a
    call with nothing new gives the same token back."""
    name = unique("logs-tail")
    served.client().create_training_job(
        **jobs.training_job(name, {"epochs": "12", "seconds_per_epoch": "0.15"})
    )
    logs = logs_client(served)

    def stream() -> str | None:
        found = logs.describe_log_streams(logGroupName=GROUP, logStreamNamePrefix=f"{name}/")
        return found["logStreams"][0]["logStreamName"] if found["logStreams"] else None

    stream_name = wait_for(stream, 30, "the job's log stream")
    seen, token, same_token, while_running = [], None, 0, 0
    while True:
        status = served.client().describe_training_job(TrainingJobName=name)["TrainingJobStatus"]
        ask = {"nextToken": token} if token else {"startFromHead": True}
        page = logs.get_log_events(logGroupName=GROUP, logStreamName=stream_name, **ask)
        seen += [e["message"] for e in page["events"]]
        same_token += not page["events"] and page["nextForwardToken"] == token
        while_running += bool(page["events"]) and status == "InProgress"
        token = page["nextForwardToken"]
        if status != "InProgress" and not page["events"]:
            break
    assert seen == log_lines(served, name)
    assert [line.split()[0] for line in seen] == [f"epoch={k}" for k in range(1, 13)]
    assert while_running >= 2 and same_token >= 1


def test_filter_log_events(served: Server, done: dict[str, Any]) -> None:
    logs = logs_client(served)

    def messages(pattern: str) -> list[str]:
        found = logs.filter_log_events(
            logGroupName=GROUP, logStreamNames=[done["stream"]], filterPattern=pattern
        )
        assert {e["logStreamName"] for e in found["events"]} <= {done["stream"]}
        return [e["message"].split()[0] for e in found["events"]]

    assert messages("") == [f"epoch={k}" for k in range(1, 6)]
    assert messages("epoch=2") == ["epoch=2"]
    assert messages("loss -epoch=1 -epoch=5") == ["epoch=2", "epoch=3", "epoch=4"]
    assert messages("?epoch=1 ?epoch=3") == ["epoch=1", "epoch=3"]
    assert messages('"epoch=4 loss"') == ["epoch=4"]
    # pages of one event each, by the paginator, over the job's prefix
    paginator = logs.get_paginator("filter_log_events")
    pages = list(
        paginator.paginate(
            logGroupName=GROUP,
            logStreamNamePrefix="logs-done/",
            PaginationConfig={"PageSize": 1},
        )
    )
    assert len(pages) == 5
    assert [p["events"][0]["message"] for p in pages] == log_lines(served, "logs-done")
    first = logs.filter_log_events(logGroupName=GROUP, logStreamNamePrefix="logs-done/", limit=1)
    code, message, _ = error_code(
        lambda: logs.filter_log_events(
            logGroupName=GROUP, logStreamNamePrefix="logs-do", nextToken=first["nextToken"]
        )
    )
    assert code == "InvalidParameterException"
    assert message.startswith("nextToken: the token is valid only for a request with the same")
    code, message, _ = error_code(
        lambda: logs.filter_log_events(logGroupName=GROUP, filterPattern='{ $.level = "x" }')
    )
    assert code == "InvalidParameterException"
    assert "filterPattern: JSON patterns are not supported" in message


def test_a_job_on_two_instances_has_a_stream_per_host(served: Server) -> None:
    name = unique("logs-two")
    described = run_job(served, name, instances=2, epochs="3")
    assert described["TrainingJobStatus"] == "Completed"
    logs = logs_client(served)
    streams = logs.describe_log_streams(logGroupName=GROUP, logStreamNamePrefix=f"{name}/")
    started = int(described["TrainingStartTime"].timestamp())
    names = [s["logStreamName"] for s in streams["logStreams"]]
    assert names == [f"{name}/algo-1-{started}", f"{name}/algo-2-{started}"]
    for stream, file in zip(names, ("attempt-1-algo-1.log", "attempt-1.log"), strict=True):
        events = logs.get_log_events(logGroupName=GROUP, logStreamName=stream, startFromHead=True)
        assert [e["message"] for e in events["events"]] == log_lines(served, name, file)
    # the SDK's call: limit = the instance count, names in order
    sdk_call = logs.describe_log_streams(
        logGroupName=GROUP, logStreamNamePrefix=f"{name}/", orderBy="LogStreamName", limit=2
    )
    assert [s["logStreamName"] for s in sdk_call["logStreams"]] == names
    assert "nextToken" not in sdk_call
    one = logs.describe_log_streams(logGroupName=GROUP, logStreamNamePrefix=f"{name}/", limit=1)
    rest = logs.describe_log_streams(
        logGroupName=GROUP, logStreamNamePrefix=f"{name}/", limit=1, nextToken=one["nextToken"]
    )
    assert [s["logStreamName"] for s in one["logStreams"] + rest["logStreams"]] == names
    assert "nextToken" not in rest


def test_errors(served: Server, done: dict[str, Any]) -> None:
    logs = logs_client(served, parameter_validation=False)
    stream = done["stream"]
    code, message, status = error_code(
        lambda: logs.get_log_events(logGroupName=GROUP, logStreamName="logs-done/algo-1-1")
    )
    assert (code, status) == ("ResourceNotFoundException", 400)
    assert "log stream does not exist: 'logs-done/algo-1-1'" in message
    code, message, _ = error_code(
        lambda: logs.get_log_events(logGroupName="/aws/lambda/x", logStreamName=stream)
    )
    assert code == "ResourceNotFoundException" and "log group does not exist" in message
    code, message, _ = error_code(
        lambda: logs.get_log_events(logGroupName=GROUP, logStreamName=stream, limit=0)
    )
    assert code == "InvalidParameterException"
    assert message == "limit: must be at least 1; got 0"
    code, message, _ = error_code(lambda: logs.describe_log_streams(logGroupName=GROUP, limit=51))
    assert (code, message) == ("InvalidParameterException", "limit: must be at most 50; got 51")
    code, message, _ = error_code(
        lambda: logs.describe_log_streams(
            logGroupName=GROUP, orderBy="LastEventTime", logStreamNamePrefix="logs-done"
        )
    )
    assert code == "InvalidParameterException" and "orderBy LastEventTime" in message


def test_a_token_is_opaque_and_an_edited_one_is_refused(
    served: Server, done: dict[str, Any]
) -> None:
    logs = logs_client(served)
    page = logs.get_log_events(
        logGroupName=GROUP, logStreamName=done["stream"], startFromHead=True, limit=1
    )
    token = page["nextForwardToken"]
    payload, check = token.rsplit(".", 1)
    decoded = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    decoded["p"][1] = 0  # rewind, keeping the token well-formed
    edited = base64.urlsafe_b64encode(json.dumps(decoded).encode()).decode()
    for bad in (f"{edited}.{check}", token[:-1] + ("0" if token[-1] != "0" else "1"), "f/123"):
        code, message, _ = error_code(
            lambda bad=bad: logs.get_log_events(
                logGroupName=GROUP, logStreamName=done["stream"], nextToken=bad
            )
        )
        assert code == "InvalidParameterException"
        assert "nextToken:" in message and "is not a token this server issued" in message
    other = run_job(served, unique("logs-other"), epochs="1")["TrainingJobName"]
    other_stream = logs.describe_log_streams(logGroupName=GROUP, logStreamNamePrefix=f"{other}/")[
        "logStreams"
    ][0]["logStreamName"]
    code, message, _ = error_code(
        lambda: logs.get_log_events(
            logGroupName=GROUP, logStreamName=other_stream, nextToken=token
        )
    )
    assert code == "InvalidParameterException"
    assert message == (
        f"nextToken: the token was issued for log stream {done['stream']!r}, "
        f"not for {other_stream!r}"
    )


def test_a_log_group_arn_names_the_group(served: Server, done: dict[str, Any]) -> None:
    arn = f"arn:aws:logs:{REGION}:123456789012:log-group:{GROUP}"
    events = logs_client(served).get_log_events(
        logGroupIdentifier=arn, logStreamName=done["stream"], startFromHead=True
    )
    assert len(events["events"]) == 5


def signed_post(server: Server, target: str, service: str, body: dict) -> httpx.Response:
    """``body`` to ``target``, signed by botocore's SigV4 signer for ``service``."""
    data = json.dumps(body).encode()
    request = AWSRequest(
        method="POST",
        url=server.url + "/",
        data=data,
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target},
    )
    SigV4Auth(Credentials(*FULL_KEY), service, REGION).add_auth(request)
    return httpx.post(server.url + "/", content=data, headers=dict(request.headers.items()))


def test_logs_is_signed_for_logs_and_sagemaker_for_sagemaker(
    served: Server, done: dict[str, Any]
) -> None:
    ask = {"logGroupName": GROUP, "logStreamName": done["stream"]}
    assert signed_post(served, f"{TARGET_PREFIX}GetLogEvents", "logs", ask).status_code == 200
    refused = signed_post(served, f"{TARGET_PREFIX}GetLogEvents", "sagemaker", ask)
    assert refused.status_code == 403
    assert refused.json()["__type"] == "InvalidSignatureException"
    assert "scoped to correct service: 'logs'" in refused.json()["message"]
    describe = {"TrainingJobName": "logs-done"}
    refused = signed_post(served, "SageMaker.DescribeTrainingJob", "logs", describe)
    assert refused.json()["__type"] == "InvalidSignatureException"
    unknown = signed_post(served, f"{TARGET_PREFIX}PutLogEvents", "logs", {})
    assert unknown.json()["__type"] == "UnknownOperationException"
    assert "GetLogEvents" in unknown.json()["message"]


def test_access_keys_policies_cover_logs_actions(served: Server, done: dict[str, Any]) -> None:
    keys = AccessKeyService(served.store, SecretBox.for_home(served.home), SystemClock())
    narrow = ("AKIDTUNELABLOGS00001", "logs-secret-0123456789")
    keys.create("DescribeTrainingJob,logs:DescribeLogStreams,GetLogEvents", *narrow)
    ask = {"logGroupName": GROUP, "logStreamName": done["stream"], "startFromHead": True}
    assert len(logs_client(served, READ_ONLY_KEY).get_log_events(**ask)["events"]) == 5
    assert len(logs_client(served, narrow).get_log_events(**ask)["events"]) == 5
    code, message, _ = error_code(
        lambda: logs_client(served, narrow).filter_log_events(logGroupName=GROUP)
    )
    assert code == "AccessDeniedException"
    assert f"User: {narrow[0]} is not authorized to perform: logs:FilterLogEvents" in message


def test_a_later_attempt_has_a_stream_of_its_own(served: Server, tmp_path: Path) -> None:
    """A job run again (RetryStrategy, a restart after a crash): one stream per attempt,
    named after each attempt's launch. The second attempt is written to the store and
    the job's directory as the training runner does."""
    from tunelab.domain.enums import SecondaryStatus

    name = unique("logs-again")
    run_job(served, name, epochs="2")
    job = served.store.get_training_job(name)
    relaunched = job.end_time + 5
    again = job.transition(
        SecondaryStatus.RESTARTING, relaunched - 1, f"Restarting as attempt {job.attempt + 1}"
    ).transition(SecondaryStatus.TRAINING, relaunched, "Training in progress.")
    with served.store.batch() as batch:
        batch.put_training_job(again.evolve(attempt=2))
    folder = served.home / "jobs" / "_standalone" / name / "logs"
    (folder / "attempt-2.log").write_text("resumed\n\nepoch=3 loss=0.1; acc=0.9;\n")
    logs = logs_client(served)
    streams = logs.describe_log_streams(logGroupName=GROUP, logStreamNamePrefix=f"{name}/")
    names = [s["logStreamName"] for s in streams["logStreams"]]
    assert names == [f"{name}/algo-1-{int(job.start_time)}", f"{name}/algo-1-{int(relaunched)}"]
    second = logs.get_log_events(logGroupName=GROUP, logStreamName=names[1], startFromHead=True)
    assert [e["message"] for e in second["events"]] == ["resumed", "epoch=3 loss=0.1; acc=0.9;"]
    assert {e["timestamp"] for e in second["events"]} == {int(relaunched * 1000)}
    newest = logs.describe_log_streams(
        logGroupName=GROUP, orderBy="LastEventTime", descending=True
    )
    assert newest["logStreams"][0]["logStreamName"] == names[1]
