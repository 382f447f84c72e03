"""Starting an admitted local job: its network (:mod:`.network`), when the ledger gave it
one, then its hosts (:mod:`.hosts`), all in the process group of the first.

A launch that fails half way leaves nothing behind: the hosts started so far are killed
and reaped, their data streams closed, their memory limits and file descriptors
released and the network removed, before the :class:`LaunchError` goes on.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

from tunelab.domain.enums import SecondaryStatus, TrainingJobStatus
from tunelab.execution.base import Finished, LaunchRequest
from tunelab.execution.checkpoints import checkpoint_uri
from tunelab.execution.container import runs_in_container
from tunelab.execution.contract import LaunchError
from tunelab.execution.errors import LaunchStopped
from tunelab.execution.hosts import HostProcess, launch_host
from tunelab.execution.ledger import Admission
from tunelab.execution.limits import MemoryLimiter
from tunelab.execution.local_jobs import QueuedJob, RunningJob
from tunelab.execution.network import JobNetwork
from tunelab.execution.outcome import oom_kills
from tunelab.execution.processes import signal_group
from tunelab.execution.script_mode import is_script_mode
from tunelab.execution.storage import DataPlane


def launch_job(
    queued: QueuedJob,
    admission: Admission,
    hosts: tuple[str, ...],
    *,
    limiter: MemoryLimiter,
    plane: DataPlane,
    hide_gpus: bool,
    downloading: Callable[[], None],
    close_fds: Callable[[HostProcess], None],
    stopped: Callable[[], bool] | None = None,
) -> tuple[list[HostProcess], JobNetwork | None]:
    """Create the job's network and start a host per placement of ``admission``;
    ``downloading`` is called first when the job has channels. Raises
    :class:`LaunchError` after cleaning up, whatever failed (``close_fds`` closes a host's
    descriptors), :class:`LaunchStopped` once ``stopped`` says the job was told to stop."""
    request = queued.request
    network: JobNetwork | None = None
    started: list[HostProcess] = []
    try:
        if admission.net is not None:
            isolated = request.definition.network_isolation
            network = JobNetwork(request.job_dir, hosts, admission.net, isolated)
            os.makedirs(request.job_dir, exist_ok=True)
            network.create()
        if request.definition.channels:
            downloading()
        for placement in admission.placements or ():
            started.append(
                launch_host(
                    request,
                    queued.argv,
                    placement,
                    hosts,
                    limiter=limiter,
                    plane=plane,
                    network=network,
                    pgid=started[0].proc.pid if started else None,
                    hide_gpus=hide_gpus,
                    stopped=stopped,
                )
            )
    except Exception as exc:  # any failure to start fails this job, never the caller's loop
        abandon(started, limiter, close_fds)
        if network is not None:
            network.remove()
        if isinstance(exc, LaunchError):
            raise
        reason = f"could not start the training job: {type(exc).__name__}: {exc}"
        raise LaunchError(reason) from exc
    return started, network


def may_start_slowly(request: LaunchRequest, admission: Admission) -> bool:
    """Whether starting the job may take long: it stages data channels, unpacks
    script-mode code, restores checkpoints, starts a container or creates a network.
    The executor starts such a job in a worker thread (:mod:`.job_work`), others at once."""
    definition = request.definition
    image, static = definition.training_image, definition.static_hyperparameters
    return (
        bool(definition.channels)
        or admission.net is not None
        or checkpoint_uri(request) is not None
        or is_script_mode(image, static)
        or runs_in_container(image, static)
    )


def started_job(
    queued: QueuedJob, hosts: list[HostProcess], network: JobNetwork | None, now: float
) -> RunningJob:
    """The job whose hosts :func:`launch_job` started, its MaxRuntimeInSeconds counted
    from ``now`` (less what earlier attempts used)."""
    request = queued.request
    limit = request.definition.stopping.max_runtime_seconds
    deadline = None if limit is None else now + max(0.0, limit - request.runtime_used)
    return RunningJob(request, queued.demand, hosts, network, deadline, oom_kills())


def launch_failed(name: str, error: BaseException, now: float) -> Finished:
    """How a job ends whose start raised ``error``: Stopped when it was told to stop
    (:class:`LaunchStopped`), else Failed with the :class:`LaunchError`'s reason (anything
    else is the machinery's failure: retryable)."""
    if isinstance(error, LaunchStopped):
        return Finished(name, now, TrainingJobStatus.STOPPED, SecondaryStatus.STOPPED)
    if not isinstance(error, LaunchError):
        reason = f"could not start the training job: {type(error).__name__}: {error}"
        error = LaunchError(reason, internal=True)
    failed = TrainingJobStatus.FAILED, SecondaryStatus.FAILED
    return Finished(name, now, *failed, None, error.reason, internal=error.internal)


def abandon(
    started: list[HostProcess],
    limiter: MemoryLimiter,
    close_fds: Callable[[HostProcess], None],
) -> None:
    """Kill the hosts of a launch that failed half way."""
    if started:
        signal_group(started[0].proc.pid, signal.SIGKILL)
    for host in started:
        host.reap()
        if host.data is not None:
            host.data.close()
        limiter.release(host.limit)
        close_fds(host)
