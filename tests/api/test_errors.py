"""Every error code tunelab answers with, as real clients see it: boto3 (with
``parameter_validation=False`` where boto3 would refuse the request itself) and raw
HTTP signed with botocore's SigV4 signer. Every response is a 4xx AWS error envelope
(``checked``); none is a 500."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.auth
import httpx
import pytest
from botocore import UNSIGNED
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError, ParamValidationError

from tests.api import jobs
from tests.api.conftest import FULL_KEY, READ_ONLY_KEY, Server, error_code, unique, wait_for
from tunelab.api.sigv4 import INVALID_TOKEN, SIGNATURE_MISMATCH

pytestmark = pytest.mark.usefixtures("checked")
Client = Any
Document = dict[str, Any]


def signed(
    server: Server,
    target: str,
    body: bytes,
    key: tuple[str, str] = FULL_KEY,
    when: datetime | None = None,
) -> httpx.Response:
    """POST ``body`` with ``X-Amz-Target: target``, signed by botocore's SigV4 signer
    (at ``when``, default now)."""
    request = AWSRequest(
        method="POST",
        url=server.url + "/",
        data=body,
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target},
    )
    signer = SigV4Auth(Credentials(*key), "sagemaker", "us-east-1")
    if when is None:
        signer.add_auth(request)
    else:
        original = botocore.auth.get_current_datetime
        botocore.auth.get_current_datetime = lambda *a, **k: when.replace(tzinfo=None)
        try:
            signer.add_auth(request)
        finally:
            botocore.auth.get_current_datetime = original
    return httpx.post(server.url + "/", content=body, headers=dict(request.headers.items()))


def raw(server: Server, headers: dict[str, str], body: bytes = b"{}") -> httpx.Response:
    return httpx.post(server.url + "/", content=body, headers=headers)


def envelope(response: httpx.Response) -> tuple[int, str, str]:
    """(status, ``__type``, ``message``) of an error response."""
    assert response.headers["content-type"] == "application/x-amz-json-1.1"
    assert response.headers["x-amzn-requestid"]
    body = response.json()
    assert set(body) == {"__type", "message"}
    return response.status_code, body["__type"], body["message"]


# -- ValidationException ---------------------------------------------------------------------


def broken(name: str, change: Callable[[Document], None]) -> Document:
    document = jobs.tuning_job(name)
    change(document)
    return document


def _config(document: Document) -> Document:
    return document["HyperParameterTuningJobConfig"]


def _definition(document: Document) -> Document:
    return document["TrainingJobDefinition"]


def _set(path: str, value: Any) -> Callable[[Document], None]:
    """A change that sets the member at a dotted ``path`` (creating structures)."""

    def change(document: Document) -> None:
        *parents, last = path.split(".")
        target = document
        for part in parents:
            target = target.setdefault(part, {})
        target[last] = value

    return change


def _both_definitions(document: Document) -> None:
    definition = copy.deepcopy(_definition(document))
    definition.update(
        DefinitionName="extra",
        TuningObjective={"Type": "Minimize", "MetricName": "loss"},
        HyperParameterRanges=jobs.X_RANGE,
    )
    document["TrainingJobDefinitions"] = [definition]


def _typo(document: Document) -> None:
    limits = _config(document)["ResourceLimits"]
    limits["MaxParallelTraningJobs"] = limits.pop("MaxParallelTrainingJobs")


CREATE_CASES: list[tuple[str, Callable[[Document], None], str]] = [
    (
        "no parallel jobs",
        _set("HyperParameterTuningJobConfig.ResourceLimits.MaxParallelTrainingJobs", 0),
        "MaxParallelTrainingJobs",
    ),
    (
        "parallel jobs as text",
        _set("HyperParameterTuningJobConfig.ResourceLimits.MaxParallelTrainingJobs", "two"),
        "must be an integer",
    ),
    ("empty name", _set("HyperParameterTuningJobName", ""), "HyperParameterTuningJobName"),
    (
        "name too long",
        _set("HyperParameterTuningJobName", "n" * 33),
        "HyperParameterTuningJobName",
    ),
    (
        "name with underscore",
        _set("HyperParameterTuningJobName", "bad_name"),
        "HyperParameterTuningJobName",
    ),
    ("unknown strategy", _set("HyperParameterTuningJobConfig.Strategy", "Sobol"), "Sobol"),
    ("both definition forms", _both_definitions, "TrainingJobDefinition"),
    ("no definition", lambda d: d.pop("TrainingJobDefinition"), "TrainingJobDefinition"),
    ("no resource limits", lambda d: _config(d).pop("ResourceLimits"), "ResourceLimits"),
    (
        "min above max",
        _set(
            "HyperParameterTuningJobConfig.ParameterRanges",
            {"ContinuousParameterRanges": [{"Name": "x", "MinValue": "2", "MaxValue": "1"}]},
        ),
        "MinValue",
    ),
    (
        "logarithmic from zero",
        _set(
            "HyperParameterTuningJobConfig.ParameterRanges",
            {
                "ContinuousParameterRanges": [
                    {"Name": "x", "MinValue": "0", "MaxValue": "1", "ScalingType": "Logarithmic"}
                ]
            },
        ),
        "Logarithmic",
    ),
    (
        "objective without a metric definition",
        _set("HyperParameterTuningJobConfig.HyperParameterTuningJobObjective.MetricName", "f1"),
        "f1",
    ),
    (
        "too few jobs not improving",
        _set(
            "HyperParameterTuningJobConfig.TuningJobCompletionCriteria",
            {"BestObjectiveNotImproving": {"MaxNumberOfTrainingJobsNotImproving": 2}},
        ),
        "MaxNumberOfTrainingJobsNotImproving",
    ),
    (
        "unknown early stopping type",
        _set("HyperParameterTuningJobConfig.TrainingJobEarlyStoppingType", "AUTO"),
        "AUTO",
    ),
    (
        "missing program",
        _set(
            "TrainingJobDefinition.AlgorithmSpecification.TrainingImage",
            "file:///no/such/program.py",
        ),
        "/no/such/program.py",
    ),
    (
        "container image",
        _set(
            "TrainingJobDefinition.AlgorithmSpecification.TrainingImage",
            "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgb:1",
        ),
        "TrainingImage",
    ),
    (
        "missing data",
        _set(
            "TrainingJobDefinition.InputDataConfig",
            [
                {
                    "ChannelName": "train",
                    "DataSource": {
                        "S3DataSource": {
                            "S3DataType": "S3Prefix",
                            "S3Uri": "s3://bucket/no-such-data/",
                        }
                    },
                }
            ],
        ),
        "no-such-data",
    ),
    ("bad role", _set("TrainingJobDefinition.RoleArn", "admin"), "RoleArn"),
    ("null member", _set("HyperParameterTuningJobConfig.RandomSeed", None), "RandomSeed"),
]


@pytest.mark.parametrize(
    ("change", "expected"), [c[1:] for c in CREATE_CASES], ids=[c[0] for c in CREATE_CASES]
)
def test_create_refuses_an_invalid_request(
    checked: Server, change: Callable[[Document], None], expected: str
) -> None:
    client = checked.client(parameter_validation=False)
    name = unique("invalid")
    document = broken(name, change)
    code, message, status = error_code(
        lambda: client.create_hyper_parameter_tuning_job(**document)
    )
    assert (code, status) == ("ValidationException", 400)
    assert expected in message
    # nothing was stored
    with pytest.raises(client.exceptions.ResourceNotFound):
        client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)


OTHER_CASES: list[tuple[str, str, Document, str]] = [
    ("list page too big", "list_hyper_parameter_tuning_jobs", {"MaxResults": 500}, "MaxResults"),
    ("list page empty", "list_hyper_parameter_tuning_jobs", {"MaxResults": 0}, "MaxResults"),
    (
        "name filter characters",
        "list_hyper_parameter_tuning_jobs",
        {"NameContains": "a_b"},
        "NameContains",
    ),
    ("unknown sort", "list_hyper_parameter_tuning_jobs", {"SortBy": "Size"}, "Size"),
    ("unknown status", "list_hyper_parameter_tuning_jobs", {"StatusEquals": "Running"}, "Running"),
    ("unknown sort order", "list_training_jobs", {"SortOrder": "Up"}, "Up"),
    (
        "training sort",
        "list_training_jobs_for_hyper_parameter_tuning_job",
        {"HyperParameterTuningJobName": "x", "SortBy": "LastModifiedTime"},
        "LastModifiedTime",
    ),
    ("token too long", "list_training_jobs", {"NextToken": "t" * 8193}, "NextToken"),
    ("token not ours", "list_training_jobs", {"NextToken": "bm90LWEtdG9rZW4"}, "NextToken"),
    (
        "describe a bad name",
        "describe_hyper_parameter_tuning_job",
        {"HyperParameterTuningJobName": "n" * 40},
        "HyperParameterTuningJobName",
    ),
    ("describe without a name", "describe_training_job", {}, "TrainingJobName"),
    (
        "list tags page",
        "list_tags",
        {
            "ResourceArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/x",
            "MaxResults": 10,
        },
        "MaxResults",
    ),
    (
        "delete no tag keys",
        "delete_tags",
        {"ResourceArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/x", "TagKeys": []},
        "TagKeys",
    ),
    (
        "tag of nothing",
        "add_tags",
        {
            "ResourceArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/nothing-here",
            "Tags": [{"Key": "a", "Value": "b"}],
        },
        "does not exist",
    ),
    (
        "tag key pattern",
        "add_tags",
        {
            "ResourceArn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/x",
            "Tags": [{"Key": "a\u0000", "Value": "b"}],
        },
        "Key",
    ),
    (
        "training job reading https data",
        "create_training_job",
        {
            "InputDataConfig": [
                {
                    "ChannelName": "train",
                    "DataSource": {
                        "S3DataSource": {
                            "S3DataType": "S3Prefix",
                            "S3Uri": "https://example.com/data",
                        }
                    },
                }
            ]
        },
        "InputDataConfig",
    ),
    ("training job without role", "create_training_job", {"RoleArn": None}, "RoleArn"),
]


@pytest.mark.parametrize(
    ("method", "params", "expected"), [c[1:] for c in OTHER_CASES], ids=[c[0] for c in OTHER_CASES]
)
def test_other_operations_refuse_invalid_requests(
    checked: Server, method: str, params: Document, expected: str
) -> None:
    client = checked.client(parameter_validation=False)
    if method == "create_training_job":
        document = jobs.training_job(unique("invalid"))
        for key, value in params.items():
            if value is None:
                document.pop(key)
            else:
                document[key] = value
        params = document
    code, message, status = error_code(lambda: getattr(client, method)(**params))
    assert (code, status) == ("ValidationException", 400)
    assert expected in message


def test_a_training_job_bigger_than_this_machine_exceeds_a_resource_limit(
    checked: Server,
) -> None:
    document = jobs.training_job(unique("too-big"))
    document["ResourceConfig"] = {
        "InstanceType": "ml.p4d.24xlarge",
        "InstanceCount": 1,
        "VolumeSizeInGB": 1,
    }
    client = checked.client()
    code, message, status = error_code(lambda: client.create_training_job(**document))
    assert (code, status) == ("ResourceLimitExceeded", 400)
    assert "ResourceConfig.InstanceType" in message


def test_a_likely_typo_gets_a_suggestion(checked: Server) -> None:
    """boto3 cannot even send a member its model lacks: raw HTTP, signed."""
    document = broken(unique("typo"), _typo)
    response = signed(
        checked, "SageMaker.CreateHyperParameterTuningJob", json.dumps(document).encode()
    )
    status, code, message = envelope(response)
    assert (status, code) == (400, "ValidationException")
    assert "MaxParallelTraningJobs" in message
    assert "did you mean 'MaxParallelTrainingJobs'" in message
    assert "MaxParallelTrainingJobs: is required" in message


def test_boto3_validation_would_have_stopped_those_requests(checked: Server) -> None:
    """Why the tests above turn boto3's own checks off: it refuses these before sending."""
    client = checked.client()
    with pytest.raises(ParamValidationError):
        client.list_tags(ResourceArn="arn:aws:sagemaker:us-east-1:123456789012:x/y", MaxResults=10)
    with pytest.raises(ParamValidationError):
        client.create_hyper_parameter_tuning_job(
            **broken(
                "x",
                _set("HyperParameterTuningJobConfig.ResourceLimits.MaxParallelTrainingJobs", 0),
            )
        )


def test_a_timestamp_that_is_no_time(checked: Server) -> None:
    response = signed(
        checked,
        "SageMaker.ListHyperParameterTuningJobs",
        json.dumps({"CreationTimeAfter": "yesterday"}).encode(),
    )
    status, code, message = envelope(response)
    assert (status, code) == (400, "ValidationException")
    assert "CreationTimeAfter" in message
    # both forms botocore accepts for a timestamp are accepted
    for value in (1.7e9, "2024-01-02T03:04:05.678Z"):
        response = signed(
            checked,
            "SageMaker.ListHyperParameterTuningJobs",
            json.dumps({"CreationTimeAfter": value}).encode(),
        )
        assert response.status_code == 200, response.text


def test_stop_and_delete_need_the_right_status(checked: Server) -> None:
    client = checked.client()
    name = unique("status")
    client.create_hyper_parameter_tuning_job(
        **jobs.tuning_job(
            name, max_jobs=1, parallel=1, static={"epochs": "50", "seconds_per_epoch": "0.1"}
        )
    )
    code, message, _ = error_code(
        lambda: client.delete_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    )
    assert code == "ValidationException" and "InProgress" in message
    client.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    wait_for(
        lambda: (
            client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)[
                "HyperParameterTuningJobStatus"
            ]
            == "Stopped"
        ),
        what="the job to stop",
    )
    code, message, _ = error_code(
        lambda: client.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    )
    assert code == "ValidationException" and "Stopped" in message


# -- ResourceNotFound, ResourceInUse, ResourceLimitExceeded ------------------------------------

NOT_FOUND: list[tuple[str, Document]] = [
    ("describe_hyper_parameter_tuning_job", {"HyperParameterTuningJobName": "no-such-job"}),
    ("stop_hyper_parameter_tuning_job", {"HyperParameterTuningJobName": "no-such-job"}),
    ("delete_hyper_parameter_tuning_job", {"HyperParameterTuningJobName": "no-such-job"}),
    (
        "list_training_jobs_for_hyper_parameter_tuning_job",
        {"HyperParameterTuningJobName": "no-such-job"},
    ),
    ("describe_training_job", {"TrainingJobName": "no-such-job"}),
    ("stop_training_job", {"TrainingJobName": "no-such-job"}),
    ("describe_algorithm", {"AlgorithmName": "no-such-algorithm"}),
]


@pytest.mark.parametrize(("method", "params"), NOT_FOUND, ids=[c[0] for c in NOT_FOUND])
def test_resource_not_found(checked: Server, method: str, params: Document) -> None:
    client = checked.client()
    with pytest.raises(client.exceptions.ResourceNotFound) as raised:
        getattr(client, method)(**params)
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "no-such" in raised.value.response["Error"]["Message"]


def test_resource_in_use(checked: Server) -> None:
    client = checked.client()
    name = unique("taken")
    document = jobs.tuning_job(name, max_jobs=1, parallel=1)
    client.create_hyper_parameter_tuning_job(**document)
    for taken in (name, name.upper()):  # names ignore case
        with pytest.raises(client.exceptions.ResourceInUse) as raised:
            client.create_hyper_parameter_tuning_job(
                **{**document, "HyperParameterTuningJobName": taken}
            )
        assert name in raised.value.response["Error"]["Message"]
    training = unique("taken")
    client.create_training_job(**jobs.training_job(training, {"epochs": "1"}))
    with pytest.raises(client.exceptions.ResourceInUse):
        client.create_training_job(**jobs.training_job(training.upper()))


@pytest.mark.parametrize(
    ("member", "value"), [("MaxParallelTrainingJobs", 11), ("MaxNumberOfTrainingJobs", 501)]
)
def test_resource_limit_exceeded(checked: Server, member: str, value: int) -> None:
    client = checked.client()
    document = jobs.tuning_job(unique("quota"))
    document["HyperParameterTuningJobConfig"]["ResourceLimits"][member] = value
    with pytest.raises(client.exceptions.ResourceLimitExceeded) as raised:
        client.create_hyper_parameter_tuning_job(**document)
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert member in raised.value.response["Error"]["Message"]


# -- the wire ------------------------------------------------------------------------------


def test_unknown_operation(checked: Server) -> None:
    client = checked.client()
    code, message, status = error_code(lambda: client.list_endpoints())
    assert (code, status) == ("UnknownOperationException", 400)
    assert "ListEndpoints" in message
    for target in ("SageMaker.NoSuchThing", "DynamoDB_20120810.ListTables", ""):
        status, code, _ = envelope(signed(checked, target, b"{}"))
        assert (status, code) == (400, "UnknownOperationException"), target


@pytest.mark.parametrize(
    "body", [b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe", b'{"a": 1'], ids=repr
)
def test_serialization_exception(checked: Server, body: bytes) -> None:
    response = signed(checked, "SageMaker.ListHyperParameterTuningJobs", body)
    status, code, _ = envelope(response)
    assert (status, code) == (400, "SerializationException")


DEEP_BODIES = {
    "unclosed arrays": b"[" * 100_000,
    "unclosed objects": b'{"a":' * 100_000,
    "closed arrays in a member": b'{"NameContains": ' + b"[" * 100 + b"]" * 100 + b"}",
    "closed objects": b'{"a": ' * 100 + b"1" + b"}" * 100,
}


@pytest.mark.parametrize("body", DEEP_BODIES.values(), ids=DEEP_BODIES.keys())
@pytest.mark.parametrize(
    "target", ["ListHyperParameterTuningJobs", "CreateHyperParameterTuningJob", "AddTags"]
)
def test_a_body_nested_too_deeply(checked: Server, body: bytes, target: str) -> None:
    """Refused before anything walks it (a RecursionError was a 500, which boto3 retries)."""
    status, code, message = envelope(signed(checked, f"SageMaker.{target}", body))
    assert (status, code) == (400, "SerializationException")
    assert message == "the body nests objects and arrays more than 64 levels deep"


def test_an_empty_body_is_an_empty_request(checked: Server) -> None:
    response = signed(checked, "SageMaker.ListHyperParameterTuningJobs", b"")
    assert response.status_code == 200
    assert "HyperParameterTuningJobSummaries" in response.json()


def test_get_is_not_the_api(checked: Server) -> None:
    assert httpx.get(checked.url + "/").status_code == 405
    assert httpx.get(checked.url + "/ping").text == "ok"


# -- authentication and authorisation ------------------------------------------------------


def test_missing_authentication_token(checked: Server) -> None:
    client = checked.client(signature_version=UNSIGNED)
    code, message, status = error_code(lambda: client.list_hyper_parameter_tuning_jobs())
    assert (code, status) == ("MissingAuthenticationToken", 403)
    assert "Signature Version 4" in message
    status, code, _ = envelope(
        raw(checked, {"X-Amz-Target": "SageMaker.ListHyperParameterTuningJobs"})
    )
    assert (status, code) == (403, "MissingAuthenticationToken")


@pytest.mark.parametrize(
    "authorization",
    [
        "AWS4-HMAC-SHA256 Credential={key}/{day}/us-east-1/sagemaker/aws4_request, "
        "SignedHeaders=host;x-amz-date",
        "AWS4-HMAC-SHA256 Credential={key}/{day}/us-east-1/sagemaker, "
        "SignedHeaders=host;x-amz-date, Signature=abc",
        "AWS4-HMAC-SHA256 Credential={key}/19990101/us-east-1/sagemaker/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=abc",
        "AWS4-HMAC-SHA256 Credential={key}/{day}/us-east-1/sagemaker/aws4_request, "
        "SignedHeaders=host;x-amz-date;x-not-sent, Signature=abc",
        "Basic dXNlcjpwYXNz",
    ],
    ids=["no signature", "short scope", "scope date", "unsent header", "other scheme"],
)
def test_incomplete_signature(checked: Server, authorization: str) -> None:
    now = datetime.now(UTC)
    headers = {
        "X-Amz-Target": "SageMaker.ListHyperParameterTuningJobs",
        "X-Amz-Date": now.strftime("%Y%m%dT%H%M%SZ"),
        "Authorization": authorization.format(key=FULL_KEY[0], day=now.strftime("%Y%m%d")),
    }
    status, code, _ = envelope(raw(checked, headers))
    assert (status, code) == (400, "IncompleteSignatureException")


def test_unrecognized_client(checked: Server) -> None:
    client = checked.client(key=("AKIDNOBODY0000000000", "whatever"))
    code, message, status = error_code(lambda: client.list_hyper_parameter_tuning_jobs())
    assert (code, status, message) == ("UnrecognizedClientException", 403, INVALID_TOKEN)


def test_wrong_secret(checked: Server) -> None:
    client = checked.client(key=(FULL_KEY[0], "not-the-secret"))
    code, message, status = error_code(lambda: client.list_hyper_parameter_tuning_jobs())
    assert (code, status, message) == ("InvalidSignatureException", 403, SIGNATURE_MISMATCH)
    assert "not-the-secret" not in message


@pytest.fixture
def signing_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[timedelta], None]]:
    """Shift the time boto3 signs with (X-Amz-Date) by an offset from now."""

    def shift(offset: timedelta) -> None:
        monkeypatch.setattr(
            botocore.auth,
            "get_current_datetime",
            lambda *a, **k: datetime.now(UTC).replace(tzinfo=None) + offset,
        )

    yield shift


@pytest.mark.parametrize(
    ("offset", "accepted"),
    [
        (timedelta(minutes=-10), False),
        (timedelta(minutes=10), False),
        (timedelta(minutes=-4), True),
        (timedelta(minutes=4), True),
    ],
)
def test_stale_or_future_date(
    checked: Server, signing_clock: Callable[[timedelta], None], offset: timedelta, accepted: bool
) -> None:
    client = checked.client()
    signing_clock(offset)
    if accepted:
        client.list_hyper_parameter_tuning_jobs()
        return
    code, message, status = error_code(lambda: client.list_hyper_parameter_tuning_jobs())
    assert (code, status) == ("InvalidSignatureException", 403)
    assert "Signature expired" in message or "Signature not yet current" in message


def test_a_request_changed_after_signing(checked: Server) -> None:
    target = "SageMaker.DescribeHyperParameterTuningJob"
    body = b'{"HyperParameterTuningJobName": "a"}'
    request = AWSRequest(
        method="POST",
        url=checked.url + "/",
        data=body,
        headers={"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": target},
    )
    SigV4Auth(Credentials(*FULL_KEY), "sagemaker", "us-east-1").add_auth(request)
    headers = dict(request.headers.items())
    changed_body = raw(checked, headers, b'{"HyperParameterTuningJobName": "b"}')
    assert envelope(changed_body)[:2] == (403, "InvalidSignatureException")
    changed_target = raw(
        checked, {**headers, "X-Amz-Target": "SageMaker.DeleteHyperParameterTuningJob"}, body
    )
    assert envelope(changed_target)[:2] == (403, "InvalidSignatureException")
    as_signed = raw(checked, headers, body)
    assert envelope(as_signed)[:2] == (400, "ResourceNotFound")


def test_access_denied_for_a_read_only_key(checked: Server) -> None:
    reader = checked.client(key=READ_ONLY_KEY)
    name = unique("readonly")
    code, message, status = error_code(
        lambda: reader.create_hyper_parameter_tuning_job(**jobs.tuning_job(name))
    )
    assert (code, status) == ("AccessDeniedException", 400)
    assert READ_ONLY_KEY[0] in message
    assert "sagemaker:CreateHyperParameterTuningJob" in message
    for call in (
        lambda: reader.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName=name),
        lambda: reader.create_training_job(**jobs.training_job(name)),
        lambda: reader.add_tags(
            ResourceArn=f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}",
            Tags=[{"Key": "a", "Value": "b"}],
        ),
    ):
        assert error_code(call)[0] == "AccessDeniedException"
    # nothing was created; reads are allowed
    with pytest.raises(reader.exceptions.ResourceNotFound):
        reader.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)
    reader.list_hyper_parameter_tuning_jobs()
    reader.list_training_jobs()
    reader.list_algorithms()
    # the same request with the full key is allowed
    writer = checked.client()
    writer.create_hyper_parameter_tuning_job(**jobs.tuning_job(name, max_jobs=1, parallel=1))
    reader.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)


def test_authentication_comes_before_validation(checked: Server) -> None:
    """An unsigned or badly signed request learns nothing about the request's validity
    or the resources."""
    anonymous = checked.client(signature_version=UNSIGNED, parameter_validation=False)
    code, _, _ = error_code(
        lambda: anonymous.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="n" * 40)
    )
    assert code == "MissingAuthenticationToken"
    stranger = checked.client(key=("AKIDNOBODY0000000000", "x"))
    code, _, _ = error_code(
        lambda: stranger.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="a")
    )
    assert code == "UnrecognizedClientException"


def test_no_error_is_retried_by_boto3(checked: Server) -> None:
    """Every refusal is a 4xx (botocore retries 5xx): with retries on, each bad request
    is sent exactly once."""
    client = checked.client(key=(FULL_KEY[0], "wrong"), retries={"max_attempts": 3})
    before = len(checked.exchanges)
    with pytest.raises(ClientError):
        client.list_training_jobs()
    assert len(checked.exchanges) == before + 1
