"""Ending the training processes a crashed driver left behind without holding up
anything else.

Ending a leftover process may take the executor's whole grace period (SIGTERM, then
SIGKILL when it ignores it: 120 s by default). Waited for in the loop's thread, that
would freeze every other training job of the tuning job, and in a server every other
tuning job too. So each job's leftover process is ended in a thread of its own
(``Executor.terminate_orphans`` keeps no state of the executor), while the loop goes
on; the job runs again only once :meth:`OrphanReaper.gone` says its process is gone.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from tunelab.domain.trial import TrainingJob
from tunelab.execution.base import Executor
from tunelab.execution.contract import training_job_dir

log = logging.getLogger("tunelab.orphans")

Terminate = Callable[[Sequence[tuple[int, int | None]]], int]
"""``Executor.terminate_orphans``: ends ``(pid, pid_start_time)`` processes, blocking."""


class OrphanReaper:
    """Ends leftover processes in the background, one thread per training job."""

    def __init__(self, terminate: Terminate) -> None:
        self._terminate = terminate
        self._threads: dict[str, threading.Thread] = {}

    def end(self, name: str, processes: Sequence[tuple[int, int | None]]) -> None:
        """Start ending training job ``name``'s leftover ``(pid, pid_start_time)``
        processes (returns at once)."""
        thread = threading.Thread(
            target=self._end,
            args=(name, list(processes)),
            name=f"tunelab-orphan-{name}",
            daemon=True,
        )
        self._threads[name] = thread
        thread.start()

    def _end(self, name: str, processes: list[tuple[int, int | None]]) -> None:
        try:
            self._terminate(processes)
        except Exception:
            pids = ", ".join(str(pid) for pid, _ in processes)
            log.exception("training job %s: ending its leftover processes %s failed", name, pids)

    def gone(self, name: str) -> bool:
        """True unless training job ``name``'s leftover process is still being ended."""
        thread = self._threads.get(name)
        return thread is None or not thread.is_alive()

    def pending(self) -> bool:
        """Whether any leftover process is still being ended."""
        return any(thread.is_alive() for thread in self._threads.values())


def leftover_processes(
    executor: Executor,
    unfinished: list[TrainingJob],
    jobs_root: str | None,
    tuning_job_name: str | None,
) -> dict[str, list[tuple[int, int | None]]]:
    """The ``unfinished`` jobs whose attempt a crashed driver had started, with the
    processes it may have left running (none when they ended), by job name; the jobs
    never started are left out. Started: a process was recorded, or the executor finds
    the attempt started in the job's directory under ``jobs_root`` (a driver commits a
    job's attempt before it starts the process, and its pid only at a later tick: a
    crash in between leaves a process, or a program that already ended, no record names)."""
    attempts = {}
    if jobs_root is not None:
        attempts = {
            j.name: (training_job_dir(jobs_root, tuning_job_name, j.name), j.attempt)
            for j in unfinished
        }
    found = executor.leftover_processes(attempts) if attempts else {}
    leftovers: dict[str, list[tuple[int, int | None]]] = {}
    for job in unfinished:
        processes: list[tuple[int, int | None]] = list(found.get(job.name, []))
        if job.pid is not None and all(pid != job.pid for pid, _ in processes):
            processes.append((job.pid, job.pid_start_time))
        if processes or job.name in found:
            leftovers[job.name] = processes
    return leftovers
