"""An existing ``CreateHyperParameterTuningJob`` request (clone, upload) -> the
create wizard's state (:mod:`tunelab.console.wizard_state`).

Values become the text the form shows; members the form does not show are kept by
the caller in the ``extra`` fields (``wizard_build.form_for_document``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tunelab.console.wizard_state import (
    RANGE_KIND,
    ChannelRow,
    DefinitionForm,
    HyperParameterRow,
    JobForm,
    MetricRow,
    Pair,
)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _rows_of_ranges(ranges: Mapping[str, Any]) -> list[HyperParameterRow]:
    rows: list[HyperParameterRow] = []
    for kind, key in RANGE_KIND.items():
        for item in ranges.get(key) or ():
            if kind == "categorical":
                values = ", ".join(_text(v) for v in item.get("Values") or ())
                rows.append(HyperParameterRow(_text(item.get("Name")), kind, values=values))
            else:
                rows.append(
                    HyperParameterRow(
                        _text(item.get("Name")),
                        kind,
                        _text(item.get("MinValue")),
                        _text(item.get("MaxValue")),
                        scaling=_text(item.get("ScalingType")) or "Auto",
                    )
                )
    return rows


def _source(algorithm: Mapping[str, Any]) -> str:
    if algorithm.get("AlgorithmName"):
        return "algorithm"
    return "builtin" if _text(algorithm.get("TrainingImage")).startswith("tunelab/") else "program"


def definition_from_document(
    doc: Mapping[str, Any], objective: Mapping[str, Any] | None, ranges: Mapping[str, Any]
) -> DefinitionForm:
    """A definition's form from its document (the objective and ranges found by the
    caller: in the definition, or at the tuning level for a single definition)."""
    algorithm = doc.get("AlgorithmSpecification") or {}
    output = doc.get("OutputDataConfig") or {}
    resources = doc.get("ResourceConfig") or {}
    stopping = doc.get("StoppingCondition") or {}
    static = doc.get("StaticHyperParameters") or {}
    rows = _rows_of_ranges(ranges)
    rows += [HyperParameterRow(k, "static", values=_text(v)) for k, v in static.items()]
    channels = []
    for channel in doc.get("InputDataConfig") or ():
        source = (channel.get("DataSource") or {}).get("S3DataSource") or {}
        channels.append(
            ChannelRow(
                _text(channel.get("ChannelName")),
                _text(source.get("S3Uri")),
                _text(channel.get("ContentType")),
            )
        )
    objective = objective or {}
    return DefinitionForm(
        name=_text(doc.get("DefinitionName")),
        role=_text(doc.get("RoleArn")),
        isolation=bool(doc.get("EnableNetworkIsolation")),
        source=_source(algorithm),
        image=_text(algorithm.get("TrainingImage")),
        algorithm=_text(algorithm.get("AlgorithmName")),
        input_mode=_text(algorithm.get("TrainingInputMode")) or "File",
        metrics=[
            MetricRow(_text(m.get("Name")), _text(m.get("Regex")))
            for m in algorithm.get("MetricDefinitions") or ()
        ],
        objective_metric=_text(objective.get("MetricName")),
        objective_type=_text(objective.get("Type")) or "Maximize",
        hyperparameters=rows,
        channels=channels,
        environment=[Pair(k, _text(v)) for k, v in (doc.get("Environment") or {}).items()],
        checkpoint=_text((doc.get("CheckpointConfig") or {}).get("S3Uri")),
        output=_text(output.get("S3OutputPath")),
        kms=_text(output.get("KmsKeyId")),
        instance_type=_text(resources.get("InstanceType")),
        instance_count=_text(resources.get("InstanceCount", 1)),
        volume=_text(resources.get("VolumeSizeInGB")),
        spot=bool(doc.get("EnableManagedSpotTraining")),
        max_wait=_text(stopping.get("MaxWaitTimeInSeconds")),
        max_runtime=_text(stopping.get("MaxRuntimeInSeconds")),
    )


def job_form_from_document(doc: Mapping[str, Any]) -> JobForm:
    """The wizard's state for an existing request. Members the form does not show
    are kept in the ``extra`` fields (filled in by ``wizard_build.form_for_document``)."""
    config = doc.get("HyperParameterTuningJobConfig") or {}
    if isinstance(doc.get("TrainingJobDefinitions"), list):
        definitions = [
            definition_from_document(
                d, d.get("TuningObjective"), d.get("HyperParameterRanges") or {}
            )
            for d in doc["TrainingJobDefinitions"]
            if isinstance(d, Mapping)
        ]
    elif isinstance(doc.get("TrainingJobDefinition"), Mapping):
        single = doc["TrainingJobDefinition"]
        objective = single.get("TuningObjective") or config.get("HyperParameterTuningJobObjective")
        ranges = single.get("HyperParameterRanges") or config.get("ParameterRanges") or {}
        definitions = [definition_from_document(single, objective, ranges)]
    else:
        definitions = []
    limits = config.get("ResourceLimits") or {}
    hyperband = (config.get("StrategyConfig") or {}).get("HyperbandStrategyConfig") or {}
    completion = config.get("TuningJobCompletionCriteria") or {}
    warm = doc.get("WarmStartConfig") or {}
    return JobForm(
        name=_text(doc.get("HyperParameterTuningJobName")),
        strategy=_text(config.get("Strategy")) or "Random",
        hb_min=_text(hyperband.get("MinResource")),
        hb_max=_text(hyperband.get("MaxResource")),
        early_stopping=_text(config.get("TrainingJobEarlyStoppingType")) or "Off",
        seed=_text(config.get("RandomSeed")),
        target=_text(completion.get("TargetObjectiveMetricValue")),
        not_improving=_text(
            (completion.get("BestObjectiveNotImproving") or {}).get(
                "MaxNumberOfTrainingJobsNotImproving"
            )
        ),
        convergence=(completion.get("ConvergenceDetected") or {}).get("CompleteOnConvergence")
        == "Enabled",
        warm_type=_text(warm.get("WarmStartType")),
        warm_parents=[
            _text(p.get("HyperParameterTuningJobName"))
            for p in warm.get("ParentHyperParameterTuningJobs") or ()
        ],
        tags=[Pair(_text(t.get("Key")), _text(t.get("Value"))) for t in doc.get("Tags") or ()],
        max_parallel=_text(limits.get("MaxParallelTrainingJobs")),
        max_jobs=_text(limits.get("MaxNumberOfTrainingJobs")),
        max_runtime=_text(limits.get("MaxRuntimeInSeconds")),
        definitions=definitions,
    )
