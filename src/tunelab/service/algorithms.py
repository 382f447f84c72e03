"""Algorithms registered with tunelab (``CreateAlgorithm``): a name for a
training program, its metric definitions and what it supports."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from tunelab.algorithms import catalog
from tunelab.algorithms.images import builtin_for, unrecognized_reason
from tunelab.algorithms.validation import check_definition, context_of, predefined_metrics
from tunelab.domain.definition_rules import MAX_METRIC_DEFINITIONS
from tunelab.domain.errors import ResourceNotFound, ValidationError, Violation, raise_for
from tunelab.domain.shape_check import check_input
from tunelab.execution.clock import Clock
from tunelab.store.base import Store


class AlgorithmService:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.store, self.clock = store, clock

    def create(self, document: Mapping[str, Any]) -> Any:
        if not isinstance(document, Mapping):
            raise ValidationError("the request must be a JSON object")
        raise_for(check_input("CreateAlgorithm", document))
        image = document["TrainingSpecification"].get("TrainingImage", "")
        if not image.startswith("file:") and builtin_for(image) is None:
            raise ValidationError(
                "TrainingSpecification.TrainingImage: tunelab runs local programs named as "
                f"file:///absolute/path/to/program; got {image!r}"
            )
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
        (SageMaker's predefined metrics; for a built-in, the objective's first, at most
        20 in a tuning job). A definition running a built-in is checked against its
        metadata; an unknown algorithm name is a ``ValidationException``."""
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
            metrics = None
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
                metrics, image = (
                    specification.get("MetricDefinitions"),
                    specification.get("TrainingImage"),
                )
            context = context_of(resolved, definition, path)
            static = definition.get(context.hyperparameters_key) or {}
            builtin = catalog.get(builtin_for(image, static) or "")
            if builtin is not None:
                problems += check_definition(builtin, definition, context)
                if not metrics:
                    objective = (context.objective or {}).get("MetricName")
                    limit = MAX_METRIC_DEFINITIONS if path else 40
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
