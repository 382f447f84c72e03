"""How the tuning loop stops training jobs, and the tuning job itself.

- :func:`apply_stops`: an early-stopping rule's decisions and ``StopTrainingJob``
  requests mark running jobs ``Stopping`` in memory; the loop commits them with its
  tick and only then signals the processes.
- :func:`stop_running`: every running job at once, signalled right away (the tuning
  job was stopped or completed).
- :class:`StopRequests`: the stop requests a running loop receives, here or through
  the store; a stop of the tuning job is written to the store (:func:`store_stopping`).
- :func:`ran_full_course`: whether an ended job was stopped by none of these before
  its end, so that ``BestObjectiveNotImproving`` judges it (:mod:`tunelab.domain.progress`).

The status history of a job stopped by :func:`apply_stops` says why
(:func:`~tunelab.orchestrator.stoppers.decided_message` of the rule's reason, or
:data:`~tunelab.orchestrator.stoppers.REQUESTED`; read by
:func:`~tunelab.orchestrator.stoppers.stop_reason`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from tunelab.domain.enums import SecondaryStatus, TrainingJobStatus, TuningJobStatus
from tunelab.domain.errors import ConflictError
from tunelab.domain.trial import TrainingJob
from tunelab.domain.tuning_job import TuningJob
from tunelab.execution.base import Executor
from tunelab.execution.clock import Clock
from tunelab.orchestrator.stoppers import (
    REQUESTED,
    decided_message,
    ran_full_resource,
    stop_reason,
)
from tunelab.orchestrator.trials import LiveTrial
from tunelab.stopping.base import Decision
from tunelab.store.base import Store


def mark_stopping(trial: LiveTrial, now: float, message: str) -> None:
    """Move the trial's job to ``Stopping``, with ``message`` in its status history."""
    trial.job = trial.job.evolve(status=TrainingJobStatus.STOPPING).transition(
        SecondaryStatus.STOPPING, now, message
    )


def apply_stops(
    live: dict[str, LiveTrial],
    decided: Sequence[Decision],
    requested: Sequence[str],
    changed: dict[str, TrainingJob],
    now: float,
) -> tuple[list[str], int]:
    """Apply the rule's decisions (stops and promotions), then the ``StopTrainingJob``
    requests, to the jobs still in progress, and put each job they change in
    ``changed``. Returns the jobs to stop once the tick is committed, and how many
    of them the rule stopped early (before their full resource)."""
    stops: list[str] = []
    stopped_early = 0
    for name, stop, message in [
        *((d.trial_id, d.stop, d.reason) for d in decided),
        *((name, True, None) for name in requested),
    ]:
        trial = live.get(name)
        if trial is None or trial.job.status is not TrainingJobStatus.IN_PROGRESS:
            continue  # finished meanwhile, or already being stopped
        if not stop:  # a promotion
            trial.job = trial.job.transition(SecondaryStatus.TRAINING, now, message or "")
        else:
            mark_stopping(trial, now, REQUESTED if message is None else decided_message(message))
            stopped_early += message is not None and not ran_full_resource(message)
            stops.append(name)
        changed[name] = trial.job
    return stops, stopped_early


def ran_full_course(job: TrainingJob) -> bool:
    """Whether an ended training job ran its full course: anything but a job tunelab
    stopped (an early-stopping rule, a ``StopTrainingJob`` request, the tuning job's
    stop or completion), unless the stop was Hyperband's at ``MaxResource``. A job
    stopped by its own ``StoppingCondition`` ran its course."""
    stopped = job.status is TrainingJobStatus.STOPPED
    if not stopped or job.secondary_status is not SecondaryStatus.STOPPED:
        return True
    reason = stop_reason(job)
    return reason is not None and ran_full_resource(reason)


def stop_running(
    live: dict[str, LiveTrial], executor: Executor, clock: Clock, message: str
) -> dict[str, TrainingJob]:
    """Mark every job in progress ``Stopping`` with ``message`` and signal it now; returns
    the jobs marked, to commit with the tick (a job still staging its data may report
    nothing for a while)."""
    marked = {}
    for trial in live.values():
        if trial.job.status is TrainingJobStatus.IN_PROGRESS:
            mark_stopping(trial, clock.now(), message)
            executor.stop(trial.job.name)
            marked[trial.job.name] = trial.job
    return marked


def store_stopping(store: Store, clock: Clock, stored: TuningJob) -> TuningJob:
    """Write the tuning job as ``Stopping`` unless ``stored`` (its latest snapshot)
    already left ``InProgress``; re-read and retried when it changed meanwhile.
    Returns the stored snapshot."""
    while stored.status is TuningJobStatus.IN_PROGRESS:
        stopping = stored.evolve(status=TuningJobStatus.STOPPING, last_modified_time=clock.now())
        try:
            with store.batch() as batch:
                stored = batch.put_tuning_job(stopping)
        except ConflictError:
            stored = store.get_tuning_job(stored.name)
    return stored


class Running(Protocol):
    """A training job in flight, as a loop or the standalone runner tracks it."""

    job: TrainingJob


class StopRequests:
    """The stop requests a running loop (or the standalone training runner, which uses
    only the training job part) receives. Making one only sets a flag or adds to a set,
    so it is safe from another thread or a signal handler. A stop made elsewhere
    (``tunelab stop``, StopHyperParameterTuningJob, StopTrainingJob received by another
    process) is read from the store, at most ``status_poll_interval`` seconds late."""

    def __init__(self, status_poll_interval: float) -> None:
        self.tuning_job = False
        """This loop was asked to stop its tuning job."""
        self.training_jobs: set[str] = set()
        """Training jobs to stop (``StopTrainingJob``)."""
        self._status_poll_interval = status_poll_interval
        self._next_status_read = 0.0
        self._next_requests_read = 0.0

    def take_training_jobs(
        self, store: Store, now: float, live: Mapping[str, Running]
    ) -> list[str]:
        """The training jobs to stop, sorted: those requested here since the last call,
        and the live jobs in progress with a request in the store."""
        requested = set(self.training_jobs)
        self.training_jobs.difference_update(requested)
        if now >= self._next_requests_read:
            self._next_requests_read = now + self._status_poll_interval
            running = [n for n, t in live.items() if t.job.status is TrainingJobStatus.IN_PROGRESS]
            requested |= store.stop_requested(running)
        return sorted(requested)

    def read_tuning_job(self, store: Store, clock: Clock, name: str) -> TuningJob | None:
        """The tuning job as stored, written ``Stopping`` first when this loop was asked
        to stop it; None when it is not yet time to read it again."""
        now = clock.now()
        if not self.tuning_job and now < self._next_status_read:
            return None
        self._next_status_read = now + self._status_poll_interval
        stored = store.get_tuning_job(name)
        if self.tuning_job:
            stored = store_stopping(store, clock, stored)
        return stored
