"""What the tuning loop knows about one training job while it runs, and how a
finished attempt becomes a stored training job."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from tunelab.domain.definition import TrainingJobDefinition
from tunelab.domain.enums import ObjectiveStatus, SecondaryStatus, TrainingJobStatus
from tunelab.domain.search_space import ParamValue
from tunelab.domain.trial import MetricPoint, TrainingJob, TrialEvent
from tunelab.execution.base import Finished, OutputLines, StatusChanged
from tunelab.metrics.extract import MetricExtractor

_STARTED = (SecondaryStatus.DOWNLOADING, SecondaryStatus.TRAINING)


def with_status(job: TrainingJob, event: StatusChanged) -> TrainingJob:
    """``job`` after the executor's ``event``: its status history, its process once it
    runs, and its ``TrainingStartTime``: when it began downloading its data, or training
    (SageMaker's starts before the download, and bills from it)."""
    job = job.transition(event.secondary, event.time, event.message)
    if job.start_time is None and event.secondary in _STARTED:
        job = job.evolve(start_time=event.time)
    if event.pid is not None:
        job = job.evolve(pid=event.pid, pid_start_time=event.pid_start_time)
    return job


@dataclass
class LiveTrial:
    """A training job in flight: its latest snapshot, its metric extractor and the
    latest value of its objective (SageMaker's final value is the latest one)."""

    job: TrainingJob
    definition: TrainingJobDefinition
    params: dict[str, ParamValue]
    max_reports: int | None = None
    """Hyperband's MaxResource: reports of the objective after it (a job keeps
    printing until its stop lands, or was left to end by itself) do not count for the
    objective; they reach the strategy, which stops a job that reports past it."""
    extractor: MetricExtractor = field(init=False)
    latest_objective: float | None = None

    def __post_init__(self) -> None:
        self.extractor = MetricExtractor(self.definition.metric_definitions)

    @property
    def objective_name(self) -> str | None:
        objective = self.definition.objective
        return objective.metric_name if objective else None

    def event(self, *, value: float | None, step: int | None, final: bool) -> TrialEvent:
        return TrialEvent(
            trial_id=self.job.name,
            definition_name=self.job.definition_name,
            params=self.params,
            status=self.job.status,
            value=value,
            step=step,
            is_final=final,
        )

    def on_status(self, event: StatusChanged) -> None:
        self.job = with_status(self.job, event)

    def on_output(self, event: OutputLines) -> tuple[list[MetricPoint], list[TrialEvent]]:
        """The metric points of the new lines, and one intermediate event per
        report of the objective (the k-th report is step k-1)."""
        points = self.extractor.feed(event.lines, event.time)
        reports = []
        for point in points:
            if point.metric_name == self.objective_name:
                # reports past MaxResource count for nothing, but reach the strategy:
                # Hyperband stops a job it left to end at MaxResource that reports again
                if self.max_reports is None or point.step < self.max_reports:
                    self.latest_objective = point.value
                if math.isfinite(point.value):  # strategies and stoppers rank finite values
                    reports.append(self.event(value=point.value, step=point.step, final=False))
        if points:
            self.job = self.job.evolve(last_modified_time=event.time)
        return points, reports

    def on_finished(self, event: Finished) -> TrialEvent:
        """Close the attempt: status, final objective, objective status, reason. A job
        without an objective value has ObjectiveStatus Failed (not evaluated); only one
        that ended by itself gets a FailureReason saying so, not one tunelab stopped. A
        job whose objective regex was turned off (over its time budget on a line) has no
        final value either: its later reports went unread; the reason says why."""
        value = self.latest_objective if event.status is not TrainingJobStatus.FAILED else None
        reason = event.failure_reason
        if value is not None and not math.isfinite(value):  # diverged: it cannot win
            reason = reason or (
                f"ObjectiveMetricNotFinite: the latest value the training job reported for the "
                f"objective metric '{self.objective_name}' is {value}"
            )
            value = None
        off = self.extractor.disabled.get(self.objective_name or "")
        if off is not None:  # the objective's regex ran over its budget: later values unread
            value, reason = None, reason or off
        objective_status = (
            ObjectiveStatus.SUCCEEDED if value is not None else ObjectiveStatus.FAILED
        )
        ended_itself = event.status is TrainingJobStatus.COMPLETED
        if value is None and ended_itself and reason is None:
            reason = self.missing_objective_reason()
        job = self.job.transition(event.secondary, event.time, reason or "")
        self.job = job.evolve(
            status=event.status,
            objective_status=objective_status,
            final_objective_value=value,
            failure_reason=reason[:1024] if reason else None,
            end_time=event.time,
            exit_code=event.exit_code,
        )
        return self.event(value=value, step=None, final=True)

    def missing_objective_reason(self) -> str:
        name = self.objective_name
        regexes = [m.regex for m in self.definition.metric_definitions if m.name == name]
        regex = regexes[0] if regexes else "(no metric definition)"
        text = self.extractor.unreadable.get(name or "")
        if text is not None:
            return (
                f"ObjectiveMetricMissing: the training job never emitted a number for the "
                f"objective metric '{name}': its regex {regex!r} matched, but the latest match "
                f"read {text!r}{'' if _has_group(regex) else _NO_GROUP}"
            )
        return (
            f"ObjectiveMetricMissing: the training job never emitted the objective metric "
            f"'{name}': no line of its log matched the regex {regex!r}"
        )


_NO_GROUP = " (the regex has no group, so the whole match is read: put the value in a group)"


def _has_group(regex: str) -> bool:
    try:
        return re.compile(regex).groups > 0
    except re.error:
        return True
