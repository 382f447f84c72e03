"""The rules of any training job definition, for a tuning job's definitions and for a
``CreateTrainingJob`` request alike: metric definitions, TrainingImage or
AlgorithmName, managed spot's MaxWaitTimeInSeconds, channels."""

from __future__ import annotations

from typing import Any

import pytest

from tests.factories import make_definition, make_document
from tunelab.domain.request import parse_tuning_job
from tunelab.domain.rules import check_spec
from tunelab.domain.training_request import check_training_job, parse_training_job_request

WHERE = "TrainingJobDefinition"


def channel(name: str, source: dict[str, Any] | None = None) -> dict[str, Any]:
    s3 = {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://data/{name}/"}}
    return {"ChannelName": name, "DataSource": s3 if source is None else source}


def tuning_messages(**definition: Any) -> list[str]:
    """The definition's violations in a tuning job, paths without the definition's."""
    spec = parse_tuning_job(make_document(**definition))
    return [str(v).removeprefix(f"{WHERE}.") for v in check_spec(spec)]


def training_messages(**definition: Any) -> list[str]:
    """The same definition's violations as a ``CreateTrainingJob`` request."""
    request = {"TrainingJobName": "solo"} | make_definition(**definition)
    return [str(v) for v in check_training_job(parse_training_job_request(request))]


@pytest.mark.parametrize("messages", [tuning_messages, training_messages])
def test_channel_names_are_unique(messages: Any) -> None:
    channels = [channel("train"), channel("validation"), channel("train")]
    assert messages(InputDataConfig=channels) == [
        "InputDataConfig[2].ChannelName: channel names must be unique; 'train' is also the "
        "name of InputDataConfig[0]"
    ]
    assert messages(InputDataConfig=channels[:2]) == []


@pytest.mark.parametrize("messages", [tuning_messages, training_messages])
def test_a_channel_is_not_named_dot_or_dot_dot(messages: Any) -> None:
    channels = [channel("train"), channel("."), channel("..")]
    assert messages(InputDataConfig=channels) == [
        f"InputDataConfig[{i}].ChannelName: '{name}' matches SageMaker's pattern "
        "[A-Za-z0-9\\.\\-_]+ but names no folder of its own: a channel's data is the folder "
        f"input/data/<ChannelName> (/opt/ml/input/data/ in SageMaker), and '{name}' is "
        f"{what}; choose another name"
        for i, name, what in ((1, ".", "input/data itself"), (2, "..", "its parent, input"))
    ]
    assert messages(InputDataConfig=[channel("..."), channel(".a"), channel("a.")]) == []


@pytest.mark.parametrize("messages", [tuning_messages, training_messages])
def test_a_channel_is_not_named_like_a_fifo_of_a_pipe_channel(messages: Any) -> None:
    pipe = channel("a") | {"InputMode": "Pipe"}
    assert messages(InputDataConfig=[pipe, channel("a_0"), channel("a_12")]) == [
        f"InputDataConfig[{i}].ChannelName: channel '{name}' has the name of a FIFO of the "
        "Pipe-mode channel 'a' (InputDataConfig[0] streams through input/data/a_0, a_1...); "
        "rename one of them"
        for i, name in ((1, "a_0"), (2, "a_12"))
    ]
    # not FIFO names of 'a' (a_01, a_x, a_0_1), or 'a' is not in Pipe mode
    assert (
        messages(InputDataConfig=[pipe, channel("a_01"), channel("a_x"), channel("a_0_1")]) == []
    )
    assert messages(InputDataConfig=[channel("a"), channel("a_0")]) == []


def test_the_algorithms_pipe_mode_makes_a_channel_pipe() -> None:
    algorithm = {
        "TrainingImage": "file:///bin/true",
        "TrainingInputMode": "Pipe",
        "MetricDefinitions": [{"Name": "validation:accuracy", "Regex": "acc=([0-9.]+)"}],
    }
    channels = [channel("b_3") | {"InputMode": "File"}, channel("b")]
    assert training_messages(AlgorithmSpecification=algorithm, InputDataConfig=channels) == [
        "InputDataConfig[0].ChannelName: channel 'b_3' has the name of a FIFO of the Pipe-mode "
        "channel 'b' (InputDataConfig[1] streams through input/data/b_0, b_1...); rename one "
        "of them"
    ]


@pytest.mark.parametrize("messages", [tuning_messages, training_messages])
def test_a_data_source_gives_one_source(messages: Any) -> None:
    both = channel("train")["DataSource"] | {
        "FileSystemDataSource": {
            "FileSystemId": "fs-0123456789",
            "FileSystemAccessMode": "ro",
            "FileSystemType": "EFS",
            "DirectoryPath": "/data",
        }
    }
    assert messages(InputDataConfig=[channel("train", {}), channel("test", both)]) == [
        "InputDataConfig[0].DataSource: give S3DataSource or FileSystemDataSource",
        "InputDataConfig[1].DataSource: give one data source; got S3DataSource and "
        "FileSystemDataSource",
    ]


def test_a_training_job_follows_a_tuning_jobs_definition_rules() -> None:
    spot = {"MaxRuntimeInSeconds": 300, "MaxWaitTimeInSeconds": 10}
    algorithm = {
        "TrainingInputMode": "File",
        "MetricDefinitions": [
            {"Name": "loss", "Regex": "loss=(x"},
            {"Name": "loss", "Regex": "loss=([0-9.]+)"},
        ],
    }
    assert training_messages(
        AlgorithmSpecification=algorithm,
        StoppingCondition=spot,
        EnableManagedSpotTraining=True,
    ) == [
        "AlgorithmSpecification.MetricDefinitions[0].Regex: is not a valid regular "
        "expression: missing ), unterminated subpattern at position 5",
        "AlgorithmSpecification.MetricDefinitions[1].Name: 'loss' is defined twice",
        "AlgorithmSpecification: give TrainingImage or AlgorithmName",
        "StoppingCondition.MaxWaitTimeInSeconds: must be at least MaxRuntimeInSeconds (300); "
        "got 10",
    ]
    assert training_messages(StoppingCondition=spot) == [
        "StoppingCondition.MaxWaitTimeInSeconds: Invalid MaxWaitTimeInSeconds. It is only "
        "supported when EnableManagedSpotTraining is set to true"
    ]
    assert training_messages() == []


def test_a_training_job_needs_an_algorithm_specification() -> None:
    request = {"TrainingJobName": "solo"} | make_definition()
    del request["AlgorithmSpecification"]
    assert [str(v) for v in check_training_job(parse_training_job_request(request))] == [
        "AlgorithmSpecification: is required: give its TrainingImage or AlgorithmName and "
        "TrainingInputMode"
    ]


def test_the_objective_hyperparameter_is_not_tuned() -> None:
    document = make_document()
    reserved = {"Name": "_tuning_objective_metric", "Values": ["a", "b"]}
    document["HyperParameterTuningJobConfig"]["ParameterRanges"]["CategoricalParameterRanges"] = [
        reserved
    ]
    messages = [str(v) for v in check_spec(parse_tuning_job(document))]
    assert messages == [
        "HyperParameterTuningJobConfig.ParameterRanges.CategoricalParameterRanges[0].Name: "
        "'_tuning_objective_metric' is reserved: SageMaker sets it to the objective metric's name"
    ]


def test_a_tag_key_appears_once_per_request() -> None:
    tags = [{"Key": "team", "Value": "a"}, {"Key": "owner"}, {"Key": "team", "Value": "b"}]
    expected = [
        "Tags[2].Key: the key 'team' is given more than once; each tag key may appear once "
        "per request"
    ]
    document = make_document() | {"Tags": tags}
    assert [str(v) for v in check_spec(parse_tuning_job(document))] == expected
    assert training_messages(Tags=tags) == expected
    assert training_messages(Tags=tags[:2]) == []


def test_a_channels_shuffle_seed_is_kept() -> None:
    shuffled = channel("train") | {"InputMode": "Pipe", "ShuffleConfig": {"Seed": 42}}
    request = {"TrainingJobName": "solo"} | make_definition(
        InputDataConfig=[shuffled, channel("test")]
    )
    channels = parse_training_job_request(request).definition.channels
    assert [c.shuffle_seed for c in channels] == [42, None]


MISSING = (
    "AlgorithmSpecification.MetricDefinitions: A metric is required for this hyperparameter "
    "tuning job objective. Provide a metric in the metric definitions: no MetricDefinition "
    "is named 'validation:accuracy'"
)


def test_an_image_that_came_with_no_metrics_is_named_when_the_objective_has_none() -> None:
    """A near miss of a built-in's image (here us-east-1's account in eu-west-1) gets no
    predefined metrics; the message once said nothing of the image."""
    image = "683313688378.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.7-1"
    algorithm = {"TrainingImage": image, "TrainingInputMode": "File"}
    assert tuning_messages(AlgorithmSpecification=algorithm) == [
        f"{MISSING}; TrainingImage '{image}' came with no predefined metrics: tunelab "
        "predefines them only for its built-in algorithms' images (`tunelab algorithms "
        "describe NAME` lists them), so check the image URI or define the metric"
    ]
    # a program of the user's, or metric definitions that lack the objective: no hint
    program = {"TrainingImage": "file:///bin/true", "TrainingInputMode": "File"}
    assert tuning_messages(AlgorithmSpecification=program) == [MISSING]
    other = [{"Name": "train:loss", "Regex": "loss=([0-9.]+)"}]
    assert tuning_messages(AlgorithmSpecification=algorithm | {"MetricDefinitions": other}) == [
        MISSING
    ]


@pytest.mark.parametrize("messages", [tuning_messages, training_messages])
@pytest.mark.parametrize(
    ("regex", "reason"),
    [
        ("a{99999999999}", "the repetition number is too large"),
        ("a{4294967296}", "the repetition number is too large"),
        ("a{1,99999999999}", "the repetition number is too large"),
        ("(?u)(?a)x", "ASCII and UNICODE flags are incompatible"),
        ("(" * 249 + "x" * 2 + ")" * 249, None),  # the deepest nesting 500 characters hold
        ("(" * 600 + ")" * 600, "its groups are nested too deeply"),
    ],
)
def test_every_regex_re_refuses_is_a_violation_of_its_field(
    messages: Any, regex: str, reason: str | None
) -> None:
    """re.compile raises OverflowError, ValueError and RecursionError besides re.error:
    each is the field's violation, not an internal failure."""
    algorithm = {
        "TrainingImage": "file:///bin/true",
        "TrainingInputMode": "File",
        "MetricDefinitions": [
            {"Name": "validation:accuracy", "Regex": "validation:accuracy=([0-9.]+)"},
            {"Name": "loss", "Regex": regex},
        ],
    }
    expected = (
        []
        if reason is None
        else [
            "AlgorithmSpecification.MetricDefinitions[1].Regex: is not a valid regular "
            f"expression: {reason}"
        ]
    )
    assert messages(AlgorithmSpecification=algorithm) == expected
