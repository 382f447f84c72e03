"""Request documents for the API tests: tuning jobs with one or two training job
definitions, and standalone training jobs, all running ``programs/train.py`` (or the
cheap ``programs/sleeper.sh``)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

PROGRAMS = Path(__file__).parent / "programs"
TRAIN = PROGRAMS / "train.py"
SLEEPER = PROGRAMS / "sleeper.sh"
ROLE = "arn:aws:iam::123456789012:role/tunelab-tests"
METRICS = [
    {"Name": "loss", "Regex": r"loss=([0-9.]+);"},
    {"Name": "acc", "Regex": r"acc=([0-9.]+);"},
]
ROWS_METRIC = {"Name": "rows", "Regex": r"rows=([0-9]+);"}
X_RANGE = {"ContinuousParameterRanges": [{"Name": "x", "MinValue": "0", "MaxValue": "1"}]}

Document = dict[str, Any]


def definition(
    program: Path = TRAIN,
    static: dict[str, str] | None = None,
    output: str = "s3://bucket/out",
    runtime: int = 120,
    environment: dict[str, str] | None = None,
    **extra: Any,
) -> Document:
    """A training job definition (of a tuning job) running ``program``."""
    document: Document = {
        "StaticHyperParameters": {"epochs": "2", "seconds_per_epoch": "0.05", **(static or {})},
        "AlgorithmSpecification": {
            "TrainingImage": f"file://{program}",
            "TrainingInputMode": "File",
            "MetricDefinitions": copy.deepcopy(METRICS),
        },
        "RoleArn": ROLE,
        "OutputDataConfig": {"S3OutputPath": output},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": runtime},
    }
    if environment:
        document["Environment"] = dict(environment)
    document.update(copy.deepcopy(extra))
    return document


def tuning_job(
    name: str,
    *,
    max_jobs: int | None = 4,
    parallel: int = 2,
    strategy: str = "Random",
    seed: int = 7,
    objective: tuple[str, str] = ("Minimize", "loss"),
    ranges: Document | None = None,
    tags: dict[str, str] | None = None,
    **definition_args: Any,
) -> Document:
    """A single-definition ``CreateHyperParameterTuningJob`` request."""
    limits: Document = {"MaxParallelTrainingJobs": parallel}
    if max_jobs is not None:
        limits["MaxNumberOfTrainingJobs"] = max_jobs
    document: Document = {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": strategy,
            "HyperParameterTuningJobObjective": {"Type": objective[0], "MetricName": objective[1]},
            "ResourceLimits": limits,
            "ParameterRanges": copy.deepcopy(ranges or X_RANGE),
            "TrainingJobEarlyStoppingType": "Off",
        },
        "TrainingJobDefinition": definition(**definition_args),
    }
    if strategy != "Grid":
        document["HyperParameterTuningJobConfig"]["RandomSeed"] = seed
    if tags:
        document["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    return document


def two_definition_job(
    name: str, *, max_jobs: int = 6, parallel: int = 2, tags: dict[str, str] | None = None
) -> Document:
    """A ``CreateHyperParameterTuningJob`` request with two definitions: ``fast``
    (tunes ``x`` in [0, 1], minimises loss) and ``slow`` (tunes ``x`` in [0.5, 1] and
    the number of epochs, minimises loss)."""
    fast = definition(
        DefinitionName="fast",
        TuningObjective={"Type": "Minimize", "MetricName": "loss"},
        HyperParameterRanges=copy.deepcopy(X_RANGE),
    )
    slow = definition(
        static={"seconds_per_epoch": "0.02"},
        DefinitionName="slow",
        TuningObjective={"Type": "Minimize", "MetricName": "loss"},
        HyperParameterRanges={
            "ContinuousParameterRanges": [{"Name": "x", "MinValue": "0.5", "MaxValue": "1"}],
            "IntegerParameterRanges": [{"Name": "epochs", "MinValue": "2", "MaxValue": "4"}],
        },
    )
    del slow["StaticHyperParameters"]["epochs"]
    document: Document = {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Random",
            "RandomSeed": 11,
            "ResourceLimits": {
                "MaxNumberOfTrainingJobs": max_jobs,
                "MaxParallelTrainingJobs": parallel,
            },
        },
        "TrainingJobDefinitions": [fast, slow],
    }
    if tags:
        document["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    return document


def training_job(
    name: str,
    hyperparameters: dict[str, str] | None = None,
    *,
    program: Path = TRAIN,
    channel: str | None = None,
    output: str = "s3://bucket/models",
    runtime: int = 120,
    tags: dict[str, str] | None = None,
) -> Document:
    """A ``CreateTrainingJob`` request (``channel``: the ``train`` channel's S3 URI)."""
    document: Document = {
        "TrainingJobName": name,
        "HyperParameters": {"x": "0.4", "epochs": "3", "seconds_per_epoch": "0.05"}
        | (hyperparameters or {}),
        "AlgorithmSpecification": {
            "TrainingImage": f"file://{program}",
            "TrainingInputMode": "File",
            "MetricDefinitions": [*copy.deepcopy(METRICS), ROWS_METRIC],
        },
        "RoleArn": ROLE,
        "OutputDataConfig": {"S3OutputPath": output},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
        "StoppingCondition": {"MaxRuntimeInSeconds": runtime},
    }
    if channel:
        document["InputDataConfig"] = [
            {
                "ChannelName": "train",
                "DataSource": {
                    "S3DataSource": {
                        "S3DataType": "S3Prefix",
                        "S3Uri": channel,
                        "S3DataDistributionType": "FullyReplicated",
                    }
                },
            }
        ]
    if tags:
        document["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    return document
