"""Algorithms registered with ``CreateAlgorithm``: the rules their ``TrainingSpecification``
must follow beyond the service model's shapes, and the :class:`AlgorithmSpec` it describes,
so that definitions naming the algorithm are checked as those of a built-in are
(:func:`tunelab.algorithms.validation.check_definition`)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from tunelab.algorithms.spec import (
    CATEGORICAL,
    CONTINUOUS,
    FREE_TEXT,
    INTEGER,
    AlgorithmSpec,
    Channel,
    Hyperparameter,
    Metric,
    parse_value,
)
from tunelab.domain.errors import Violation

Doc = Mapping[str, Any]
RANGE_OF_TYPE = {
    INTEGER: "IntegerParameterRangeSpecification",
    CONTINUOUS: "ContinuousParameterRangeSpecification",
    CATEGORICAL: "CategoricalParameterRangeSpecification",
}
PREFIX = "TrainingSpecification"


def spec_of(name: str, specification: Doc, description: str = "") -> AlgorithmSpec:
    """The :class:`AlgorithmSpec` of a registered algorithm's ``TrainingSpecification``
    (a stored one: bounds that are not numbers are left open)."""
    directions = {
        o.get("MetricName"): o.get("Type")
        for o in specification.get("SupportedTuningJobObjectiveMetrics") or ()
    }
    return AlgorithmSpec(
        name=name,
        title=name,
        description=description,
        module="",
        hyperparameters=tuple(
            _hyperparameter(h) for h in specification.get("SupportedHyperParameters") or ()
        ),
        metrics=tuple(
            Metric(m["Name"], m["Regex"], directions.get(m["Name"]))
            for m in specification.get("MetricDefinitions") or ()
        ),
        channels=tuple(
            Channel(
                c["Name"],
                c.get("Description", ""),
                tuple(t.strip().lower() for t in c.get("SupportedContentTypes") or ()),
                bool(c.get("IsRequired")),
                tuple(c.get("SupportedInputModes") or ()),
                tuple(c.get("SupportedCompressionTypes") or ()),
            )
            for c in specification.get("TrainingChannels") or ()
        ),
        registered=True,
        instance_types=tuple(specification.get("SupportedTrainingInstanceTypes") or ()),
        distributed=specification.get("SupportsDistributedTraining"),
    )


def _hyperparameter(entry: Doc) -> Hyperparameter:
    kind = entry["Type"]
    bounds = (entry.get("Range") or {}).get(RANGE_OF_TYPE.get(kind, "")) or {}
    return Hyperparameter(
        name=entry["Name"],
        type=kind,
        description=entry.get("Description", ""),
        default=entry.get("DefaultValue"),
        low=_number_or_none(bounds.get("MinValue")),
        high=_number_or_none(bounds.get("MaxValue")),
        values=tuple(bounds.get("Values") or ()) if kind == CATEGORICAL else (),
        required=bool(entry.get("IsRequired")),
        tunable=bool(entry.get("IsTunable")),
    )


def _number_or_none(text: Any) -> float | None:
    try:
        value = float(text)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def specification_problems(
    specification: Doc, regex_problem: Callable[[str], str | None]
) -> list[Violation]:
    """Every rule a (shape-checked) ``TrainingSpecification`` breaks: hyperparameter names
    unique, ranges of the hyperparameter's type with numeric bounds in order, defaults
    valid and not required; metric names unique and regexes valid (``regex_problem``:
    the error text of a regex, None when it compiles); objective metrics among the metric
    definitions; tuning only with a tunable hyperparameter; at least one instance type;
    channel names unique."""
    found = list(_hyperparameters(specification.get("SupportedHyperParameters") or ()))
    metrics = specification.get("MetricDefinitions") or ()
    found += _unique(metrics, f"{PREFIX}.MetricDefinitions")
    for i, metric in enumerate(metrics):
        problem = regex_problem(metric["Regex"])
        if problem is not None:
            found.append(Violation(f"{PREFIX}.MetricDefinitions[{i}].Regex", problem))
    names = [m["Name"] for m in metrics]
    objectives = specification.get("SupportedTuningJobObjectiveMetrics") or ()
    for i, objective in enumerate(objectives):
        if objective["MetricName"] not in names:
            listed = ", ".join(names) if names else "none"
            found.append(
                Violation(
                    f"{PREFIX}.SupportedTuningJobObjectiveMetrics[{i}].MetricName",
                    f"'{objective['MetricName']}' is not among the MetricDefinitions "
                    f"({listed}): an objective metric is read with its definition's regex",
                )
            )
    tunable = any(h.get("IsTunable") for h in specification.get("SupportedHyperParameters") or ())
    if objectives and not tunable:
        found.append(
            Violation(
                f"{PREFIX}.SupportedHyperParameters",
                "an algorithm that supports tuning (SupportedTuningJobObjectiveMetrics) must "
                "declare its tunable hyperparameters (IsTunable true); it declares none",
            )
        )
    if not specification.get("SupportedTrainingInstanceTypes"):
        found.append(
            Violation(
                f"{PREFIX}.SupportedTrainingInstanceTypes",
                "must list at least one instance type the algorithm can train on",
            )
        )
    found += _unique(specification.get("TrainingChannels") or (), f"{PREFIX}.TrainingChannels")
    return found


def _unique(entries: Sequence[Doc], path: str) -> Iterator[Violation]:
    seen: dict[str, int] = {}
    for i, entry in enumerate(entries):
        name = entry["Name"]
        if name in seen:
            yield Violation(
                f"{path}[{i}].Name", f"'{name}' is already defined by {path}[{seen[name]}]"
            )
        seen.setdefault(name, i)


def _hyperparameters(entries: Sequence[Doc]) -> Iterator[Violation]:
    path = f"{PREFIX}.SupportedHyperParameters"
    yield from _unique(entries, path)
    for i, entry in enumerate(entries):
        where = f"{path}[{i}]"
        problems = list(_range(entry, f"{where}.Range"))
        yield from problems
        default = entry.get("DefaultValue")
        if default is None:
            continue
        if entry.get("IsRequired"):
            yield Violation(
                f"{where}.IsRequired",
                "a hyperparameter with a DefaultValue cannot be required",
            )
        if not problems:
            try:
                parse_value(_hyperparameter(entry), default)
            except ValueError as error:
                yield Violation(f"{where}.DefaultValue", f"must be {error}; got {default!r}")


def _range(entry: Doc, path: str) -> Iterator[Violation]:
    """The ``Range`` of one ``HyperParameterSpecification``: one member, of its type."""
    kind, given = entry["Type"], [k for k, v in (entry.get("Range") or {}).items() if v]
    expected = RANGE_OF_TYPE.get(kind)
    if len(given) > 1:
        yield Violation(path, f"give one range specification; got {', '.join(given)}")
        return
    if kind == FREE_TEXT and given:
        yield Violation(f"{path}.{given[0]}", "a FreeText hyperparameter takes no Range")
        return
    if kind == CATEGORICAL and not given:
        yield Violation(
            path, f"a Categorical hyperparameter needs a {expected} listing its values"
        )
        return
    if not given or kind == FREE_TEXT:
        return
    if given[0] != expected:
        yield Violation(
            f"{path}.{given[0]}", f"a {kind} hyperparameter takes a {expected}; got {given[0]}"
        )
        return
    if kind == CATEGORICAL:
        return
    bounds = entry["Range"][expected]
    numbers = []
    for bound in ("MinValue", "MaxValue"):
        text, number = bounds[bound], _number_or_none(bounds[bound])
        if number is None or (kind == INTEGER and not number.is_integer()):
            noun = "an integer" if kind == INTEGER else "a number"
            yield Violation(f"{path}.{expected}.{bound}", f"must be {noun}; got {text!r}")
        numbers.append(number)
    low, high = numbers
    if low is not None and high is not None and low > high:
        yield Violation(
            f"{path}.{expected}",
            f"MinValue ({bounds['MinValue']}) must not be greater than MaxValue "
            f"({bounds['MaxValue']})",
        )
