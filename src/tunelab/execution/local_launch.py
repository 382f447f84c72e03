"""Starting an admitted local job in two steps: preparing it (its network (:mod:`.network`),
when the ledger gave it one, its hosts' directories and data: what may take long, in a
worker thread), then starting its hosts (:mod:`.hosts`), all in the process group of the
first, in the executor's own thread.

A launch that fails half way leaves nothing behind: the hosts started so far are killed
and reaped, their data streams closed, their memory limits and file descriptors
released and the network removed, before the :class:`LaunchError` goes on.
"""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Callable
from dataclasses import dataclass

from tunelab.domain.enums import SecondaryStatus, TrainingJobStatus
from tunelab.execution.base import Finished, LaunchRequest
from tunelab.execution.checkpoints import checkpoint_uri
from tunelab.execution.container import runs_in_container
from tunelab.execution.contract import LaunchError
from tunelab.execution.errors import LaunchStopped, check_stopped
from tunelab.execution.hosts import (
    HostProcess,
    PreparedHost,
    host_root,
    prepare_host,
    start_host,
)
from tunelab.execution.ledger import Admission
from tunelab.execution.limits import MemoryLimiter
from tunelab.execution.local_jobs import QueuedJob, RunningJob
from tunelab.execution.network import JobNetwork
from tunelab.execution.outcome import oom_kills
from tunelab.execution.processes import signal_group
from tunelab.execution.script_mode import is_script_mode
from tunelab.execution.storage import DataPlane


@dataclass(eq=False)
class PreparedLaunch:
    """An admitted job whose network exists and whose hosts are laid out with their data
    (:func:`prepare_launch`): :func:`start_launch` starts it, or :func:`discard_launch`
    drops it."""

    queued: QueuedJob
    network: JobNetwork | None
    hosts: list[PreparedHost]


def prepare_launch(
    queued: QueuedJob,
    admission: Admission,
    hosts: tuple[str, ...],
    *,
    plane: DataPlane,
    downloading: Callable[[], None],
    stopped: Callable[[], bool] | None = None,
) -> PreparedLaunch:
    """Create the job's network and prepare a host per placement of ``admission`` (what
    may take long: a worker thread may do it; no process starts); ``downloading`` is
    called first when the job has channels. Raises :class:`LaunchError` after cleaning
    up, :class:`LaunchStopped` once ``stopped`` says the job was told to stop."""
    request = queued.request
    network: JobNetwork | None = None
    try:
        if admission.net is not None:
            isolated = request.definition.network_isolation
            network = JobNetwork(request.job_dir, hosts, admission.net, isolated)
            os.makedirs(request.job_dir, exist_ok=True)
            network.create()
        if request.definition.channels:
            check_stopped(stopped)  # never Downloading after a stop
            downloading()
        prepared = [
            prepare_host(request, queued.argv, placement, hosts, plane=plane, stopped=stopped)
            for placement in admission.placements or ()
        ]
    except Exception as exc:  # any failure to start fails this job, never the caller's loop
        if network is not None:
            network.remove()
        remove_staged(request.job_dir, hosts)
        raise as_launch_error(exc) from exc
    return PreparedLaunch(queued, network, prepared)


def start_launch(
    launch: PreparedLaunch,
    *,
    limiter: MemoryLimiter,
    hide_gpus: bool,
    close_fds: Callable[[HostProcess], None],
    die_with_parent: bool = False,
) -> tuple[list[HostProcess], JobNetwork | None]:
    """Start the prepared job's hosts, all in the process group of the first (quick: the
    executor's own thread does it, so that every process it starts is one it knows;
    ``die_with_parent`` as in :func:`~.hosts.start_host`). Raises :class:`LaunchError`
    after cleaning up (``close_fds`` closes a host's descriptors)."""
    started: list[HostProcess] = []
    try:
        for prepared in launch.hosts:
            started.append(
                start_host(
                    prepared,
                    launch.queued.argv,
                    limiter=limiter,
                    network=launch.network,
                    pgid=started[0].proc.pid if started else None,
                    hide_gpus=hide_gpus,
                    die_with_parent=die_with_parent,
                )
            )
    except Exception as exc:
        abandon(started, limiter, close_fds)
        discard_launch(launch)
        raise as_launch_error(exc) from exc
    return started, launch.network


def discard_launch(launch: PreparedLaunch) -> None:
    """Drop a prepared job that will not start (stopped, or its executor closed)."""
    if launch.network is not None:
        launch.network.remove()
    remove_staged(launch.queued.request.job_dir, tuple(p.host.name for p in launch.hosts))


def remove_staged(job_dir: str, hosts: tuple[str, ...]) -> None:
    """Delete the channels staged in each host's root (copies of the data, symlinks,
    FIFOs; never what a symlink points to) once a job ended, or its start failed or was
    stopped, as an instance's disk goes when a SageMaker job ends: a job's directory
    keeps its configuration, model, output and logs, not a copy of every channel. Errors
    are ignored: the data is only a copy."""
    for host in hosts:
        shutil.rmtree(os.path.join(host_root(job_dir, host), "input", "data"), ignore_errors=True)


def as_launch_error(exc: BaseException, internal: bool = False) -> LaunchError:
    """``exc`` as the :class:`LaunchError` that fails the job (``internal``: retryable)."""
    if isinstance(exc, LaunchError):
        return exc
    reason = f"could not start the training job: {type(exc).__name__}: {exc}"
    return LaunchError(reason, internal=internal)


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
    """The job whose hosts :func:`start_launch` started, its MaxRuntimeInSeconds counted
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
    error = as_launch_error(error, internal=True)
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
