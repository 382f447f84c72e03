"""One tick of the tuning loop written to the store in ONE transaction.

The loop commits everything a tick decided (training job snapshots, metric points,
new training jobs, the strategy's state, the tuning job's terminal snapshot, or its
convergence time and its count of training jobs not improving) before it signals or
starts any process, so a crash loses no decision and acts on none twice (see
:mod:`tunelab.orchestrator.loop`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from tunelab.domain.errors import ConflictError
from tunelab.domain.trial import MetricPoint, TrainingJob
from tunelab.domain.tuning_job import TuningJob
from tunelab.orchestrator.trials import LiveTrial
from tunelab.store.base import LeaseLost, Store, StoreBatch
from tunelab.strategies.base import Strategy


@dataclass(frozen=True)
class TickWrites:
    """What one tick writes besides its tuning job."""

    changed: Mapping[str, TrainingJob]
    """The latest snapshot of every training job the tick changed, by name."""
    points: Sequence[tuple[str, list[MetricPoint]]]
    """New metric points, per training job, in the order they were reported."""
    new: Sequence[LiveTrial]
    """The trials the tick created (their training jobs are added)."""
    strategy: Strategy | None
    """The strategy whose state is saved (read inside the transaction); None when it
    neither observed nor suggested anything."""


def commit_tick(
    store: Store,
    job: TuningJob,
    writes: TickWrites,
    terminal: TuningJob | None,
    converged_at: float | None,
    jobs_not_improving: int | None = None,
    fence: Callable[[StoreBatch], None] | None = None,
) -> TuningJob:
    """Write ``writes`` and, for tuning job ``job``, its ``terminal`` snapshot, or else
    ``converged_at`` as its convergence time when it has none yet and
    ``jobs_not_improving`` (the loop's count, read by Describe) when it changed, in one
    transaction, which ``fence`` may make conditional (the loop's lease:
    :meth:`~tunelab.orchestrator.lease.LeaseKeeper.fence`). Returns the tuning job as
    stored (``job`` when it was not written). Raises ``ConflictError`` when the tuning
    job changed meanwhile, ``LeaseLost`` when the fence refused: nothing is written."""
    with store.batch() as batch:
        if fence is not None:
            fence(batch)
        for training_job in writes.changed.values():
            batch.put_training_job(training_job)
        for name, batch_points in writes.points:
            batch.add_metric_points(name, batch_points)
        for trial in writes.new:
            batch.add_training_job(trial.job)
        if writes.strategy is not None:
            batch.save_strategy_state(job.name, writes.strategy.state())
        if terminal is not None:
            job = batch.put_tuning_job(terminal)
        elif changes := _progress_changes(job, converged_at, jobs_not_improving):
            job = batch.put_tuning_job(job.evolve(**changes))
    return job


def commit_tick_or_retry(
    store: Store,
    job: TuningJob,
    writes: TickWrites,
    terminal: TuningJob | None,
    converged_at: float | None,
    jobs_not_improving: int | None,
    fence: Callable[[StoreBatch], None] | None,
) -> TuningJob:
    """:func:`commit_tick`; when the tuning job changed meanwhile (a stop request), the
    same writes again on the stored job, without ``terminal`` (a later tick decides the
    end). ``LeaseLost`` (the fence refused) is raised as it is."""
    try:
        return commit_tick(store, job, writes, terminal, converged_at, jobs_not_improving, fence)
    except LeaseLost:
        raise
    except ConflictError:
        job = store.get_tuning_job(job.name)
        return commit_tick(store, job, writes, None, converged_at, jobs_not_improving, fence)


def _progress_changes(
    job: TuningJob, converged_at: float | None, jobs_not_improving: int | None
) -> dict[str, float | int]:
    """The tuning job's fields to update while it runs (none: no write)."""
    changes: dict[str, float | int] = {}
    if converged_at is not None and job.convergence_detected_time is None:
        changes["convergence_detected_time"] = converged_at
    if jobs_not_improving is not None and jobs_not_improving != job.jobs_not_improving:
        changes["jobs_not_improving"] = jobs_not_improving
    return changes
