"""Training jobs, tags and algorithms -> SageMaker response shapes (PascalCase
dicts, timestamps as epoch seconds)."""

from __future__ import annotations

import copy
from typing import Any

from tunelab.domain.billing import billable_seconds, training_seconds
from tunelab.domain.names import training_job_arn, tuning_job_arn
from tunelab.domain.trial import TrainingJob
from tunelab.execution.outputs import compression_of, model_artifacts_uri
from tunelab.service.training import TrainingJobDescription

Wire = dict[str, Any]
TRAINING_DEFINITION_MEMBERS = (
    "RoleArn",
    "InputDataConfig",
    "OutputDataConfig",
    "VpcConfig",
    "EnableNetworkIsolation",
    "EnableInterContainerTrafficEncryption",
    "EnableManagedSpotTraining",
    "CheckpointConfig",
    "Environment",
    "RetryStrategy",
)


def _drop_none(values: dict[str, Any]) -> Wire:
    return {k: v for k, v in values.items() if v is not None}


def training_job_summary(job: TrainingJob, region: str, account: str) -> Wire:
    """``TrainingJobSummary`` (ListTrainingJobs)."""
    return _drop_none(
        {
            "TrainingJobName": job.name,
            "TrainingJobArn": training_job_arn(job.name, region, account),
            "CreationTime": job.creation_time,
            "TrainingEndTime": job.end_time,
            "LastModifiedTime": job.last_modified_time,
            "TrainingJobStatus": str(job.status),
            "SecondaryStatus": str(job.secondary_status),
        }
    )


def describe_training_job(description: TrainingJobDescription, region: str, account: str) -> Wire:
    """``DescribeTrainingJobResponse``, with what the SageMaker SDK reads:
    ``AlgorithmSpecification.TrainingImage/TrainingInputMode``, ``ResourceConfig``,
    ``StoppingCondition.MaxRuntimeInSeconds``, ``OutputDataConfig.KmsKeyId``."""
    job, definition = description.job, description.definition
    source = dict(description.document or definition.document)
    algorithm = copy.deepcopy(dict(source.get("AlgorithmSpecification") or {}))
    algorithm.setdefault("TrainingInputMode", str(definition.input_mode))
    if definition.training_image is not None:
        algorithm.setdefault("TrainingImage", definition.training_image)
    output = copy.deepcopy(dict(source.get("OutputDataConfig") or {}))
    output.setdefault("KmsKeyId", "")
    resources = definition.resources
    stopping = copy.deepcopy(dict(source.get("StoppingCondition") or {}))
    stopping.setdefault("MaxRuntimeInSeconds", 86400)
    wire: Wire = {
        "TrainingJobName": job.name,
        "TrainingJobArn": training_job_arn(job.name, region, account),
        "ModelArtifacts": {
            "S3ModelArtifacts": model_artifacts_uri(
                definition.output_path, job.name, compression_of(definition)
            )
        },
        "TrainingJobStatus": str(job.status),
        "SecondaryStatus": str(job.secondary_status),
        "HyperParameters": dict(description.hyperparameters),
        "AlgorithmSpecification": algorithm,
        "ResourceConfig": {
            "InstanceType": resources.instance_type or "ml.m5.large",
            "InstanceCount": resources.instance_count,
            "VolumeSizeInGB": resources.volume_size_gb or 1,
        },
        "StoppingCondition": stopping,
        "CreationTime": job.creation_time,
        "SecondaryStatusTransitions": _transitions(job),
        "FinalMetricDataList": [
            {"MetricName": p.metric_name, "Value": p.value, "Timestamp": p.timestamp}
            for p in description.final_metrics
        ][:40],
    }
    for member in TRAINING_DEFINITION_MEMBERS:
        if member in source:
            wire[member] = copy.deepcopy(source[member])
    wire["OutputDataConfig"] = output
    if job.tuning_job_name is not None:
        wire["TuningJobArn"] = tuning_job_arn(job.tuning_job_name, region, account)
    spot = definition.enable_managed_spot
    wire.update(
        _drop_none(
            {
                "FailureReason": job.failure_reason,
                "TrainingStartTime": job.start_time,
                "TrainingEndTime": job.end_time,
                "LastModifiedTime": job.last_modified_time,
                "TrainingTimeInSeconds": training_seconds(job),
                "BillableTimeInSeconds": billable_seconds(job, spot),
            }
        )
    )
    return wire


STATUS_MESSAGES = {
    "Starting": "Preparing the instances for training",
    "Downloading": "Downloading input data",
    "Training": "Training in progress",
    "Uploading": "Uploading generated training model",
    "Stopping": "Stopping the training job",
    "Stopped": "Training job stopped",
    "MaxRuntimeExceeded": "Training job exceeded MaxRuntimeInSeconds",
    "MaxWaitTimeExceeded": "Training job exceeded MaxWaitTimeInSeconds",
    "Completed": "Training job completed",
    "Failed": "Training job failed",
    "Interrupted": "The training job was interrupted",
    "Restarting": "Restarting the training job",
}
"""SageMaker-style messages for transitions recorded without one: SageMaker always
sends ``StatusMessage``, and the SageMaker SDK reads it with ``[...]`` (v2's
``secondary_training_status_changed``, run by ``Estimator.attach`` and
``HyperparameterTuner.best_estimator``)."""


def _transitions(job: TrainingJob) -> list[Wire]:
    """``SecondaryStatusTransitions``: each ends when the next begins; every one has a
    ``StatusMessage``."""
    found: list[Wire] = []
    for transition, following in zip(job.transitions, (*job.transitions[1:], None), strict=True):
        status = str(transition.status)
        item: Wire = {"Status": status, "StartTime": transition.start_time}
        if following is not None:
            item["EndTime"] = following.start_time
        item["StatusMessage"] = transition.message or STATUS_MESSAGES.get(status, status)
        found.append(item)
    return found


def tags(pairs: list[tuple[str, str]]) -> list[Wire]:
    return [{"Key": key, "Value": value} for key, value in pairs]
