"""Training jobs of a tuning job (trials), their metric points, and the events
strategies learn from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from tunelab.domain.enums import ObjectiveStatus, SecondaryStatus, TrainingJobStatus
from tunelab.domain.search_space import ParamValue


@dataclass(frozen=True)
class MetricPoint:
    """One match of a metric definition's regex in a job's log. ``step`` counts the
    matches of this metric in this job from 0 (the k-th report is epoch k+1)."""

    metric_name: str
    value: float
    timestamp: float
    step: int


@dataclass(frozen=True)
class StatusTransition:
    status: SecondaryStatus
    start_time: float
    message: str = ""


@dataclass(frozen=True)
class Suggestion:
    """What a strategy proposes: a definition (None for a single unnamed one) and
    the tuned values, typed (float, int or str)."""

    definition_name: str | None
    params: Mapping[str, ParamValue]


@dataclass(frozen=True)
class TrialEvent:
    """What a strategy observes about a training job. An intermediate report has
    ``is_final`` False and the objective at ``step``; a final event carries the
    terminal status and the final objective (None when it never reported one)."""

    trial_id: str
    definition_name: str | None
    params: Mapping[str, ParamValue]
    status: TrainingJobStatus
    value: float | None
    step: int | None = None
    is_final: bool = False


@dataclass(frozen=True)
class TrainingJob:
    """A training job: launched by a tuning job, or created on its own
    (``CreateTrainingJob``: ``tuning_job_name`` None, sequence 0, nothing tuned).
    Immutable snapshot: stores return new objects, they never change one in place."""

    name: str
    tuning_job_name: str | None
    sequence: int
    definition_name: str | None
    tuned_hyperparameters: Mapping[str, str]
    creation_time: float
    status: TrainingJobStatus = TrainingJobStatus.IN_PROGRESS
    secondary_status: SecondaryStatus = SecondaryStatus.STARTING
    objective_status: ObjectiveStatus = ObjectiveStatus.PENDING
    final_objective_value: float | None = None
    failure_reason: str | None = None
    start_time: float | None = None
    end_time: float | None = None
    last_modified_time: float | None = None
    attempt: int = 1
    pid: int | None = None
    pid_start_time: int | None = None
    exit_code: int | None = None
    transitions: tuple[StatusTransition, ...] = field(default_factory=tuple)

    def evolve(self, **changes: object) -> TrainingJob:
        return replace(self, **changes)  # type: ignore[arg-type]

    def transition(self, status: SecondaryStatus, at: float, message: str = "") -> TrainingJob:
        """A copy whose secondary status is ``status``, with the transition recorded."""
        return replace(
            self,
            secondary_status=status,
            transitions=(*self.transitions, StatusTransition(status, at, message)),
            last_modified_time=at,
        )
