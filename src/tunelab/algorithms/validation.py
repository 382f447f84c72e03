"""A training job definition that runs a built-in or a registered (``CreateAlgorithm``)
algorithm, checked against its metadata: hyperparameter names, types and valid ranges
(static values and tuning ranges), required hyperparameters, the objective metric and its
direction, channels and content types (and, for a registered algorithm, input modes,
compression, instance types and instance count). Each problem is a :class:`Violation`
naming the field. Also the metric definitions SageMaker predefines for such a
definition."""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tunelab.algorithms.resources import resource_problems
from tunelab.algorithms.spec import (
    CATEGORICAL,
    CONTINUOUS,
    INTEGER,
    AlgorithmSpec,
    Hyperparameter,
    demand,
    in_bounds,
    interval,
    parse_value,
)
from tunelab.domain.errors import Violation

Doc = Mapping[str, Any]
RANGE_KINDS = ("IntegerParameterRanges", "ContinuousParameterRanges", "CategoricalParameterRanges")


@dataclass(frozen=True)
class Context:
    """Where a definition's parts are: ``prefix`` (``TrainingJobDefinition.`` or empty
    for ``CreateTrainingJob``), the key of its hyperparameters, its objective and its
    ranges with their field path."""

    prefix: str
    hyperparameters_key: str = "StaticHyperParameters"
    objective: Doc | None = None
    objective_path: str = ""
    ranges: Doc | None = None
    ranges_path: str = ""


def context_of(document: Mapping[str, Any], definition: Mapping[str, Any], path: str) -> Context:
    """The :class:`Context` of the definition at ``path`` of a request (empty: a
    ``CreateTrainingJob`` request), as ``parse_tuning_job`` reads it."""
    if not path:
        return Context("", "HyperParameters")
    config = document.get("HyperParameterTuningJobConfig") or {}
    objective, objective_path = definition.get("TuningObjective"), f"{path}.TuningObjective"
    ranges, ranges_path = definition.get("HyperParameterRanges"), f"{path}.HyperParameterRanges"
    if path == "TrainingJobDefinition":
        if objective is None:
            objective = config.get("HyperParameterTuningJobObjective")
            objective_path = "HyperParameterTuningJobConfig.HyperParameterTuningJobObjective"
        if ranges is None and config.get("ParameterRanges") is not None:
            ranges, ranges_path = (
                config["ParameterRanges"],
                "HyperParameterTuningJobConfig.ParameterRanges",
            )
    return Context(
        f"{path}.", "StaticHyperParameters", objective, objective_path, ranges, ranges_path
    )


def is_reserved(name: str) -> bool:
    """Names every built-in accepts: ``_tuning_objective_metric``, ``sagemaker_*``..."""
    return name.startswith(("_", "sagemaker_"))


def check_definition(spec: AlgorithmSpec, definition: Doc, where: Context) -> list[Violation]:
    """Every problem of ``definition`` (a request document) for ``spec``."""
    static: Doc = definition.get(where.hyperparameters_key) or {}
    ranges: Doc = where.ranges or {}
    found = list(_static(spec, static, f"{where.prefix}{where.hyperparameters_key}"))
    found += _ranges(spec, ranges, where.ranges_path)
    tuned = {r.get("Name") for kind in RANGE_KINDS for r in ranges.get(kind) or ()}
    found += _required(spec, static, tuned, f"{where.prefix}{where.hyperparameters_key}")
    channels = [c for c in definition.get("InputDataConfig") or () if isinstance(c, Mapping)]
    found += _channels(spec, channels, f"{where.prefix}InputDataConfig")
    if spec.registered:
        mode = (definition.get("AlgorithmSpecification") or {}).get("TrainingInputMode")
        found += _transfer(spec, channels, str(mode or "File"), f"{where.prefix}InputDataConfig")
    found += resource_problems(spec, definition, where.prefix)
    if where.objective:
        names = {str(c.get("ChannelName")) for c in channels}
        found += _objective(spec, where.objective, where.objective_path, names)
        found += _reported_for(spec, where.objective, where.objective_path, static)
    return found


def _unknown(spec: AlgorithmSpec, name: str) -> str:
    if not spec.hyperparameters:
        return (
            f"is not a hyperparameter of {spec.label}, whose TrainingSpecification declares "
            "no SupportedHyperParameters"
        )
    close = difflib.get_close_matches(name, [h.name for h in spec.hyperparameters], 1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"is not a hyperparameter of {spec.label}{hint}"


def _static(spec: AlgorithmSpec, static: Doc, path: str) -> Iterator[Violation]:
    for name, value in static.items():
        if is_reserved(name):
            continue
        hp = spec.hyperparameter(name)
        if hp is None:
            yield Violation(f"{path}.{name}", _unknown(spec, name))
            continue
        try:
            parse_value(hp, str(value))
        except ValueError as error:
            yield Violation(f"{path}.{name}", f"must be {error}; got {value!r}")


def _ranges(spec: AlgorithmSpec, ranges: Doc, path: str) -> Iterator[Violation]:
    tunable = ", ".join(h.name for h in spec.hyperparameters if h.tunable) or "none"
    for kind in RANGE_KINDS:
        for i, item in enumerate(ranges.get(kind) or ()):
            name, where = str(item.get("Name")), f"{path}.{kind}[{i}]"
            hp = spec.hyperparameter(name)
            if hp is None:
                yield Violation(f"{where}.Name", _unknown(spec, name))
            elif not hp.tunable:
                yield Violation(
                    f"{where}.Name",
                    f"'{name}' is not a tunable hyperparameter of {spec.label}; "
                    f"tunable: {tunable}",
                )
            else:
                yield from _range(hp, kind, item, where)


def _range(hp: Hyperparameter, kind: str, item: Doc, where: str) -> Iterator[Violation]:
    if kind == "CategoricalParameterRanges":
        for j, value in enumerate(item.get("Values") or ()):
            try:
                parse_value(hp, str(value))
            except ValueError as error:
                yield Violation(f"{where}.Values[{j}]", f"must be {error}; got {value!r}")
        return
    if hp.type == CATEGORICAL:
        yield Violation(
            f"{where}.Name", f"'{hp.name}' is categorical: use CategoricalParameterRanges"
        )
        return
    if kind == "ContinuousParameterRanges" and hp.type == INTEGER:
        yield Violation(f"{where}.Name", f"'{hp.name}' is an integer: use IntegerParameterRanges")
        return
    if hp.type not in (INTEGER, CONTINUOUS):
        return
    for bound in ("MinValue", "MaxValue"):
        try:
            number = float(item.get(bound))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            continue  # not a number: the request parser reports it
        if not in_bounds(hp, number):
            yield Violation(
                f"{where}.{bound}",
                f"{item.get(bound)} is outside the valid range of '{hp.name}', {interval(hp)}",
            )


def _required(spec: AlgorithmSpec, static: Doc, tuned: set[Any], path: str) -> Iterator[Violation]:
    given = set(static) | tuned
    for hp in spec.hyperparameters:
        if hp.required and hp.name not in given:
            yield Violation(
                path,
                f"{spec.label} requires hyperparameter '{hp.name}' "
                f"({demand(hp)}), static or tuned",
            )
    for name, values, needed in spec.requires:
        if str(static.get(name)) in values and needed not in given:
            yield Violation(path, f"{name} '{static[name]}' requires hyperparameter '{needed}'")


def _channels(spec: AlgorithmSpec, channels: Sequence[Doc], path: str) -> Iterator[Violation]:
    names = [c.name for c in spec.channels]
    for i, channel in enumerate(channels):
        name, where = str(channel.get("ChannelName")), f"{path}[{i}]"
        known = spec.channel(name)
        if known is None:
            yield Violation(
                f"{where}.ChannelName",
                f"'{name}' is not a channel of {spec.label} (channels: {', '.join(names)})",
            )
            continue
        if not known.content_types:
            continue
        usable = ", ".join(known.content_types)
        given = channel.get("ContentType")
        if not given and spec.default_content_type is None:
            continue  # no ContentType and no default to judge
        base = str(given or spec.default_content_type).split(";")[0].strip().lower()
        if base in known.content_types:
            continue
        if not given:
            yield Violation(
                where,
                f"channel '{name}' has no ContentType, which for {spec.name} means "
                f"{spec.default_content_type} (SageMaker's default), not available in this "
                f"version of tunelab; set ContentType to one of {usable}",
            )
        elif base in spec.unsupported_content_types:
            yield Violation(
                f"{where}.ContentType",
                f"{given!r} is not available in this version of tunelab; use one of {usable}",
            )
        else:
            yield Violation(
                f"{where}.ContentType",
                f"{given!r} is not a content type of channel '{name}' of {spec.label} ({usable})",
            )
    given = {str(c.get("ChannelName")) for c in channels}
    for channel in spec.channels:
        if channel.required and channel.name not in given:
            yield Violation(path, f"{spec.label} needs a '{channel.name}' channel")


def _transfer(
    spec: AlgorithmSpec, channels: Sequence[Doc], default_mode: str, path: str
) -> Iterator[Violation]:
    """Each channel's input mode (its ``InputMode``, else the definition's
    ``TrainingInputMode``) and ``CompressionType`` among those its channel supports."""
    for i, channel in enumerate(channels):
        known = spec.channel(str(channel.get("ChannelName")))
        if known is None:
            continue  # reported by _channels
        mode = str(channel.get("InputMode") or default_mode)
        if mode not in known.input_modes:
            inherited = "" if channel.get("InputMode") else " (AlgorithmSpecification's)"
            yield Violation(
                f"{path}[{i}].InputMode",
                f"channel '{known.name}' of {spec.label} supports the input modes "
                f"{', '.join(known.input_modes)}; got {mode}{inherited}",
            )
        compression = str(channel.get("CompressionType") or "None")
        if known.compression_types and compression not in known.compression_types:
            yield Violation(
                f"{path}[{i}].CompressionType",
                f"channel '{known.name}' of {spec.label} supports the compression types "
                f"{', '.join(known.compression_types)}; got {compression}",
            )


def _objective(
    spec: AlgorithmSpec, objective: Doc, path: str, channels: set[str]
) -> Iterator[Violation]:
    name, kind = str(objective.get("MetricName")), objective.get("Type")
    metric = spec.metric(name)
    if not spec.objectives:
        yield Violation(
            f"{path}.MetricName",
            f"{spec.label} cannot be tuned: its TrainingSpecification has no "
            "SupportedTuningJobObjectiveMetrics with a MetricDefinition",
        )
        return
    if metric is None or metric.direction is None:
        choices = ", ".join(m.name for m in spec.objectives)
        yield Violation(
            f"{path}.MetricName",
            f"'{name}' is not an objective metric of {spec.label}; choose one of {choices}",
        )
        return
    if kind and kind != metric.direction:
        yield Violation(
            f"{path}.Type",
            f"the objective metric '{name}' of {spec.label} is to "
            f"{metric.direction.lower()}; got {kind}",
        )
    if spec.registered:
        return  # what a registered program computes on which channel is its own
    split = name.split(":")[0] if ":" in name else None
    if split is not None and spec.channel(split) is not None and split not in channels:
        yield Violation(
            f"{path}.MetricName",
            f"'{name}' is computed on the '{split}' channel, which the definition does not have",
        )


def _reported_for(
    spec: AlgorithmSpec, objective: Doc, path: str, static: Doc
) -> Iterator[Violation]:
    """An objective metric the program reports only for other ``predictor_type`` values
    than the static one (a tuned or absent one is not judged here)."""
    metric = spec.metric(str(objective.get("MetricName")))
    chosen = static.get("predictor_type")
    if metric is None or not metric.predictor_types or not isinstance(chosen, str):
        return
    if chosen.strip() not in metric.predictor_types:
        yield Violation(
            f"{path}.MetricName",
            f"{spec.label} reports '{metric.name}' for predictor_type "
            f"{' or '.join(metric.predictor_types)}; predictor_type is {chosen!r}",
        )


def predefined_metrics(
    spec: AlgorithmSpec, objective: str | None, hyperparameters: Doc, limit: int
) -> list[dict[str, str]]:
    """The metric definitions to fill in, at most ``limit``: the objective's, then
    those of the metrics the hyperparameters ask for (``eval_metric``), then the rest."""
    wanted: list[str] = [objective] if objective else []
    listed = hyperparameters.get(spec.metric_hyperparameter or "")
    for item in str(listed or "").split(","):
        item = item.strip()
        wanted += [item, f"validation:{item}", f"train:{item}", f"test:{item}"]
    first = [m for name in dict.fromkeys(wanted) if (m := spec.metric(name)) is not None]
    ordered = first + [m for m in spec.metrics if m not in first]
    return [{"Name": m.name, "Regex": m.regex} for m in ordered[:limit]]
