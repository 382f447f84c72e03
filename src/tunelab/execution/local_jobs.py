"""The local executor's jobs: one waiting for capacity (:class:`QueuedJob`) and one whose
hosts run (:class:`RunningJob`), with the deadlines that stop them.

A running job is stopped with SIGTERM to its process group and SIGKILL at its
``kill_deadline``, the grace period later: on a stop, a spot interruption, a data error,
an exceeded limit (MaxRuntimeInSeconds, MaxWaitTimeInSeconds) or when one of its hosts
failed.
"""

from __future__ import annotations

import signal
from collections.abc import Iterable
from dataclasses import dataclass

from tunelab.domain.enums import SecondaryStatus, TrainingJobStatus
from tunelab.execution.base import Finished, LaunchRequest
from tunelab.execution.hosts import HostProcess
from tunelab.execution.job_processes import job_marker
from tunelab.execution.network import JobNetwork
from tunelab.execution.processes import signal_group
from tunelab.execution.resources import Demand


@dataclass
class QueuedJob:
    """A submitted job waiting for the ledger to admit it; ``announced`` is the reason
    last reported for the wait (empty: none yet)."""

    request: LaunchRequest
    argv: list[str]
    demand: Demand
    announced: str = ""


@dataclass(eq=False)
class RunningJob:
    """A job whose hosts were started; ``stop_reason`` is set once it is told to stop."""

    request: LaunchRequest
    demand: Demand
    hosts: list[HostProcess]
    network: JobNetwork | None
    runtime_deadline: float | None
    oom_kills: int | None
    stop_reason: SecondaryStatus | None = None
    stop_message: str | None = None
    kill_deadline: float | None = None
    failing: bool = False
    """A host failed: the others were told to stop."""
    ended: bool = False
    """Every host exited, and what the job left running was killed and reaped."""
    backlog: bool = False
    """Output is left to read: the last poll read as much as it takes at once."""

    @property
    def name(self) -> str:
        return self.request.training_job_name

    @property
    def pgid(self) -> int:
        return self.hosts[0].proc.pid

    @property
    def marker(self) -> str:
        """What the environment of every process of the attempt carries (job_processes.py)."""
        return job_marker(self.request.job_dir, self.request.attempt)

    def begin_stop(
        self, reason: SecondaryStatus, now: float, grace: float, message: str | None = None
    ) -> None:
        """SIGTERM the job, SIGKILL it ``grace`` seconds later; it ends as ``reason``."""
        self.stop_reason, self.stop_message = reason, message
        self.kill_deadline = now + grace
        signal_group(self.pgid, signal.SIGTERM)

    def enforce_deadlines(self, now: float, grace: float) -> None:
        """SIGKILL at the kill deadline; stop the job when a limit ran out."""
        if self.kill_deadline is not None and now >= self.kill_deadline:
            self.kill_deadline = None
            signal_group(self.pgid, signal.SIGKILL)
        elif self.stop_reason is None and not self.failing:
            if self.request.not_after is not None and now >= self.request.not_after:
                self.begin_stop(SecondaryStatus.MAX_WAIT_TIME_EXCEEDED, now, grace)
            elif self.runtime_deadline is not None and now >= self.runtime_deadline:
                self.begin_stop(SecondaryStatus.MAX_RUNTIME_EXCEEDED, now, grace)

    def notice_failed_host(self, now: float, grace: float) -> None:
        """Once a host failed, SIGTERM the others (they cannot finish without it)."""
        if not self.failing and any(h.status not in (0, None) for h in self.hosts):
            self.failing = True
            if self.stop_reason is None and not all(h.exited() for h in self.hosts):
                self.kill_deadline = now + grace
                signal_group(self.pgid, signal.SIGTERM)


def max_wait_exceeded(request: LaunchRequest, now: float) -> Finished:
    """How a job still waiting for capacity at its MaxWaitTimeInSeconds ends."""
    limit = request.definition.stopping.max_wait_seconds
    reason = (
        "MaxWaitTimeExceeded: the managed spot training job did not complete within "
        f"MaxWaitTimeInSeconds ({limit} s)"
    )
    stopped = TrainingJobStatus.STOPPED, SecondaryStatus.MAX_WAIT_TIME_EXCEEDED
    return Finished(request.training_job_name, now, *stopped, None, reason)


def wait_timeout(
    timeout: float,
    now: float,
    jobs: Iterable[RunningJob],
    queue: Iterable[QueuedJob],
    poll_interval: float,
) -> float:
    """``timeout`` cut to the next deadline of a job, and to ``poll_interval`` while
    something outside this process may change (jobs waiting for capacity, spot jobs
    that may be reclaimed)."""
    for job in jobs:
        if job.kill_deadline is not None:
            timeout = min(timeout, job.kill_deadline - now)
        elif job.stop_reason is None:
            for deadline in (job.runtime_deadline, job.request.not_after):
                if deadline is not None:
                    timeout = min(timeout, deadline - now)
        if job.demand.spot:
            timeout = min(timeout, poll_interval)
    for queued in queue:
        timeout = min(timeout, poll_interval)
        if queued.request.not_after is not None:
            timeout = min(timeout, queued.request.not_after - now)
    return timeout
