"""Runs training jobs created on their own (``CreateTrainingJob``): the same
executor, container contract and metric extraction as a tuning job's training
jobs, without a strategy.

Crash safety as in the tuning loop: the job is in the store before its process
starts; :meth:`TrainingRunner.adopt` picks up every unfinished one, ends any
process a crashed runner left behind and runs the job again as the next attempt.
Several runners (servers) may share a database: a runner drives a job only while it
holds the job's lease (:class:`~tunelab.orchestrator.lease.LeaseKeeper`), so a job
another live runner drives is left to it, and one whose runner died is taken over.
A heartbeat thread renews the leases of the jobs a runner drives, however long one of
its steps takes, and every write for a job is fenced by that job's lease: a runner
that stalled past the lease (the job was taken over meanwhile) writes nothing more
for it, stops its process and never drives it again.
A StopTrainingJob another process received reaches the runner through the store.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from tunelab.domain.definition import TrainingJobDefinition
from tunelab.domain.enums import SecondaryStatus, TrainingJobStatus
from tunelab.domain.errors import ConflictError
from tunelab.domain.names import training_job_arn
from tunelab.domain.trial import MetricPoint, TrainingJob
from tunelab.execution.base import Executor, Finished, LaunchRequest, OutputLines, StatusChanged
from tunelab.execution.clock import Clock
from tunelab.execution.contract import training_job_dir
from tunelab.metrics.extract import MetricExtractor
from tunelab.orchestrator.attempts import launch_limits, next_attempt
from tunelab.orchestrator.lease import LeaseKeeper
from tunelab.orchestrator.orphans import leftover_processes
from tunelab.orchestrator.stopping_jobs import StopRequests
from tunelab.orchestrator.trials import with_status
from tunelab.store.base import LeaseLost, Store, TrainingJobQuery, iterate_training_jobs

DefinitionOf = Callable[[TrainingJob], TrainingJobDefinition]
log = logging.getLogger("tunelab.training")
STOPPED_BY_REQUEST = "Stopped by StopTrainingJob"


class _Running:
    def __init__(self, job: TrainingJob, definition: TrainingJobDefinition) -> None:
        self.job, self.definition = job, definition
        self.extractor = MetricExtractor(definition.metric_definitions)


class TrainingRunner:
    """Not thread-safe: one thread ticks it; other threads call :meth:`request_stop`."""

    def __init__(
        self,
        store: Store,
        executor: Executor,
        clock: Clock,
        jobs_root: str,
        definition_of: DefinitionOf,
        region: str,
        account: str,
        lease_ttl: float = 30.0,
        stop_poll_interval: float = 0.5,
    ) -> None:
        self.store, self.executor, self.clock = store, executor, clock
        self.jobs_root, self.definition_of = jobs_root, definition_of
        self.region, self.account = region, account
        self.lease_ttl = lease_ttl
        """Seconds a lease lasts unrenewed; the heartbeat renews it every third of it."""
        self.running: dict[str, _Running] = {}
        self._stop_requests = StopRequests(stop_poll_interval)
        self._leases: dict[str, LeaseKeeper] = {}
        """The lease of every job this runner drives (and of one it is ending)."""

    def adopt(self) -> None:
        """Start every unfinished standalone training job not running here whose lease
        this runner can take; leftovers of a crashed runner are terminated and run
        again. A job whose lease another live process holds is left to it."""
        found = [
            j
            for status in (TrainingJobStatus.IN_PROGRESS, TrainingJobStatus.STOPPING)
            for j in iterate_training_jobs(self.store, TrainingJobQuery(None, status=status))
            if j.tuning_job_name is None and j.name not in self.running
        ]
        found = [j for j in found if self._take_lease(j.name)]
        leftovers = leftover_processes(self.executor, found, self.jobs_root, None)
        self.executor.terminate_orphans([p for ps in leftovers.values() for p in ps])
        asked = self.store.stop_requested([j.name for j in found])
        now = self.clock.now()
        for job in found:
            if job.status is TrainingJobStatus.STOPPING or job.name in asked:
                if job.status is TrainingJobStatus.IN_PROGRESS:
                    job = job.transition(SecondaryStatus.STOPPING, now, STOPPED_BY_REQUEST)
                stopped = job.transition(SecondaryStatus.STOPPED, now, "Stopped")
                if self._write(stopped.evolve(status=TrainingJobStatus.STOPPED, end_time=now)):
                    self._release(job.name)
                continue
            if job.name in leftovers:  # it had started: its outcome is unknown
                job = job.transition(
                    SecondaryStatus.INTERRUPTED, now, "tunelab stopped while the job ran"
                ).transition(
                    SecondaryStatus.RESTARTING, now, f"Restarting as attempt {job.attempt + 1}"
                )
                job = job.evolve(attempt=job.attempt + 1, pid=None, pid_start_time=None)
                if not self._write(job, clear_points=True):
                    continue
            self._launch(job)

    def request_stop(self, name: str) -> None:
        """Stop the job at the next tick (thread-safe: only records the request)."""
        self._stop_requests.training_jobs.add(name)

    def release_leases(self) -> None:
        """Let another runner adopt this one's jobs at once (their processes keep
        running until it does); this runner must not be ticked afterwards."""
        for name in list(self._leases):
            self._release(name)

    def _take_lease(self, name: str) -> bool:
        ttl = self.lease_ttl
        keeper = LeaseKeeper(self.store, name, self.clock, ttl, True, heartbeat=ttl / 3)
        try:
            keeper.acquire()
        except ConflictError:
            return False  # another live process drives it
        self._leases[name] = keeper
        return True

    def _release(self, name: str) -> None:
        keeper = self._leases.pop(name, None)
        if keeper is not None:
            keeper.release()

    def _renew_leases(self) -> None:
        for name, keeper in list(self._leases.items()):
            try:
                keeper.renew()
            except ConflictError:  # not renewed in time (a stalled process): let it go
                self._let_go(name)

    def _let_go(self, name: str) -> None:
        """Stop driving job ``name``, whose lease another process took: forget its
        lease, stop its process here, write nothing more for it."""
        log.warning("training job %s: lease lost; another process drives it", name)
        self._leases.pop(name, None)
        if self.running.pop(name, None) is not None:
            self.executor.stop(name)

    def _write(
        self,
        job: TrainingJob,
        points: list[MetricPoint] | None = None,
        clear_points: bool = False,
    ) -> bool:
        """Store ``job`` (and its new metric ``points``, after deleting the old ones
        when ``clear_points``) in one batch fenced by the job's lease. False when this
        runner does not hold the lease (any more): nothing is written and the job is let
        go (:meth:`_let_go`)."""
        keeper = self._leases.get(job.name)
        if keeper is None:
            self._let_go(job.name)
            return False
        try:
            with self.store.batch() as batch:
                keeper.fence(batch)
                batch.put_training_job(job)
                if clear_points:
                    batch.delete_metric_points(job.name)
                if points:
                    batch.add_metric_points(job.name, points)
        except LeaseLost:
            keeper.taken_over()
            self._let_go(job.name)
            return False
        return True

    def tick(self) -> None:
        self._renew_leases()
        now = self.clock.now()
        for name in self._stop_requests.take_training_jobs(self.store, now, self.running):
            running = self.running.get(name)
            if running is not None and running.job.status is TrainingJobStatus.IN_PROGRESS:
                running.job = running.job.evolve(status=TrainingJobStatus.STOPPING).transition(
                    SecondaryStatus.STOPPING, now, STOPPED_BY_REQUEST
                )
                if self._write(running.job):
                    self.executor.stop(name)
        changed: dict[str, TrainingJob] = {}
        points: dict[str, list[MetricPoint]] = {}
        relaunch: list[TrainingJob] = []
        for event in self.executor.poll():
            running = self.running.get(event.name)
            if running is None:
                continue
            job = running.job
            if isinstance(event, StatusChanged):
                job = with_status(job, event)
            elif isinstance(event, OutputLines):
                found = running.extractor.feed(event.lines, event.time)
                if found:
                    points.setdefault(event.name, []).extend(found)
                    job = job.evolve(last_modified_time=event.time)
            elif isinstance(event, Finished) and (
                retry := next_attempt(job, running.definition, event)
            ):
                job = retry  # spot interruption or RetryStrategy: run it again after commit
                relaunch.append(job)
            elif isinstance(event, Finished):
                job = _ended(job, event)
                del self.running[event.name]
            running.job = job
            changed[event.name] = job
        written = {name for name, job in changed.items() if self._write(job, points.get(name))}
        for name, job in changed.items():
            if name in written and job.status.is_terminal:
                self._release(name)
        for job in relaunch:
            if job.name in written:
                self._launch(job)

    def _launch(self, job: TrainingJob) -> None:
        """Start the job's next attempt; a job whose stored request cannot be run (its
        definition or metric definitions do not build) ends ``Failed`` instead, so that
        one bad job neither blocks the others nor is tried again at every scan. (Store
        errors propagate: the next scan tries again.)"""
        running = self.running.get(job.name)
        try:
            definition = self.definition_of(job)
            if running is None:
                running = _Running(job, definition)
        except (ValueError, LookupError, TypeError) as error:  # the request is not runnable
            log.exception("training job %s cannot run", job.name)
            self._fail(job, f"tunelab could not run the training job: {error}")
            return
        self.running[job.name] = running
        running.job = job
        not_after, runtime_used = launch_limits(job, definition)
        self.executor.submit(
            LaunchRequest(
                training_job_name=job.name,
                training_job_arn=training_job_arn(job.name, self.region, self.account),
                definition=definition,
                hyperparameters=dict(definition.static_hyperparameters),
                job_dir=training_job_dir(self.jobs_root, None, job.name),  # on its own
                attempt=job.attempt,
                not_after=not_after,
                runtime_used=runtime_used,
            )
        )

    def _fail(self, job: TrainingJob, reason: str) -> None:
        failed = TrainingJobStatus.FAILED, SecondaryStatus.FAILED
        self.running.pop(job.name, None)
        if self._write(_ended(job, Finished(job.name, self.clock.now(), *failed, None, reason))):
            self._release(job.name)


def _ended(job: TrainingJob, event: Finished) -> TrainingJob:
    """``job`` as the attempt that ended with ``event`` leaves it."""
    job = job.transition(event.secondary, event.time, event.failure_reason or "")
    return job.evolve(
        status=event.status,
        failure_reason=event.failure_reason[:1024] if event.failure_reason else None,
        end_time=event.time,
        exit_code=event.exit_code,
    )
