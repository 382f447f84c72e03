"""Read a ``CreateHyperParameterTuningJob`` request (SageMaker's PascalCase
document) into a :class:`TuningJobSpec`.

The document is expected to have passed the shape check (types, required
members, enums); what the shape cannot say (range bounds are strings that must be
numbers) is reported here as violations with the field path.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from tunelab.domain.definition import (
    CheckpointSpec,
    DataChannel,
    MetricDefinition,
    Objective,
    ResourceSpec,
    StoppingCondition,
    TrainingJobDefinition,
)
from tunelab.domain.enums import (
    EarlyStoppingType,
    ObjectiveType,
    ScalingType,
    StrategyType,
    TrainingInputMode,
    WarmStartType,
)
from tunelab.domain.errors import ValidationError, Violation
from tunelab.domain.search_space import (
    CategoricalRange,
    ContinuousRange,
    IntegerRange,
    ParameterRange,
    SearchSpace,
)
from tunelab.domain.tuning_job import (
    CompletionCriteria,
    HyperbandConfig,
    ResourceLimits,
    TuningJobSpec,
    WarmStart,
)

Doc = Mapping[str, Any]

RANGE_KINDS = ("IntegerParameterRanges", "ContinuousParameterRanges", "CategoricalParameterRanges")


def parse_tuning_job(document: Doc) -> TuningJobSpec:
    """The typed request. Raises :class:`ValidationError` listing every range bound
    that is not a number of the right kind."""
    problems: list[Violation] = []
    config: Doc = document["HyperParameterTuningJobConfig"]
    top_objective = _objective(config.get("HyperParameterTuningJobObjective"))
    top_ranges = config.get("ParameterRanges")
    if "TrainingJobDefinitions" in document:
        raw_definitions = list(document["TrainingJobDefinitions"])
        paths = [f"TrainingJobDefinitions[{i}]" for i in range(len(raw_definitions))]
        multi = True
    else:
        raw_definitions = [document["TrainingJobDefinition"]]
        paths = ["TrainingJobDefinition"]
        multi = False
    definitions = []
    for raw, path in zip(raw_definitions, paths, strict=True):
        ranges_doc, ranges_path = raw.get("HyperParameterRanges"), f"{path}.HyperParameterRanges"
        if not multi and ranges_doc is None and top_ranges is not None:
            ranges_doc, ranges_path = top_ranges, "HyperParameterTuningJobConfig.ParameterRanges"
        objective = _objective(raw.get("TuningObjective")) or (None if multi else top_objective)
        space = parse_ranges(ranges_doc or {}, ranges_path, problems)
        definitions.append(parse_definition(raw, objective, space))
    if problems:
        raise ValidationError(problems)
    return TuningJobSpec(
        name=document["HyperParameterTuningJobName"],
        strategy=StrategyType(config["Strategy"]),
        limits=_limits(config["ResourceLimits"]),
        definitions=tuple(definitions),
        multi_definition=multi,
        objective=top_objective,
        early_stopping=EarlyStoppingType(config.get("TrainingJobEarlyStoppingType", "Off")),
        completion=_completion(config.get("TuningJobCompletionCriteria") or {}),
        hyperband=_hyperband(config.get("StrategyConfig")),
        random_seed=config.get("RandomSeed"),
        warm_start=_warm_start(document.get("WarmStartConfig")),
        tags=tuple((t["Key"], t.get("Value", "")) for t in document.get("Tags", ())),
        autotune=(document.get("Autotune") or {}).get("Mode") == "Enabled",
        document=document,
    )


def parse_ranges(ranges: Doc, path: str, problems: list[Violation]) -> SearchSpace:
    """A search space from a ``ParameterRanges`` document; bad bounds are appended
    to ``problems`` (and the range left out)."""
    parsed: list[ParameterRange] = []
    for kind in RANGE_KINDS:
        for i, item in enumerate(ranges.get(kind, ())):
            where = f"{path}.{kind}[{i}]"
            if kind == "CategoricalParameterRanges":
                parsed.append(CategoricalRange(item["Name"], tuple(item["Values"])))
                continue
            scaling = ScalingType(item.get("ScalingType", "Auto"))
            number = int if kind == "IntegerParameterRanges" else float
            bounds = [
                _number(item.get(key), number, f"{where}.{key}", problems)
                for key in ("MinValue", "MaxValue")
            ]
            if bounds[0] is None or bounds[1] is None:
                continue
            if number is int:
                parsed.append(IntegerRange(item["Name"], int(bounds[0]), int(bounds[1]), scaling))
            else:
                parsed.append(ContinuousRange(item["Name"], bounds[0], bounds[1], scaling))
    return SearchSpace(tuple(parsed))


INTEGER = re.compile(r"[+-]?[0-9]+")
DECIMAL = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?")
"""A range bound is a plain decimal number: no spaces, no ``_`` separators, no
``inf``/``nan`` (Python's ``int``/``float`` accept all of these)."""


def _number(text: Any, kind: type, path: str, problems: list[Violation]) -> float | int | None:
    label = "an integer" if kind is int else "a finite number"
    written = f"must be {label} written as a string; got {text!r}"
    try:
        value = kind(str(text))
    except (TypeError, ValueError):
        problems.append(Violation(path, written))
        return None
    if kind is float and not math.isfinite(value):
        problems.append(Violation(path, f"must be {label}; got {text!r}"))
        return None
    if not (INTEGER if kind is int else DECIMAL).fullmatch(str(text)):
        problems.append(Violation(path, written))
        return None
    return value


def _objective(doc: Doc | None) -> Objective | None:
    if not doc:
        return None
    return Objective(ObjectiveType(doc["Type"]), doc["MetricName"])


def _limits(doc: Doc) -> ResourceLimits:
    return ResourceLimits(
        max_parallel_training_jobs=doc["MaxParallelTrainingJobs"],
        max_number_of_training_jobs=doc.get("MaxNumberOfTrainingJobs"),
        max_runtime_seconds=doc.get("MaxRuntimeInSeconds"),
    )


def _completion(doc: Doc) -> CompletionCriteria:
    return CompletionCriteria(
        target_objective_value=doc.get("TargetObjectiveMetricValue"),
        max_jobs_not_improving=(doc.get("BestObjectiveNotImproving") or {}).get(
            "MaxNumberOfTrainingJobsNotImproving"
        ),
        complete_on_convergence=(doc.get("ConvergenceDetected") or {}).get("CompleteOnConvergence")
        == "Enabled",
    )


def _hyperband(doc: Doc | None) -> HyperbandConfig | None:
    hyperband = (doc or {}).get("HyperbandStrategyConfig")
    if hyperband is None:
        return None
    return HyperbandConfig(hyperband.get("MinResource"), hyperband.get("MaxResource"))


def _warm_start(doc: Doc | None) -> WarmStart | None:
    if not doc:
        return None
    parents = tuple(
        p.get("HyperParameterTuningJobName", "") for p in doc["ParentHyperParameterTuningJobs"]
    )
    return WarmStart(parents, WarmStartType(doc["WarmStartType"]))


def _channel(doc: Doc) -> DataChannel:
    source = doc["DataSource"]
    s3 = source.get("S3DataSource")
    if s3 is not None:
        uri, data_type = s3["S3Uri"], s3.get("S3DataType", "S3Prefix")
        distribution = s3.get("S3DataDistributionType", "FullyReplicated")
    else:
        fs = source.get("FileSystemDataSource") or {}
        uri, data_type, distribution = fs.get("DirectoryPath", ""), "FileSystem", "FullyReplicated"
    mode = doc.get("InputMode")
    return DataChannel(
        name=doc["ChannelName"],
        uri=uri,
        content_type=doc.get("ContentType"),
        compression=doc.get("CompressionType"),
        input_mode=TrainingInputMode(mode) if mode else None,
        record_wrapper=doc.get("RecordWrapperType"),
        s3_data_type=data_type,
        distribution=distribution,
        shuffle_seed=(doc.get("ShuffleConfig") or {}).get("Seed"),
    )


def _resources(doc: Doc) -> ResourceSpec:
    resource = doc.get("ResourceConfig") or doc.get("HyperParameterTuningResourceConfig") or {}
    configs = resource.get("InstanceConfigs")
    if configs:
        first = configs[0]
        return ResourceSpec(first["InstanceType"], first["InstanceCount"], first["VolumeSizeInGB"])
    return ResourceSpec(
        instance_type=resource.get("InstanceType"),
        instance_count=resource.get("InstanceCount", 1),
        volume_size_gb=resource.get("VolumeSizeInGB"),
    )


def parse_definition(
    doc: Doc, objective: Objective | None, space: SearchSpace
) -> TrainingJobDefinition:
    """A training job definition from its document (tuning-level objective and
    ranges already resolved by the caller)."""
    algorithm = doc["AlgorithmSpecification"]
    stopping = doc.get("StoppingCondition") or {}
    checkpoint = doc.get("CheckpointConfig")
    return TrainingJobDefinition(
        name=doc.get("DefinitionName"),
        objective=objective,
        search_space=space,
        static_hyperparameters=dict(doc.get("StaticHyperParameters") or {}),
        training_image=algorithm.get("TrainingImage"),
        algorithm_name=algorithm.get("AlgorithmName"),
        input_mode=TrainingInputMode(algorithm["TrainingInputMode"]),
        metric_definitions=tuple(
            MetricDefinition(m["Name"], m["Regex"]) for m in algorithm.get("MetricDefinitions", ())
        ),
        channels=tuple(_channel(c) for c in doc.get("InputDataConfig", ())),
        output_path=doc["OutputDataConfig"]["S3OutputPath"],
        role_arn=doc["RoleArn"],
        resources=_resources(doc),
        stopping=StoppingCondition(
            max_runtime_seconds=stopping.get("MaxRuntimeInSeconds"),
            max_wait_seconds=stopping.get("MaxWaitTimeInSeconds"),
            max_pending_seconds=stopping.get("MaxPendingTimeInSeconds"),
        ),
        checkpoint=CheckpointSpec(checkpoint["S3Uri"], checkpoint.get("LocalPath"))
        if checkpoint
        else None,
        environment=dict(doc.get("Environment") or {}),
        retry_attempts=(doc.get("RetryStrategy") or {}).get("MaximumRetryAttempts"),
        enable_managed_spot=bool(doc.get("EnableManagedSpotTraining", False)),
        network_isolation=bool(doc.get("EnableNetworkIsolation", False)),
        document=doc,
    )
