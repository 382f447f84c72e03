"""Algorithms registered with tunelab (``CreateAlgorithm``): a name for a
training program, its metric definitions and what it supports."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tunelab.domain.errors import ValidationError, raise_for
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
