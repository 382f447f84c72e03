"""The tuning job as a user describes it: SageMaker's
``CreateHyperParameterTuningJob`` request, typed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from tunelab.domain.definition import Objective, TrainingJobDefinition
from tunelab.domain.enums import (
    EarlyStoppingType,
    ObjectiveType,
    StrategyType,
    TuningJobStatus,
    WarmStartType,
)


@dataclass(frozen=True)
class ResourceLimits:
    max_parallel_training_jobs: int
    max_number_of_training_jobs: int | None = None
    max_runtime_seconds: int | None = None


@dataclass(frozen=True)
class CompletionCriteria:
    target_objective_value: float | None = None
    max_jobs_not_improving: int | None = None
    complete_on_convergence: bool = False


@dataclass(frozen=True)
class HyperbandConfig:
    min_resource: int | None = None
    max_resource: int | None = None


@dataclass(frozen=True)
class WarmStart:
    parents: tuple[str, ...]
    type: WarmStartType


@dataclass(frozen=True)
class TuningJobSpec:
    """A validated tuning job request.

    ``definitions`` always holds at least one definition; ``multi_definition`` tells
    whether the request used ``TrainingJobDefinitions`` (a list) or the single
    ``TrainingJobDefinition``. ``document`` is the request as received."""

    name: str
    strategy: StrategyType
    limits: ResourceLimits
    definitions: tuple[TrainingJobDefinition, ...]
    multi_definition: bool = False
    objective: Objective | None = None
    early_stopping: EarlyStoppingType = EarlyStoppingType.OFF
    completion: CompletionCriteria = field(default_factory=CompletionCriteria)
    hyperband: HyperbandConfig | None = None
    random_seed: int | None = None
    warm_start: WarmStart | None = None
    tags: tuple[tuple[str, str], ...] = ()
    autotune: bool = False
    document: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def objective_type(self) -> ObjectiveType:
        """The direction shared by every definition (validation guarantees one)."""
        for d in self.definitions:
            if d.objective is not None:
                return d.objective.type
        return ObjectiveType.MAXIMIZE if self.objective is None else self.objective.type

    def definition(self, name: str | None) -> TrainingJobDefinition:
        for d in self.definitions:
            if d.name == name:
                return d
        raise KeyError(name)

    @property
    def max_jobs(self) -> int | None:
        """The training-job budget: ``MaxNumberOfTrainingJobs``, or for Grid without
        it, the number of grid points."""
        if self.limits.max_number_of_training_jobs is not None:
            return self.limits.max_number_of_training_jobs
        if self.strategy is StrategyType.GRID:
            total = 0
            for d in self.definitions:
                total += d.search_space.cardinality or 0
            return total
        return None


@dataclass(frozen=True)
class TuningJob:
    """A tuning job as stored: its request and where it stands. Immutable snapshot."""

    spec: TuningJobSpec
    status: TuningJobStatus
    creation_time: float
    last_modified_time: float
    end_time: float | None = None
    failure_reason: str | None = None
    jobs_not_improving: int | None = None
    convergence_detected_time: float | None = None
    """When the strategy's model detected convergence (``CompleteOnConvergence``)."""
    version: int = 1
    created_by: str | None = None
    """The access key that created it (None when created locally)."""

    @property
    def name(self) -> str:
        return self.spec.name

    def evolve(self, **changes: object) -> TuningJob:
        """A copy with ``changes`` (the version stays: the store bumps it)."""
        return replace(self, **changes)  # type: ignore[arg-type]
