"""Why a Completed tuning job completed. SageMaker's ``DescribeHyperParameterTuningJob``
has no field for it, so it is derived from the response's facts: the first that holds,
in the order the tuning loop checks its criteria (:mod:`tunelab.orchestrator.completion`):

1. ``TargetObjectiveMetricValue`` reached by ``BestTrainingJob``'s objective value;
2. ``NumberOfTrainingJobsObjectiveNotImproving`` at least
   ``MaxNumberOfTrainingJobsNotImproving`` (``BestObjectiveNotImproving``);
3. ``ConvergenceDetectedTime`` present (``CompleteOnConvergence``);
4. ``ConsumedResources.RuntimeInSeconds`` at least ``ResourceLimits.MaxRuntimeInSeconds``;
5. every one of ``MaxNumberOfTrainingJobs`` ran;
6. else the strategy had no configuration left (a finished grid, an exhausted discrete
   space).

:class:`CompletionFacts` gathers those facts from a Describe response (the CLI, local or
remote) or from a :class:`~tunelab.service.tuning.TuningJobDescription` (the console);
:func:`completion_reason` is the one derivation both show.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from tunelab.domain.enums import ObjectiveType, StrategyType, TuningJobStatus
from tunelab.service.tuning import TuningJobDescription

COMPLETED = str(TuningJobStatus.COMPLETED)


@dataclass(frozen=True)
class CompletionFacts:
    """The facts of a Describe response that tell why a tuning job completed."""

    status: str
    strategy: str
    maximize: bool
    best_value: float | None
    target_value: float | None
    jobs_not_improving: int | None
    max_jobs_not_improving: int | None
    convergence_detected: bool
    runtime_seconds: int
    max_runtime_seconds: int | None
    training_jobs: int
    """How many training jobs the tuning job launched (its status counters' sum)."""
    max_training_jobs: int | None

    @classmethod
    def of_response(cls, wire: Mapping[str, Any]) -> CompletionFacts:
        """The facts of a ``DescribeHyperParameterTuningJob`` response."""
        config = wire["HyperParameterTuningJobConfig"]
        criteria = config.get("TuningJobCompletionCriteria") or {}
        limits = config.get("ResourceLimits") or {}
        details = wire.get("TuningJobCompletionDetails") or {}
        best = (wire.get("BestTrainingJob") or {}).get(
            "FinalHyperParameterTuningJobObjectiveMetric"
        ) or {}
        direction = best.get("Type") or _objective(wire).get("Type")
        return cls(
            status=wire["HyperParameterTuningJobStatus"],
            strategy=config["Strategy"],
            maximize=direction == str(ObjectiveType.MAXIMIZE),
            best_value=best.get("Value"),
            target_value=criteria.get("TargetObjectiveMetricValue"),
            jobs_not_improving=details.get("NumberOfTrainingJobsObjectiveNotImproving"),
            max_jobs_not_improving=(criteria.get("BestObjectiveNotImproving") or {}).get(
                "MaxNumberOfTrainingJobsNotImproving"
            ),
            convergence_detected=details.get("ConvergenceDetectedTime") is not None,
            runtime_seconds=(wire.get("ConsumedResources") or {}).get("RuntimeInSeconds", 0),
            max_runtime_seconds=limits.get("MaxRuntimeInSeconds"),
            training_jobs=sum((wire.get("TrainingJobStatusCounters") or {}).values()),
            max_training_jobs=limits.get("MaxNumberOfTrainingJobs"),
        )

    @classmethod
    def of_description(cls, description: TuningJobDescription) -> CompletionFacts:
        """The same facts from the service's description (what the response is made of)."""
        job, spec = description.job, description.job.spec
        end = job.end_time if job.end_time is not None else description.last_modified_time
        best = description.best
        return cls(
            status=str(job.status),
            strategy=str(spec.strategy),
            maximize=spec.objective_type is ObjectiveType.MAXIMIZE,
            best_value=None if best is None else best.final_objective_value,
            target_value=spec.completion.target_objective_value,
            jobs_not_improving=description.jobs_not_improving,
            max_jobs_not_improving=spec.completion.max_jobs_not_improving,
            convergence_detected=job.convergence_detected_time is not None,
            runtime_seconds=max(0, int(end - job.creation_time)),
            max_runtime_seconds=spec.limits.max_runtime_seconds,
            training_jobs=description.counters.total,
            max_training_jobs=spec.max_jobs,
        )


def _objective(wire: Mapping[str, Any]) -> Mapping[str, Any]:
    """The tuning objective: the job's, or (several definitions) the first definition's."""
    config = wire["HyperParameterTuningJobConfig"]
    if config.get("HyperParameterTuningJobObjective"):
        return config["HyperParameterTuningJobObjective"]
    definitions = wire.get("TrainingJobDefinitions") or [{}]
    return definitions[0].get("TuningObjective") or {}


def completion_reason(facts: CompletionFacts) -> str | None:
    """Why the tuning job completed (the module's order), or None unless it is Completed."""
    if facts.status != COMPLETED:
        return None
    best, target = facts.best_value, facts.target_value
    if (
        best is not None
        and target is not None
        and (best >= target if facts.maximize else best <= target)
    ):
        return (
            f"TargetObjectiveMetricValue ({target:g}) reached: the best training job's "
            f"objective is {best:.6g}"
        )
    streak, most = facts.jobs_not_improving, facts.max_jobs_not_improving
    if most and streak is not None and streak >= most:
        return (
            f"the best objective did not improve in the last {streak} training jobs "
            f"(BestObjectiveNotImproving: MaxNumberOfTrainingJobsNotImproving {most})"
        )
    if facts.convergence_detected:
        return "the strategy's model detected convergence (CompleteOnConvergence)"
    limit = facts.max_runtime_seconds
    if limit and facts.runtime_seconds >= limit:
        return f"MaxRuntimeInSeconds ({limit} s) reached after {facts.runtime_seconds} s"
    budget = facts.max_training_jobs
    if budget is not None and facts.training_jobs >= budget:
        return f"all {budget} training jobs of MaxNumberOfTrainingJobs ran"
    if facts.strategy == str(StrategyType.GRID):
        return f"the Grid strategy had no grid point left to run ({facts.training_jobs} ran)"
    return (
        f"the {facts.strategy} strategy had no configuration left to run: every combination "
        f"of the ranges was tried ({facts.training_jobs} training jobs ran)"
    )
