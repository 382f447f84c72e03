"""The wizard's training job definitions -> their part of the request, each request
path mapped to the form field that fills it.

One definition becomes ``TrainingJobDefinition``, its objective and ranges in
``HyperParameterTuningJobConfig`` (as SageMaker's console writes it); two or more
become ``TrainingJobDefinitions``, each with its own ``TuningObjective`` and
``HyperParameterRanges``.
"""

from __future__ import annotations

from typing import Any

from tunelab.console.wizard_form import RANGE_KIND, ChannelRow, DefinitionForm, JobForm
from tunelab.console.wizard_request import CONFIG, Built, extra_members, merge, number, put


def add_definitions(
    form: JobForm, doc: dict[str, Any], config: dict[str, Any], built: Built
) -> None:
    """Put ``form``'s definitions into ``doc`` (and ``config``, for a single one)."""
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
    put(out, "DefinitionName", d.name.strip())
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
        put(algorithm, "AlgorithmName", d.algorithm.strip())
    else:
        put(algorithm, "TrainingImage", d.image.strip())
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
    put(out, "RoleArn", d.role.strip())
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
    merge(out, extra_members(built, d.extra, f"{p}extra"))
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
    put(channel, "ContentType", c.content_type.strip())
    return merge(channel, extra_members(built, c.extra, f"{row_id}-extra"))


def _outputs_and_resources(
    d: DefinitionForm, p: str, path: str, built: Built, out: dict[str, Any]
) -> None:
    output: dict[str, Any] = {}
    put(output, "S3OutputPath", d.output.strip())
    put(output, "KmsKeyId", d.kms.strip())
    out["OutputDataConfig"] = output
    if d.instance_type.strip() or d.volume.strip() or d.instance_count.strip() not in ("", "1"):
        resources: dict[str, Any] = {}
        put(resources, "InstanceType", d.instance_type.strip())
        put(resources, "InstanceCount", number(d.instance_count) or 1)
        put(resources, "VolumeSizeInGB", number(d.volume))
        out["ResourceConfig"] = resources
    stopping: dict[str, Any] = {}
    put(stopping, "MaxRuntimeInSeconds", number(d.max_runtime))
    put(stopping, "MaxWaitTimeInSeconds", number(d.max_wait))
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
