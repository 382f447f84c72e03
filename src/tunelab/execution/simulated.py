"""A simulated executor on a fake clock: training jobs are scripts of timed log
lines, so a whole tuning job runs in milliseconds in tests and benchmarks.

A :data:`Program` maps a launch request to a :class:`SimulatedRun`: the lines the
job prints (each after a delay from its start) and how it ends. Stopping and
``MaxRuntimeInSeconds`` behave as with the local executor, without the grace
period (the simulated program obeys SIGTERM at once).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from tunelab.domain.enums import SecondaryStatus, TrainingJobStatus
from tunelab.execution.base import (
    ExecutorEvent,
    Finished,
    LaunchRequest,
    OutputLines,
    StatusChanged,
)
from tunelab.execution.clock import FakeClock


@dataclass(frozen=True)
class SimulatedRun:
    """``lines``: (seconds after start, text). The job ends ``duration`` seconds
    after start with ``exit_code``; ``failure`` plays the ``output/failure`` file, and
    with ``internal`` the failure is the machinery's (``Finished.internal``).
    ``interrupted_after``: spot capacity is reclaimed that many seconds after start."""

    lines: tuple[tuple[float, str], ...] = ()
    duration: float = 1.0
    exit_code: int = 0
    failure: str | None = None
    internal: bool = False
    interrupted_after: float | None = None


Program = Callable[[LaunchRequest], SimulatedRun]


@dataclass
class _Job:
    request: LaunchRequest
    run: SimulatedRun
    started: float
    next_line: int = 0
    stop_reason: SecondaryStatus | None = None
    deadline: float | None = None
    not_after: float | None = None


@dataclass
class SimulatedExecutor:
    program: Program
    clock: FakeClock = field(default_factory=FakeClock)
    launches: list[LaunchRequest] = field(default_factory=list)
    _jobs: dict[str, _Job] = field(default_factory=dict)
    _pids: itertools.count = field(default_factory=lambda: itertools.count(1000))
    _pending: list[ExecutorEvent] = field(default_factory=list)

    def submit(self, request: LaunchRequest) -> None:
        now = self.clock.now()
        self.launches.append(request)
        job = _Job(request, self.program(request), now)
        limit = request.definition.stopping.max_runtime_seconds
        job.deadline = None if limit is None else now + limit - request.runtime_used
        job.not_after = request.not_after
        self._jobs[request.training_job_name] = job
        self._pending.append(
            StatusChanged(
                request.training_job_name, now, SecondaryStatus.TRAINING, pid=next(self._pids)
            )
        )

    def poll(self) -> list[ExecutorEvent]:
        now = self.clock.now()
        events, self._pending = self._pending, []
        for name, job in list(self._jobs.items()):
            end = job.started + job.run.duration
            if job.run.interrupted_after is not None:
                end = min(end, job.started + job.run.interrupted_after)
            # the wait is checked first, as the local executor does
            if job.not_after is not None and job.not_after < end and now >= job.not_after:
                job.stop_reason = job.stop_reason or SecondaryStatus.MAX_WAIT_TIME_EXCEEDED
            if job.deadline is not None and job.deadline < end and now >= job.deadline:
                job.stop_reason = job.stop_reason or SecondaryStatus.MAX_RUNTIME_EXCEEDED
            cutoff = now if job.stop_reason is None else min(now, end)
            lines = []
            while job.next_line < len(job.run.lines):
                offset, text = job.run.lines[job.next_line]
                if job.started + offset > cutoff:
                    break
                lines.append(text)
                job.next_line += 1
            if lines:
                events.append(OutputLines(name, now, tuple(lines)))
            if job.stop_reason is not None or now >= end:
                events.append(self._finish(job, now if job.stop_reason else end))
                del self._jobs[name]
        return events

    def _finish(self, job: _Job, at: float) -> Finished:
        name = job.request.training_job_name
        if job.stop_reason is SecondaryStatus.MAX_RUNTIME_EXCEEDED:
            limit = job.request.definition.stopping.max_runtime_seconds
            reason = (
                f"MaxRuntimeExceeded: training job ran longer than MaxRuntimeInSeconds ({limit} s)"
            )
            return Finished(name, at, TrainingJobStatus.STOPPED, job.stop_reason, None, reason)
        if job.stop_reason is SecondaryStatus.MAX_WAIT_TIME_EXCEEDED:
            reason = "MaxWaitTimeExceeded: the managed spot training job did not complete"
            return Finished(name, at, TrainingJobStatus.STOPPED, job.stop_reason, None, reason)
        interrupted = job.run.interrupted_after
        if job.stop_reason is None and interrupted is not None and interrupted < job.run.duration:
            reason = "Interrupted: spot capacity was reclaimed"
            failed = TrainingJobStatus.FAILED, SecondaryStatus.INTERRUPTED
            return Finished(name, at, *failed, None, reason, internal=True)
        if job.stop_reason is not None:
            return Finished(name, at, TrainingJobStatus.STOPPED, SecondaryStatus.STOPPED)
        if job.run.exit_code == 0:
            return Finished(name, at, TrainingJobStatus.COMPLETED, SecondaryStatus.COMPLETED, 0)
        reason = job.run.failure or f"AlgorithmError: program exited with code {job.run.exit_code}"
        failed = TrainingJobStatus.FAILED, SecondaryStatus.FAILED
        return Finished(name, at, *failed, job.run.exit_code, reason, internal=job.run.internal)

    def wait(self, timeout: float) -> None:
        """Advance the fake clock to the next scripted moment, at most ``timeout``."""
        now = self.clock.now()
        if self._pending:
            return
        moments = []
        for job in self._jobs.values():
            if job.stop_reason is not None:
                return
            moments.append(job.started + job.run.duration)
            if job.run.interrupted_after is not None:
                moments.append(job.started + job.run.interrupted_after)
            for deadline in (job.deadline, job.not_after):
                if deadline is not None:
                    moments.append(deadline)
            if job.next_line < len(job.run.lines):
                moments.append(job.started + job.run.lines[job.next_line][0])
        upcoming = heapq.nsmallest(1, (m for m in moments if m > now))
        target = min(upcoming[0], now + timeout) if upcoming else now + timeout
        self.clock.advance_to(target)

    def stop(self, name: str) -> None:
        job = self._jobs.get(name)
        if job is not None and job.stop_reason is None:
            job.stop_reason = SecondaryStatus.STOPPED

    def terminate_orphans(self, processes: Sequence[tuple[int, int | None]]) -> int:
        return 0  # simulated jobs never outlive their executor

    def wait_handle(self) -> int | None:
        return None  # its clock is the driver's to advance

    def leftover_processes(
        self, attempts: Mapping[str, tuple[str, int]]
    ) -> dict[str, list[tuple[int, int]]]:
        return {}  # no process outlives its executor

    def running(self) -> int:
        return len(self._jobs)

    def close(self) -> None:
        self._jobs.clear()
