"""Following a tuning job that another live process runs (a ``tunelab serve`` on the
same store whose scheduler took it first): its progress read from the store, a stop
asked for here written there, until it ends or nobody drives it any more."""

from __future__ import annotations

from collections.abc import Callable

from tunelab.domain.tuning_job import TuningJob
from tunelab.execution.clock import Clock
from tunelab.orchestrator.lease import holder_is_dead
from tunelab.orchestrator.progress import Progress
from tunelab.orchestrator.stopping_jobs import store_stopping
from tunelab.store.base import Store


def stored_progress(store: Store, name: str) -> Progress:
    """The progress of tuning job ``name`` as the store shows it."""
    found = store.tuning_job_overview(name)
    counters, job = found.counters, found.job
    ended = counters.total - counters.in_progress
    return Progress(
        name=job.name,
        status=job.status,
        created=counters.total,
        running=counters.in_progress,
        max_jobs=job.spec.max_jobs,
        best=None if found.best is None else found.best.final_objective_value,
        succeeded=counters.objective_succeeded,
        failed=ended - counters.objective_succeeded,
    )


def driven_elsewhere(store: Store, name: str, now: float) -> bool:
    """Whether a live process holds the tuning job's lease."""
    lease = store.get_lease(name)
    return lease is not None and lease.expires_at > now and not holder_is_dead(lease.owner)


def follow(
    store: Store,
    clock: Clock,
    name: str,
    on_progress: Callable[[Progress], None] | None,
    stop_requested: Callable[[], bool],
    poll_interval: float,
) -> TuningJob | None:
    """Report the progress of tuning job ``name`` every ``poll_interval`` seconds until
    it ends (returns its final snapshot), or until no live process drives it (returns
    None: the caller may run it). Once ``stop_requested()``, the job is written
    ``Stopping`` for the process that runs it."""
    stop_written = False
    while True:
        if stop_requested() and not stop_written:
            store_stopping(store, clock, store.get_tuning_job(name))
            stop_written = True
        driven = driven_elsewhere(store, name, clock.now())  # before: it may end meanwhile
        progress = stored_progress(store, name)
        if on_progress is not None:
            on_progress(progress)
        if progress.status.is_terminal:
            return store.get_tuning_job(name)
        if not driven:
            return None
        clock.sleep(poll_interval)
