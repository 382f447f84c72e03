"""Values a SageMaker server refuses, over the wire: JSON's non-standard NaN/Infinity
tokens and numbers too long to read (SerializationException, naming the field),
numbers that overflow a double, tag keys with the reserved ``aws:`` prefix, relative
``file:`` training programs, and ARNs of another partition, region or account."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.api import jobs
from tests.api.conftest import REGION, Server, error_code, unique, wait_tuning_job
from tests.api.test_errors import envelope, signed
from tests.api.test_operations import algorithm

pytestmark = pytest.mark.usefixtures("checked")
TARGET = "HyperParameterTuningJobConfig.TuningJobCompletionCriteria.TargetObjectiveMetricValue"


def _create_body(name: str, target: str) -> bytes:
    """A CreateHyperParameterTuningJob body whose TargetObjectiveMetricValue is the raw
    JSON text ``target``."""
    document = jobs.tuning_job(name, max_jobs=1, parallel=1)
    criteria = {"TargetObjectiveMetricValue": "@TARGET@"}
    document["HyperParameterTuningJobConfig"]["TuningJobCompletionCriteria"] = criteria
    return json.dumps(document).replace('"@TARGET@"', target).encode()


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_non_standard_json_tokens_are_not_json(checked: Server, token: str) -> None:
    name = unique("nan")
    response = signed(
        checked, "SageMaker.CreateHyperParameterTuningJob", _create_body(name, token)
    )
    status, code, message = envelope(response)
    assert (status, code) == (400, "SerializationException")
    assert message.startswith(f"{TARGET}: {token} is not a JSON number")
    for body in (b'{"CreationTimeAfter": NaN}', b'{"MaxResults": Infinity}'):
        status, code, message = envelope(
            signed(checked, "SageMaker.ListHyperParameterTuningJobs", body)
        )
        assert (status, code) == (400, "SerializationException"), body
        assert message.split(":")[0] in ("CreationTimeAfter", "MaxResults")
    client = checked.client()
    with pytest.raises(client.exceptions.ResourceNotFound):
        client.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName=name)


def test_numbers_beyond_a_double_are_refused_naming_the_field(checked: Server) -> None:
    name = unique("huge")
    response = signed(
        checked, "SageMaker.CreateHyperParameterTuningJob", _create_body(name, "1e400")
    )
    status, code, message = envelope(response)
    assert (status, code) == (400, "ValidationException")
    assert message.startswith(f"{TARGET}: must be a finite number")
    for member in ("CreationTimeAfter", "LastModifiedTimeBefore"):
        for value in (b"1e400", b"-1e400", b"1" + b"0" * 400):
            body = b'{"%s": %s}' % (member.encode(), value)
            status, code, message = envelope(signed(checked, "SageMaker.ListTrainingJobs", body))
            assert (status, code) == (400, "ValidationException"), body
            assert message.startswith(f"{member}: must be a finite number"), message


def test_an_integer_too_long_to_read_names_its_field(checked: Server) -> None:
    body = b'{"MaxResults": ' + b"9" * 5001 + b"}"
    status, code, message = envelope(
        signed(checked, "SageMaker.ListHyperParameterTuningJobs", body)
    )
    assert (status, code) == (400, "SerializationException")
    assert (
        message == "MaxResults: a number of 5001 digits is too long to read (at most 4300 digits)"
    )


@pytest.mark.parametrize("key", ["aws:team", "AWS:Team", "Aws:x"])
def test_tag_keys_with_the_aws_prefix_are_reserved(checked: Server, key: str) -> None:
    client = checked.client()
    name = unique("reserved")
    tags = [{"Key": "ok", "Value": ""}, {"Key": key, "Value": "v"}]
    document = {**jobs.tuning_job(name, max_jobs=1, parallel=1), "Tags": tags}
    code, message, _ = error_code(lambda: client.create_hyper_parameter_tuning_job(**document))
    assert code == "ValidationException"
    assert message.startswith("Tags[1].Key: tag keys starting with 'aws:'") and key in message
    training = {**jobs.training_job(unique("reserved")), "Tags": tags}
    code, message, _ = error_code(lambda: client.create_training_job(**training))
    assert (code, message.split(":")[0]) == ("ValidationException", "Tags[1].Key")
    arn = client.create_hyper_parameter_tuning_job(
        **jobs.tuning_job(name, max_jobs=1, parallel=1)
    )["HyperParameterTuningJobArn"]
    code, message, _ = error_code(lambda: client.add_tags(ResourceArn=arn, Tags=tags))
    assert (code, message.split(":")[0]) == ("ValidationException", "Tags[1].Key")
    assert client.list_tags(ResourceArn=arn)["Tags"] == []
    wait_tuning_job(client, name)


@pytest.mark.parametrize("image", ["file:train.py", "file:./train.py", "file:../x/train.py"])
def test_a_relative_training_program_is_refused(checked: Server, image: str) -> None:
    client = checked.client()
    hint = "a relative path is resolved only in a job file"
    tuning = jobs.tuning_job(unique("relative"), max_jobs=1, parallel=1)
    tuning["TrainingJobDefinition"]["AlgorithmSpecification"]["TrainingImage"] = image
    training = jobs.training_job(unique("relative"))
    training["AlgorithmSpecification"]["TrainingImage"] = image
    registered = algorithm(unique("relative"))
    registered["TrainingSpecification"]["TrainingImage"] = image
    for call, where in (
        (
            lambda: client.create_hyper_parameter_tuning_job(**tuning),
            "TrainingJobDefinition.AlgorithmSpecification.TrainingImage",
        ),
        (lambda: client.create_training_job(**training), "AlgorithmSpecification.TrainingImage"),
        (lambda: client.create_algorithm(**registered), "TrainingSpecification.TrainingImage"),
    ):
        code, message, _ = error_code(call)
        assert code == "ValidationException"
        assert message.startswith(f"{where}: got {image!r}: {hint}"), message


def _arn(kind: str, name: str, region: str = REGION, account: str = "123456789012") -> str:
    return f"arn:aws:sagemaker:{region}:{account}:{kind}/{name}"


FOREIGN = [
    ("eu-west-1", "123456789012", "region"),
    (REGION, "999999999999", "account"),
]


@pytest.mark.parametrize(("region", "account", "what"), FOREIGN)
def test_arns_of_another_region_or_account_name_nothing_here(
    checked: Server, region: str, account: str, what: str
) -> None:
    client = checked.client()
    name = unique("victim")
    arn = client.create_hyper_parameter_tuning_job(
        **jobs.tuning_job(name, max_jobs=1, parallel=1)
    )["HyperParameterTuningJobArn"]
    assert arn == _arn("hyper-parameter-tuning-job", name)
    foreign = _arn("hyper-parameter-tuning-job", name, region, account)
    tags = [{"Key": "owner", "Value": "mallory"}]
    calls: list[Any] = [
        lambda: client.add_tags(ResourceArn=foreign, Tags=tags),
        lambda: client.list_tags(ResourceArn=foreign),
        lambda: client.delete_tags(ResourceArn=foreign, TagKeys=["owner"]),
    ]
    for call in calls:
        code, message, _ = error_code(call)
        assert code == "ValidationException"
        assert f"does not exist on this server: its {what} is" in message
    assert client.list_tags(ResourceArn=arn)["Tags"] == []
    wait_tuning_job(client, name)

    program = unique("program")
    client.create_algorithm(**algorithm(program))
    other = _arn("algorithm", program, region, account)
    with pytest.raises(client.exceptions.ResourceNotFound):
        client.describe_algorithm(AlgorithmName=other)
    assert client.describe_algorithm(AlgorithmName=_arn("algorithm", program))["AlgorithmName"]
    training = jobs.training_job(unique("foreign-algorithm"))
    training["AlgorithmSpecification"] = {"AlgorithmName": other, "TrainingInputMode": "File"}
    code, message, _ = error_code(lambda: client.create_training_job(**training))
    assert code == "ValidationException"
    assert message.startswith(f"AlgorithmSpecification.AlgorithmName: {other!r} names no")
    tuning = jobs.tuning_job(unique("foreign-algorithm"), max_jobs=1, parallel=1)
    spec = tuning["TrainingJobDefinition"]["AlgorithmSpecification"]
    tuning["TrainingJobDefinition"]["AlgorithmSpecification"] = {
        "AlgorithmName": other,
        "TrainingInputMode": "File",
        "MetricDefinitions": spec["MetricDefinitions"],
    }
    code, message, _ = error_code(lambda: client.create_hyper_parameter_tuning_job(**tuning))
    assert code == "ValidationException"
    assert f"its {what} is" in message
    assert message.startswith("TrainingJobDefinition.AlgorithmSpecification.AlgorithmName")


def test_an_arn_of_another_partition_names_nothing_here(checked: Server) -> None:
    client = checked.client()
    name = unique("partition")
    client.create_hyper_parameter_tuning_job(**jobs.tuning_job(name, max_jobs=1, parallel=1))
    foreign = _arn("hyper-parameter-tuning-job", name).replace("arn:aws:", "arn:aws-cn:")
    code, message, _ = error_code(lambda: client.list_tags(ResourceArn=foreign))
    assert code == "ValidationException" and "its partition is 'aws-cn'" in message
    wait_tuning_job(client, name)
