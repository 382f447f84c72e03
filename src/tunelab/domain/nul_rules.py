"""tunelab's rule for the NUL character (U+0000) in the fields that reach a training
program or a text column: hyperparameter names and values, Environment values, and metric
names. SageMaker's model allows a NUL in them (``.*``, ``.+`` and ``[\\S\\s]*`` match it),
but a program's arguments and environment variables end at a NUL, and a text column keeps
it as U+FFFD, so a metric name with one would no longer match its stored points.
(Environment keys are already held to ``[a-zA-Z_][a-zA-Z0-9_]*`` by the model.)

Each function takes a raw request that passed the shape check and yields a
:class:`Violation` per field holding a NUL, naming the field path and the rule."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from tunelab.domain.errors import Violation
from tunelab.domain.paths import request_definitions
from tunelab.domain.request import RANGE_KINDS

NUL = "\x00"
_PASSED = (
    "a training job gets its hyperparameters as program arguments and environment "
    "variables, which end at a NUL"
)
_ENVIRONMENT = "a training job gets it as an environment variable, which ends at a NUL"
_STORED = (
    "a metric name is stored as text, which cannot hold a NUL (it would become U+FFFD "
    "and no longer match the metric's values)"
)

Doc = Mapping[str, Any]


def nul_in_tuning_request(document: Doc) -> Iterator[Violation]:
    """Every NUL in a ``CreateHyperParameterTuningJob`` request's objectives, ranges and
    training job definitions."""
    config = document.get("HyperParameterTuningJobConfig") or {}
    objective_path = "HyperParameterTuningJobConfig.HyperParameterTuningJobObjective"
    yield from _objective(config.get("HyperParameterTuningJobObjective"), objective_path)
    ranges_path = "HyperParameterTuningJobConfig.ParameterRanges"
    yield from _ranges(config.get("ParameterRanges"), ranges_path)
    for path, definition in request_definitions(document):
        yield from _objective(definition.get("TuningObjective"), f"{path}.TuningObjective")
        yield from _ranges(definition.get("HyperParameterRanges"), f"{path}.HyperParameterRanges")
        yield from _definition(definition, "StaticHyperParameters", f"{path}.")


def nul_in_training_request(document: Doc) -> Iterator[Violation]:
    """Every NUL in a ``CreateTrainingJob`` request's hyperparameters, Environment values
    and metric names."""
    yield from _definition(document, "HyperParameters", "")


def _definition(definition: Doc, hyperparameters: str, prefix: str) -> Iterator[Violation]:
    for key, value in (definition.get(hyperparameters) or {}).items():
        where = f"{prefix}{hyperparameters}[{key!r}]"
        yield from _check(key, where, _PASSED, "key ")
        yield from _check(value, where, _PASSED)
    metrics = (definition.get("AlgorithmSpecification") or {}).get("MetricDefinitions") or ()
    for i, metric in enumerate(metrics):
        where = f"{prefix}AlgorithmSpecification.MetricDefinitions[{i}].Name"
        yield from _check(metric.get("Name"), where, _STORED)
    for key, value in (definition.get("Environment") or {}).items():
        yield from _check(value, f"{prefix}Environment[{key!r}]", _ENVIRONMENT)


def _objective(objective: Doc | None, path: str) -> Iterator[Violation]:
    if objective:
        yield from _check(objective.get("MetricName"), f"{path}.MetricName", _STORED)


def _ranges(ranges: Doc | None, path: str) -> Iterator[Violation]:
    for kind in RANGE_KINDS:
        for i, item in enumerate((ranges or {}).get(kind) or ()):
            where = f"{path}.{kind}[{i}]"
            yield from _check(item.get("Name"), f"{where}.Name", _PASSED)
            for j, value in enumerate(item.get("Values") or ()):
                yield from _check(value, f"{where}.Values[{j}]", _PASSED)
    for i, auto in enumerate((ranges or {}).get("AutoParameters") or ()):
        for member in ("Name", "ValueHint"):
            yield from _check(auto.get(member), f"{path}.AutoParameters[{i}].{member}", _PASSED)


def _check(text: Any, path: str, why: str, what: str = "") -> Iterator[Violation]:
    if isinstance(text, str) and NUL in text:
        yield Violation(
            path,
            f"{what}must not contain the NUL character (U+0000); got one at position "
            f"{text.index(NUL)} of {_short(text)}: {why}",
        )


def _short(value: str) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
