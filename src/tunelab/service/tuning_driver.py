"""Driving a tuning job to its end from this process: with a tuning loop here, or by
following the live process (a server, another CLI) that runs a job this process
created, taking it over should that process go away first."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from tunelab.domain.errors import ConflictError
from tunelab.domain.tuning_job import TuningJob
from tunelab.execution.clock import Clock
from tunelab.orchestrator.following import follow
from tunelab.orchestrator.lease import LeaseKeeper
from tunelab.orchestrator.loop import LoopSettings, TuningLoop
from tunelab.orchestrator.progress import Progress
from tunelab.service.algorithms import AlgorithmService
from tunelab.service.executors import new_executor
from tunelab.service.settings import Settings
from tunelab.service.threads import limit_math_threads, uses_linear_algebra
from tunelab.store.base import Store


class TuningDriver:
    """Runs tuning jobs in this process, one at a time.

    Contract: :meth:`hold` claims a job this process just created (its lease, so that a
    server's scheduler leaves it alone); :meth:`run` drives a job until it ends, and for
    a held job that another live process took first, follows it there instead of raising
    ``ConflictError``; :meth:`request_stop` is signal-safe and reaches whichever of the
    two is under way, or the next one to start."""

    def __init__(
        self, settings: Settings, store: Store, clock: Clock, algorithms: AlgorithmService
    ) -> None:
        self.settings, self.store, self.clock, self.algorithms = settings, store, clock, algorithms
        self._loop: TuningLoop | None = None
        self._held: set[str] = set()
        """Tuning jobs this process created (:meth:`run` may follow them)."""
        self._stop_requested = False

    def hold(self, name: str) -> None:
        """Claim the new job ``name`` for this process: take its lease at once, unless a
        server took it between the insert and now (:meth:`run` then follows it)."""
        self._held.add(name)
        with contextlib.suppress(ConflictError):
            LeaseKeeper(self.store, name, self.clock, LoopSettings.lease_ttl).acquire()

    def run(self, name: str, on_progress: Callable[[Progress], None] | None = None) -> TuningJob:
        """Drive the tuning job in this process until it ends (resuming it if it was
        interrupted). ``ConflictError`` if it has ended, or if another live process runs
        it and it is not held here: a held job is followed where it runs (a stop asked
        for with :meth:`request_stop` is passed on), and run here should that process go
        away first."""
        job = self.store.get_tuning_job(name)
        if job.status.is_terminal:
            raise ConflictError(f"Tuning job '{job.name}' has ended ({job.status})")
        while True:
            try:
                return self._run_here(job, on_progress)
            except ConflictError:
                if job.name not in self._held:
                    raise
            poll = self.settings.poll_interval
            followed = follow(self.store, self.clock, job.name, on_progress, self._stopping, poll)
            if followed is not None:
                return followed

    def request_stop(self) -> None:
        """Ask the loop running in this process (or the process :meth:`run` follows) to
        stop its job (signal-safe: only sets flags read at the next tick or poll)."""
        self._stop_requested = True
        if self._loop is not None:
            self._loop.request_stop()

    def _stopping(self) -> bool:
        """Whether :meth:`request_stop` was called."""
        return self._stop_requested

    def _run_here(
        self, job: TuningJob, on_progress: Callable[[Progress], None] | None
    ) -> TuningJob:
        """Drive the job with a loop in this process (``ConflictError`` as in :meth:`run`)."""
        if uses_linear_algebra(job.spec):
            limit_math_threads()
        executor = new_executor(self.settings, self.algorithms.image)
        settings = LoopSettings(str(self.settings.jobs_root), self.settings.poll_interval)
        self._loop = TuningLoop(self.store, executor, self.clock, job.name, settings, on_progress)
        if self._stop_requested:  # asked while following the process that ran it
            self._loop.request_stop()
        try:
            return self._loop.run()
        finally:
            self._loop = None
            executor.close()
