"""The tuning loop's record of how its tuning job winds down: why it starts no more
training jobs (a completion criterion, the failure limit, a strategy with nothing left
to propose) and, once none of its training jobs runs, the status it ends with.

It decides; the loop acts. Nothing here writes to the store or signals a process:
:meth:`CompletionState.check` returns the message the loop stops its running training
jobs with, and :meth:`CompletionState.terminal` the snapshot the loop commits. The
criteria and their order are :mod:`tunelab.orchestrator.completion`'s.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from tunelab.domain.enums import TuningJobStatus
from tunelab.domain.progress import ImprovementTracker
from tunelab.domain.trial import TrainingJob
from tunelab.domain.tuning_job import TuningJob
from tunelab.execution.clock import Clock
from tunelab.orchestrator.completion import (
    ConvergenceWatch,
    ended,
    finishing,
    next_wait,
    terminal_snapshot,
)
from tunelab.store.base import Store
from tunelab.strategies.base import Strategy

log = logging.getLogger("tunelab.loop")


class CompletionState:
    """One tuning loop's wind-down, from ``started_at`` (the tuning job's creation:
    ``MaxRuntimeInSeconds`` counts from it). Once ``finishing`` is set it stays set."""

    def __init__(self, started_at: float) -> None:
        self.started_at = started_at
        self.finishing: str | None = None
        """Why no more training jobs start (completion criterion, failures)."""
        self.failure: str | None = None
        """The failure limit's reason: the tuning job will fail."""
        self.exhausted = False
        """The strategy has nothing more to propose."""
        self.broken: str | None = None
        """Why the job cannot go on (:meth:`fail`): it fails with this reason."""
        self.convergence = ConvergenceWatch()
        """When the strategy converged (stored with the next commit), and was asked."""

    def check(
        self, job: TuningJob, tracker: ImprovementTracker, strategy: Strategy, now: float
    ) -> str | None:
        """While ``job`` is InProgress and not yet finishing, set ``finishing`` (and
        ``failure``) once a completion criterion or the failure limit is met. Returns
        the message to stop the running training jobs with on a criterion; None
        otherwise (on the failure limit they finish: they may still succeed)."""
        if job.status is not TuningJobStatus.IN_PROGRESS or self.finishing is not None:
            return None

        def converged() -> bool:
            return self.convergence.converged(job, tracker, strategy, now)

        finish = finishing(job, tracker, self.started_at, now, converged)
        if finish is None:
            return None
        self.finishing = finish.reason
        if finish.failed:
            self.failure = finish.reason
            return None
        return f"Stopped: the tuning job completed: {self.finishing}"

    def call_strategy(self, job: TuningJob, call: Callable[[Any], Any], argument: Any) -> Any:
        """``call(argument)``, a method of ``job``'s strategy, or None once the strategy
        has failed. When it raises (a defect, or a request the strategy cannot handle:
        the strategy restored from the store would raise again), it has failed: no more
        training jobs start, and the job ends ``Failed`` with the error as its reason
        (``Stopped`` when it is being stopped); the result is None then too
        (``observe``'s is True otherwise)."""
        if self.broken is not None:
            return None
        try:
            result = call(argument)
        except Exception as error:
            log.exception("tuning job %s: the strategy failed", job.name)
            kind, strategy = type(error).__name__, job.spec.strategy
            self.fail(f"the {strategy} strategy failed: {kind}: {error}")
            return None
        return True if result is None else result

    def fail(self, reason: str) -> None:
        """The job cannot go on (its strategy raised, its training jobs cannot be built):
        no more training jobs start, and it ends ``Failed`` with ``reason`` (``Stopped``
        when it is being stopped); the first reason stays."""
        self.broken = self.broken or reason
        self.finishing = self.finishing or self.broken

    def may_launch(self, job: TuningJob) -> bool:
        """Whether the strategy may be asked for new training jobs."""
        in_progress = job.status is TuningJobStatus.IN_PROGRESS
        return in_progress and self.finishing is None and not self.exhausted

    def terminal(
        self,
        store: Store,
        clock: Clock,
        job: TuningJob,
        tracker: ImprovementTracker,
        created: int,
        uncommitted: Mapping[str, TrainingJob],
    ) -> TuningJob | None:
        """The job's terminal snapshot, to be called only once none of its training
        jobs runs (``created`` so far; ``uncommitted``: the training jobs committed
        with it), or None while it goes on."""
        if self.broken is not None and job.status is TuningJobStatus.IN_PROGRESS:
            reason = self.broken[:1024]
            return ended(job, TuningJobStatus.FAILED, clock.now(), reason, tracker, None)
        return terminal_snapshot(
            store,
            clock,
            job,
            tracker,
            created=created,
            done=self.finishing is not None or self.exhausted,
            failed=self.failure is not None,
            converged_at=self.convergence.detected_at,
            uncommitted=uncommitted,
        )

    def wait_time(self, job: TuningJob, poll_interval: float, clock: Clock) -> float:
        """How long the loop may wait before its next tick (no longer than until
        ``MaxRuntimeInSeconds`` runs out)."""
        return next_wait(job, self.started_at, poll_interval, clock)
