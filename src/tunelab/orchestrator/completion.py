"""When a tuning job stops starting training jobs, and the status it ends with.

While the job runs, the tuning loop asks :func:`finishing` at each tick. It checks
the completion criteria in this order: ``TargetObjectiveMetricValue``,
``MaxNumberOfTrainingJobsNotImproving`` (BestObjectiveNotImproving),
``CompleteOnConvergence`` (:class:`ConvergenceWatch`), ``MaxRuntimeInSeconds``; then
the failure limit: when the first training jobs all failed (:func:`failure_limit`),
the tuning job will fail (not with Grid, which runs every combination). Once none of
its training jobs runs, :func:`terminal_snapshot` tells whether the job ended and how
(:func:`final_status`), and why it failed (:func:`failure_reason`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from tunelab.domain.enums import StrategyType, TuningJobStatus
from tunelab.domain.errors import ConflictError
from tunelab.domain.progress import ImprovementTracker
from tunelab.domain.trial import TrainingJob
from tunelab.domain.tuning_job import TuningJob, TuningJobSpec
from tunelab.execution.clock import Clock
from tunelab.store.base import (
    LeaseLost,
    Store,
    StoreBatch,
    TrainingJobQuery,
    iterate_training_jobs,
)
from tunelab.strategies.base import ConvergenceSignal, Strategy


@dataclass(frozen=True)
class Finishing:
    """Why a tuning job starts no more training jobs."""

    reason: str
    failed: bool = False
    """The failure limit was reached: the tuning job fails, and the training jobs
    still running are left to finish (they may still succeed)."""


class ConvergenceWatch:
    """``CompleteOnConvergence``: asks the strategy once per newly ended training job
    (the question costs an acquisition optimization), and answers true at once after
    a restart when the stored job already recorded convergence."""

    def __init__(self) -> None:
        self.checked_at = -1
        """How many jobs had ended when the strategy was last asked if it converged."""
        self.detected_at: float | None = None
        """When the strategy was seen to converge (the loop stores it with its next
        commit)."""

    def converged(
        self, job: TuningJob, tracker: ImprovementTracker, strategy: Strategy, now: float
    ) -> bool:
        if not job.spec.completion.complete_on_convergence:
            return False
        if job.convergence_detected_time is not None:
            return True
        ended = tracker.succeeded + tracker.failed
        if ended == self.checked_at:
            return False
        self.checked_at = ended
        if isinstance(strategy, ConvergenceSignal) and strategy.converged():
            self.detected_at = now
            return True
        return False


def next_wait(job: TuningJob, started_at: float, poll_interval: float, clock: Clock) -> float:
    """How long the loop may wait before its next tick: ``poll_interval``, but no
    longer than until ``MaxRuntimeInSeconds`` (counted from ``started_at``) runs out."""
    wait = poll_interval
    limit = job.spec.limits.max_runtime_seconds
    if limit:
        wait = min(wait, max(0.0, started_at + limit - clock.now()))
    return wait


def failure_limit(spec: TuningJobSpec) -> int | None:
    """How many training jobs must fail, before any succeeds, for the tuning job to
    fail: ``max(3, MaxParallelTrainingJobs)``, capped at ``MaxNumberOfTrainingJobs``
    (at 3 when that is unset). None for Grid: it runs every combination it promised
    (a value that crashes the program does not cancel the others), and fails only when
    none gave the objective."""
    if spec.strategy is StrategyType.GRID:
        return None
    budget = spec.max_jobs or 3
    return min(budget, max(3, spec.limits.max_parallel_training_jobs))


def finishing(
    job: TuningJob,
    tracker: ImprovementTracker,
    started_at: float,
    now: float,
    converged: Callable[[], bool],
) -> Finishing | None:
    """The first completion criterion (or the failure limit) the job meets, in the
    module's order, or None. ``converged`` is only called when no criterion before
    it is met."""
    criteria, limits = job.spec.completion, job.spec.limits
    if tracker.reached(criteria.target_objective_value):
        return Finishing(f"TargetObjectiveMetricValue {criteria.target_objective_value} reached")
    most = criteria.max_jobs_not_improving
    if most and tracker.longest_streak >= most:
        return Finishing(
            f"the best objective did not improve in {most} training jobs "
            "(BestObjectiveNotImproving)"
        )
    if converged():
        return Finishing("the strategy's model detected convergence (CompleteOnConvergence)")
    if limits.max_runtime_seconds and now - started_at >= limits.max_runtime_seconds:
        return Finishing(f"MaxRuntimeInSeconds ({limits.max_runtime_seconds} s) reached")
    limit = failure_limit(job.spec)
    if limit is not None and tracker.succeeded == 0 and tracker.failed >= limit:
        return Finishing(f"the first {tracker.failed} training jobs failed", failed=True)
    return None


def jobs_not_improving(job: TuningJob, tracker: ImprovementTracker) -> int:
    """The count Describe reports (``NumberOfTrainingJobsObjectiveNotImproving``):
    ``tracker``'s streak, or ``MaxNumberOfTrainingJobsNotImproving`` once the streak
    reached it. The tuning job completed at that moment, so jobs that ended after it (in
    the same tick, or while its running jobs were being stopped) count neither way."""
    most = job.spec.completion.max_jobs_not_improving
    if most and tracker.longest_streak >= most:
        return most
    return tracker.streak


def final_status(
    job: TuningJob, tracker: ImprovementTracker, *, created: int, done: bool, failed: bool
) -> TuningJobStatus | None:
    """The status of a tuning job none of whose training jobs runs: ``Stopped`` when
    it was being stopped; None while it goes on (not ``done`` and fewer than
    ``MaxNumberOfTrainingJobs`` created); ``Failed`` when it ``failed`` (the failure
    limit) or no training job gave the objective; else ``Completed``."""
    if job.status is TuningJobStatus.STOPPING:
        return TuningJobStatus.STOPPED
    budget = job.spec.max_jobs
    if not done and (budget is None or created < budget):
        return None
    if failed or tracker.succeeded == 0:
        return TuningJobStatus.FAILED
    return TuningJobStatus.COMPLETED


def failure_reason(
    store: Store,
    job: TuningJob,
    tracker: ImprovementTracker,
    failed: bool,
    uncommitted: Mapping[str, TrainingJob] | None = None,
) -> str:
    """A failed tuning job's ``FailureReason``: why (the failure limit when ``failed``,
    else no objective), followed by the reason of the first finished training job that
    has one as an example (then at most 1024 characters). ``uncommitted``: training
    jobs newer than the store's (ending in the same transaction), by name."""
    if failed:  # counted now: jobs running at the time failed too
        head = f"the first {tracker.failed} training jobs failed"
    else:
        head = "no training job reported the objective metric"
    newer = dict(uncommitted or {})
    stored = {j.name: j for j in finished_jobs(store, job.name)}
    jobs = {**stored, **{n: j for n, j in newer.items() if j.status.is_terminal}}
    for training_job in sorted(jobs.values(), key=lambda j: j.sequence):
        if training_job.failure_reason:
            return f"{head}; e.g. {training_job.name}: {training_job.failure_reason}"[:1024]
    return head


def finished_jobs(store: Store, tuning_job_name: str) -> list[TrainingJob]:
    """The tuning job's finished training jobs, oldest first."""
    query = TrainingJobQuery(tuning_job_name, sort_by="CreationTime")
    return [j for j in iterate_training_jobs(store, query) if j.status.is_terminal]


def ended(
    job: TuningJob,
    status: TuningJobStatus,
    now: float,
    reason: str | None,
    tracker: ImprovementTracker,
    converged_at: float | None,
) -> TuningJob:
    """The job's terminal snapshot; keeps a convergence time it already recorded."""
    return job.evolve(
        status=status,
        last_modified_time=now,
        end_time=now,
        failure_reason=reason,
        jobs_not_improving=jobs_not_improving(job, tracker),
        convergence_detected_time=job.convergence_detected_time or converged_at,
    )


def terminal_snapshot(
    store: Store,
    clock: Clock,
    job: TuningJob,
    tracker: ImprovementTracker,
    *,
    created: int,
    done: bool,
    failed: bool,
    converged_at: float | None,
    uncommitted: Mapping[str, TrainingJob] | None = None,
) -> TuningJob | None:
    """The terminal snapshot of a tuning job none of whose training jobs runs, or
    None while it goes on (see :func:`final_status`); ``uncommitted`` as for
    :func:`failure_reason`."""
    now = clock.now()
    status = final_status(job, tracker, created=created, done=done, failed=failed)
    if status is None:
        return None
    reason = None
    if status is TuningJobStatus.FAILED:
        reason = failure_reason(store, job, tracker, failed, uncommitted)
    return ended(job, status, now, reason, tracker, converged_at)


def end_unrunnable(
    store: Store,
    clock: Clock,
    job: TuningJob,
    reason: str,
    tracker: ImprovementTracker,
    fence: Callable[[StoreBatch], None] | None = None,
) -> TuningJob:
    """End a tuning job that cannot go on (its strategy cannot be built): ``Failed``
    with ``reason`` as its FailureReason, or ``Stopped`` when it is being stopped (a
    stop request that comes in meanwhile wins), written under ``fence`` (the loop's
    lease: ``LeaseLost``). Returns the stored terminal job."""
    while not job.status.is_terminal:
        stopping = job.status is TuningJobStatus.STOPPING
        status = TuningJobStatus.STOPPED if stopping else TuningJobStatus.FAILED
        final = ended(job, status, clock.now(), None if stopping else reason[:1024], tracker, None)
        try:
            with store.batch() as batch:
                if fence is not None:
                    fence(batch)
                job = batch.put_tuning_job(final)
        except LeaseLost:
            raise
        except ConflictError:  # the job changed meanwhile (a stop request): decide again
            job = store.get_tuning_job(job.name)
    return job
