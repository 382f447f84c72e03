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

from tunelab.execution.contract import LaunchError
from tunelab.execution.hosts import HostProcess, launch_host
from tunelab.execution.ledger import Admission
from tunelab.execution.limits import MemoryLimiter
from tunelab.execution.local_jobs import QueuedJob
from tunelab.execution.network import JobNetwork
from tunelab.execution.processes import signal_group
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
) -> tuple[list[HostProcess], JobNetwork | None]:
    """Create the job's network and start a host per placement of ``admission``;
    ``downloading`` is called first when the job has channels. Raises
    :class:`LaunchError` after cleaning up, whatever failed (``close_fds`` closes a host's
    descriptors)."""
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
