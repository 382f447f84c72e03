"""Domain -> SageMaker response shapes (PascalCase dicts, timestamps as epoch
seconds). One function per output shape; tests check each against botocore's
model."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from tunelab.domain.definition import TUNING_OBJECTIVE_HYPERPARAMETER, TrainingJobDefinition
from tunelab.domain.names import DEFAULT_ACCOUNT, DEFAULT_REGION, training_job_arn, tuning_job_arn
from tunelab.domain.trial import TrainingJob
from tunelab.domain.tuning_job import TuningJob, TuningJobSpec
from tunelab.service.tuning import TuningJobDescription
from tunelab.store.base import Counters

Wire = dict[str, Any]


def _drop_none(values: Mapping[str, Any]) -> Wire:
    return {k: v for k, v in values.items() if v is not None}


def status_counters(counters: Counters) -> tuple[Wire, Wire]:
    """``TrainingJobStatusCounters`` and ``ObjectiveStatusCounters``."""
    return (
        {
            "Completed": counters.completed,
            "InProgress": counters.in_progress,
            "RetryableError": counters.retryable_error,
            "NonRetryableError": counters.non_retryable_error,
            "Stopped": counters.stopped,
        },
        {
            "Succeeded": counters.objective_succeeded,
            "Pending": counters.objective_pending,
            "Failed": counters.objective_failed,
        },
    )


def training_job_summary(
    job: TrainingJob,
    spec: TuningJobSpec,
    region: str = DEFAULT_REGION,
    account: str = DEFAULT_ACCOUNT,
) -> Wire:
    """``HyperParameterTrainingJobSummary``."""
    definition = spec.definition(job.definition_name)
    final = None
    if job.final_objective_value is not None and definition.objective is not None:
        final = {
            "Type": str(definition.objective.type),
            "MetricName": definition.objective.metric_name,
            "Value": job.final_objective_value,
        }
    return _drop_none(
        {
            "TrainingJobDefinitionName": job.definition_name,
            "TrainingJobName": job.name,
            "TrainingJobArn": training_job_arn(job.name, region, account),
            "TuningJobName": job.tuning_job_name,
            "CreationTime": job.creation_time,
            "TrainingStartTime": job.start_time,
            "TrainingEndTime": job.end_time,
            "TrainingJobStatus": str(job.status),
            "TunedHyperParameters": dict(job.tuned_hyperparameters),
            "FailureReason": job.failure_reason,
            "FinalHyperParameterTuningJobObjectiveMetric": final,
            "ObjectiveStatus": str(job.objective_status),
        }
    )


RANGE_KINDS = ("IntegerParameterRanges", "ContinuousParameterRanges", "CategoricalParameterRanges")


def _padded(ranges: Wire) -> Wire:
    """A ``ParameterRanges`` shape with all three lists (empty if absent): the
    SageMaker SDK's ``HyperparameterTuner.attach()`` reads each with ``[...]``."""
    for kind in RANGE_KINDS:
        ranges.setdefault(kind, [])
    return ranges


def _definition(definition: TrainingJobDefinition) -> Wire:
    """The definition as submitted, plus what SageMaker adds and the SageMaker
    SDK relies on: ``_tuning_objective_metric`` among the static hyperparameters,
    a ``ResourceConfig`` with type, count and volume, and all three lists in its
    ``HyperParameterRanges`` (when it has some)."""
    wire = copy.deepcopy(dict(definition.document))
    if isinstance(wire.get("HyperParameterRanges"), dict):
        _padded(wire["HyperParameterRanges"])
    static = dict(wire.get("StaticHyperParameters") or {})
    if definition.objective is not None:
        static[TUNING_OBJECTIVE_HYPERPARAMETER] = definition.objective.metric_name
    wire["StaticHyperParameters"] = static
    resources = definition.resources
    resource_config = dict(wire.get("ResourceConfig") or {})
    resource_config.setdefault("InstanceType", resources.instance_type or "ml.m5.large")
    resource_config.setdefault("InstanceCount", resources.instance_count)
    resource_config.setdefault("VolumeSizeInGB", resources.volume_size_gb or 1)
    wire["ResourceConfig"] = resource_config
    return wire


def _config(spec: TuningJobSpec) -> Wire:
    config = copy.deepcopy(dict(spec.document["HyperParameterTuningJobConfig"]))
    config.setdefault("TrainingJobEarlyStoppingType", str(spec.early_stopping))
    limits = config.setdefault("ResourceLimits", {})
    if spec.max_jobs is not None:
        limits.setdefault("MaxNumberOfTrainingJobs", spec.max_jobs)
    if not spec.multi_definition:
        ranges = config.setdefault("ParameterRanges", {})
        own = spec.document.get("TrainingJobDefinition", {}).get("HyperParameterRanges")
        if own is not None and not ranges:
            ranges.update(copy.deepcopy(own))
        _padded(ranges)
    return config


def describe_tuning_job(
    description: TuningJobDescription,
    region: str = DEFAULT_REGION,
    account: str = DEFAULT_ACCOUNT,
) -> Wire:
    """``DescribeHyperParameterTuningJobResponse``."""
    job, spec = description.job, description.job.spec
    training_counters, objective_counters = status_counters(description.counters)
    wire: Wire = {
        "HyperParameterTuningJobName": job.name,
        "HyperParameterTuningJobArn": tuning_job_arn(job.name, region, account),
        "HyperParameterTuningJobConfig": _config(spec),
    }
    if spec.multi_definition:
        wire["TrainingJobDefinitions"] = [_definition(d) for d in spec.definitions]
    else:
        wire["TrainingJobDefinition"] = _definition(spec.definitions[0])
    end = job.end_time
    runtime = (end if end is not None else description.last_modified_time) - job.creation_time
    wire.update(
        _drop_none(
            {
                "HyperParameterTuningJobStatus": str(job.status),
                "CreationTime": job.creation_time,
                "HyperParameterTuningEndTime": end,
                "LastModifiedTime": description.last_modified_time,
                "TrainingJobStatusCounters": training_counters,
                "ObjectiveStatusCounters": objective_counters,
                "BestTrainingJob": training_job_summary(description.best, spec, region, account)
                if description.best is not None
                else None,
                "OverallBestTrainingJob": training_job_summary(
                    description.overall_best[0], description.overall_best[1], region, account
                )
                if description.overall_best is not None
                else None,
                "WarmStartConfig": copy.deepcopy(spec.document.get("WarmStartConfig")),
                "Autotune": copy.deepcopy(spec.document.get("Autotune")),
                "FailureReason": job.failure_reason,
                "TuningJobCompletionDetails": _completion_details(description),
                "ConsumedResources": {"RuntimeInSeconds": max(0, int(runtime))},
            }
        )
    )
    return wire


def _completion_details(description: TuningJobDescription) -> Wire:
    """``TuningJobCompletionDetails``."""
    return _drop_none(
        {
            "NumberOfTrainingJobsObjectiveNotImproving": description.jobs_not_improving,
            "ConvergenceDetectedTime": description.job.convergence_detected_time,
        }
    )


def tuning_job_summary(
    job: TuningJob,
    counters: Counters,
    region: str = DEFAULT_REGION,
    account: str = DEFAULT_ACCOUNT,
) -> Wire:
    """``HyperParameterTuningJobSummary``."""
    training_counters, objective_counters = status_counters(counters)
    limits = _drop_none(
        {
            "MaxNumberOfTrainingJobs": job.spec.max_jobs,
            "MaxParallelTrainingJobs": job.spec.limits.max_parallel_training_jobs,
            "MaxRuntimeInSeconds": job.spec.limits.max_runtime_seconds,
        }
    )
    return _drop_none(
        {
            "HyperParameterTuningJobName": job.name,
            "HyperParameterTuningJobArn": tuning_job_arn(job.name, region, account),
            "HyperParameterTuningJobStatus": str(job.status),
            "Strategy": str(job.spec.strategy),
            "CreationTime": job.creation_time,
            "HyperParameterTuningEndTime": job.end_time,
            "LastModifiedTime": job.last_modified_time,
            "TrainingJobStatusCounters": training_counters,
            "ObjectiveStatusCounters": objective_counters,
            "ResourceLimits": limits,
        }
    )
