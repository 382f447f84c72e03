"""What the executor reports, applied to the tuning loop's running trials: the
training jobs it changed, their new metric points, the events for the strategy and
the early-stopping rule, and the attempts to run again (managed spot, RetryStrategy;
see :mod:`tunelab.orchestrator.attempts`), which wait in a :class:`RelaunchQueue`
until the tick that carries them is committed."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from tunelab.domain.enums import TrainingJobStatus
from tunelab.domain.progress import ImprovementTracker
from tunelab.domain.trial import MetricPoint, TrainingJob, TrialEvent
from tunelab.execution.base import (
    Executor,
    ExecutorEvent,
    Finished,
    OutputLines,
    StatusChanged,
)
from tunelab.orchestrator.attempts import never_launched, next_attempt
from tunelab.orchestrator.stopping_jobs import ran_full_course
from tunelab.orchestrator.trials import LiveTrial


@dataclass
class Polled:
    """What a batch of executor events changed, for the loop to commit in one tick."""

    changed: dict[str, TrainingJob] = field(default_factory=dict)
    """The latest snapshot of every training job an event was about."""
    points: list[tuple[str, list[MetricPoint]]] = field(default_factory=list)
    """New metric points, per training job, in the order they were reported."""
    events: list[TrialEvent] = field(default_factory=list)
    """Objective reports and ends of jobs, for the strategy and the rule."""
    relaunch: list[LiveTrial] = field(default_factory=list)
    """Trials whose attempt ended without ending the job: their next attempt is in
    their job, to commit and then launch."""


def apply_executor_events(
    executor_events: Iterable[ExecutorEvent],
    live: dict[str, LiveTrial],
    tracker: ImprovementTracker,
) -> Polled:
    """Apply the events, in order, to the trials in ``live`` (others are ignored).
    A job that ended leaves ``live`` and its final objective goes to ``tracker``
    (judged when it ran its full course)."""
    polled = Polled()
    for event in executor_events:
        trial = live.get(event.name)
        if trial is None:
            continue
        if isinstance(event, StatusChanged):
            trial.on_status(event)
        elif isinstance(event, OutputLines):
            new_points, reports = trial.on_output(event)
            if new_points:
                polled.points.append((event.name, new_points))
            polled.events += reports
        elif isinstance(event, Finished):
            retry = next_attempt(trial.job, trial.definition, event)
            if retry is not None:  # spot interruption or RetryStrategy: run it again
                trial.job = retry
                polled.relaunch.append(trial)
            else:
                polled.events.append(trial.on_finished(event))
                tracker.add(trial.job.final_objective_value, judged=ran_full_course(trial.job))
                del live[event.name]
        polled.changed[event.name] = trial.job
    return polled


class RelaunchQueue:
    """The next attempts of the loop's trials, between the tick that commits them and
    their launch (or, for those :meth:`hold` holds, the moment their previous process
    is gone). A next attempt whose job was stopped meanwhile is never launched: its
    end (``Stopped``) is applied before the executor's events at the next tick."""

    def __init__(self) -> None:
        self._waiting: list[LiveTrial] = []
        """Trials whose next attempt the current tick commits."""
        self._held: list[tuple[LiveTrial, Callable[[], bool]]] = []
        """Trials whose next attempt is committed, each with when it may launch."""
        self._unlaunched: list[Finished] = []
        """Ends of next attempts that were stopped before they were launched."""

    def poll(
        self, executor: Executor, live: dict[str, LiveTrial], tracker: ImprovementTracker
    ) -> Polled:
        """:func:`apply_executor_events` to the ends of the unlaunched attempts, then to
        what ``executor`` reports; the attempts to run again wait for :meth:`take`."""
        unlaunched, self._unlaunched = self._unlaunched, []
        polled = apply_executor_events([*unlaunched, *executor.poll()], live, tracker)
        self._waiting += polled.relaunch
        return polled

    def hold(self, trial: LiveTrial, ready: Callable[[], bool]) -> None:
        """Keep ``trial``, whose next attempt is committed, until ``ready()`` (say its
        previous attempt's leftover process is gone)."""
        self._held.append((trial, ready))

    def take(self, now: float) -> list[LiveTrial]:
        """The waiting trials to launch, in order, now that their attempt is committed
        (and the held ones that are ready); those being stopped are left out, and their
        end is applied at the next :meth:`poll`."""
        waiting, self._waiting = self._waiting, []
        held, self._held = self._held, []
        for trial, is_ready in held:
            if is_ready():
                waiting.append(trial)
            else:
                self._held.append((trial, is_ready))
        launch = []
        for trial in waiting:
            if trial.job.status is TrainingJobStatus.STOPPING:  # stopped before it ran again
                self._unlaunched.append(never_launched(trial.job, now))
            else:
                launch.append(trial)
        return launch
