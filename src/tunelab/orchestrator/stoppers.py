"""Which early-stopping rule a tuning job runs, rebuilt from the store, and how
its decisions read in a training job's status history.

- ``TrainingJobEarlyStoppingType: Auto``: the median rule
  (:class:`~tunelab.stopping.median.MedianStoppingRule`), its view of every job's
  objective curve rebuilt from the stored metric points;
- ``Strategy: Hyperband``: the strategy decides at its rungs itself (its state,
  restored from the store, holds what it needs);
- otherwise no rule: jobs run to their end.

A job stopped by a decision has a ``Stopping`` transition whose message is
:data:`DECIDED` followed by the decision's reason, or :data:`ENDED` when the job ran
its full resource (Hyperband at ``MaxResource``, see :func:`decided_message`); a job
stopped by a ``StopTrainingJob`` request has :data:`REQUESTED`. :func:`stop_reason`
and :func:`stopped_early` read them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tunelab.domain.definition import TrainingJobDefinition
from tunelab.domain.enums import EarlyStoppingType, SecondaryStatus, StrategyType
from tunelab.domain.hyperband_rules import EPOCH_HYPERPARAMETERS, hyperband_max_resource
from tunelab.domain.trial import TrainingJob
from tunelab.domain.tuning_job import TuningJobSpec
from tunelab.stopping.base import EarlyStopper
from tunelab.stopping.median import MedianRuleSettings, MedianStoppingRule
from tunelab.store.base import Store, TrainingJobQuery, iterate_training_jobs
from tunelab.strategies.base import DefinitionSpace, Strategy, TuningProblem
from tunelab.strategies.hyperband import (
    MAX_RESOURCE_REASON,
    EpochsHyperparameter,
    HyperbandProblem,
)
from tunelab.strategies.hyperband_sampling import SAMPLER_TAG

DECIDED = "Stopped early by the tuning job: "
ENDED = "Stopped by the tuning job: "
REQUESTED = "Stopped by a StopTrainingJob request"


@dataclass(frozen=True)
class EarlyStoppingOptions:
    """tunelab's own settings of early stopping (SageMaker's request has none)."""

    hyperband_sampler: str = "random"
    """How Hyperband picks new configurations: ``random`` (SageMaker), ``model``
    (BOHB-style density model) or ``gp`` (MOBSTER-style Gaussian process over
    configuration and resource); a job's ``tunelab:hyperband-sampler`` tag wins."""
    median: MedianRuleSettings = field(default_factory=MedianRuleSettings)


def problem_for(spec: TuningJobSpec, options: EarlyStoppingOptions) -> TuningProblem:
    """What the strategy searches; with Hyperband, its resources too, and where each
    definition's jobs say how many epochs they run (:func:`epochs_hyperparameter`)."""
    definitions = tuple(DefinitionSpace(d.name, d.search_space) for d in spec.definitions)
    if spec.strategy is not StrategyType.HYPERBAND:
        return TuningProblem(definitions, spec.objective_type, spec.max_jobs, spec.random_seed)
    max_resource = hyperband_max_resource(spec)
    if max_resource is None:  # validation refuses such a request
        raise ValueError("Hyperband needs MaxResource")
    min_resource = spec.hyperband.min_resource if spec.hyperband else None
    return HyperbandProblem(
        definitions,
        spec.objective_type,
        spec.max_jobs,
        spec.random_seed,
        min_resource=min(min_resource or 1, max_resource),
        max_resource=max_resource,
        sampler=dict(spec.tags).get(SAMPLER_TAG, options.hyperband_sampler),
        epochs=tuple(epochs_hyperparameter(d) for d in spec.definitions),
    )


def epochs_hyperparameter(definition: TrainingJobDefinition) -> EpochsHyperparameter | None:
    """The first hyperparameter named as in
    :data:`~tunelab.domain.hyperband_rules.EPOCH_HYPERPARAMETERS` (the names MaxResource
    is inferred from) that is static with a whole number, or tuned; None if none is."""
    tuned = definition.search_space.names
    for name in EPOCH_HYPERPARAMETERS:
        value = definition.static_hyperparameters.get(name, "").strip()
        if value.isdecimal():
            return EpochsHyperparameter(name, int(value))
        if name in tuned:
            return EpochsHyperparameter(name)
    return None


def report_cap(spec: TuningJobSpec) -> int | None:
    """How many reports of the objective count for a training job: Hyperband's
    MaxResource, else all (None)."""
    if spec.strategy is not StrategyType.HYPERBAND:
        return None
    return hyperband_max_resource(spec)


def build_stopper(
    store: Store, spec: TuningJobSpec, strategy: Strategy, options: EarlyStoppingOptions
) -> EarlyStopper | None:
    """The tuning job's rule as it stood at the last commit (see the module doc)."""
    if spec.early_stopping is EarlyStoppingType.AUTO:
        curves: dict[str, list[float]] = {}
        query = TrainingJobQuery(spec.name, sort_by="CreationTime")
        for job in iterate_training_jobs(store, query):
            objective = spec.definition(job.definition_name).objective
            if objective is None:
                continue
            points = store.metric_points(job.name, objective.metric_name)
            curves[job.name] = [p.value for p in sorted(points, key=lambda p: p.step)]
        return MedianStoppingRule.from_curves(spec.objective_type, curves, options.median)
    if isinstance(strategy, EarlyStopper):
        return strategy
    return None


def ran_full_resource(reason: str) -> bool:
    """Whether a rule's stop ``reason`` is that the job used all its resource."""
    return reason.startswith(MAX_RESOURCE_REASON)


def decided_message(reason: str) -> str:
    """The status history's message for a stop a rule decided with ``reason``."""
    return f"{ENDED if ran_full_resource(reason) else DECIDED}{reason}"


def stop_reason(job: TrainingJob) -> str | None:
    """Why the tuning job stopped ``job`` (a rule's or Hyperband's reason), or
    :data:`REQUESTED`; None when neither stopped it."""
    for transition in job.transitions:
        if transition.status is SecondaryStatus.STOPPING:
            for prefix in (DECIDED, ENDED):
                if transition.message.startswith(prefix):
                    return transition.message[len(prefix) :]
            if transition.message == REQUESTED:
                return REQUESTED
    return None


def stopped_early(job: TrainingJob) -> bool:
    """Whether a rule stopped ``job`` before it used its full resource (not a
    ``StopTrainingJob`` request, nor Hyperband's stop at ``MaxResource``; jobs stored
    before :data:`ENDED` existed have :data:`DECIDED` for those too)."""
    reason = stop_reason(job)
    return reason is not None and reason != REQUESTED and not ran_full_resource(reason)
