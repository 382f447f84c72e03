"""The wizard's state -> the exact ``CreateHyperParameterTuningJob`` request, with a
map from every request path the form fills to the form field that fills it, so
that each API violation is shown next to its field.

Text is passed on as typed when it is not a number where one is expected: the
API's shape check then reports it with its own message. One definition becomes
``TrainingJobDefinition`` (objective and ranges in ``HyperParameterTuningJobConfig``,
as SageMaker's console writes it); two or more ``TrainingJobDefinitions``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tunelab.console.wizard_form import (
    RANGE_KIND,
    ChannelRow,
    DefinitionForm,
    JobForm,
    definition_from_document,
    job_form_from_document,
)

CONFIG = "HyperParameterTuningJobConfig"
RELOCATED_DEFINITION_KEYS = ("TuningObjective", "HyperParameterRanges", "InputDataConfig")
RELOCATED_CONFIG_KEYS = ("HyperParameterTuningJobObjective", "ParameterRanges")
NOT_IMPROVING = "MaxNumberOfTrainingJobsNotImproving"


@dataclass
class Built:
    """The request, the field of each path, and problems of the form itself (an
    ``extra`` field that is not a JSON object), by field id."""

    document: dict[str, Any]
    fields: dict[str, str] = field(default_factory=dict)
    local: dict[str, list[str]] = field(default_factory=dict)

    def at(self, path: str, field_id: str) -> None:
        self.fields[path] = field_id


def fid(name: str) -> str:
    """The HTML id of a form field name (``d0.hp.2.min`` -> ``d0-hp-2-min``)."""
    return name.replace(".", "-")


def number(text: str, kind: type = int) -> Any:
    """``text`` as ``kind``; None when blank; the text itself when it is not a number
    (the shape check then says what is wrong, as the API would)."""
    text = text.strip()
    if not text:
        return None
    try:
        return kind(text)
    except ValueError:
        return text


def _put(target: dict[str, Any], key: str, value: Any) -> None:
    if value is not None and value != "":
        target[key] = value


def _extra(built: Built, text: str, field_id: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except ValueError as error:
        built.local.setdefault(field_id, []).append(f"is not valid JSON: {error}")
        return {}
    if not isinstance(value, dict):
        built.local.setdefault(field_id, []).append("must be a JSON object")
        return {}
    return value


def merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``extra`` merged into ``base`` (mappings key by key, lists item by item)."""
    for key, value in extra.items():
        old = base.get(key)
        if isinstance(old, dict) and isinstance(value, Mapping):
            merge(old, value)
        elif isinstance(old, list) and isinstance(value, list):
            for i, item in enumerate(value):
                if i < len(old) and isinstance(old[i], dict) and isinstance(item, Mapping):
                    merge(old[i], item)
                elif i >= len(old):
                    old.append(copy.deepcopy(item))
        else:
            base[key] = copy.deepcopy(value)
    return base


def difference(original: Any, built: Any) -> Any:
    """What ``original`` holds that ``built`` lacks (members only; a value the form
    rebuilt differently is the form's business)."""
    if isinstance(original, Mapping) and isinstance(built, Mapping):
        found = {}
        for key, value in original.items():
            if key not in built:
                found[key] = copy.deepcopy(value)
                continue
            sub = difference(value, built[key])
            if sub:
                found[key] = sub
        return found
    if isinstance(original, list) and isinstance(built, list) and len(original) == len(built):
        pairs = zip(original, built, strict=True)
        items = [difference(a, b) if isinstance(a, Mapping) else {} for a, b in pairs]
        return items if any(items) else None
    return None


def build(form: JobForm) -> Built:
    """The request the wizard's state describes."""
    doc: dict[str, Any] = {}
    built = Built(doc)
    _put(doc, "HyperParameterTuningJobName", form.name.strip())
    built.at("HyperParameterTuningJobName", "name")
    config: dict[str, Any] = {"Strategy": form.strategy}
    doc[CONFIG] = config
    built.at(CONFIG, "strategy")
    built.at(f"{CONFIG}.Strategy", "strategy")
    _job_settings(form, config, built)
    _limits(form, config, built)
    _warm_start_and_tags(form, doc, built)
    _definitions(form, doc, config, built)
    merge(doc, _extra(built, form.extra, "extra"))
    return built


def _job_settings(form: JobForm, config: dict[str, Any], built: Built) -> None:
    hyperband = f"{CONFIG}.StrategyConfig.HyperbandStrategyConfig"
    if form.strategy == "Hyperband" and (form.hb_min.strip() or form.hb_max.strip()):
        values: dict[str, Any] = {}
        _put(values, "MinResource", number(form.hb_min))
        _put(values, "MaxResource", number(form.hb_max))
        config["StrategyConfig"] = {"HyperbandStrategyConfig": values}
    for path, field_id in (
        (f"{CONFIG}.StrategyConfig", "strategy"),
        (hyperband, "hb_max"),
        (f"{hyperband}.MinResource", "hb_min"),
        (f"{hyperband}.MaxResource", "hb_max"),
        (f"{CONFIG}.TrainingJobEarlyStoppingType", "early_stopping"),
        (f"{CONFIG}.RandomSeed", "seed"),
    ):
        built.at(path, field_id)
    config["TrainingJobEarlyStoppingType"] = form.early_stopping
    _put(config, "RandomSeed", number(form.seed))
    criteria: dict[str, Any] = {}
    _put(criteria, "TargetObjectiveMetricValue", number(form.target, float))
    if form.not_improving.strip():
        criteria["BestObjectiveNotImproving"] = {NOT_IMPROVING: number(form.not_improving)}
    if form.convergence:
        criteria["ConvergenceDetected"] = {"CompleteOnConvergence": "Enabled"}
    if criteria:
        config["TuningJobCompletionCriteria"] = criteria
    base = f"{CONFIG}.TuningJobCompletionCriteria"
    built.at(base, "target")
    built.at(f"{base}.TargetObjectiveMetricValue", "target")
    built.at(f"{base}.BestObjectiveNotImproving", "not_improving")
    built.at(f"{base}.BestObjectiveNotImproving.{NOT_IMPROVING}", "not_improving")
    built.at(f"{base}.ConvergenceDetected", "convergence")
    built.at(f"{base}.ConvergenceDetected.CompleteOnConvergence", "convergence")


def _limits(form: JobForm, config: dict[str, Any], built: Built) -> None:
    limits: dict[str, Any] = {}
    _put(limits, "MaxParallelTrainingJobs", number(form.max_parallel))
    _put(limits, "MaxNumberOfTrainingJobs", number(form.max_jobs))
    _put(limits, "MaxRuntimeInSeconds", number(form.max_runtime))
    config["ResourceLimits"] = limits
    base = f"{CONFIG}.ResourceLimits"
    built.at(base, "max_parallel")
    built.at(f"{base}.MaxParallelTrainingJobs", "max_parallel")
    built.at(f"{base}.MaxNumberOfTrainingJobs", "max_jobs")
    built.at(f"{base}.MaxRuntimeInSeconds", "max_runtime")


def _warm_start_and_tags(form: JobForm, doc: dict[str, Any], built: Built) -> None:
    if form.warm_type or form.warm_parents:
        warm: dict[str, Any] = {
            "ParentHyperParameterTuningJobs": [
                {"HyperParameterTuningJobName": p.strip()} for p in form.warm_parents
            ]
        }
        _put(warm, "WarmStartType", form.warm_type)
        doc["WarmStartConfig"] = warm
    built.at("WarmStartConfig", "warm_type")
    built.at("WarmStartConfig.WarmStartType", "warm_type")
    built.at("WarmStartConfig.ParentHyperParameterTuningJobs", "warm_parents")
    for k in range(len(form.warm_parents)):
        row = f"WarmStartConfig.ParentHyperParameterTuningJobs[{k}]"
        built.at(row, f"ws_parent-{k}-name")
        built.at(f"{row}.HyperParameterTuningJobName", f"ws_parent-{k}-name")
    if form.tags:
        doc["Tags"] = [{"Key": t.key.strip(), "Value": t.value} for t in form.tags]
    built.at("Tags", "tags")
    for k in range(len(form.tags)):
        built.at(f"Tags[{k}]", f"tag-{k}")
        built.at(f"Tags[{k}].Key", f"tag-{k}-key")
        built.at(f"Tags[{k}].Value", f"tag-{k}-value")


def _definitions(form: JobForm, doc: dict[str, Any], config: dict[str, Any], built: Built) -> None:
    built.at("TrainingJobDefinition", "definitions")
    built.at("TrainingJobDefinitions", "definitions")
    if len(form.definitions) == 1:
        single = _definition(form.definitions[0], 0, "TrainingJobDefinition", built, config)
        doc["TrainingJobDefinition"] = single
    elif form.definitions:
        doc["TrainingJobDefinitions"] = [
            _definition(d, i, f"TrainingJobDefinitions[{i}]", built, None)
            for i, d in enumerate(form.definitions)
        ]


def _definition(
    d: DefinitionForm, i: int, path: str, built: Built, config: dict[str, Any] | None
) -> dict[str, Any]:
    """One definition at ``path``; ``config`` given (a single definition): the
    objective and ranges go there."""
    p = f"d{i}-"
    out: dict[str, Any] = {}
    built.at(path, f"{p}name")
    _put(out, "DefinitionName", d.name.strip())
    built.at(f"{path}.DefinitionName", f"{p}name")
    objective_path = f"{path}.TuningObjective"
    if config is not None:
        objective_path = f"{CONFIG}.HyperParameterTuningJobObjective"
    if d.objective_metric.strip():
        objective = {"Type": d.objective_type, "MetricName": d.objective_metric.strip()}
        (config if config is not None else out)[objective_path.rsplit(".", 1)[1]] = objective
    built.at(objective_path, f"{p}objective_metric")
    built.at(f"{objective_path}.MetricName", f"{p}objective_metric")
    built.at(f"{objective_path}.Type", f"{p}objective_type")
    _hyperparameters(d, p, path, built, config, out)
    algorithm: dict[str, Any] = {}
    algorithm_path = f"{path}.AlgorithmSpecification"
    if d.source == "algorithm":
        _put(algorithm, "AlgorithmName", d.algorithm.strip())
    else:
        _put(algorithm, "TrainingImage", d.image.strip())
    algorithm["TrainingInputMode"] = d.input_mode
    if d.metrics:
        algorithm["MetricDefinitions"] = [
            {"Name": m.name.strip(), "Regex": m.regex} for m in d.metrics
        ]
    out["AlgorithmSpecification"] = algorithm
    source = f"{p}algorithm" if d.source == "algorithm" else f"{p}image"
    built.at(algorithm_path, source)
    built.at(f"{algorithm_path}.TrainingImage", f"{p}image")
    built.at(f"{algorithm_path}.AlgorithmName", f"{p}algorithm")
    built.at(f"{algorithm_path}.TrainingInputMode", f"{p}input_mode")
    built.at(f"{algorithm_path}.MetricDefinitions", f"{p}metrics")
    for k in range(len(d.metrics)):
        row = f"{algorithm_path}.MetricDefinitions[{k}]"
        built.at(row, f"{p}metric-{k}")
        built.at(f"{row}.Name", f"{p}metric-{k}-name")
        built.at(f"{row}.Regex", f"{p}metric-{k}-regex")
    _put(out, "RoleArn", d.role.strip())
    built.at(f"{path}.RoleArn", f"{p}role")
    if d.channels:
        out["InputDataConfig"] = [
            _channel(c, f"{p}channel-{k}", built) for k, c in enumerate(d.channels)
        ]
    built.at(f"{path}.InputDataConfig", f"{p}channels")
    for k in range(len(d.channels)):
        row = f"{path}.InputDataConfig[{k}]"
        built.at(row, f"{p}channel-{k}")
        built.at(f"{row}.ChannelName", f"{p}channel-{k}-name")
        built.at(f"{row}.DataSource", f"{p}channel-{k}-uri")
        built.at(f"{row}.ContentType", f"{p}channel-{k}-content_type")
    _outputs_and_resources(d, p, path, built, out)
    merge(out, _extra(built, d.extra, f"{p}extra"))
    return out


def _hyperparameters(
    d: DefinitionForm,
    p: str,
    path: str,
    built: Built,
    config: dict[str, Any] | None,
    out: dict[str, Any],
) -> None:
    ranges_path = f"{path}.HyperParameterRanges"
    if config is not None:
        ranges_path = f"{CONFIG}.ParameterRanges"
    ranges: dict[str, list[dict[str, Any]]] = {}
    static: dict[str, str] = {}
    built.at(ranges_path, f"{p}hps")
    built.at(f"{path}.StaticHyperParameters", f"{p}hps")
    for k, row in enumerate(d.hyperparameters):
        row_id, name = f"{p}hp-{k}", row.name.strip()
        if row.kind == "static":
            static[name] = row.values
            built.at(f"{path}.StaticHyperParameters[{name!r}]", row_id)
            continue
        kind = RANGE_KIND.get(row.kind, RANGE_KIND["continuous"])
        items = ranges.setdefault(kind, [])
        where = f"{ranges_path}.{kind}[{len(items)}]"
        if row.kind == "categorical":
            values = [v.strip() for v in row.values.split(",") if v.strip()]
            items.append({"Name": name, "Values": values})
            built.at(f"{where}.Values", f"{row_id}-values")
        else:
            item = {"Name": name, "MinValue": row.min.strip(), "MaxValue": row.max.strip()}
            if row.scaling and row.scaling != "Auto":
                item["ScalingType"] = row.scaling
            items.append(item)
            built.at(f"{where}.MinValue", f"{row_id}-min")
            built.at(f"{where}.MaxValue", f"{row_id}-max")
            built.at(f"{where}.ScalingType", f"{row_id}-scaling")
        built.at(where, row_id)
        built.at(f"{where}.Name", f"{row_id}-name")
    if ranges:
        (config if config is not None else out)[ranges_path.rsplit(".", 1)[1]] = ranges
    if static:
        out["StaticHyperParameters"] = static


def _channel(c: ChannelRow, row_id: str, built: Built) -> dict[str, Any]:
    channel: dict[str, Any] = {
        "ChannelName": c.name.strip(),
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": c.uri.strip()}},
    }
    _put(channel, "ContentType", c.content_type.strip())
    return merge(channel, _extra(built, c.extra, f"{row_id}-extra"))


def _outputs_and_resources(
    d: DefinitionForm, p: str, path: str, built: Built, out: dict[str, Any]
) -> None:
    output: dict[str, Any] = {}
    _put(output, "S3OutputPath", d.output.strip())
    _put(output, "KmsKeyId", d.kms.strip())
    out["OutputDataConfig"] = output
    if d.instance_type.strip() or d.volume.strip() or d.instance_count.strip() not in ("", "1"):
        resources: dict[str, Any] = {}
        _put(resources, "InstanceType", d.instance_type.strip())
        _put(resources, "InstanceCount", number(d.instance_count) or 1)
        _put(resources, "VolumeSizeInGB", number(d.volume))
        out["ResourceConfig"] = resources
    stopping: dict[str, Any] = {}
    _put(stopping, "MaxRuntimeInSeconds", number(d.max_runtime))
    _put(stopping, "MaxWaitTimeInSeconds", number(d.max_wait))
    out["StoppingCondition"] = stopping
    if d.isolation:
        out["EnableNetworkIsolation"] = True
    if d.spot:
        out["EnableManagedSpotTraining"] = True
    if d.checkpoint.strip():
        out["CheckpointConfig"] = {"S3Uri": d.checkpoint.strip()}
    if d.environment:
        out["Environment"] = {e.key.strip(): e.value for e in d.environment}
    for member, field_id in (
        ("OutputDataConfig", "output"),
        ("OutputDataConfig.S3OutputPath", "output"),
        ("OutputDataConfig.KmsKeyId", "kms"),
        ("ResourceConfig", "instance_type"),
        ("ResourceConfig.InstanceType", "instance_type"),
        ("ResourceConfig.InstanceCount", "instance_count"),
        ("ResourceConfig.VolumeSizeInGB", "volume"),
        ("StoppingCondition", "max_runtime"),
        ("StoppingCondition.MaxRuntimeInSeconds", "max_runtime"),
        ("StoppingCondition.MaxWaitTimeInSeconds", "max_wait"),
        ("EnableNetworkIsolation", "isolation"),
        ("EnableManagedSpotTraining", "spot"),
        ("CheckpointConfig", "checkpoint"),
        ("CheckpointConfig.S3Uri", "checkpoint"),
        ("Environment", "envs"),
    ):
        built.at(f"{path}.{member}", f"{p}{field_id}")
    for k, e in enumerate(d.environment):
        built.at(f"{path}.Environment[{e.key.strip()!r}]", f"{p}env-{k}")


# -- a request -> the wizard, keeping what the form does not show --------------------------


def _without(doc: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in keys}


def form_for_document(doc: Mapping[str, Any]) -> JobForm:
    """The wizard's state for ``doc``, with the members the form does not show kept
    in the ``extra`` fields, so that building it gives ``doc`` back."""
    form = job_form_from_document(doc)
    rebuilt = build(form).document
    top = _without(doc, ("TrainingJobDefinition", "TrainingJobDefinitions"))
    config = doc.get(CONFIG)
    if isinstance(config, Mapping):
        top[CONFIG] = _without(config, RELOCATED_CONFIG_KEYS)
    form.extra = _json(difference(top, rebuilt))
    originals = doc.get("TrainingJobDefinitions") or [doc.get("TrainingJobDefinition")]
    rebuilt_definitions = rebuilt.get("TrainingJobDefinitions") or [
        rebuilt.get("TrainingJobDefinition")
    ]
    for d, original, again in zip(form.definitions, originals, rebuilt_definitions, strict=False):
        if not isinstance(original, Mapping) or not isinstance(again, Mapping):
            continue
        d.extra = _json(difference(_without(original, RELOCATED_DEFINITION_KEYS), again))
        channels = original.get("InputDataConfig") or []
        made_channels = again.get("InputDataConfig") or []
        for row, channel, made in zip(d.channels, channels, made_channels, strict=False):
            row.extra = _json(difference(channel, made))
    return form


def _json(value: Any) -> str:
    return json.dumps(value, indent=2) if value else ""


def definition_for_algorithm(name: str, document: Mapping[str, Any]) -> DefinitionForm:
    """A definition prefilled from a registered algorithm (``CreateAlgorithm``): its
    metric definitions, and each tunable hyperparameter's range as recommended."""
    spec = document.get("TrainingSpecification") or {}
    d = definition_from_document({"AlgorithmSpecification": {}}, None, {})
    d.source, d.algorithm, d.image = "algorithm", name, ""
    d.metrics = definition_from_document(
        {"AlgorithmSpecification": {"MetricDefinitions": spec.get("MetricDefinitions") or []}},
        None,
        {},
    ).metrics
    ranges: dict[str, list[dict[str, Any]]] = {}
    for item in spec.get("SupportedHyperParameters") or ():
        found = item.get("Range") or {}
        if not item.get("IsTunable") or not found:
            continue
        for key, kind in (
            ("IntegerParameterRangeSpecification", "IntegerParameterRanges"),
            ("ContinuousParameterRangeSpecification", "ContinuousParameterRanges"),
            ("CategoricalParameterRangeSpecification", "CategoricalParameterRanges"),
        ):
            if key in found:
                ranges.setdefault(kind, []).append({"Name": item.get("Name", ""), **found[key]})
    d.hyperparameters = definition_from_document({}, None, ranges).hyperparameters
    objective = (spec.get("SupportedTuningJobObjectiveMetrics") or [{}])[0]
    d.objective_metric = objective.get("MetricName", "")
    d.objective_type = objective.get("Type", "Maximize")
    return d
