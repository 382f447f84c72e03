"""Algorithms registered with tunelab (``CreateAlgorithm``): a name for a
training program, its metric definitions and what it supports."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from tunelab.algorithms import catalog
from tunelab.algorithms.images import builtin_for, unrecognized_reason
from tunelab.algorithms.registered import spec_of, specification_problems
from tunelab.algorithms.spec import AlgorithmSpec
from tunelab.algorithms.validation import (
    Context,
    check_definition,
    context_of,
    predefined_metrics,
)
from tunelab.domain.definition_rules import MAX_METRIC_DEFINITIONS
from tunelab.domain.errors import ResourceNotFound, ValidationError, Violation, raise_for
from tunelab.domain.shape_check import check_input
from tunelab.execution.clock import Clock
from tunelab.metrics.extract import validate_regex
from tunelab.store.base import Store


class AlgorithmService:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.store, self.clock = store, clock

    def create(self, document: Mapping[str, Any]) -> Any:
        """Store a ``CreateAlgorithm`` request once its shapes, its TrainingImage (a local
        program or a built-in's image) and its TrainingSpecification's rules
        (:func:`specification_problems`) hold; a refused request stores nothing."""
        if not isinstance(document, Mapping):
            raise ValidationError("the request must be a JSON object")
        raise_for(check_input("CreateAlgorithm", document))
        specification = document["TrainingSpecification"]
        image = specification.get("TrainingImage", "")
        problems = specification_problems(specification, validate_regex)
        if not image.startswith("file:") and builtin_for(image) is None:
            problems.insert(
                0,
                Violation(
                    "TrainingSpecification.TrainingImage",
                    "tunelab runs local programs named as file:///absolute/path/to/program; "
                    f"got {image!r}",
                ),
            )
        raise_for(problems)
        return self.store.algorithms.create(document["AlgorithmName"], document, self.clock.now())

    def get(self, name: str) -> Any:
        return self.store.algorithms.get(name)

    def list(self) -> list[Any]:
        return self.store.algorithms.list()

    def image(self, name: str) -> str | None:
        """The ``TrainingImage`` of the algorithm named ``name`` (an ARN works too),
        None when there is none."""
        try:
            algorithm = self.store.algorithms.get(name.rsplit("/", 1)[-1])
        except ResourceNotFound:
            return None
        return algorithm.document["TrainingSpecification"].get("TrainingImage")

    def resolve(self, document: Mapping[str, Any]) -> dict[str, Any]:
        """A copy of a request whose definitions naming an ``AlgorithmName`` or a
        built-in algorithm's image get its ``MetricDefinitions`` when they give none
        (SageMaker's predefined metrics: the objective's first, at most 20 in a tuning
        job). A definition naming a registered algorithm is checked against
        its TrainingSpecification, one running a built-in against its metadata (both when
        a registered algorithm runs a built-in); an unknown algorithm name is a
        ``ValidationException``."""
        resolved = copy.deepcopy(dict(document))
        definitions = list(resolved.get("TrainingJobDefinitions") or ())
        paths = [f"TrainingJobDefinitions[{i}]" for i in range(len(definitions))]
        if isinstance(resolved.get("TrainingJobDefinition"), dict):
            definitions.append(resolved["TrainingJobDefinition"])
            paths.append("TrainingJobDefinition")
        if "TrainingJobName" in resolved:  # a CreateTrainingJob request
            definitions.append(resolved)
            paths.append("")
        problems: list[Violation] = []
        for definition, path in zip(definitions, paths, strict=True):
            algorithm = (
                definition.get("AlgorithmSpecification") if isinstance(definition, dict) else None
            )
            if not isinstance(algorithm, dict):
                continue
            name, image = algorithm.get("AlgorithmName"), algorithm.get("TrainingImage")
            metrics: Any = None
            declared: AlgorithmSpec | None = None
            if name:
                where = f"{path}.AlgorithmSpecification.AlgorithmName".lstrip(".")
                try:
                    registered = self.store.algorithms.get(name.rsplit("/", 1)[-1])
                except ResourceNotFound:
                    raise ValidationError(
                        f"{where}: no algorithm named {name!r} is registered with tunelab "
                        "(CreateAlgorithm)"
                    ) from None
                specification = registered.document["TrainingSpecification"]
                declared = spec_of(
                    registered.name,
                    specification,
                    registered.document.get("AlgorithmDescription", ""),
                )
                metrics, image = (
                    specification.get("MetricDefinitions"),
                    specification.get("TrainingImage"),
                )
            context = context_of(resolved, definition, path)
            static = definition.get(context.hyperparameters_key) or {}
            builtin = catalog.get(builtin_for(image, static) or "")
            problems += _definition_problems(declared, builtin, definition, context)
            objective = (context.objective or {}).get("MetricName")
            limit = MAX_METRIC_DEFINITIONS if path else 40
            if declared is not None and metrics:  # the objective's first, as for a built-in
                metrics = predefined_metrics(declared, objective, static, limit)
            if builtin is not None and not metrics:
                metrics = predefined_metrics(builtin, objective, static, limit)
            given = metrics or algorithm.get("MetricDefinitions")
            missing = builtin is None and path and not given  # no metric for the objective
            if missing and (reason := unrecognized_reason(image, static)):
                where = f"{path}.AlgorithmSpecification.TrainingImage"
                problems.append(Violation(where, reason))
            if metrics and not algorithm.get("MetricDefinitions"):
                algorithm["MetricDefinitions"] = copy.deepcopy(metrics)
        raise_for(problems)
        return resolved


def _definition_problems(
    declared: AlgorithmSpec | None,
    builtin: AlgorithmSpec | None,
    definition: Mapping[str, Any],
    context: Context,
) -> list[Violation]:
    """The problems of a definition for the registered algorithm it names (``declared``)
    and for the built-in it runs; a field the registered algorithm's check reports is
    not reported again for the built-in."""
    found = [] if declared is None else check_definition(declared, definition, context)
    if builtin is not None:
        reported = {v.path for v in found}
        found += [
            v for v in check_definition(builtin, definition, context) if v.path not in reported
        ]
    return found
