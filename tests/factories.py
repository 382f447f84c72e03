"""``make_*`` factories for valid requests that tests then break one field at a time."""

from __future__ import annotations

import copy
from typing import Any

ROLE = "arn:aws:iam::123456789012:role/tunelab"


def make_definition(
    image: str = "file:///bin/true",
    metric: str = "validation:accuracy",
    regex: str = r"validation:accuracy=([0-9.]+)",
    **extra: Any,
) -> dict[str, Any]:
    definition: dict[str, Any] = {
        "AlgorithmSpecification": {
            "TrainingImage": image,
            "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": metric, "Regex": regex}],
        },
        "RoleArn": ROLE,
        "OutputDataConfig": {"S3OutputPath": "file:///tmp/tunelab-test-output"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": 60},
    }
    definition.update(copy.deepcopy(extra))
    return definition


def make_ranges() -> dict[str, Any]:
    return {
        "ContinuousParameterRanges": [
            {"Name": "lr", "MinValue": "0.001", "MaxValue": "0.1", "ScalingType": "Logarithmic"}
        ],
        "IntegerParameterRanges": [{"Name": "depth", "MinValue": "1", "MaxValue": "8"}],
        "CategoricalParameterRanges": [{"Name": "kernel", "Values": ["rbf", "linear"]}],
    }


def make_document(
    name: str = "job-1",
    strategy: str = "Random",
    max_jobs: int | None = 6,
    parallel: int = 2,
    **definition_extra: Any,
) -> dict[str, Any]:
    """A valid single-definition request (objective and ranges at the tuning level)."""
    limits: dict[str, Any] = {"MaxParallelTrainingJobs": parallel}
    if max_jobs is not None:
        limits["MaxNumberOfTrainingJobs"] = max_jobs
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": strategy,
            "HyperParameterTuningJobObjective": {
                "Type": "Maximize",
                "MetricName": "validation:accuracy",
            },
            "ResourceLimits": limits,
            "ParameterRanges": make_ranges(),
            "TrainingJobEarlyStoppingType": "Off",
        },
        "TrainingJobDefinition": make_definition(**definition_extra),
    }


def make_multi_document(
    name: str = "multi-1", max_jobs: int = 6, parallel: int = 2
) -> dict[str, Any]:
    """A valid two-definition request."""
    first = make_definition(
        DefinitionName="alpha",
        TuningObjective={"Type": "Maximize", "MetricName": "validation:accuracy"},
        HyperParameterRanges=make_ranges(),
    )
    second = make_definition(
        DefinitionName="beta",
        TuningObjective={"Type": "Maximize", "MetricName": "validation:accuracy"},
        HyperParameterRanges={
            "ContinuousParameterRanges": [{"Name": "C", "MinValue": "0.01", "MaxValue": "100"}]
        },
    )
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "ResourceLimits": {
                "MaxNumberOfTrainingJobs": max_jobs,
                "MaxParallelTrainingJobs": parallel,
            },
        },
        "TrainingJobDefinitions": [first, second],
    }


def make_algorithm(
    name: str,
    image: str,
    hyperparameters: list[dict[str, Any]] | None = None,
    metrics: list[dict[str, str]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A valid CreateAlgorithm request: a tunable ``x`` in [0, 1] then ``hyperparameters``,
    ml.m5.large, a ``train`` channel (text/csv, File), ``metrics`` (default: ``loss``), the
    objective Minimize ``loss``; ``extra`` at the top level."""
    tunable_x = {
        "Name": "x",
        "Type": "Continuous",
        "Range": {"ContinuousParameterRangeSpecification": {"MinValue": "0", "MaxValue": "1"}},
        "IsTunable": True,
    }
    loss = {"Name": "loss", "Regex": r"loss=([0-9.]+);"}
    return {
        "AlgorithmName": name,
        "TrainingSpecification": {
            "TrainingImage": image,
            "SupportedHyperParameters": [tunable_x, *copy.deepcopy(hyperparameters or [])],
            "SupportedTrainingInstanceTypes": ["ml.m5.large"],
            "TrainingChannels": [
                {
                    "Name": "train",
                    "SupportedContentTypes": ["text/csv"],
                    "SupportedInputModes": ["File"],
                }
            ],
            "MetricDefinitions": copy.deepcopy(metrics) if metrics else [loss],
            "SupportedTuningJobObjectiveMetrics": [{"Type": "Minimize", "MetricName": "loss"}],
        },
        **copy.deepcopy(extra),
    }
