"""SageMaker's rules for one training job definition of a tuning job: its metric
definitions, hyperparameter ranges, resources, stopping condition and channels.

The rules that hold for any training job (not only a tuning job's) are
:func:`check_training_definition`'s; ``CreateTrainingJob`` runs them too."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from tunelab.domain.definition import TUNING_OBJECTIVE_HYPERPARAMETER, TrainingJobDefinition
from tunelab.domain.enums import ScalingType
from tunelab.domain.errors import Violation
from tunelab.domain.metric_regex import regex_problem
from tunelab.domain.paths import definition_path, ranges_document, ranges_path
from tunelab.domain.request import RANGE_KINDS
from tunelab.domain.search_space import CategoricalRange, IntegerRange
from tunelab.domain.tuning_job import TuningJobSpec

MAX_METRIC_DEFINITIONS = 20
MAX_SEARCHED_HYPERPARAMETERS = 30
MAX_HYPERPARAMETERS = 100


def check_definition(spec: TuningJobSpec, index: int) -> Iterator[Violation]:
    """Every rule of ``spec.definitions[index]``."""
    yield from _definition(spec, index, spec.definitions[index])


def _definition(spec: TuningJobSpec, index: int, d: TrainingJobDefinition) -> Iterator[Violation]:
    path = definition_path(spec, index)
    algorithm = f"{path}.AlgorithmSpecification"
    yield from _metric_count(d, f"{algorithm}.MetricDefinitions")
    yield from _metric_definitions(d, f"{algorithm}.MetricDefinitions")
    if d.objective is not None:
        names = {m.name for m in d.metric_definitions}
        if d.objective.metric_name not in names:
            image, hint = d.training_image or "", ""
            if image and not image.startswith("file:") and not d.metric_definitions:
                # the service fills in a built-in's metrics: none came with this image
                hint = (
                    f"; TrainingImage {image!r} came with no predefined metrics: tunelab "
                    "predefines them only for its built-in algorithms' images (`tunelab "
                    "algorithms describe NAME` lists them), so check the image URI or "
                    "define the metric"
                )
            yield Violation(
                f"{algorithm}.MetricDefinitions",
                "A metric is required for this "
                "hyperparameter tuning job objective. Provide a metric in the metric "
                f"definitions: no MetricDefinition is named "
                f"'{d.objective.metric_name}'{hint}",
            )
    yield from _algorithm(d, algorithm)
    yield from _ranges(spec, index, d)
    yield from _resources(d, path)
    yield from _stopping(d, path)
    yield from _channels(d, f"{path}.")


def check_training_definition(d: TrainingJobDefinition, prefix: str) -> Iterator[Violation]:
    """The rules of any training job's definition (a tuning job's, or a
    ``CreateTrainingJob`` request's when ``prefix`` is empty): metric names unique
    and regexes valid, TrainingImage or AlgorithmName, InstanceCount, MaxWaitTimeInSeconds
    with managed spot, one data source per channel and unique channel names. Paths
    start with ``prefix`` (``TrainingJobDefinition.`` or empty)."""
    algorithm = f"{prefix}AlgorithmSpecification"
    yield from _metric_definitions(d, f"{algorithm}.MetricDefinitions")
    yield from _algorithm(d, algorithm)
    yield from _resources(d, prefix.rstrip("."))
    yield from _stopping(d, prefix.rstrip("."))
    yield from _channels(d, prefix)


def _algorithm(d: TrainingJobDefinition, path: str) -> Iterator[Violation]:
    if d.training_image is None and d.algorithm_name is None:
        yield Violation(path, "give TrainingImage or AlgorithmName")
    elif d.training_image is not None and d.algorithm_name is not None:
        yield Violation(path, "give TrainingImage or AlgorithmName, not both")


def _stopping(d: TrainingJobDefinition, path: str) -> Iterator[Violation]:
    stopping, where = d.stopping, _join(path, "StoppingCondition.MaxWaitTimeInSeconds")
    if stopping.max_wait_seconds is None:
        return
    if not d.enable_managed_spot:
        yield Violation(
            where,
            "Invalid "
            "MaxWaitTimeInSeconds. It is only supported when "
            "EnableManagedSpotTraining is set to true",
        )
    elif (stopping.max_runtime_seconds or 0) > stopping.max_wait_seconds:
        yield Violation(
            where,
            "must be at least "
            f"MaxRuntimeInSeconds ({stopping.max_runtime_seconds}); got "
            f"{stopping.max_wait_seconds}",
        )


DATA_SOURCES = ("S3DataSource", "FileSystemDataSource", "DatasetSource")


def _channels(d: TrainingJobDefinition, prefix: str) -> Iterator[Violation]:
    """Channel names are unique (each is a directory ``input/data/<name>``), neither ``.``
    nor ``..``, and no name is a FIFO of a Pipe-mode channel; each channel's DataSource
    gives exactly one source."""
    first: dict[str, int] = {}
    entries = d.document.get("InputDataConfig") or ()
    pipes = _pipe_channels(d, entries)
    for i, channel in enumerate(entries):
        where = f"{prefix}InputDataConfig[{i}]"
        name = channel.get("ChannelName")
        fifo = _FIFO_NAME.fullmatch(name) if isinstance(name, str) else None
        if fifo is not None and fifo.group(1) in pipes:
            owner = fifo.group(1)
            yield Violation(
                f"{where}.ChannelName",
                f"channel '{name}' has the name of a FIFO of the Pipe-mode channel '{owner}' "
                f"(InputDataConfig[{pipes[owner]}] streams through input/data/{owner}_0, "
                f"{owner}_1...); rename one of them",
            )
        if name in _NO_FOLDER:
            yield Violation(
                f"{where}.ChannelName",
                f"'{name}' matches SageMaker's pattern [A-Za-z0-9\\.\\-_]+ but names no folder "
                "of its own: a channel's data is the folder input/data/<ChannelName> "
                f"(/opt/ml/input/data/ in SageMaker), and '{name}' is {_NO_FOLDER[name]}; "
                "choose another name",
            )
        if name in first:
            yield Violation(
                f"{where}.ChannelName",
                f"channel names must be unique; '{name}' is also the name of "
                f"InputDataConfig[{first[name]}]",
            )
        else:
            first[name] = i
        given = [key for key in DATA_SOURCES if (channel.get("DataSource") or {}).get(key)]
        if not given:
            yield Violation(f"{where}.DataSource", "give S3DataSource or FileSystemDataSource")
        elif len(given) > 1:
            yield Violation(
                f"{where}.DataSource",
                f"give one data source; got {' and '.join(given)}",
            )


_NO_FOLDER = {".": "input/data itself", "..": "its parent, input"}
"""Channel names the pattern allows that are no folder under ``input/data/``."""
_FIFO_NAME = re.compile(r"(.+)_(0|[1-9][0-9]*)")
"""A name ``<channel>_<epoch>``: the FIFO of epoch ``<epoch>`` of a Pipe-mode channel."""


def _pipe_channels(d: TrainingJobDefinition, entries: Any) -> dict[str, int]:
    """The Pipe-mode channels' names -> their index in ``InputDataConfig``."""
    default = str(d.input_mode)
    return {
        entry["ChannelName"]: i
        for i, entry in enumerate(entries)
        if isinstance(entry, Mapping)
        and isinstance(entry.get("ChannelName"), str)
        and (entry.get("InputMode") or default) == "Pipe"
    }


def _join(path: str, member: str) -> str:
    return f"{path}.{member}" if path else member


def _metric_count(d: TrainingJobDefinition, path: str) -> Iterator[Violation]:
    if len(d.metric_definitions) > MAX_METRIC_DEFINITIONS:
        yield Violation(
            path,
            f"a tuning job takes at most {MAX_METRIC_DEFINITIONS} metric "
            f"definitions per training job definition; got {len(d.metric_definitions)}",
        )


def _metric_definitions(d: TrainingJobDefinition, path: str) -> Iterator[Violation]:
    seen: set[str] = set()
    for i, metric in enumerate(d.metric_definitions):
        if metric.name in seen:
            yield Violation(f"{path}[{i}].Name", f"'{metric.name}' is defined twice")
        seen.add(metric.name)
        problem = regex_problem(metric.regex)
        if problem is not None:
            yield Violation(f"{path}[{i}].Regex", problem)


def _ranges(spec: TuningJobSpec, index: int, d: TrainingJobDefinition) -> Iterator[Violation]:
    path = ranges_path(spec, index)
    document = ranges_document(spec, index)
    seen: dict[str, str] = {}
    for kind in RANGE_KINDS:
        for i, item in enumerate(document.get(kind, ())):
            where, name = f"{path}.{kind}[{i}]", item["Name"]
            if name in seen:
                yield Violation(f"{where}.Name", f"'{name}' is already tuned by {seen[name]}")
                continue
            seen[name] = where
            if name == TUNING_OBJECTIVE_HYPERPARAMETER:
                yield Violation(
                    f"{where}.Name",
                    f"'{name}' is reserved: SageMaker sets it to the objective metric's name",
                )
            elif name in d.static_hyperparameters:
                yield Violation(
                    f"{where}.Name",
                    f"'{name}' is also in StaticHyperParameters; a "
                    "hyperparameter is either static or tuned, not both",
                )
            yield from _range_bounds(spec, index, item, where, kind)
    if len(seen) > MAX_SEARCHED_HYPERPARAMETERS:
        yield Violation(
            path,
            f"at most {MAX_SEARCHED_HYPERPARAMETERS} hyperparameters can be "
            f"searched; got {len(seen)}",
        )
    total = len(seen) + len(set(d.static_hyperparameters) - {TUNING_OBJECTIVE_HYPERPARAMETER}) + 1
    if total > MAX_HYPERPARAMETERS:
        yield Violation(
            f"{definition_path(spec, index)}.StaticHyperParameters",
            "static and "
            f"tuned hyperparameters together (plus {TUNING_OBJECTIVE_HYPERPARAMETER}) "
            f"must be at most {MAX_HYPERPARAMETERS}; got {total}",
        )


def _range_bounds(
    spec: TuningJobSpec, index: int, item: Mapping[str, Any], where: str, kind: str
) -> Iterator[Violation]:
    space = spec.definitions[index].search_space
    try:
        parsed = space[item["Name"]]
    except KeyError:  # bounds were not numbers: reported by the parser
        return
    if isinstance(parsed, CategoricalRange):
        duplicates = sorted({v for v in parsed.values if parsed.values.count(v) > 1})
        if duplicates:
            yield Violation(
                f"{where}.Values",
                "each value may appear once; repeated: " + ", ".join(repr(v) for v in duplicates),
            )
        return
    lo, hi = parsed.min_value, parsed.max_value
    if not lo < hi:
        yield Violation(
            where, f"MinValue ({item['MinValue']}) must be less than MaxValue ({item['MaxValue']})"
        )
    if parsed.scaling is ScalingType.LOGARITHMIC and lo <= 0:
        yield Violation(
            f"{where}.ScalingType",
            "Logarithmic scaling needs MinValue and MaxValue "
            f"greater than 0; got MinValue {item['MinValue']}",
        )
    if parsed.scaling is ScalingType.REVERSE_LOGARITHMIC:
        if isinstance(parsed, IntegerRange):
            yield Violation(
                f"{where}.ScalingType", "ReverseLogarithmic scaling is only for continuous ranges"
            )
        elif not (lo >= 0 and hi < 1):
            yield Violation(
                f"{where}.ScalingType",
                "ReverseLogarithmic scaling needs "
                "0 <= MinValue and MaxValue < 1; got "
                f"[{item['MinValue']}, {item['MaxValue']}]",
            )


def _resources(d: TrainingJobDefinition, path: str) -> Iterator[Violation]:
    document = d.document
    if "ResourceConfig" in document and "HyperParameterTuningResourceConfig" in document:
        yield Violation(
            _join(path, "HyperParameterTuningResourceConfig"),
            "give ResourceConfig or HyperParameterTuningResourceConfig, not both",
        )
    tuning = document.get("HyperParameterTuningResourceConfig") or {}
    if "InstanceConfigs" in tuning and any(
        key in tuning for key in ("InstanceType", "InstanceCount", "VolumeSizeInGB")
    ):
        yield Violation(
            _join(path, "HyperParameterTuningResourceConfig"),
            "use either InstanceConfigs or InstanceType/InstanceCount/VolumeSizeInGB, not both",
        )
    if d.resources.instance_count < 1:
        yield Violation(
            _join(path, "ResourceConfig.InstanceCount"),
            f"must be at least 1; got {d.resources.instance_count}",
        )
