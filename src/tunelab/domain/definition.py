"""A training job definition: what one algorithm of a tuning job runs, and how."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tunelab.domain.enums import ObjectiveType, TrainingInputMode
from tunelab.domain.search_space import SearchSpace

TUNING_OBJECTIVE_HYPERPARAMETER = "_tuning_objective_metric"
"""The static hyperparameter SageMaker adds so that a container knows its objective."""


@dataclass(frozen=True)
class Objective:
    type: ObjectiveType
    metric_name: str


@dataclass(frozen=True)
class MetricDefinition:
    """``regex``'s first group, read as a float, is one data point of ``name``."""

    name: str
    regex: str


@dataclass(frozen=True)
class DataChannel:
    """One ``InputDataConfig`` channel. ``uri`` is an ``S3Uri`` (``s3://``,
    ``file://`` or a local path) or a ``FileSystemDataSource`` directory."""

    name: str
    uri: str
    content_type: str | None = None
    compression: str | None = None
    input_mode: TrainingInputMode | None = None
    record_wrapper: str | None = None
    s3_data_type: str = "S3Prefix"
    distribution: str = "FullyReplicated"
    shuffle_seed: int | None = None
    """``ShuffleConfig.Seed``: Pipe mode feeds each epoch in an order drawn from it."""


@dataclass(frozen=True)
class ResourceSpec:
    instance_type: str | None = None
    instance_count: int = 1
    volume_size_gb: int | None = None


@dataclass(frozen=True)
class StoppingCondition:
    max_runtime_seconds: int | None = None
    max_wait_seconds: int | None = None
    max_pending_seconds: int | None = None


@dataclass(frozen=True)
class CheckpointSpec:
    uri: str
    local_path: str | None = None


@dataclass(frozen=True)
class TrainingJobDefinition:
    """One algorithm of a tuning job. For a job with a single ``TrainingJobDefinition``
    the tuning-level objective and ranges are folded in here, so that every
    consumer reads ``objective`` and ``search_space`` from the definition.

    ``document`` is the definition as the user wrote it (PascalCase), kept so that
    Describe can echo members tunelab does not interpret."""

    name: str | None
    objective: Objective | None
    search_space: SearchSpace
    static_hyperparameters: Mapping[str, str]
    training_image: str | None
    algorithm_name: str | None
    input_mode: TrainingInputMode
    metric_definitions: tuple[MetricDefinition, ...]
    channels: tuple[DataChannel, ...]
    output_path: str
    role_arn: str
    resources: ResourceSpec = field(default_factory=ResourceSpec)
    stopping: StoppingCondition = field(default_factory=StoppingCondition)
    checkpoint: CheckpointSpec | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    retry_attempts: int | None = None
    """``RetryStrategy.MaximumRetryAttempts``: reruns after an internal failure."""
    enable_managed_spot: bool = False
    network_isolation: bool = False
    """``EnableNetworkIsolation``: the job runs without network access."""
    document: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def label(self) -> str:
        """A name for messages: the definition name, or ``TrainingJobDefinition``."""
        return self.name or "TrainingJobDefinition"

    def hyperparameters_for(self, tuned: Mapping[str, str]) -> dict[str, str]:
        """Everything a training job of this definition receives in
        ``hyperparameters.json``: static values, the tuned values, and
        ``_tuning_objective_metric``."""
        values = dict(self.static_hyperparameters)
        values.update(tuned)
        if self.objective is not None:
            values[TUNING_OBJECTIVE_HYPERPARAMETER] = self.objective.metric_name
        return values
