"""The create wizard's state: what its form fields hold, read from a submitted form
or from an existing ``CreateHyperParameterTuningJob`` request (clone, upload).

Every value stays the text the user typed; :mod:`tunelab.console.wizard_build`
turns the state into the request document, so that the API's own checks judge it.
Field names are flat (``d0.hp.2.min``); rows are renumbered on every render.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

DEFAULT_ROLE = "arn:aws:iam::123456789012:role/tunelab"
HP_KINDS = ("continuous", "integer", "categorical", "static")
RANGE_KIND = {
    "continuous": "ContinuousParameterRanges",
    "integer": "IntegerParameterRanges",
    "categorical": "CategoricalParameterRanges",
}
SCALINGS = ("Auto", "Linear", "Logarithmic", "ReverseLogarithmic")
STEPS = ("Job settings", "Training job definitions", "Resource limits", "Review and create")
MAX_WARM_START_PARENTS = 5
Form = Mapping[str, str]
Row = TypeVar("Row")


@dataclass
class Pair:
    key: str = ""
    value: str = ""


@dataclass
class MetricRow:
    name: str = ""
    regex: str = ""
    sample: str = ""
    """A pasted log line for the regex tester (not part of the request)."""


@dataclass
class HyperParameterRow:
    name: str = ""
    kind: str = "continuous"
    min: str = ""
    max: str = ""
    values: str = ""
    """Categorical: values separated by commas; static: the value."""
    scaling: str = "Auto"


@dataclass
class ChannelRow:
    name: str = ""
    uri: str = ""
    content_type: str = ""
    extra: str = ""
    """JSON of the channel's members the form does not show (kept as they are)."""


@dataclass
class DefinitionForm:
    name: str = ""
    role: str = DEFAULT_ROLE
    isolation: bool = False
    source: str = "program"
    """``program`` (a local program), ``builtin`` (a ``tunelab/<name>`` image), both as
    TrainingImage, or ``algorithm`` (a registered one: AlgorithmName)."""
    image: str = ""
    algorithm: str = ""
    input_mode: str = "File"
    metrics: list[MetricRow] = field(default_factory=list)
    objective_metric: str = ""
    objective_type: str = "Maximize"
    hyperparameters: list[HyperParameterRow] = field(default_factory=list)
    channels: list[ChannelRow] = field(default_factory=list)
    environment: list[Pair] = field(default_factory=list)
    checkpoint: str = ""
    output: str = "s3://tunelab-output/"
    kms: str = ""
    instance_type: str = ""
    instance_count: str = "1"
    volume: str = ""
    spot: bool = False
    max_wait: str = ""
    max_runtime: str = "3600"
    extra: str = ""
    """JSON of the definition's members the form does not show."""


@dataclass
class JobForm:
    name: str = ""
    strategy: str = "Random"
    hb_min: str = ""
    hb_max: str = ""
    early_stopping: str = "Off"
    seed: str = ""
    target: str = ""
    not_improving: str = ""
    convergence: bool = False
    warm_type: str = ""
    warm_parents: list[str] = field(default_factory=list)
    tags: list[Pair] = field(default_factory=list)
    max_parallel: str = "2"
    max_jobs: str = "10"
    max_runtime: str = ""
    extra: str = ""
    """JSON of the request's top-level members the form does not show."""
    definitions: list[DefinitionForm] = field(default_factory=list)
    step: int = 1

    @classmethod
    def new(cls) -> JobForm:
        """A blank wizard: one definition with one metric and one range row."""
        definition = DefinitionForm(metrics=[MetricRow()], hyperparameters=[HyperParameterRow()])
        return cls(definitions=[definition])


# -- reading a submitted form -----------------------------------------------------------


def _indices(form: Form, prefix: str) -> list[int]:
    """The row numbers ``n`` of fields named ``<prefix><n>.<something>``, in order."""
    pattern = re.compile(re.escape(prefix) + r"(\d+)\.")
    found = {int(m.group(1)) for key in form if (m := pattern.match(key))}
    return sorted(found)


def _rows(form: Form, prefix: str, make: Callable[[Callable[[str], str]], Row]) -> list[Row]:
    def getter(n: int) -> Callable[[str], str]:
        return lambda key: form.get(f"{prefix}{n}.{key}", "")

    return [make(getter(n)) for n in _indices(form, prefix)]


def _checked(form: Form, key: str) -> bool:
    return form.get(key, "") not in ("", "off", "false")


def _definition_from_form(form: Form, p: str) -> DefinitionForm:
    get = lambda key: form.get(p + key, "")  # noqa: E731
    return DefinitionForm(
        name=get("name"),
        role=get("role"),
        isolation=_checked(form, p + "isolation"),
        source=get("source") or "program",
        image=get("image"),
        algorithm=get("algorithm"),
        input_mode=get("input_mode") or "File",
        metrics=_rows(
            form, p + "metric.", lambda g: MetricRow(g("name"), g("regex"), g("sample"))
        ),
        objective_metric=get("objective_metric"),
        objective_type=get("objective_type") or "Maximize",
        hyperparameters=_rows(
            form,
            p + "hp.",
            lambda g: HyperParameterRow(
                g("name"),
                g("kind") or "continuous",
                g("min"),
                g("max"),
                g("values"),
                g("scaling") or "Auto",
            ),
        ),
        channels=_rows(
            form,
            p + "channel.",
            lambda g: ChannelRow(g("name"), g("uri"), g("content_type"), g("extra")),
        ),
        environment=_rows(form, p + "env.", lambda g: Pair(g("key"), g("value"))),
        checkpoint=get("checkpoint"),
        output=get("output"),
        kms=get("kms"),
        instance_type=get("instance_type"),
        instance_count=get("instance_count"),
        volume=get("volume"),
        spot=_checked(form, p + "spot"),
        max_wait=get("max_wait"),
        max_runtime=get("max_runtime"),
        extra=get("extra"),
    )


def job_form_from_form(form: Form) -> JobForm:
    """The wizard's state from its submitted fields."""
    get = lambda key: form.get(key, "")  # noqa: E731
    try:
        step = min(max(int(get("step") or 1), 1), len(STEPS))
    except ValueError:
        step = 1
    parents = [form.get(f"ws_parent.{n}.name", "") for n in _indices(form, "ws_parent.")]
    return JobForm(
        name=get("name"),
        strategy=get("strategy") or "Random",
        hb_min=get("hb_min"),
        hb_max=get("hb_max"),
        early_stopping=get("early_stopping") or "Off",
        seed=get("seed"),
        target=get("target"),
        not_improving=get("not_improving"),
        convergence=_checked(form, "convergence"),
        warm_type=get("warm_type"),
        warm_parents=parents,
        tags=_rows(form, "tag.", lambda g: Pair(g("key"), g("value"))),
        max_parallel=get("max_parallel"),
        max_jobs=get("max_jobs"),
        max_runtime=get("max_runtime"),
        extra=get("extra"),
        definitions=[_definition_from_form(form, f"d{n}.") for n in _indices(form, "d")],
        step=step,
    )


# -- reading a request document ------------------------------------------------------------


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


def pretty_json(value: Any) -> str:
    """``value`` as indented JSON, or "" for an empty mapping."""
    return "" if not value else json.dumps(value, indent=2)
