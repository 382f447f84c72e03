"""The executor interface: run training jobs, report what happened.

An executor runs attempts of training jobs. It never decides *what* to run; the
orchestrator submits :class:`LaunchRequest` s and polls :class:`ExecutorEvent` s.

Event order, per job: zero or more ``StatusChanged`` / ``OutputLines`` events,
then exactly one ``Finished``. All output lines a job wrote are delivered before
its ``Finished``. A launch that fails (missing program, unreadable channel) is
reported as ``Finished`` with status Failed and a reason, never raised, so the
orchestrator has a single path for every outcome.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from tunelab.domain.definition import TrainingJobDefinition
from tunelab.domain.enums import SecondaryStatus, TrainingJobStatus


@dataclass(frozen=True)
class LaunchRequest:
    """One attempt of one training job.

    ``hyperparameters`` is the complete ``hyperparameters.json`` content (static,
    tuned and ``_tuning_objective_metric``), all strings. ``job_dir`` is the root of
    the job's container-contract directory (``/opt/ml`` in SageMaker)."""

    training_job_name: str
    training_job_arn: str
    definition: TrainingJobDefinition
    hyperparameters: Mapping[str, str]
    job_dir: str
    attempt: int = 1
    tuning_job_name: str | None = None
    not_after: float | None = None
    """Managed spot: when ``MaxWaitTimeInSeconds`` runs out (creation time + the wait),
    waiting for capacity and running included; the attempt then ends Stopped with
    ``MaxWaitTimeExceeded``."""
    runtime_used: float = 0.0
    """Seconds earlier attempts trained: ``MaxRuntimeInSeconds`` counts them too."""


@dataclass(frozen=True)
class StatusChanged:
    """The job entered ``secondary`` (Downloading, Training, Uploading...). With
    Training, ``pid`` and ``pid_start_time`` identify the process (the start time
    is the kernel's, so a recycled pid can be told apart)."""

    name: str
    time: float
    secondary: SecondaryStatus
    message: str = ""
    pid: int | None = None
    pid_start_time: int | None = None


@dataclass(frozen=True)
class OutputLines:
    """New complete lines of the job's combined stdout/stderr log, in order."""

    name: str
    time: float
    lines: tuple[str, ...]


@dataclass(frozen=True)
class Finished:
    """The attempt is over. ``status`` is Completed (exit 0), Failed (non-zero exit,
    launch error, or ``secondary`` Interrupted: spot capacity reclaimed) or Stopped (stop
    request, max runtime or max wait; ``secondary`` tells which: Stopped,
    MaxRuntimeExceeded or MaxWaitTimeExceeded)."""

    name: str
    time: float
    status: TrainingJobStatus
    secondary: SecondaryStatus
    exit_code: int | None = None
    failure_reason: str | None = None
    model_artifacts: str | None = None
    internal: bool = False
    """The attempt ended for a reason of tunelab's machinery, not the program's: a launch
    error of the executor, a lost process, or (``secondary`` Interrupted) spot capacity
    reclaimed. The orchestrator may run the job again (managed spot, RetryStrategy)."""


ExecutorEvent = StatusChanged | OutputLines | Finished


class Executor(Protocol):
    """Runs training job attempts. Not thread-safe: one orchestrator drives it."""

    def submit(self, request: LaunchRequest) -> None:
        """Start the attempt (may return before the process runs)."""

    def poll(self) -> list[ExecutorEvent]:
        """Everything that happened since the last poll, oldest first."""

    def wait(self, timeout: float) -> None:
        """Block until an event may be ready (a process exited) or ``timeout``
        seconds have passed."""

    def wait_handle(self) -> int | None:
        """For a driver that waits on several executors at once (a server's scheduler): a
        file descriptor that is readable while :meth:`wait` would return at once (a
        process exited, a worker thread reported, something is left to poll); None when
        this executor cannot tell so (the driver then polls it on a timer). Readiness
        ends with the :meth:`poll` that takes what was ready."""

    def stop(self, name: str) -> None:
        """Ask the job to stop: SIGTERM, then SIGKILL after the grace period. The
        outcome arrives as ``Finished`` (Stopped). Unknown names are ignored."""

    def terminate_orphans(self, processes: Sequence[tuple[int, int | None]]) -> int:
        """End processes left running by a crashed tunelab, given as
        ``(pid, pid_start_time)``: SIGTERM to all, then SIGKILL to those still
        there after the grace period; a pid that now names another process (its
        start time differs) is spared. Returns how many were found."""

    def leftover_processes(
        self, attempts: Mapping[str, tuple[str, int]]
    ) -> dict[str, list[tuple[int, int]]]:
        """What a crashed tunelab may have started without recording it: for each training
        job name of ``attempts`` (its job directory and latest attempt) whose attempt was
        started, or that has live processes of it or an earlier attempt, the ``(pid,
        pid_start_time)`` of those processes (for :meth:`terminate_orphans`; none when the
        attempt's program already ended). Other jobs are left out."""

    def running(self) -> int:
        """Attempts submitted and not yet reported Finished."""

    def close(self) -> None:
        """Release resources. Running processes are left alone (see ``stop``)."""
