"""Starting and finishing the local executor's jobs (:mod:`.local`): at once when that is
quick, in a worker thread (:mod:`.job_work`) when it may take long (staging data, packing a
large model: :func:`.local_launch.may_start_slowly`, :func:`.local_finish.may_finish_slowly`),
so that a slow job holds up no other. A job told to stop while it starts stops between two
steps of its start (:class:`.errors.LaunchStopped`), or at once once it runs.
"""

from __future__ import annotations

from tunelab.domain.enums import SecondaryStatus
from tunelab.execution.base import ExecutorEvent, StatusChanged
from tunelab.execution.clock import Clock
from tunelab.execution.exit_watcher import ExitWatcher
from tunelab.execution.hosts import HostProcess
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
    launch_failed,
    launch_job,
    may_start_slowly,
    started_job,
)
from tunelab.execution.network import JobNetwork
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

    def _init_work(self, threads: int) -> None:
        """``threads``: how many jobs may be starting, and how many finishing, at once."""
        self._starts = JobWork(self._exits.wake, threads)
        self._finishes = JobWork(self._exits.wake, threads)
        self._stop_on_start: dict[str, SecondaryStatus] = {}
        """Jobs told to stop while they were starting (read by the workers too)."""

    def _start(self, queued: QueuedJob, admission: Admission, hosts: tuple[str, ...]) -> None:
        """Start the admitted job (in a worker thread if it may take long: staging data...);
        :meth:`_started` takes the outcome."""
        name, clock = queued.request.training_job_name, self._clock
        downloading = SecondaryStatus.DOWNLOADING, "Downloading input data"

        def start(announce: Announce) -> tuple[list[HostProcess], JobNetwork | None]:
            return launch_job(
                queued,
                admission,
                hosts,
                limiter=self._limiter,
                plane=self._data,
                hide_gpus=bool(self._ledger.machine.gpus),
                downloading=lambda: announce(StatusChanged(name, clock.now(), *downloading)),
                close_fds=self._exits.close_fds,
                stopped=lambda: name in self._stop_on_start,  # read from the worker
            )

        if may_start_slowly(queued.request, admission):
            self._starts.begin(name, start, queued)
        else:
            self._started(run_now(name, start, queued, self._pending.append))

    def _take_work(self, wait: bool = False) -> None:
        """Take what the starting and finishing jobs reported (``wait``: once all ended)."""
        for work, ended in ((self._starts, self._started), (self._finishes, self._finished)):
            for report in work.finish() if wait else work.take():
                if isinstance(report, Done | Failed):
                    ended(report)
                else:
                    self._pending.append(report)

    def _started(self, report: Done | Failed) -> None:
        """Take a launch's end: the failure, or the hosts (watched from now on; the job
        stopped at once if told to while it started)."""
        name, stop = report.name, self._stop_on_start.pop(report.name, None)
        if isinstance(report, Failed):  # told to stop while it started, or it cannot
            self._ledger.release(name)
            self._fail_launch(name, report.error)
            return
        now = self._clock.now()
        job = self._jobs[name] = started_job(report.subject, *report.value, now)
        for host in job.hosts:
            self._exits.watch(host)
        self._pending.append(_training(job, now))
        if stop is not None:
            job.begin_stop(stop, now, self._grace)

    def _fail_launch(self, name: str, error: BaseException) -> None:
        self._pending.append(launch_failed(name, error, self._clock.now()))

    def _finish(self, job: RunningJob) -> None:
        """Finish the ended job (in a worker thread if it may take long: a large model...);
        :meth:`_finished` takes the outcome."""
        self._release(job)
        limiter, plane, clock = self._limiter, self._data, self._clock

        def finish(announce: Announce) -> list[ExecutorEvent]:
            return finish_job(job, limiter, plane, clock)

        if may_finish_slowly(job, plane):
            self._finishes.begin(job.name, finish, job)
        else:
            self._finished(run_now(job.name, finish, job, self._pending.append))

    def _finished(self, report: Done | Failed) -> None:
        """Take a job's finish: its events (the last one ``Finished``); free what it held."""
        job = report.subject
        release_job(job, self._limiter, self._ledger)
        if isinstance(report, Done):
            self._pending.extend(report.value)
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
