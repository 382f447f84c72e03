"""The local executor: each training job attempt is a subprocess on this machine.

A job runs in its own session (process group), with stdout and stderr going to one
log file per attempt, ``<job_dir>/logs/attempt-<n>.log``; :meth:`LocalExecutor.poll`
tails those files. Exits are detected with pidfds (Linux) so that :meth:`wait`
wakes up as soon as a child exits. When a job's main process exits, whatever is
left of its process group is killed, as when a container's PID 1 exits.
"""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import tarfile
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from tunelab.domain.enums import SecondaryStatus, TrainingJobStatus
from tunelab.execution.base import (
    ExecutorEvent,
    Finished,
    LaunchRequest,
    OutputLines,
    StatusChanged,
)
from tunelab.execution.clock import Clock, SystemClock
from tunelab.execution.contract import (
    AlgorithmImages,
    JobLayout,
    LaunchError,
    build_environment,
    prepare_job_dir,
    resolve_argv,
)
from tunelab.execution.processes import (
    process_start_time,
    signal_group,
    terminate_orphans,
)
from tunelab.execution.staging import artifact_dir, package_outputs, stage_channels

MAX_REASON = 1024
_TAIL_LINES = 20
_MAX_LINE = 64 * 1024  # a partial line longer than this is delivered as it is
_READ_CHUNK = 1 << 16


@dataclass(eq=False)
class _Job:
    request: LaunchRequest
    layout: JobLayout
    proc: subprocess.Popen[bytes]
    log_fd: int
    pidfd: int | None
    runtime_deadline: float | None
    stop_reason: SecondaryStatus | None = None
    kill_deadline: float | None = None
    partial: bytes = b""
    tail: deque[str] = field(default_factory=lambda: deque(maxlen=_TAIL_LINES))

    @property
    def name(self) -> str:
        return self.request.training_job_name


class LocalExecutor:
    """Runs attempts as local subprocesses (see the module docstring). Not thread-safe.

    ``stop_grace_seconds`` is the time between SIGTERM and SIGKILL on a stop or when
    ``MaxRuntimeInSeconds`` is exceeded; ``poll_interval`` bounds how long :meth:`wait`
    sleeps between exit checks where pidfds are unavailable."""

    def __init__(
        self,
        clock: Clock | None = None,
        stop_grace_seconds: float = 120.0,
        poll_interval: float = 0.2,
        s3_root: str | None = None,
        algorithms: AlgorithmImages | None = None,
    ) -> None:
        """``s3_root``: tunelab's local object store, where ``s3://`` channels and
        outputs live (None: ``s3://`` is not local). ``algorithms``: the images of
        algorithms registered by name."""
        self._clock = clock or SystemClock()
        self._s3_root = s3_root
        self._algorithms = algorithms
        self._grace = stop_grace_seconds
        self._poll_interval = poll_interval
        self._jobs: dict[str, _Job] = {}
        self._pending: list[ExecutorEvent] = []
        self._selector = selectors.DefaultSelector()

    # -- Executor protocol ------------------------------------------------------------

    def submit(self, request: LaunchRequest) -> None:
        """Lay out the job directory, stage the channels and start the process; a launch
        failure is reported as ``Finished`` (Failed) by the next :meth:`poll`."""
        name = request.training_job_name
        if name in self._jobs or any(
            isinstance(e, Finished) and e.name == name for e in self._pending
        ):
            raise ValueError(f"training job {name} is already running")
        try:
            argv = resolve_argv(request.definition, self._algorithms)
            layout = prepare_job_dir(request)
            if request.definition.channels:
                self._emit_status(name, SecondaryStatus.DOWNLOADING, "Downloading input data")
                stage_channels(request.definition, layout, self._s3_root)
            job = self._launch(request, layout, argv)
        except LaunchError as exc:
            now = self._clock.now()
            status, secondary = TrainingJobStatus.FAILED, SecondaryStatus.FAILED
            self._pending.append(Finished(name, now, status, secondary, None, exc.reason))
            return
        self._jobs[name] = job
        self._pending.append(
            StatusChanged(
                name,
                self._clock.now(),
                SecondaryStatus.TRAINING,
                "Training image download completed. Training in progress.",
                pid=job.proc.pid,
                pid_start_time=process_start_time(job.proc.pid),
            )
        )

    def poll(self) -> list[ExecutorEvent]:
        events, self._pending = self._pending, []
        if not self._jobs:
            return events
        now = self._clock.now()
        ready = {key.data for key, _ in self._selector.select(0)}
        for job in list(self._jobs.values()):
            self._enforce_deadlines(job, now)
            lines = self._read_lines(job)
            returncode: int | None = None
            if (job.pidfd is None or job in ready) and _has_exited(job.proc.pid):
                signal_group(job.proc.pid, signal.SIGKILL)  # the "container" goes away
                returncode = job.proc.wait()
                lines += self._read_lines(job, final=True)
            if lines:
                events.append(OutputLines(job.name, self._clock.now(), tuple(lines)))
            if returncode is not None:
                events.extend(self._finish(job, returncode))
        return events

    def wait(self, timeout: float) -> None:
        if self._pending:
            return
        now = self._clock.now()
        for job in self._jobs.values():
            if job.kill_deadline is not None:
                timeout = min(timeout, job.kill_deadline - now)
            elif job.stop_reason is None and job.runtime_deadline is not None:
                timeout = min(timeout, job.runtime_deadline - now)
        if timeout <= 0:
            return
        if all(job.pidfd is not None for job in self._jobs.values()):
            self._selector.select(timeout)
            return
        end = time.monotonic() + timeout
        while True:
            if self._selector.select(0) or any(
                job.pidfd is None and _has_exited(job.proc.pid) for job in self._jobs.values()
            ):
                return
            remaining = end - time.monotonic()
            if remaining <= 0:
                return
            time.sleep(min(self._poll_interval, remaining))

    def stop(self, name: str) -> None:
        job = self._jobs.get(name)
        if job is None or job.stop_reason is not None or _has_exited(job.proc.pid):
            return
        self._begin_stop(job, SecondaryStatus.STOPPED, self._clock.now())

    def terminate_orphans(self, processes: Sequence[tuple[int, int | None]]) -> int:
        """:func:`terminate_orphans` with this executor's grace period (blocks up to it)."""
        return terminate_orphans(processes, self._grace)

    def running(self) -> int:
        return len(self._jobs) + sum(isinstance(e, Finished) for e in self._pending)

    def close(self) -> None:
        for job in list(self._jobs.values()):
            self._release(job)
        self._selector.close()

    # -- internals --------------------------------------------------------------------

    def _emit_status(self, name: str, secondary: SecondaryStatus, message: str) -> None:
        self._pending.append(StatusChanged(name, self._clock.now(), secondary, message))

    def _launch(self, request: LaunchRequest, layout: JobLayout, argv: list[str]) -> _Job:
        env = build_environment(request, layout)
        log_path = layout.log_path(request.attempt)
        try:
            out = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise LaunchError(f"could not create the log file {log_path}: {exc}") from exc
        try:
            proc = subprocess.Popen(
                argv,
                cwd=layout.root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                close_fds=True,
            )
        except OSError as exc:
            raise LaunchError(f"TrainingImage program {argv[0]} could not start: {exc}") from exc
        finally:
            os.close(out)
        log_fd = os.open(log_path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            pidfd: int | None = os.pidfd_open(proc.pid)
        except (OSError, AttributeError):
            pidfd = None
        max_runtime = request.definition.stopping.max_runtime_seconds
        deadline = None if max_runtime is None else self._clock.now() + max_runtime
        job = _Job(request, layout, proc, log_fd, pidfd, deadline)
        if pidfd is not None:
            self._selector.register(pidfd, selectors.EVENT_READ, job)
        return job

    def _enforce_deadlines(self, job: _Job, now: float) -> None:
        if job.kill_deadline is not None and now >= job.kill_deadline:
            job.kill_deadline = None
            signal_group(job.proc.pid, signal.SIGKILL)
        elif (
            job.stop_reason is None
            and job.runtime_deadline is not None
            and now >= job.runtime_deadline
        ):
            self._begin_stop(job, SecondaryStatus.MAX_RUNTIME_EXCEEDED, now)

    def _begin_stop(self, job: _Job, reason: SecondaryStatus, now: float) -> None:
        job.stop_reason = reason
        job.kill_deadline = now + self._grace
        signal_group(job.proc.pid, signal.SIGTERM)

    def _read_lines(self, job: _Job, final: bool = False) -> list[str]:
        """New complete lines of the log (and the partial last one when ``final``)."""
        chunks = [job.partial]
        while chunk := os.read(job.log_fd, _READ_CHUNK):
            chunks.append(chunk)
        data = b"".join(chunks)
        *complete, partial = data.split(b"\n")
        if final or len(partial) > _MAX_LINE:
            if partial:
                complete.append(partial)
            partial = b""
        job.partial = partial
        lines = [raw.decode("utf-8", errors="replace").rstrip("\r") for raw in complete]
        job.tail.extend(lines)
        return lines

    def _finish(self, job: _Job, returncode: int) -> list[ExecutorEvent]:
        self._release(job)
        request = job.request
        events: list[ExecutorEvent] = []
        exit_code = returncode if returncode >= 0 else 128 - returncode
        reason: str | None = None
        if job.stop_reason is SecondaryStatus.MAX_RUNTIME_EXCEEDED:
            status, secondary = TrainingJobStatus.STOPPED, job.stop_reason
            max_runtime = request.definition.stopping.max_runtime_seconds
            reason = (
                "MaxRuntimeExceeded: training job ran longer than MaxRuntimeInSeconds "
                f"({max_runtime} s)"
            )
        elif job.stop_reason is SecondaryStatus.STOPPED:
            status, secondary = TrainingJobStatus.STOPPED, SecondaryStatus.STOPPED
        elif returncode == 0:
            status, secondary = TrainingJobStatus.COMPLETED, SecondaryStatus.COMPLETED
        else:
            status, secondary = TrainingJobStatus.FAILED, SecondaryStatus.FAILED
            reason = _failure_reason(job, returncode)
        artifacts = None
        output_path = request.definition.output_path
        name = request.training_job_name
        if status is not TrainingJobStatus.FAILED and artifact_dir(
            output_path, name, self._s3_root
        ):
            events.append(
                StatusChanged(
                    name,
                    self._clock.now(),
                    SecondaryStatus.UPLOADING,
                    "Uploading generated training model",
                )
            )
            try:
                artifacts = package_outputs(job.layout, output_path, name, self._s3_root)
            except (OSError, tarfile.TarError) as exc:
                status, secondary = TrainingJobStatus.FAILED, SecondaryStatus.FAILED
                reason = f"could not write the model artifacts to {output_path}: {exc}"[
                    :MAX_REASON
                ]
        events.append(
            Finished(name, self._clock.now(), status, secondary, exit_code, reason, artifacts)
        )
        return events

    def _release(self, job: _Job) -> None:
        self._jobs.pop(job.name, None)
        if job.pidfd is not None:
            self._selector.unregister(job.pidfd)
            os.close(job.pidfd)
            job.pidfd = None
        os.close(job.log_fd)


def _has_exited(pid: int) -> bool:
    """True when the child has exited; it is left waitable (not reaped), so its pid,
    and the process group id, cannot be recycled yet."""
    try:
        flags = os.WEXITED | os.WNOHANG | os.WNOWAIT
        return os.waitid(os.P_PID, pid, flags) is not None
    except ChildProcessError:
        return True


def _failure_reason(job: _Job, returncode: int) -> str:
    """``output/failure`` (first 1024 chars) if written, else exit code and log tail."""
    try:
        with open(job.layout.failure_path, encoding="utf-8", errors="replace") as f:
            written = f.read(MAX_REASON)
        if written.strip():
            return written
    except OSError:
        pass
    if returncode < 0:
        try:
            how = f"terminated by signal {signal.Signals(-returncode).name}"
        except ValueError:
            how = f"terminated by signal {-returncode}"
    else:
        how = f"exited with code {returncode}"
    head = f"AlgorithmError: program {how}"
    if not job.tail:
        return head
    head += "; last log lines: "
    tail = "\n".join(job.tail)
    room = MAX_REASON - len(head)
    return head + (tail if len(tail) <= room else "..." + tail[-(room - 3) :])
