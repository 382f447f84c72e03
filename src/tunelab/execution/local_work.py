"""Starting and finishing the local executor's jobs (:mod:`.local`): at once when that is
quick, in a worker thread (:mod:`.job_work`) when it may take long (staging data, packing a
large model: :func:`.local_launch.may_start_slowly`, :func:`.local_finish.may_finish_slowly`),
so that a slow job holds up no other. Processes are started by the executor's own thread
only, once a job is prepared: a worker never starts one. A job told to stop while it is
prepared stops between two steps (:class:`.errors.LaunchStopped`), never having run.
"""

from __future__ import annotations

from tunelab.domain.enums import SecondaryStatus
from tunelab.execution.base import ExecutorEvent, Finished, StatusChanged
from tunelab.execution.clock import Clock
from tunelab.execution.errors import LaunchError, LaunchStopped
from tunelab.execution.exit_watcher import ExitWatcher
from tunelab.execution.job_work import Announce, Done, Failed, JobWork, run_now
from tunelab.execution.ledger import Admission, Ledger
from tunelab.execution.limits import MemoryLimiter
from tunelab.execution.local_finish import (
    finish_failed,
    finish_job,
    may_finish_slowly,
    release_job,
)
from tunelab.execution.local_jobs import QueuedJob, RunningJob
from tunelab.execution.local_launch import (
    PreparedLaunch,
    discard_launch,
    launch_failed,
    may_start_slowly,
    prepare_launch,
    start_launch,
    started_job,
)
from tunelab.execution.processes import process_start_time
from tunelab.execution.storage import DataPlane


class LocalJobWork:
    """The part of :class:`.local.LocalExecutor` that starts and finishes its jobs; the
    attributes below are the executor's."""

    _clock: Clock
    _data: DataPlane
    _ledger: Ledger
    _limiter: MemoryLimiter
    _grace: float
    _exits: ExitWatcher
    _jobs: dict[str, RunningJob]
    _pending: list[ExecutorEvent]
    _die_with_parent: bool

    def _init_work(self, threads: int) -> None:
        """``threads``: how many jobs may be starting, and how many finishing, at once."""
        self._starts = JobWork(self._exits.wake, threads)
        self._finishes = JobWork(self._exits.wake, threads)
        self._stop_on_start: set[str] = set()
        """Jobs told to stop while they were being prepared (read by the workers too)."""
        self._closing = False
        """The executor closes: what is being prepared stops and never starts."""
        self._unannounced: list[tuple[RunningJob, float]] = []
        """Jobs started since the last poll, with when (:meth:`_announce_starts`)."""

    def _start(self, queued: QueuedJob, admission: Admission, hosts: tuple[str, ...]) -> None:
        """Prepare the admitted job (in a worker thread if it may take long: staging
        data...); :meth:`_started` starts it, in this thread."""
        name, clock = queued.request.training_job_name, self._clock
        downloading = SecondaryStatus.DOWNLOADING, "Downloading input data"

        def prepare(announce: Announce) -> PreparedLaunch:
            return prepare_launch(
                queued,
                admission,
                hosts,
                plane=self._data,
                downloading=lambda: announce(StatusChanged(name, clock.now(), *downloading)),
                stopped=lambda: self._closing or name in self._stop_on_start,  # from workers
            )

        if may_start_slowly(queued.request, admission):
            self._starts.begin(name, prepare, queued)
        else:
            self._started(run_now(name, prepare, queued, self._pending.append))

    def _take_work(self, wait: bool = False) -> None:
        """Take what the starting and finishing jobs reported (``wait``: once all ended)."""
        for work, ended in ((self._starts, self._started), (self._finishes, self._finished)):
            for report in work.finish() if wait else work.take():
                if isinstance(report, Done | Failed):
                    ended(report)
                else:
                    self._pending.append(report)

    def _started(self, report: Done | Failed) -> None:
        """Take a job's preparation: start it (its hosts watched from now on), or end it
        Stopped when it was told to stop meanwhile (or this executor closes: nothing
        starts then), or Failed when it cannot start."""
        name = report.name
        stopped = name in self._stop_on_start
        self._stop_on_start.discard(name)
        if isinstance(report, Done) and (stopped or self._closing):
            discard_launch(report.value)
            report = Failed(name, LaunchStopped(), report.subject)
        if isinstance(report, Done):
            try:
                hosts, network = start_launch(
                    report.value,
                    limiter=self._limiter,
                    hide_gpus=bool(self._ledger.machine.gpus),
                    close_fds=self._exits.close_fds,
                    die_with_parent=self._die_with_parent,
                )
            except LaunchError as error:
                report = Failed(name, error, report.subject)
        if isinstance(report, Failed):
            self._ledger.release(name)
            self._fail_launch(name, report.error)
            return
        now = self._clock.now()
        job = self._jobs[name] = started_job(report.subject, hosts, network, now)
        for host in job.hosts:
            self._exits.watch(host)
        self._unannounced.append((job, now))

    def _announce_starts(self) -> None:
        """The ``Training`` event of each job started since the last poll, with its
        process's start time read now: read while the program is still being exec'ed, it
        waits for the exec (milliseconds). Its process is not reaped yet, so its pid still
        names it."""
        for job, started in self._unannounced:
            self._pending.append(_training(job, started))
        self._unannounced.clear()

    def _fail_launch(self, name: str, error: BaseException) -> None:
        self._pending.append(launch_failed(name, error, self._clock.now()))

    def _finish(self, job: RunningJob) -> None:
        """Finish the ended job (in a worker thread if it may take long: a large model...);
        :meth:`_finished` takes the outcome."""
        self._release(job)
        limiter, plane, clock = self._limiter, self._data, self._clock

        def finish(announce: Announce) -> Finished:
            return finish_job(job, limiter, plane, clock, announce)

        if may_finish_slowly(job, plane):
            self._finishes.begin(job.name, finish, job)
        else:
            self._finished(run_now(job.name, finish, job, self._pending.append))

    def _finished(self, report: Done | Failed) -> None:
        """Take a job's finish (``Finished``); free what it held."""
        job = report.subject
        release_job(job, self._limiter, self._ledger)
        if isinstance(report, Done):
            self._pending.append(report.value)
        else:
            self._pending.append(finish_failed(job, report.error, self._clock.now()))

    def _release(self, job: RunningJob) -> None:
        self._jobs.pop(job.name, None)
        for host in job.hosts:
            self._exits.close_fds(host)


def _training(job: RunningJob, now: float) -> StatusChanged:
    """The status of a job whose hosts started, naming its process."""
    message = "Training image download completed. Training in progress."
    start_time = process_start_time(job.pgid)
    return StatusChanged(job.name, now, SecondaryStatus.TRAINING, message, job.pgid, start_time)
