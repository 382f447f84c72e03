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

from tunelab.domain.enums import SecondaryStatus, TrainingJobStatus
from tunelab.execution.base import ExecutorEvent, Finished, StatusChanged
from tunelab.execution.clock import Clock
from tunelab.execution.hosts import HostProcess
from tunelab.execution.job_processes import kill_marked
from tunelab.execution.ledger import Ledger
from tunelab.execution.limits import MemoryLimiter
from tunelab.execution.local_jobs import RunningJob
from tunelab.execution.log_lines import split_lines
from tunelab.execution.outcome import MAX_REASON, decide
from tunelab.execution.outputs import (
    compression_of,
    kms_key_of,
    output_reachable,
    package_outputs,
)
from tunelab.execution.processes import signal_group
from tunelab.execution.storage import DataPlane

_READ_CHUNK = 1 << 16


def read_lines(host: HostProcess, final: bool = False) -> list[str]:
    """New complete lines of the host's log (and the partial last one when ``final``), as
    :mod:`.log_lines` defines lines."""
    if host.log_fd is None:
        return []
    chunks = [host.partial]
    while chunk := os.read(host.log_fd, _READ_CHUNK):
        chunks.append(chunk)
    complete, host.partial = split_lines(b"".join(chunks), final)
    lines = [raw.decode("utf-8", errors="replace") for raw in complete]
    host.tail.extend(lines)
    return lines


def collect_output(job: RunningJob) -> tuple[list[str], bool]:
    """The job's new output lines (its last host's log) and whether it ended: once every
    host exited, every process the job started is killed, as when containers stop (its
    process group, and the processes carrying its marker: daemons that left the group),
    and the hosts are reaped."""
    output = job.hosts[-1]
    lines = read_lines(output)
    done = all(h.status is not None for h in job.hosts)
    if done:
        signal_group(job.pgid, signal.SIGKILL)  # the "containers" go away
        kill_marked(job.marker)  # with what left the group (setsid, double fork)
        for host in job.hosts:
            host.reap()
        lines += read_lines(output, final=True)
    return lines, done


def finish_job(
    job: RunningJob, limiter: MemoryLimiter, ledger: Ledger, plane: DataPlane, clock: Clock
) -> list[ExecutorEvent]:
    """Release what the ended job holds (data streams, memory limits, network, its
    account in ``ledger``), upload its model and report how it finished. Its hosts have
    been reaped and their descriptors closed."""
    data_failure = None
    for host in job.hosts:
        failure = host.data.close() if host.data is not None else None  # jobdata.py
        data_failure = data_failure or failure
    outcome = decide(
        job.request, job.hosts, job.stop_reason, job.stop_message, limiter, job.oom_kills
    )
    for host in job.hosts:
        limiter.release(host.limit)
    if job.network is not None:
        job.network.remove()
    if job.stop_reason is SecondaryStatus.INTERRUPTED:
        ledger.interrupted(job.name)
    else:
        ledger.release(job.name)
    status, secondary, reason = outcome.status, outcome.secondary, outcome.reason
    if data_failure and secondary is not SecondaryStatus.INTERRUPTED:
        status, secondary = TrainingJobStatus.FAILED, SecondaryStatus.FAILED
        reason = data_failure  # a Pipe channel or the checkpoint sync failed (jobdata.py)
    request, events = job.request, []
    artifacts = None
    output_path = request.definition.output_path
    name = request.training_job_name
    if status is not TrainingJobStatus.FAILED and output_reachable(output_path, plane):
        events.append(
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
    events.append(
        Finished(
            name,
            clock.now(),
            status,
            secondary,
            outcome.exit_code,
            reason,
            artifacts,
            internal=outcome.internal and status is not TrainingJobStatus.COMPLETED,
        )
    )
    return events
