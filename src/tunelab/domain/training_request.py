"""A ``CreateTrainingJob`` request: one training job on its own, outside any
tuning job. It is read into the same :class:`TrainingJobDefinition` a tuning job
uses, with the request's ``HyperParameters`` as the static hyperparameters, so a
single training job runs on the same machinery."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tunelab.domain.definition import TrainingJobDefinition
from tunelab.domain.definition_rules import check_training_definition
from tunelab.domain.errors import Violation
from tunelab.domain.nul_rules import nul_in_training_request
from tunelab.domain.request import parse_definition
from tunelab.domain.search_space import SearchSpace
from tunelab.domain.tags import repeated_tag_keys


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


def check_training_job(request: TrainingJobRequest) -> list[Violation]:
    """SageMaker's rules for a ``CreateTrainingJob`` request that its service model
    cannot express: no NUL character in hyperparameters, Environment values and metric
    names, an AlgorithmSpecification, then the rules every training job definition follows
    (those a tuning job's definitions follow too)."""
    found = list(nul_in_training_request(request.document))
    if "AlgorithmSpecification" not in request.document:
        found.append(
            Violation(
                "AlgorithmSpecification",
                "is required: give its TrainingImage or AlgorithmName and TrainingInputMode",
            )
        )
        return found
    found += check_training_definition(request.definition, "")
    return found + list(repeated_tag_keys(request.tags))


DEFINITION_MEMBERS = (
    "AlgorithmSpecification",
    "RoleArn",
    "InputDataConfig",
    "VpcConfig",
    "OutputDataConfig",
    "ResourceConfig",
    "StoppingCondition",
    "EnableNetworkIsolation",
    "EnableInterContainerTrafficEncryption",
    "EnableManagedSpotTraining",
    "CheckpointConfig",
    "RetryStrategy",
    "Environment",
)


def request_of(
    name: str, definition: TrainingJobDefinition, hyperparameters: Mapping[str, str]
) -> dict[str, Any]:
    """A ``CreateTrainingJob``-shaped record of a training job a tuning job ran: its
    definition's members and every hyperparameter it received. Kept with the job when
    its tuning job is deleted, so the training job stays describable."""
    document: dict[str, Any] = {"TrainingJobName": name}
    for member in DEFINITION_MEMBERS:
        if member in definition.document:
            document[member] = definition.document[member]
    resources = definition.resources
    document.setdefault(
        "ResourceConfig",
        {
            "InstanceType": resources.instance_type or "ml.m5.large",
            "InstanceCount": resources.instance_count,
            "VolumeSizeInGB": resources.volume_size_gb or 1,
        },
    )
    document["HyperParameters"] = dict(hyperparameters)
    return document
