"""Warm start: a parent's training jobs as observations in the child's search space,
and which of the child's configurations they already evaluated."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from tunelab.domain.definition import TrainingJobDefinition
from tunelab.domain.enums import TrainingJobStatus
from tunelab.domain.search_space import (
    CategoricalRange,
    IntegerRange,
    ParamValue,
    SearchSpace,
)
from tunelab.domain.trial import TrainingJob, TrialEvent


def parent_events(
    child: SearchSpace, parent_definition: TrainingJobDefinition, jobs: Sequence[TrainingJob]
) -> list[TrialEvent]:
    """The parent's finished training jobs as final events in the child's space:
    values come from the job's tuned or static hyperparameters; a continuous value
    outside the child's range is clipped to it; a job whose categorical or integer
    value the child no longer offers is left out (a discrete configuration is either
    one the child could run or none: clipping would mark an untried one as tried)."""
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
        events.append(
            TrialEvent(job.name, None, params, status, job.final_objective_value, is_final=True)
        )
    return events


def evaluated_configurations(
    child: SearchSpace, events: Iterable[TrialEvent]
) -> set[tuple[ParamValue, ...]]:
    """The distinct configurations of the child's space that ``events`` (from
    :func:`parent_events`) evaluated, failed ones included: the strategies never run
    them again."""
    return {tuple(e.params[name] for name in child.names) for e in events}


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
