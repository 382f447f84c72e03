"""A ``CreateTrainingJob`` request: one training job on its own, outside any
tuning job. It is read into the same :class:`TrainingJobDefinition` a tuning job
uses, with the request's ``HyperParameters`` as the static hyperparameters, so a
single training job runs on the same machinery."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tunelab.domain.definition import TrainingJobDefinition
from tunelab.domain.request import parse_definition
from tunelab.domain.search_space import SearchSpace


@dataclass(frozen=True)
class TrainingJobRequest:
    name: str
    definition: TrainingJobDefinition
    tags: tuple[tuple[str, str], ...] = ()
    document: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


def parse_training_job_request(document: Mapping[str, Any]) -> TrainingJobRequest:
    """The typed request (the document must have passed the shape check)."""
    as_definition = dict(document)
    as_definition["StaticHyperParameters"] = dict(document.get("HyperParameters") or {})
    as_definition.setdefault("AlgorithmSpecification", {"TrainingInputMode": "File"})
    as_definition.setdefault("StoppingCondition", {})
    definition = parse_definition(as_definition, None, SearchSpace())
    return TrainingJobRequest(
        name=document["TrainingJobName"],
        definition=definition,
        tags=tuple((t["Key"], t.get("Value", "")) for t in document.get("Tags", ())),
        document=document,
    )
