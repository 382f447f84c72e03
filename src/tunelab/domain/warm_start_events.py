"""Warm start: a parent's training jobs as observations in the child's search space,
and which of the child's configurations they already evaluated.

A parent's configuration counts as evaluated for the child (the strategies never run it
again, the create-time rules count it) only when the parent ran it under the child's
conditions: ``IdenticalDataAndAlgorithm`` (same data and algorithm) and the same value
of each of the child's static hyperparameters. With ``TransferLearning`` (new data, a
changed algorithm) or a changed static value, the parent's result still informs the
strategy (the Bayesian model learns from it) but excludes nothing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from tunelab.domain.definition import TUNING_OBJECTIVE_HYPERPARAMETER, TrainingJobDefinition
from tunelab.domain.enums import TrainingJobStatus, WarmStartType
from tunelab.domain.search_space import (
    CategoricalRange,
    IntegerRange,
    ParamValue,
    SearchSpace,
)
from tunelab.domain.trial import TrainingJob, TrialEvent


@dataclass(frozen=True)
class ParentEvent(TrialEvent):
    """A parent's finished training job as a final event of the child;
    ``same_conditions`` says whether it counts as evaluated for the child (module doc)."""

    same_conditions: bool = True


def already_evaluated(event: TrialEvent) -> bool:
    """Whether a strategy must never run ``event``'s configuration again: any event of
    the job's own training jobs, a parent's only when run under the same conditions."""
    return not isinstance(event, ParentEvent) or event.same_conditions


def parent_events(
    child: SearchSpace,
    parent_definition: TrainingJobDefinition,
    jobs: Sequence[TrainingJob],
    warm_start_type: WarmStartType = WarmStartType.IDENTICAL_DATA_AND_ALGORITHM,
    child_static: Mapping[str, str] | None = None,
) -> list[ParentEvent]:
    """The parent's finished training jobs as final events in the child's space:
    values come from the job's tuned or static hyperparameters; a continuous value
    outside the child's range is clipped to it; a job whose categorical or integer
    value the child no longer offers is left out (a discrete configuration is either
    one the child could run or none: clipping would mark an untried one as tried).
    An event's ``same_conditions`` is True when ``warm_start_type`` is
    IdenticalDataAndAlgorithm and the job ran with the value of each of
    ``child_static`` (the child's static hyperparameters; None compares none)."""
    events = []
    for job in jobs:
        if not job.status.is_terminal:
            continue
        values: Mapping[str, str] = {
            **parent_definition.static_hyperparameters,
            **job.tuned_hyperparameters,
        }
        params = _in_space(child, values)
        if params is None:
            continue
        status = job.status if job.final_objective_value is not None else TrainingJobStatus.FAILED
        same = warm_start_type is WarmStartType.IDENTICAL_DATA_AND_ALGORITHM and all(
            values.get(name) == value
            for name, value in (child_static or {}).items()
            if name != TUNING_OBJECTIVE_HYPERPARAMETER
        )
        events.append(
            ParentEvent(
                job.name,
                None,
                params,
                status,
                job.final_objective_value,
                is_final=True,
                same_conditions=same,
            )
        )
    return events


def evaluated_configurations(
    child: SearchSpace, events: Iterable[TrialEvent]
) -> set[tuple[ParamValue, ...]]:
    """The distinct configurations of the child's space that ``events`` (from
    :func:`parent_events`) evaluated under the child's conditions, failed ones
    included: the strategies never run them again."""
    return {tuple(e.params[name] for name in child.names) for e in events if already_evaluated(e)}


def _in_space(space: SearchSpace, values: Mapping[str, str]) -> dict[str, ParamValue] | None:
    params: dict[str, ParamValue] = {}
    for r in space.ranges:
        text = values.get(r.name)
        if text is None:
            return None
        try:
            value = r.parse(text)
        except ValueError:
            return None
        if isinstance(r, CategoricalRange | IntegerRange):
            if not r.contains(value):
                return None
        else:
            value = min(max(float(value), r.min_value), r.max_value)
        params[r.name] = value
    return params
