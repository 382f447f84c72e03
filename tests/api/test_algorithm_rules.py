"""CreateAlgorithm checks the TrainingSpecification, and jobs naming a registered
algorithm are checked against it, through a real boto3 client: refusals are
``ValidationException``s naming the field, never a 5xx (``checked``)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.api import jobs
from tests.api.conftest import Server, error_code, unique, wait_tuning_job
from tests.api.test_operations import algorithm

pytestmark = pytest.mark.usefixtures("checked")


def registered(name: str) -> dict[str, Any]:
    """The test program as an algorithm declaring the hyperparameters the jobs pass."""
    request = algorithm(name)
    request["TrainingSpecification"]["SupportedHyperParameters"] += [
        {"Name": "epochs", "Type": "Integer", "IsRequired": True},
        {"Name": "seconds_per_epoch", "Type": "Continuous"},
    ]
    return request


def on_algorithm(name: str, algorithm_name: str, **changes: Any) -> dict[str, Any]:
    request = jobs.tuning_job(name, max_jobs=1, parallel=1, **changes)
    request["TrainingJobDefinition"]["AlgorithmSpecification"] = {
        "AlgorithmName": algorithm_name,
        "TrainingInputMode": "File",
    }
    return request


def test_an_invalid_metric_regex_is_refused_at_create_algorithm(checked: Server) -> None:
    """repros/02: the algorithm was stored, and every job naming it refused with a
    message about a MetricDefinitions field the job's request did not contain."""
    client = checked.client()
    request = algorithm(unique("bad-regex"))
    request["TrainingSpecification"]["MetricDefinitions"] = [
        {"Name": "loss", "Regex": "loss=(["},
        *copy.deepcopy(jobs.METRICS[1:]),
    ]
    code, message, status = error_code(lambda: client.create_algorithm(**request))
    assert (code, status) == ("ValidationException", 400)
    assert message == (
        "TrainingSpecification.MetricDefinitions[0].Regex: is not a valid regular expression: "
        "unterminated character set at position 6"
    )
    with pytest.raises(client.exceptions.ResourceNotFound):
        client.describe_algorithm(AlgorithmName=request["AlgorithmName"])


def test_a_job_on_a_registered_algorithm_is_checked_against_it(checked: Server) -> None:
    client = checked.client()
    name = unique("declared")
    client.create_algorithm(**registered(name))
    ranges = {"ContinuousParameterRanges": [{"Name": "x", "MinValue": "0.5", "MaxValue": "2"}]}
    refused = on_algorithm(unique("on-declared"), name, ranges=ranges)
    refused["TrainingJobDefinition"]["ResourceConfig"]["InstanceType"] = "ml.p3.2xlarge"
    code, message, status = error_code(lambda: client.create_hyper_parameter_tuning_job(**refused))
    assert (code, status) == ("ValidationException", 400)
    assert message == (
        "2 validation errors:\n"
        "- HyperParameterTuningJobConfig.ParameterRanges.ContinuousParameterRanges[0].MaxValue: "
        "2 is outside the valid range of 'x', [0, 1]\n"
        f"- TrainingJobDefinition.ResourceConfig.InstanceType: the algorithm '{name}' supports "
        "the instance types ml.m5.large (SupportedTrainingInstanceTypes); got ml.p3.2xlarge"
    )
    accepted = unique("on-declared")
    client.create_hyper_parameter_tuning_job(**on_algorithm(accepted, name))
    assert wait_tuning_job(client, accepted)["HyperParameterTuningJobStatus"] == "Completed"
