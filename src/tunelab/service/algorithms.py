"""Algorithms registered with tunelab (``CreateAlgorithm``): a name for a
training program, its metric definitions and what it supports."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from tunelab.domain.errors import ResourceNotFound, ValidationError, raise_for
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
        if not image.startswith("file:"):
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
        """A copy of a request whose definitions naming an ``AlgorithmName`` get the
        algorithm's ``MetricDefinitions`` when they give none (SageMaker's
        predefined metrics); an unknown name is a ``ValidationException``."""
        resolved = copy.deepcopy(dict(document))
        definitions = list(resolved.get("TrainingJobDefinitions") or ())
        paths = [f"TrainingJobDefinitions[{i}]" for i in range(len(definitions))]
        if isinstance(resolved.get("TrainingJobDefinition"), dict):
            definitions.append(resolved["TrainingJobDefinition"])
            paths.append("TrainingJobDefinition")
        if "TrainingJobName" in resolved:  # a CreateTrainingJob request
            definitions.append(resolved)
            paths.append("")
        for definition, path in zip(definitions, paths, strict=True):
            algorithm = (
                definition.get("AlgorithmSpecification") if isinstance(definition, dict) else None
            )
            name = algorithm.get("AlgorithmName") if isinstance(algorithm, dict) else None
            if not name:
                continue
            where = f"{path}.AlgorithmSpecification.AlgorithmName".lstrip(".")
            try:
                registered = self.store.algorithms.get(name.rsplit("/", 1)[-1])
            except ResourceNotFound:
                raise ValidationError(
                    f"{where}: no algorithm named {name!r} is registered with tunelab "
                    "(CreateAlgorithm)"
                ) from None
            metrics = registered.document["TrainingSpecification"].get("MetricDefinitions")
            if metrics and not algorithm.get("MetricDefinitions"):
                algorithm["MetricDefinitions"] = copy.deepcopy(metrics)
        return resolved
