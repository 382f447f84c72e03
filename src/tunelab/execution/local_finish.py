"""The end of a local job: the lines of its output log, and the events that report how
it finished (:mod:`.outcome` decides; :mod:`.outputs` uploads the model artifacts).

A job that did not fail gets ``Uploading`` before its ``Finished`` when its
``OutputDataConfig.S3OutputPath`` is reachable; a failed upload fails the job. A data
error (a Pipe channel or the checkpoint sync, :mod:`.jobdata`) fails a job that was not
interrupted.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

from tunelab.domain.enums import SecondaryStatus, TrainingJobStatus
from tunelab.execution.base import ExecutorEvent, Finished, StatusChanged
from tunelab.execution.clock import Clock
from tunelab.execution.errors import LaunchError
from tunelab.execution.hosts import HostProcess
from tunelab.execution.job_processes import kill_marked
from tunelab.execution.ledger import Ledger
from tunelab.execution.limits import MemoryLimiter
from tunelab.execution.local_jobs import RunningJob
from tunelab.execution.local_launch import remove_staged
from tunelab.execution.log_lines import split_lines
from tunelab.execution.outcome import MAX_REASON, decide
from tunelab.execution.outputs import (
    compression_of,
    kms_key_of,
    output_reachable,
    package_outputs,
)
from tunelab.execution.processes import signal_group
from tunelab.execution.storage import DataPlane, resolve

_READ_CHUNK = 1 << 16
READ_PER_POLL = 1 << 20
"""About the most of a job's log read per poll: a burst of output (a program may print
millions of lines at once) is handed on in pieces, so memory stays bounded."""


def read_lines(host: HostProcess, final: bool = False) -> tuple[list[str], bool]:
    """New complete lines of the host's log, from about :data:`READ_PER_POLL` bytes at
    most, as :mod:`.log_lines` defines lines, and whether the log was read to its end
    (then, when ``final``, the partial last line is one too)."""
    if host.log_fd is None:
        return [], True
    chunks, size, drained = [host.partial], 0, False
    while size < READ_PER_POLL:
        chunk = os.read(host.log_fd, _READ_CHUNK)
        if not chunk:
            drained = True
            break
        chunks.append(chunk)
        size += len(chunk)
    complete, host.partial = split_lines(b"".join(chunks), final and drained)
    lines = [raw.decode("utf-8", errors="replace") for raw in complete]
    host.tail.extend(lines)
    return lines, drained


def collect_output(job: RunningJob) -> tuple[list[str], bool]:
    """The job's new output lines (its last host's log) and whether it ended and all its
    output was read. Once every host exited, every process the job started is killed, as
    when containers stop (its process group, and the processes carrying its marker:
    daemons that left the group), and the hosts are reaped; ``job.backlog`` says whether
    output is left to read (the next poll should come at once)."""
    if not job.ended and all(h.status is not None for h in job.hosts):
        signal_group(job.pgid, signal.SIGKILL)  # the "containers" go away
        kill_marked(job.marker)  # with what left the group (setsid, double fork)
        for host in job.hosts:
            host.reap()
        job.ended = True
    lines, drained = read_lines(job.hosts[-1], final=job.ended)
    job.backlog = not drained
    return lines, job.ended and drained


SLOW_OUTPUT_BYTES = 4 << 20
"""More than this much in ``model/`` and ``output/data/`` (or more than
:data:`SLOW_OUTPUT_FILES` files) may take long to pack."""
SLOW_OUTPUT_FILES = 1000


def may_finish_slowly(job: RunningJob, plane: DataPlane) -> bool:
    """Whether finishing the job may take long: a last checkpoint upload, data streams to
    stop, a KMS key, an output not on this machine, or much to pack. The executor finishes
    such a job in a worker thread (:mod:`.job_work`), others at once."""
    if any(h.data is not None and (h.data.checkpoints or h.data.feeders) for h in job.hosts):
        return True
    definition = job.request.definition
    if kms_key_of(definition) is not None:
        return True
    try:
        if not resolve(definition.output_path, plane).is_local:
            return True
    except LaunchError:  # nothing will be uploaded
        return False
    layout = job.hosts[0].layout
    return _more_than(
        (layout.model_dir, layout.output_data_dir), SLOW_OUTPUT_BYTES, SLOW_OUTPUT_FILES
    )


def _more_than(folders: tuple[str, ...], size: int, files: int) -> bool:
    """Whether the files under ``folders`` exceed ``size`` bytes or ``files`` entries
    (stops counting as soon as they do; an unreadable entry counts as too much)."""
    pending, total, count = list(folders), 0, 0
    while pending:
        try:
            with os.scandir(pending.pop()) as entries:
                for entry in entries:
                    count += 1
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(entry.path)
                    else:
                        total += entry.stat(follow_symlinks=False).st_size
                    if total > size or count > files:
                        return True
        except FileNotFoundError:
            continue
        except OSError:
            return True
    return False


def finish_job(
    job: RunningJob,
    limiter: MemoryLimiter,
    plane: DataPlane,
    clock: Clock,
    announce: Callable[[ExecutorEvent], None],
) -> Finished:
    """Close the ended job's data streams, upload its model and report how it finished
    (perhaps in a worker thread: :mod:`.job_work`): ``Uploading`` is announced as the
    upload begins, ``Finished`` returned. Its hosts have been reaped and their
    descriptors closed; what it holds is freed by :func:`release_job` afterwards."""
    data_failure = None
    for host in job.hosts:
        failure = host.data.close() if host.data is not None else None  # jobdata.py
        data_failure = data_failure or failure
    if job.request.definition.channels:  # as an instance's disk goes
        remove_staged(job.request.job_dir, job.hosts[0].host.hosts)
    outcome = decide(
        job.request, job.hosts, job.stop_reason, job.stop_message, limiter, job.oom_kills
    )
    status, secondary, reason = outcome.status, outcome.secondary, outcome.reason
    if data_failure and secondary is not SecondaryStatus.INTERRUPTED:
        status, secondary = TrainingJobStatus.FAILED, SecondaryStatus.FAILED
        reason = data_failure  # a Pipe channel or the checkpoint sync failed (jobdata.py)
    request = job.request
    artifacts = None
    output_path = request.definition.output_path
    name = request.training_job_name
    if status is not TrainingJobStatus.FAILED and output_reachable(output_path, plane):
        announce(
            StatusChanged(
                name,
                clock.now(),
                SecondaryStatus.UPLOADING,
                "Uploading generated training model",
            )
        )
        try:
            artifacts = package_outputs(  # outputs.py: pack, encrypt (KmsKeyId), upload
                job.hosts[0].layout,
                output_path,
                name,
                plane,
                kms_key_of(request.definition),
                compression_of(request.definition),
            )
        except Exception as exc:  # disk, tar, storage, the key (KmsKeyId): the job fails
            status, secondary = TrainingJobStatus.FAILED, SecondaryStatus.FAILED
            reason = f"could not write the model artifacts to {output_path}: {exc}"[:MAX_REASON]
    return Finished(
        name,
        clock.now(),
        status,
        secondary,
        outcome.exit_code,
        reason,
        artifacts,
        internal=outcome.internal and status is not TrainingJobStatus.COMPLETED,
    )


def finish_failed(job: RunningJob, error: BaseException, now: float) -> Finished:
    """How a job ends whose :func:`finish_job` raised: Failed, and retryable."""
    reason = f"could not finish the training job: {type(error).__name__}: {error}"
    failed = TrainingJobStatus.FAILED, SecondaryStatus.FAILED
    return Finished(job.name, now, *failed, None, reason[:MAX_REASON], internal=True)


def release_job(job: RunningJob, limiter: MemoryLimiter, ledger: Ledger) -> None:
    """Free what the finished job held: memory limits, network, its account in ``ledger``
    (kept for a rerun when spot capacity interrupted it)."""
    for host in job.hosts:
        limiter.release(host.limit)
    if job.network is not None:
        job.network.remove()
    if job.stop_reason is SecondaryStatus.INTERRUPTED:
        ledger.interrupted(job.name)
    else:
        ledger.release(job.name)
